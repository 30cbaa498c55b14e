/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node's latest closed window as one snapshot: the history slot with
 * the decision and baseline its close wrote.  Every reader of those pins
 * in the webhook (/score, /metrics, the node condition) takes it here, so
 * no response mixes two windows.
 */
#ifndef KSENSE_WEBHOOK_SNAPSHOT_H
#define KSENSE_WEBHOOK_SNAPSHOT_H

#include "ksense.h"

struct ks_snapshot {
	struct ksense_window w;     /* w.seq 0: no window closed yet */
	struct ksense_decision d;   /* all zero (d.seq 0) unless of w's window */
	struct ksense_baseline b;   /* likewise */
};

/* 0, or a negative errno when the window pin cannot be read (s zeroed). */
int ks_snapshot_read(struct ks_snapshot *s);

#endif
