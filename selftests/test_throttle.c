// SPDX-License-Identifier: GPL-2.0
/*
 * CFS bandwidth throttling, per cgroup: a burner held to 20 % of a CPU by
 * its cgroup's quota (cgroup v1 cpu.cfs_quota_us on hybrid hosts, cpu.max
 * on pure cgroup2, e.g. in vmtest) must be classed THROTTLED and never
 * IDLE, and what ksense says it was throttled must agree with the cgroup's
 * own cpu.stat over the same windows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"
#include "workloads.h"
#include "cg_fixture.h"

#define QUOTA_US  20000
#define PERIOD_US 100000
#define WINDOWS   12



KS_TEST_LIVE(cgroup_throttled)
{
	struct wl_cpu_stat st0 = {}, st1 = {};
	struct ksense_window w = {};
	struct ksense_cgroup cg = {};
	struct wl_cgroup c = {};
	__u64 thr_ns = 0, bw_ns = 0, bw_thr = 0, bw_per = 0, seen_seq = 0, dur_ns = 0, on_ns = 0;
	int k, err, idle_windows = 0, counted = 0;
	bool throttled_seen = false;
	pid_t pid = -1;

	if (!fx_cgroup_ready(&c, "throttled"))
		goto out;
	err = wl_cgroup_cpu_limit(&c, QUOTA_US, PERIOD_US);
	if (err == -EOPNOTSUPP) {
		test__skip("no CFS quota here: neither a cgroup v1 cpu hierarchy nor cgroup2's cpu controller");
		goto out;
	}
	if (!ASSERT_OK(err, "CFS quota 20 ms per 100 ms"))
		goto out;
	printf("    quota in %s (%s)\n", c.cpu_dir[0] ? c.cpu_dir : c.dir,
	       c.cpu_dir[0] ? "cgroup v1 cpu.cfs_quota_us" : "cgroup2 cpu.max");
	pid = wl_cgroup_fork(&c);
	if (pid == 0)
		wl_burn_forever();
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;

	/* the class: THROTTLED from the first window with a throttled wait
	 * on, and never IDLE after it */
	for (k = 0; k < 24 && (cg.class != KSENSE_CLASS_THROTTLED || k < 8); k++) {
		if (!ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
			goto out;
		if (fx_read_cgroup(c.id, &cg) || cg.seq != w.seq)
			continue;
		if (cg.throttled_waits)
			throttled_seen = true;
		if (throttled_seen && cg.class != KSENSE_CLASS_THROTTLED)
			idle_windows++;
		printf("    window %llu: class %s on-CPU %u‰ throttled %u‰ (%llu waits) cpu.stat Δ %llu periods, "
		       "%llu throttled, %llu ms\n", (unsigned long long)w.seq, fx_class_name(cg.class),
		       cg.on_cpu_permille, cg.throttled_permille, (unsigned long long)cg.throttled_waits,
		       (unsigned long long)cg.bw_nr_periods, (unsigned long long)cg.bw_nr_throttled,
		       (unsigned long long)cg.bw_throttled_ns / 1000000);
	}
	ASSERT_EQ(cg.class, KSENSE_CLASS_THROTTLED, "burner under its quota is THROTTLED");
	ASSERT_EQ(idle_windows, 0, "THROTTLED (never IDLE) in every window after its first throttled wait");

	/* the numbers, over WINDOWS windows against cpu.stat read at their
	 * ends (the file is read within 10 ms of each close) */
	if (!ASSERT_OK(wl_cgroup_cpu_stat(&c, &st0), "cpu.stat"))
		goto out;
	seen_seq = w.seq;
	for (k = 0; k < WINDOWS; k++) {
		if (!ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
			goto out;
		if (w.seq != seen_seq + 1) {
			test__skip("missed a window (the machine is too busy to read every one)");
			goto out;
		}
		seen_seq = w.seq;
		if (!ASSERT_OK(fx_read_cgroup(c.id, &cg), "cgroup in the pin") || !ASSERT_EQ(cg.seq, w.seq, "cgroup updated"))
			goto out;
		thr_ns += cg.throttled_ns;
		on_ns += cg.on_cpu_ns;
		bw_ns += cg.bw_throttled_ns;
		bw_thr += cg.bw_nr_throttled;
		bw_per += cg.bw_nr_periods;
		dur_ns += w.duration_ns;
		counted += cg.class == KSENSE_CLASS_THROTTLED;
	}
	if (!ASSERT_OK(wl_cgroup_cpu_stat(&c, &st1), "cpu.stat"))
		goto out;
	printf("    %d windows, %llu ms: ksense throttled waits %llu ms, on-CPU %llu ms; group counters %llu ms, "
	       "%llu/%llu periods throttled; cpu.stat %llu ms, %llu/%llu periods; quota %llu/%llu us (level %u)\n",
	       WINDOWS, (unsigned long long)dur_ns / 1000000, (unsigned long long)thr_ns / 1000000,
	       (unsigned long long)on_ns / 1000000, (unsigned long long)bw_ns / 1000000,
	       (unsigned long long)bw_thr, (unsigned long long)bw_per,
	       (st1.throttled_ns - st0.throttled_ns) / 1000000, st1.nr_throttled - st0.nr_throttled,
	       st1.nr_periods - st0.nr_periods, (unsigned long long)cg.bw_quota_us,
	       (unsigned long long)cg.bw_period_us, cg.bw_level);
	if (st1.throttled_ns - st0.throttled_ns < dur_ns / 10) {
		test__skip("the burner was throttled only %llu ms in %llu ms: the machine is too busy for it to "
			   "use its quota", (st1.throttled_ns - st0.throttled_ns) / 1000000,
			   (unsigned long long)dur_ns / 1000000);
		goto out;
	}
	ASSERT_EQ(counted, WINDOWS, "THROTTLED in every window");
	ASSERT_EQ(cg.bw_quota_us, QUOTA_US, "quota read from the task group");
	ASSERT_EQ(cg.bw_period_us, PERIOD_US, "period read from the task group");
	ASSERT_EQ(cg.bw_level, 0, "the burner's own group holds the quota");
	/* the group's own counters: the same numbers as cpu.stat, read a few
	 * ms apart (one period's throttled time at most in between) */
	ASSERT_LE(bw_ns, st1.throttled_ns - st0.throttled_ns + PERIOD_US * 1000ull, "group throttled time <= cpu.stat + 1 period");
	ASSERT_GE(bw_ns + PERIOD_US * 1000ull, st1.throttled_ns - st0.throttled_ns, "group throttled time >= cpu.stat - 1 period");
	ASSERT_LE(bw_thr, st1.nr_throttled - st0.nr_throttled + 1, "nr_throttled = cpu.stat's (+-1)");
	ASSERT_GE(bw_thr + 1, st1.nr_throttled - st0.nr_throttled, "nr_throttled = cpu.stat's (+-1)");
	/* the tasks' view: a single thread's throttled waits are the group's
	 * throttled time, give or take the run-queue wait after each
	 * unthrottle and one period at the ends: within 20 % */
	ASSERT_LE(thr_ns * 10, (st1.throttled_ns - st0.throttled_ns) * 12, "throttled waits <= cpu.stat + 20 %");
	ASSERT_GE(thr_ns * 10, (st1.throttled_ns - st0.throttled_ns) * 8, "throttled waits >= cpu.stat - 20 %");
out:
	wl_reap(pid);
	wl_cgroup_destroy(&c);
}
