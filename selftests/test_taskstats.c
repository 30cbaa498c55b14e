// SPDX-License-Identifier: GPL-2.0
/*
 * An independent check of the run-queue numbers: three threads contend for
 * CPU 0; the kernel's own delay accounting (taskstats over generic netlink)
 * says how long they waited for it, and ksense's summed run-queue wait over
 * the same windows must agree.  ksense sees every task, so its sum is the
 * threads' wait plus whatever else waited: it must not be below the oracle
 * by more than the tolerance, nor above it by more than tolerance plus the
 * machine's idle wait measured just before.
 */
#include <errno.h>
#include <unistd.h>
#include "test_progs.h"
#include "delayacct.h"
#include "fixture.h"
#include "pins.h"
#include "workloads.h"

#define THREADS 3
#define WINDOWS 8          /* of FIXTURE_WINDOW_MS: 2 s */
#define TOLERANCE_PCT 15   /* stated in README.md */

static int sum_delay(struct ks_delay_client *c, struct workload *wl, __u64 *out)
{
	struct ks_delay d;
	int i, err;

	*out = 0;
	for (i = 0; i < wl->nr; i++) {
		err = ks_delay_read(c, wl->tid[i], &d);
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

KS_TEST(taskstats_runq)
{
	struct ks_delay_client *client = NULL;
	struct ksense_window a, b, w, idle;
	struct workload wl = { .nr = 0 };
	__u64 oracle0, oracle1, oracle, ksense_ns = 0, seq;
	int prev = -1, hist_fd = -1, err;

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
	if (!ASSERT_OK(fx_collect(WINDOWS, &idle), "idle windows"))
		goto out;
	if (idle.cpu_busy_permille >= 400) {
		/* other work contending for CPU 0 would wait too, and ksense
		 * rightly counts it: the comparison needs a quiet machine */
		test__skip("the machine is %u permille busy without our threads", idle.cpu_busy_permille);
		goto out;
	}
	/* threads created after enabling: their delay stats exist */
	if (!ASSERT_OK(wl_start(&wl, WL_SPIN, THREADS, 0), "contending threads"))
		goto out;
	if (!ASSERT_OK(boundary(&a), "first boundary") ||
	    !ASSERT_OK(sum_delay(client, &wl, &oracle0), "taskstats before"))
		goto out;
	seq = a.seq;
	hist_fd = ks_pin_open(KSENSE_PIN_HISTORY);
	if (!ASSERT_GE(hist_fd, 0, "history pin"))
		goto out;
	while (seq < a.seq + WINDOWS) {
		if (!ASSERT_OK(fx_wait_window(seq, &b, 3000), "window"))
			goto out;
		seq = b.seq;
	}
	if (!ASSERT_OK(sum_delay(client, &wl, &oracle1), "taskstats after"))
		goto out;
	for (seq = a.seq + 1; seq <= b.seq; seq++) {
		if (!ASSERT_OK(ks_read_history(hist_fd, seq, &w), "history slot"))
			goto out;
		ksense_ns += w.runq.sum_ns;
	}
	oracle = oracle1 - oracle0;
	printf("    %d threads on CPU 0 over %llu windows: taskstats cpu_delay %.3f s, ksense runq sum "
	       "%.3f s (idle machine: %.3f s)\n", THREADS, (unsigned long long)(b.seq - a.seq),
	       oracle / 1e9, ksense_ns / 1e9, idle.runq.sum_ns / 1e9);
	/* 3 threads sharing a CPU: each waits ~2/3 of the time */
	ASSERT_GT(oracle, 1000000000ull, "the oracle saw contention");
	ASSERT_GE(ksense_ns * 100, oracle * (100 - TOLERANCE_PCT), "ksense not below taskstats - tol");
	ASSERT_LE(ksense_ns * 100, oracle * (100 + TOLERANCE_PCT) + idle.runq.sum_ns * 100,
		  "ksense not above taskstats + tol + idle wait");
out:
	wl_stop(&wl);
	if (hist_fd >= 0)
		close(hist_fd);
	if (prev >= 0)
		ks_delay_enable(prev);
	ks_delay_close(client);
}
