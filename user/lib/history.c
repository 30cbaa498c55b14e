// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "history.h"
#include "log.h"
#include "pins.h"

int ks_history_follow(struct ks_history *h)
{
	int err, fd;

	err = ks_read_state(&h->st);
	if (err)
		return err;
	if (h->st.schema_version != KSENSE_SCHEMA_VERSION)
		return -EPROTO;
	if (h->fd >= 0 && h->st.loaded_ns == h->loaded_ns)
		return 0;
	fd = ks_pin_open(KSENSE_PIN_HISTORY);
	if (fd < 0)
		return fd;
	if (h->fd >= 0 && close(h->fd))
		ks_warn("close of the old history fd failed", "err=\"%s\"", strerror(errno));
	h->fd = fd;
	h->loaded_ns = h->st.loaded_ns;
	h->next_seq = 1;
	return 1;
}

/* Skips the windows the ring no longer holds, one warning per gap. */
static void skip_lost(struct ks_history *h)
{
	__u64 oldest, n;

	if (h->st.seq < h->next_seq + KSENSE_HISTORY_LEN)
		return;
	oldest = h->st.seq - KSENSE_HISTORY_LEN + 1;
	n = oldest - h->next_seq;
	ks_warn("windows left the history ring before they were read; skipping them",
		"count=%llu first_seq=%llu last_seq=%llu", (unsigned long long)n,
		(unsigned long long)h->next_seq, (unsigned long long)(oldest - 1));
	h->lost += n;
	h->next_seq = oldest;
}

int ks_history_next(struct ks_history *h, struct ksense_window *w)
{
	struct ksense_state now;
	int err;

	while (h->fd >= 0 && h->next_seq <= h->st.seq) {
		skip_lost(h);
		w->seq = 0; /* a failed lookup leaves it: read as "not yet" */
		err = ks_read_history(h->fd, h->next_seq, w);
		if (!err) {
			h->next_seq++;
			return 1;
		}
		if (err != -ENOENT)
			return err;
		if (w->seq <= h->next_seq)
			return 0; /* being filled (seq 0) or not yet */
		/* overwritten since the state was read: look again; a tree
		 * gone or reloaded meanwhile is the next follow's */
		if (ks_read_state(&now) || now.loaded_ns != h->loaded_ns)
			return 0;
		h->st = now;
		if (h->st.seq < h->next_seq + KSENSE_HISTORY_LEN) {
			/* cannot happen with a sane tree; never loop on it */
			ks_warn("history slot holds an unexpected window; skipping", "seq=%llu slot_seq=%llu",
				(unsigned long long)h->next_seq, (unsigned long long)w->seq);
			h->lost++;
			h->next_seq++;
		}
	}
	return 0;
}

int ks_history_get(struct ks_history *h, __u64 seq, struct ksense_window *w)
{
	if (h->fd < 0)
		return -ENOENT;
	return ks_read_history(h->fd, seq, w);
}

void ks_history_close(struct ks_history *h)
{
	ks_close(h->fd);
	h->fd = -1;
}
