/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Following the history ring: the one reader `ksense collect`, `ksense top`
 * and the webhook's fuzzy_monitor.csv share.
 *
 * A load is told by the state pin's loaded_ns, never by seq alone (a new
 * load's seq may happen to pass the old cursor): a reload reopens the ring
 * and starts the cursor again at seq 1.  The schema is checked at every
 * (re)open.  Windows that left the ring before they were read are skipped
 * and counted, with one warning per gap.
 */
#ifndef KSENSE_HISTORY_H
#define KSENSE_HISTORY_H

#include "ksense.h"

struct ks_history {
	int fd;                    /* the ring of the load below; -1 before the first follow */
	__u64 loaded_ns;           /* the load the fd and the cursor belong to */
	__u64 next_seq;            /* the next window ks_history_next hands out */
	__u64 lost;                /* windows that left the ring before they were read */
	struct ksense_state st;    /* the state pin as last read */
};

#define KS_HISTORY_INIT { .fd = -1 }

/* Read the state pin; open the ring at the first call and after a reload.
 * 0: the same load as before; 1: a new load (the first one included),
 * the cursor at seq 1; -ENOENT no tree, -EPROTO another schema
 * (st.schema_version says which), other negative errno. */
int ks_history_follow(struct ks_history *h);
/* The window at the cursor, oldest first, up to the state last followed:
 * 1 with *w (the cursor moves past it), 0 when none is ready (the newest
 * is still being written, or all are read), negative errno. */
int ks_history_next(struct ks_history *h, struct ksense_window *w);
/* Window seq of the followed load, wherever the cursor is: 0, or -ENOENT
 * (overwritten, or not whole yet: the state's seq names a window from the
 * moment the tick starts filling its slot). */
int ks_history_get(struct ks_history *h, __u64 seq, struct ksense_window *w);
void ks_history_close(struct ks_history *h);

#endif
