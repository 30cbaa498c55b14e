// SPDX-License-Identifier: GPL-2.0
/*
 * The per-cgroup class rule (kern/cgclass.h, the same code the tick runs)
 * as a table: each row one window's sums and the class it must give, so
 * every threshold and precedence in pins/README.md is pinned down here.
 */
#include <string.h>
#include "test_progs.h"
#include "cli/settings.h"
#include "cgclass.h"

#define MS 1000000ull
#define WIN (1000 * MS) /* a 1 s window: permille = ms */

struct row {
	const char *what;
	struct ksense_cg_acc sum;
	__u32 want;
	__u32 cause;
};

#define W(c, ns, n) .wait_ns[KSENSE_CAUSE_##c] = (ns), .wait_n[KSENSE_CAUSE_##c] = (n)

static const struct row rows[] = {
	{ "nothing at all", {}, KSENSE_CLASS_IDLE, KSENSE_CAUSE_NONE },
	{ "a burner", { .on_cpu_ns = 950 * MS }, KSENSE_CLASS_CPU, KSENSE_CAUSE_NONE },
	{ "on-CPU at the threshold", { .on_cpu_ns = 500 * MS }, KSENSE_CLASS_CPU, KSENSE_CAUSE_NONE },
	{ "on-CPU just below", { .on_cpu_ns = 499 * MS }, KSENSE_CLASS_IDLE, KSENSE_CAUSE_NONE },
	/* nine burners on two CPUs: each runs 200 ms and waits 700 ms to */
	{ "starved burner: demand is on-CPU + run-queue wait", { .on_cpu_ns = 200 * MS, .rq_sum_ns = 700 * MS },
	  KSENSE_CLASS_CPU, KSENSE_CAUSE_NONE },
	{ "demand at the threshold", { .on_cpu_ns = 250 * MS, .rq_sum_ns = 250 * MS }, KSENSE_CLASS_CPU,
	  KSENSE_CAUSE_NONE },
	{ "demand just below", { .on_cpu_ns = 250 * MS, .rq_sum_ns = 249 * MS }, KSENSE_CLASS_IDLE, KSENSE_CAUSE_NONE },
	{ "starved, but more D", { .on_cpu_ns = 100 * MS, .rq_sum_ns = 500 * MS, .d_ns = 700 * MS },
	  KSENSE_CLASS_BLOCK, KSENSE_CAUSE_NONE },
	{ "fsync writer", { .on_cpu_ns = 10 * MS, .d_ns = 900 * MS, .wakeups = 100, W(DEVICE, 900 * MS, 100) },
	  KSENSE_CLASS_BLOCK, KSENSE_CAUSE_NONE },
	{ "more D than on-CPU", { .on_cpu_ns = 600 * MS, .d_ns = 700 * MS }, KSENSE_CLASS_BLOCK, KSENSE_CAUSE_NONE },
	{ "slow-peer client", { .s_ns = 800 * MS, .wakeups = 8, W(DEPENDENCY, 800 * MS, 8) }, KSENSE_CLASS_OFFCPU,
	  KSENSE_CAUSE_DEPENDENCY },
	{ "S without a wakeup", { .s_ns = 800 * MS }, KSENSE_CLASS_IDLE, KSENSE_CAUSE_NONE },
	/* a sleep that a timer ends is idle */
	{ "timer sleeper", { .s_ns = 980 * MS, .wakeups = 98, W(TIMER, 980 * MS, 98) }, KSENSE_CLASS_IDLE,
	  KSENSE_CAUSE_NONE },
	{ "waits at the threshold", { .s_ns = 900 * MS, .wakeups = 9, W(TIMER, 400 * MS, 4), W(NETWORK, 500 * MS, 5) },
	  KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_NETWORK },
	{ "waits just below", { .s_ns = 900 * MS, .wakeups = 9, W(TIMER, 401 * MS, 4), W(NETWORK, 499 * MS, 5) },
	  KSENSE_CLASS_IDLE, KSENSE_CAUSE_NONE },
	{ "the biggest cause names it", { .s_ns = 900 * MS, .wakeups = 30, W(DEVICE, 200 * MS, 10),
					  W(KERNEL, 300 * MS, 10), W(DEPENDENCY, 400 * MS, 10) },
	  KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_DEPENDENCY },
	/* four threads on one mutex: one runs, three wait for it */
	{ "lock convoy", { .on_cpu_ns = 990 * MS, .s_ns = 2900 * MS, .wakeups = 450, W(LOCK, 2900 * MS, 450) },
	  KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_LOCK },
	{ "lock waits at the threshold", { .on_cpu_ns = 500 * MS, .s_ns = 500 * MS, .wakeups = 50, W(LOCK, 500 * MS, 50) },
	  KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_LOCK },
	{ "lock waits below on-CPU: CPU", { .on_cpu_ns = 3600 * MS, .s_ns = 600 * MS, .wakeups = 400,
					    W(LOCK, 600 * MS, 400) }, KSENSE_CLASS_CPU, KSENSE_CAUSE_NONE },
	{ "few sibling wakeups: not a convoy", { .on_cpu_ns = 700 * MS, .s_ns = 900 * MS, .wakeups = 49,
						 W(LOCK, 900 * MS, 49) }, KSENSE_CLASS_CPU, KSENSE_CAUSE_NONE },
	{ "few sibling wakeups, no CPU: OFFCPU/LOCK by the wait rule", { .s_ns = 900 * MS, .wakeups = 2,
									 W(LOCK, 900 * MS, 2) },
	  KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_LOCK },
	/* CFS quota: 200m burner, waits 800 ms for its periods */
	{ "burner held to 200m", { .on_cpu_ns = 200 * MS, .throttled_ns = 800 * MS, .throttled_waits = 8 },
	  KSENSE_CLASS_THROTTLED, KSENSE_CAUSE_NONE },
	{ "throttled beats CPU", { .on_cpu_ns = 1500 * MS, .throttled_ns = 500 * MS, .throttled_waits = 10 },
	  KSENSE_CLASS_THROTTLED, KSENSE_CAUSE_NONE },
	{ "throttled beats BLOCK", { .d_ns = 900 * MS, .throttled_ns = 150 * MS, .throttled_waits = 2 },
	  KSENSE_CLASS_THROTTLED, KSENSE_CAUSE_NONE },
	{ "throttled at the threshold", { .on_cpu_ns = 900 * MS, .throttled_ns = 100 * MS, .throttled_waits = 1 },
	  KSENSE_CLASS_THROTTLED, KSENSE_CAUSE_NONE },
	{ "rarely throttled busy pod", { .on_cpu_ns = 900 * MS, .throttled_ns = 99 * MS, .throttled_waits = 1 },
	  KSENSE_CLASS_CPU, KSENSE_CAUSE_NONE },
	/* a window that caught the start of a throttled burner: never IDLE */
	{ "little, but throttled as long as it ran", { .on_cpu_ns = 30 * MS, .throttled_ns = 30 * MS,
						       .throttled_waits = 1 }, KSENSE_CLASS_THROTTLED, KSENSE_CAUSE_NONE },
	{ "throttled less than it ran, light", { .on_cpu_ns = 60 * MS, .throttled_ns = 30 * MS, .throttled_waits = 1 },
	  KSENSE_CLASS_THROTTLED, KSENSE_CAUSE_NONE },
	{ "throttled less than it ran, waiting on disk", { .on_cpu_ns = 60 * MS, .d_ns = 500 * MS, .throttled_ns = 30 * MS,
							  .throttled_waits = 1 }, KSENSE_CLASS_BLOCK, KSENSE_CAUSE_NONE },
	{ "light, never throttled", { .on_cpu_ns = 60 * MS }, KSENSE_CLASS_IDLE, KSENSE_CAUSE_NONE },
};

