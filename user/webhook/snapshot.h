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

/* What to read besides the window (a part not asked for stays zeroed). */
enum {
	KS_SNAP_DECISION = 1,
	KS_SNAP_BASELINE = 2,
	KS_SNAP_ALL = KS_SNAP_DECISION | KS_SNAP_BASELINE,
};

/* The window and the parts asked for (KS_SNAP_*): 0, or a negative errno
 * when the history ring's latest slot cannot be read (s zeroed). */
int ks_snapshot_read(struct ks_snapshot *s, unsigned int parts);

#endif
