// SPDX-License-Identifier: GPL-2.0
/*
 * An independent check of the run-queue numbers: three threads contend for
 * CPU 0, alone in a kubelet-style cgroup; the kernel's own delay accounting
 * (taskstats over generic netlink) says how long they waited for it, and
 * ksense's summed run-queue wait of that cgroup over the same windows must
 * agree within the tolerance.  (The machine-wide sum the test once used
 * also held every other task's wait behind the spinners, which no idle
 * baseline measured.)
 */
#include <errno.h>
#include <unistd.h>
#include <sys/types.h>
#include "test_progs.h"
#include "delayacct.h"
#include "fixture.h"
#include "pins.h"
#include "workloads.h"

#define THREADS 3
#define WINDOWS 8          /* of FIXTURE_WINDOW_MS: 2 s */
#define TOLERANCE_PCT 15   /* stated in README.md */

static int sum_delay(struct ks_delay_client *c, const pid_t *tids, __u64 *out)
{
	struct ks_delay d;
	int i, err;

	*out = 0;
	for (i = 0; i < THREADS; i++) {
		err = ks_delay_read(c, tids[i], &d);
		if (err)
			return err;
		*out += d.cpu_delay_ns;
	}
	return 0;
}

/* Wait for the next window to close; the read that follows is then a few
 * ms after the boundary, like the tick's own view. */
static int boundary(struct ksense_window *w)
{
	struct ksense_window cur;

	if (fx_wait_window(0, &cur, 3000))
		return -1;
	return fx_wait_window(cur.seq, w, 3000);
}

/* Three spinner threads on CPU 0 in a child process of their own, in a
 * kubelet-style cgroup: their TIDs into tids[], the child's pid. */
static pid_t start_spinners(const struct wl_cgroup *c, pid_t *tids)
{
	int p[2], i;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = wl_cgroup_fork(c);
	if (pid == 0) {
		struct workload wl;

		close(p[0]);
		if (wl_start(&wl, WL_SPIN, THREADS, 0) ||
		    write(p[1], wl.tid, sizeof(pid_t) * THREADS) != (ssize_t)(sizeof(pid_t) * THREADS))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	for (i = 0; pid > 0 && i < THREADS; i++)
		tids[i] = 0;
	if (pid > 0 && read(p[0], tids, sizeof(pid_t) * THREADS) != (ssize_t)(sizeof(pid_t) * THREADS)) {
		wl_reap(pid);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

KS_TEST_LIVE(taskstats_runq)
{
	struct ks_delay_client *client = NULL;
	struct ksense_window a, w;
	struct ksense_cgroup cg;
	struct wl_cgroup c = {};
	pid_t tids[THREADS], pid = -1;
	__u64 oracle0, oracle1, oracle, ksense_ns = 0, seq;
	int prev = -1, err, m;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	err = ks_delay_open(&client);
	if (err == -ENOENT) {
		test__skip("kernel has no TASKSTATS netlink family");
		return;
	}
	if (!ASSERT_OK(err, "taskstats socket"))
		return;
	prev = ks_delay_enable(1);
	if (!ASSERT_GE(prev, 0, "enable delay accounting"))
		goto out;
	err = wl_cgroup_create(&c, "taskstats");
	if (err == -ENOENT) {
		test__skip("no cgroup2 mount");
		goto out;
	}
	/* threads created after enabling: their delay stats exist */
	if (!ASSERT_OK(err, "cgroup") || !ASSERT_GT(pid = start_spinners(&c, tids), 0, "contending threads"))
		goto out;
	if (!ASSERT_OK(boundary(&a), "first boundary") ||
	    !ASSERT_OK(sum_delay(client, tids, &oracle0), "taskstats before"))
		goto out;
	/* the threads' cgroup, read as each window closes */
	for (seq = a.seq; seq < a.seq + WINDOWS; seq = w.seq) {
		if (!ASSERT_OK(fx_wait_window(seq, &w, 3000), "window"))
			goto out;
		if (w.seq != seq + 1) {
			test__skip("missed a window (the machine is too busy to read every one)");
			goto out;
		}
		m = ks_pin_open(KSENSE_PIN_CGROUPS);
		err = m < 0 || ks_map_lookup(m, &c.id, &cg);
		ks_close(m);
		if (!ASSERT_OK(err, "the threads' cgroup") || !ASSERT_EQ(cg.seq, w.seq, "updated"))
			goto out;
		ksense_ns += cg.rq_sum_ns;
	}
	if (!ASSERT_OK(sum_delay(client, tids, &oracle1), "taskstats after"))
		goto out;
	oracle = oracle1 - oracle0;
	printf("    %d threads on CPU 0 over %d windows: taskstats cpu_delay %.3f s, ksense's run-queue sum for "
	       "their cgroup %.3f s\n", THREADS, WINDOWS, oracle / 1e9, ksense_ns / 1e9);
	/* 3 threads sharing a CPU: each waits ~2/3 of the time */
	ASSERT_GT(oracle, 1000000000ull, "the oracle saw contention");
	ASSERT_GE(ksense_ns * 100, oracle * (100 - TOLERANCE_PCT), "ksense not below taskstats - tol");
	ASSERT_LE(ksense_ns * 100, oracle * (100 + TOLERANCE_PCT), "ksense not above taskstats + tol");
out:
	wl_reap(pid);
	wl_cgroup_destroy(&c);
	if (prev >= 0)
		ks_delay_enable(prev);
	ks_delay_close(client);
}
