// SPDX-License-Identifier: GPL-2.0
/*
 * The whole chain live: a tree with a short warm-up learns an idle machine,
 * scores it Low and allows; sustained CPU contention plus an fsync writer
 * drives the score High and the decision to deny within a few windows; once
 * the load is gone the decision returns to allow through the hysteresis.
 */
#include <stdlib.h>
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"
#include "workloads.h"

static char out[16384];

static int read_decision(struct ksense_decision *d)
{
	return ks_read_pin(KSENSE_PIN_DECISION, d);
}

/* Poll every window until pred holds or `windows` windows passed. */
static bool wait_for(bool (*pred)(const struct ksense_decision *), int windows,
		     struct ksense_decision *last)
{
	struct ksense_window w = {};
	int i;

	for (i = 0; i < windows; i++) {
		if (fx_wait_window(w.seq, &w, 3000))
			return false;
		if (!read_decision(last) && pred(last))
			return true;
	}
	return false;
}

static bool is_allow_low(const struct ksense_decision *d)
{
	return d->verdict == KSENSE_VERDICT_ALLOW && d->band == KSENSE_BAND_LOW && d->friction_valid;
}

static bool is_deny_high(const struct ksense_decision *d)
{
	return d->verdict == KSENSE_VERDICT_DENY && d->score >= 70;
}

static void print_score(const char *when)
{
	struct ksense_score s;

	if (ks_read_pin(KSENSE_PIN_SCORE, &s))
		return;
	printf("    %-7s score %u: friction %u energy %u cpu %u psi %u (terms %u %u %u %u) top rule %u\n",
	       when, s.score, s.input.friction_permille, s.input.energy_permille, s.input.cpu_permille,
	       s.input.psi_permille, s.friction_term.rq_p99_permille, s.friction_term.rq_avg_permille,
	       s.friction_term.dstate_permille, s.friction_term.netrx_permille, s.top_rule);
}

static bool is_allow(const struct ksense_decision *d)
{
	return d->verdict == KSENSE_VERDICT_ALLOW;
}

KS_TEST_LIVE(score_live)
{
	struct ksense_decision d = {};
	struct ksense_baseline b = {};
	struct workload spin, disk;
	char root[128];
	int i;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	snprintf(root, sizeof(root), "/sys/fs/bpf/ksense-score-%d", getpid());
	setenv("KSENSE_PIN_ROOT", root, 1);
	setenv("KSENSE_WARMUP_S", "3", 1);
	setenv("KSENSE_ENERGY_HALF_LIFE_S", "2", 1);
	i = fx_run(out, sizeof(out), NULL, "load", "--window-ms", "250", NULL);
	unsetenv("KSENSE_WARMUP_S");
	unsetenv("KSENSE_ENERGY_HALF_LIFE_S");
	if (!ASSERT_EQ(i, 0, "load")) {
		printf("%s\n", out);
		return;
	}

	if (test__start_subtest("idle_allows")) {
		ASSERT_TRUE(wait_for(is_allow_low, 40, &d), "Low and allow once frozen");
		ASSERT_OK(ks_read_pin(KSENSE_PIN_BASELINE, &b), "baseline pin");
		ASSERT_EQ(b.state, KSENSE_BASELINE_FROZEN, "baseline frozen after 3 s");
		print_score("idle");
	}
	if (test__start_subtest("stress_denies")) {
		if (ASSERT_OK(wl_start(&spin, WL_SPIN, 6, -1), "spinners") &&
		    ASSERT_OK(wl_start(&disk, WL_FSYNC, 1, -1), "fsync writer")) {
			/* PSI trails by up to 2 s: allow 8 s = 32 windows */
			ASSERT_TRUE(wait_for(is_deny_high, 32, &d), "High and deny under stress");
			print_score("stress");
			wl_stop(&disk);
		}
		wl_stop(&spin);
	}
	if (test__start_subtest("recovers")) {
		ASSERT_TRUE(wait_for(is_allow, 80, &d), "allow again after the load");
		print_score("after");
	}
	fx_run(out, sizeof(out), NULL, "unload", NULL);
	unsetenv("KSENSE_PIN_ROOT");
}
