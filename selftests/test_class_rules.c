// SPDX-License-Identifier: GPL-2.0
/*
 * The per-cgroup class rule (kern/cgclass.h, the same code the tick runs)
 * as a table: each row one window's sums and the class it must give, so
 * every threshold and precedence in pins/README.md is pinned down here.
 */
#include <string.h>
#include "test_progs.h"
#include "settings.h"
#include "cgclass.h"

#define MS 1000000ull
#define WIN (1000 * MS) /* a 1 s window: permille = ms */

struct row {
	const char *what;
	struct ksense_cg_acc sum;
	__u32 want;
};

static const struct row rows[] = {
	{ "nothing at all", {}, KSENSE_CLASS_IDLE },
	{ "a burner", { .on_cpu_ns = 950 * MS }, KSENSE_CLASS_CPU },
	{ "on-CPU at the threshold", { .on_cpu_ns = 500 * MS }, KSENSE_CLASS_CPU },
	{ "on-CPU just below", { .on_cpu_ns = 499 * MS }, KSENSE_CLASS_IDLE },
	{ "fsync writer", { .on_cpu_ns = 10 * MS, .d_ns = 900 * MS, .wakeups = 100 }, KSENSE_CLASS_BLOCK },
	{ "more D than on-CPU", { .on_cpu_ns = 600 * MS, .d_ns = 700 * MS }, KSENSE_CLASS_BLOCK },
	{ "slow-peer client", { .s_ns = 800 * MS, .wakeups = 8 }, KSENSE_CLASS_OFFCPU },
	{ "S without a wakeup", { .s_ns = 800 * MS }, KSENSE_CLASS_IDLE },
	/* CFS quota: 200m burner, waits 800 ms for its periods */
	{ "burner held to 200m", { .on_cpu_ns = 200 * MS, .throttled_ns = 800 * MS, .throttled_waits = 8 },
	  KSENSE_CLASS_THROTTLED },
	{ "throttled beats CPU", { .on_cpu_ns = 1500 * MS, .throttled_ns = 500 * MS, .throttled_waits = 10 },
	  KSENSE_CLASS_THROTTLED },
	{ "throttled beats BLOCK", { .d_ns = 900 * MS, .throttled_ns = 150 * MS, .throttled_waits = 2 },
	  KSENSE_CLASS_THROTTLED },
	{ "throttled at the threshold", { .on_cpu_ns = 900 * MS, .throttled_ns = 100 * MS, .throttled_waits = 1 },
	  KSENSE_CLASS_THROTTLED },
	{ "rarely throttled busy pod", { .on_cpu_ns = 900 * MS, .throttled_ns = 99 * MS, .throttled_waits = 1 },
	  KSENSE_CLASS_CPU },
	/* a window that caught the start of a throttled burner: never IDLE */
	{ "little, but throttled as long as it ran", { .on_cpu_ns = 30 * MS, .throttled_ns = 30 * MS,
						       .throttled_waits = 1 }, KSENSE_CLASS_THROTTLED },
	{ "throttled less than it ran, light", { .on_cpu_ns = 60 * MS, .throttled_ns = 30 * MS, .throttled_waits = 1 },
	  KSENSE_CLASS_IDLE },
};

KS_TEST(analytics_class_rules)
{
	struct ksense_config cfg;
	size_t i;

	ks_config_defaults(&cfg);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ksense_cgroup cg;

		memset(&cg, 0, sizeof(cg));
		ksense_cg_classify(&cfg, &cg, 42, &rows[i].sum, WIN, 1);
		if (!ASSERT_EQ(cg.candidate, rows[i].want, rows[i].what))
			continue;
		ASSERT_EQ(cg.class, rows[i].want, "an UNKNOWN class takes the first candidate at once");
	}
}

/* Hysteresis: a new class needs cg_hysteresis_windows windows in a row. */
KS_TEST(analytics_class_hysteresis)
{
	const struct ksense_cg_acc burn = { .on_cpu_ns = 900 * MS };
	const struct ksense_cg_acc capped = { .on_cpu_ns = 200 * MS, .throttled_ns = 800 * MS, .throttled_waits = 8 };
	struct ksense_config cfg;
	struct ksense_cgroup cg;
	__u64 seq = 1;

	ks_config_defaults(&cfg);
	memset(&cg, 0, sizeof(cg));
	ksense_cg_classify(&cfg, &cg, 42, &burn, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_CPU, "first window");
	ksense_cg_classify(&cfg, &cg, 42, &capped, WIN, seq++);
	ksense_cg_classify(&cfg, &cg, 42, &capped, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_CPU, "two windows are not enough");
	ksense_cg_classify(&cfg, &cg, 42, &capped, WIN, seq++);
	ASSERT_EQ(cg.class, KSENSE_CLASS_THROTTLED, "the third is");
	ASSERT_EQ(cg.throttled_permille, 800, "throttled share of the window");
}