KS_TEST_F(analytics_class_rules, KS_SAN | KS_HOST)
{
	struct ksense_config cfg;
	size_t i;

	ks_config_defaults(&cfg);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ksense_cgroup cg;

		memset(&cg, 0, sizeof(cg));
		ksense_cg_classify(&cfg, &cg, 42, &rows[i].sum, WIN, 1);
		if (!ASSERT_EQ(cg.candidate, rows[i].want, rows[i].what) ||
		    !ASSERT_EQ(cg.candidate_cause, rows[i].cause, rows[i].what))
			continue;
		ASSERT_EQ(cg.class, rows[i].want, "an UNKNOWN class takes the first candidate at once");
		ASSERT_EQ(cg.cause, rows[i].cause, "and its cause");
	}
}

/* Hysteresis: a new class needs cg_hysteresis_windows windows in a row;
 * THROTTLED takes over at once (a throttled cgroup is never IDLE), and
 * leaving it takes the hysteresis. */
KS_TEST_F(analytics_class_hysteresis, KS_SAN | KS_HOST)
{
	const struct ksense_cg_acc burn = { .on_cpu_ns = 900 * MS };
	const struct ksense_cg_acc none = {};
	const struct ksense_cg_acc capped = { .on_cpu_ns = 200 * MS, .throttled_ns = 800 * MS, .throttled_waits = 8 };
	struct ksense_config cfg;
	struct ksense_cgroup cg;
	__u64 seq = 1;

	ks_config_defaults(&cfg);
	memset(&cg, 0, sizeof(cg));
	ksense_cg_classify(&cfg, &cg, 42, &none, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_IDLE, "first window: nothing yet");
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_IDLE, "two windows are not enough");
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_CPU, "the third is");
	ksense_cg_classify(&cfg, &cg, 42, &capped, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_THROTTLED, "THROTTLED at once");
	ASSERT_EQ(cg.throttled_permille, 800, "throttled share of the window");
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_THROTTLED, "and held two windows");
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_CPU, "left after three");
}

