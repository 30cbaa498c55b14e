// SPDX-License-Identifier: GPL-2.0
/*
 * The history reader (user/lib/history.c) follows the tree by its load
 * time: a `ksense load --replace` is seen as a new load even when its seq
 * has already passed the cursor (a reader that compares seqs misses it),
 * and the cursor starts again at the new load's first window.  Windows
 * that left the ring before they were read are skipped and counted, and
 * a tree of another schema is refused at follow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fixture.h"
#include "history.h"
#include "pins.h"

KS_TEST_F(history_reader, KS_SAN)
{
	struct ks_history h = KS_HISTORY_INIT;
	struct ksense_window w;
	char root[128], out[4096], *saved = getenv("KSENSE_PIN_ROOT");
	__u64 old_loaded, cursor;
	int rc, i, n = 0;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	saved = saved ? strdup(saved) : NULL;
	snprintf(root, sizeof(root), "/sys/fs/bpf/ksense-history-%d", getpid());
	setenv("KSENSE_PIN_ROOT", root, 1);
	if (!ASSERT_EQ(fx_run(out, sizeof(out), NULL, "load", "--window-ms", "100", NULL), 0, "load"))
		goto out;
	ASSERT_EQ(ks_history_follow(&h), 1, "the first load is a new load");
	usleep(600 * 1000);
	ASSERT_EQ(ks_history_follow(&h), 0, "the same load");
	while ((rc = ks_history_next(&h, &w)) == 1) {
		ASSERT_EQ(w.seq, (__u64)n + 1, "oldest first, none skipped");
		n++;
	}
	ASSERT_EQ(rc, 0, "then none ready");
	ASSERT_GE(n, 3, "windows read");
	old_loaded = h.loaded_ns;
	cursor = h.next_seq;
	/* a new load that runs past the old cursor before the reader looks */
	if (!ASSERT_EQ(fx_run(out, sizeof(out), NULL, "load", "--replace", "--window-ms", "100", NULL), 0,
		       "load --replace"))
		goto out;
	for (i = 0; i < 50; i++) {
		struct ksense_state st;

		if (!ks_read_state(&st) && st.seq > cursor + 2)
			break;
		usleep(100 * 1000);
	}
	ASSERT_EQ(ks_history_follow(&h), 1, "a reload, whatever the seqs say");
	ASSERT_NEQ(h.loaded_ns, old_loaded, "the new load's time");
	ASSERT_GT(h.st.seq, cursor, "its seq had passed the old cursor");
	ASSERT_EQ(h.next_seq, 1, "the cursor starts again");
	if (ASSERT_EQ(ks_history_next(&h, &w), 1, "a window of the new load"))
		ASSERT_EQ(w.seq, 1, "its first");
	/* the state's seq counts a window from the moment the tick starts
	 * filling its slot (-ENOENT until it is whole): random access to the
	 * newest whole one, which ks_read_window finds */
	{
		struct ksense_window latest;

		if (ASSERT_OK(ks_read_window(&latest), "the newest whole window") &&
		    ASSERT_EQ(ks_history_get(&h, latest.seq, &w), 0, "random access to it"))
			ASSERT_EQ(w.seq, latest.seq, "the same window");
	}
	/* a reader 5 windows further behind than the ring is long (the
	 * state's seq moved on, as if it had slept): those 5 are gone */
	ASSERT_EQ(h.lost, 0, "none lost so far");
	h.next_seq = 1;
	h.st.seq = KSENSE_HISTORY_LEN + 5;
	if (ASSERT_EQ(ks_history_next(&h, &w), 1, "the oldest window the ring still holds"))
		ASSERT_EQ(w.seq, 6, "past the lost ones");
	ASSERT_EQ(h.lost, 5, "counted");
	{
		struct ksense_state st;
		__u32 key = 0;
		int fd = ks_pin_open(KSENSE_PIN_STATE);

		/* the timer field is skipped by map updates: only the data changes */
		if (ASSERT_GE(fd, 0, "open state") && ASSERT_OK(bpf_map_lookup_elem(fd, &key, &st), "lookup")) {
			st.schema_version = KSENSE_SCHEMA_VERSION + 41;
			if (ASSERT_OK(bpf_map_update_elem(fd, &key, &st, BPF_EXIST), "tamper")) {
				ASSERT_EQ(ks_history_follow(&h), -EPROTO, "another schema is refused");
				ASSERT_EQ(h.st.schema_version, KSENSE_SCHEMA_VERSION + 41, "and named");
			}
		}
		if (fd >= 0)
			close(fd);
	}
out:
	ks_history_close(&h);
	fx_run(out, sizeof(out), NULL, "unload", NULL);
	if (saved) {
		setenv("KSENSE_PIN_ROOT", saved, 1);
		free(saved);
	} else {
		unsetenv("KSENSE_PIN_ROOT");
	}
}
