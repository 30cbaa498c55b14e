/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract's enums by name, once, for every reader: the words the
 * CSVs, /score, /metrics labels, /pods and the CLI print.  Lower case for
 * the node's band, verdict, baseline and PSI source ("allow", "frozen");
 * upper case for a cgroup's class and cause ("THROTTLED", "LOCK"), as
 * /pods and the scaler's Events spell them.  A value outside the enum
 * (a newer kernel side) reads as the enum's "none".
 */
#ifndef KSENSE_NAMES_H
#define KSENSE_NAMES_H

#include "ksense.h"

const char *ks_band_name(enum ksense_band band);          /* low, medium, high, none */
const char *ks_verdict_name(enum ksense_verdict verdict); /* allow, deny, none */
const char *ks_reason_name(enum ksense_reason reason);    /* the decision table's row, in words */
const char *ks_baseline_name(enum ksense_baseline_state state); /* warmup, frozen */
const char *ks_psi_source_name(enum ksense_psi_source src);    /* kernel, none */
/* CPU, BLOCK, OFFCPU, THROTTLED, IDLE (UNKNOWN, before a cgroup's first
 * window, is IDLE: nothing was seen of it) */
const char *ks_cgroup_class_name(enum ksense_class cls);
const char *ks_cause_name(enum ksense_cause cause);       /* LOCK, DEPENDENCY, ..., NONE */

#endif