/* The cause is held with the class: OFFCPU/LOCK to OFFCPU/DEPENDENCY
 * takes the hysteresis too. */
KS_TEST_F(analytics_class_cause_hysteresis, KS_SAN | KS_HOST)
{
	const struct ksense_cg_acc lock = { .s_ns = 900 * MS, .wakeups = 90, W(LOCK, 900 * MS, 90) };
	const struct ksense_cg_acc dep = { .s_ns = 900 * MS, .wakeups = 9, W(DEPENDENCY, 900 * MS, 9) };
	struct ksense_config cfg;
	struct ksense_cgroup cg;

	ks_config_defaults(&cfg);
	memset(&cg, 0, sizeof(cg));
	ksense_cg_classify(&cfg, &cg, 42, &lock, WIN, 1);
	ksense_cg_classify(&cfg, &cg, 42, &dep, WIN, 2);
	ksense_cg_classify(&cfg, &cg, 42, &dep, WIN, 3);
	ASSERT_EQ(cg.cause, KSENSE_CAUSE_LOCK, "two windows keep LOCK");
	ksense_cg_classify(&cfg, &cg, 42, &dep, WIN, 4);
	ASSERT_EQ(cg.class, KSENSE_CLASS_OFFCPU, "OFFCPU throughout");
	ASSERT_EQ(cg.cause, KSENSE_CAUSE_DEPENDENCY, "the third turns it");
}

/* Top wakers: sorted by time, at most KSENSE_TOP_WAKERS, shares of the
 * cgroup's waits (a timer's excluded). */
KS_TEST_F(analytics_top_wakers, KS_SAN | KS_HOST)
{
	const struct ksense_cg_acc sum = { .s_ns = 1000 * MS, .wakeups = 100, W(DEPENDENCY, 800 * MS, 60),
					   W(TIMER, 200 * MS, 40) };
	static const __u64 ns[] = { 100, 300, 50, 200, 150, 10 };
	struct ksense_config cfg;
	struct ksense_cgroup cg;
	size_t i;

	ks_config_defaults(&cfg);
	memset(&cg, 0, sizeof(cg));
	ksense_cg_classify(&cfg, &cg, 42, &sum, WIN, 1);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		ks_cg_add_waker(&cg, 1000 + i, ns[i] * MS, i + 1);
	ASSERT_EQ(cg.wakers[0].cgroup_id, 1001, "most first");
	ASSERT_EQ(cg.wakers[1].cgroup_id, 1003, "second");
	ASSERT_EQ(cg.wakers[2].cgroup_id, 1004, "third");
	ASSERT_EQ(cg.wakers[3].cgroup_id, 1000, "fourth");
	ASSERT_EQ(cg.wakers[0].share_permille, 375, "300 of 800 ms of waits (the timer's 200 are no wait)");
	ASSERT_EQ(cg.wakers[0].wakeups, 2, "its wakeups");
	ksense_cg_classify(&cfg, &cg, 42, &sum, WIN, 2);
	ASSERT_EQ(cg.wakers[0].cgroup_id, 0, "a new window starts empty");
}
