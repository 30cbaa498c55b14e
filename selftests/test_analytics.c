// SPDX-License-Identifier: GPL-2.0
/*
 * The analytics (kern/analytics.h) run in BPF through the syscall entry
 * ksense_test_analyze and on the host from the same header; scripted window
 * series must give identical baselines, scores and decisions, bit for bit,
 * and the decision hysteresis must follow a hand-written table.
 */
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "analytics.h"
#include "cli/settings.h"
#include "ksense_test.skel.h"

#define MAXW 64
#define SEC_NS 1000000000ull

struct series {
	struct ksense_window w[MAXW];
	int n;
};

static void add_window(struct series *s, __u64 rq_p99_us, __u64 rq_avg_us, __u64 dstate_us_s,
		       __u64 netrx_us_s, __u32 cpu_permille, __u32 psi_permille)
{
	struct ksense_window *w = &s->w[s->n];

	memset(w, 0, sizeof(*w));
	w->seq = s->n + 1;
	w->start_ns = 1000 * SEC_NS + (__u64)s->n * SEC_NS;
	w->end_ns = w->start_ns + SEC_NS;
	w->duration_ns = SEC_NS;
	w->runq.count = 100;
	w->runq.p99_ns = rq_p99_us * 1000;
	w->runq.avg_ns = rq_avg_us * 1000;
	w->dstate_us_per_s = dstate_us_s;
	w->netrx_us_per_s = netrx_us_s;
	w->cpu_busy_permille = cpu_permille;
	w->nr_cpus = 2;
	w->psi_cpu.some_permille = psi_permille;
	w->psi_io.some_permille = psi_permille / 2;
	s->n++;
}

/* idle for the warm-up, then the scenario */
static void scenario(struct series *s, int kind)
{
	int i;

	s->n = 0;
	for (i = 0; i < 8; i++)
		add_window(s, 200 + (i * 37) % 50, 30 + i % 5, 1000 + (i * 97) % 300, 200 + i * 11,
			   100 + (i * 13) % 40, (i * 7) % 20);
	for (i = 0; s->n < MAXW; i++) {
		switch (kind) {
		case 0: /* idle */
			add_window(s, 210 + (i * 31) % 40, 31 + i % 4, 1100 + (i * 53) % 200, 220, 120, 5);
			break;
		case 1: /* ramp */
			add_window(s, 200 + i * 300, 30 + i * 40, 1000 + i * 9000, 200 + i * 500,
				   100 + i * 16, i * 12 > 1000 ? 1000 : i * 12);
			break;
		case 2: /* spike */
			if (i % 20 == 5)
				add_window(s, 40000, 8000, 400000, 90000, 1000, 700);
			else
				add_window(s, 220, 32, 1100, 210, 130, 8);
			break;
		case 3: /* sustained stress */
			add_window(s, 30000 + (i * 977) % 5000, 9000, 600000, 1000, 980, 800);
			break;
		default: /* oscillation around the thresholds */
			add_window(s, i % 2 ? 9000 : 300, i % 2 ? 2000 : 40, (i % 3) * 150000, 300,
				   i % 2 ? 950 : 300, (i % 4) * 180);
			break;
		}
	}
}

static void test_config(struct ksense_config *c)
{
	ks_config_defaults(c);
	c->warmup_s = 5;
	c->energy_half_life_s = 5;
}

static int zero_state(struct ksense_test *skel)
{
	struct ksense_baseline b = {};
	struct ksense_score s = {};
	struct ksense_decision d = {};
	__u32 key = 0;

	return bpf_map__update_elem(skel->maps.ks_baseline, &key, sizeof(key), &b, sizeof(b), 0) ||
	       bpf_map__update_elem(skel->maps.ks_score, &key, sizeof(key), &s, sizeof(s), 0) ||
	       bpf_map__update_elem(skel->maps.ks_decision, &key, sizeof(key), &d, sizeof(d), 0);
}

/* Run the series through BPF and the host; compare every step. */
static void compare(struct ksense_test *skel, const struct ksense_config *cfg, struct series *ser,
		    struct ksense_decision *host_d_out)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct ksense_baseline hb = {};
	struct ksense_score hs = {};
	struct ksense_decision hd = {};
	int i;

	if (!ASSERT_OK(zero_state(skel), "zero state"))
		return;
	skel->bss->test_cfg = *cfg;
	memcpy(skel->bss->test_windows, ser->w, sizeof(ser->w[0]) * ser->n);
	skel->bss->test_nr_windows = ser->n;
	if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ksense_test_analyze), &run),
		       "test_run"))
		return;
	for (i = 0; i < ser->n; i++) {
		ksense_analyze(cfg, &ser->w[i], &hb, &hs, &hd);
		if (host_d_out)
			host_d_out[i] = hd;
		if (!ASSERT_OK(memcmp(&hb, &skel->bss->test_baselines[i], sizeof(hb)), "baseline bit for bit") ||
		    !ASSERT_OK(memcmp(&hs, &skel->bss->test_scores[i], sizeof(hs)), "score bit for bit") ||
		    !ASSERT_OK(memcmp(&hd, &skel->bss->test_decisions[i], sizeof(hd)), "decision bit for bit") ||
		    !ASSERT_OK(memcmp(&ser->w[i].verdict, &skel->bss->test_windows[i].verdict,
				      sizeof(ser->w[i].verdict)), "window verdict bit for bit")) {
			printf("    first difference at window %d (host score %u, bpf score %u)\n", i,
			       hs.score, skel->bss->test_scores[i].score);
			return;
		}
	}
}

KS_TEST_F(analytics_bpf_equals_host, KS_SAN)
{
	static const char *names[] = { "idle", "ramp", "spike", "sustained", "oscillation" };
	static struct series ser;
	struct ksense_config cfg;
	struct ksense_test *skel;
	int k;

	if (getuid() != 0) {
		test__skip("needs root to load BPF");
		return;
	}
	skel = ksense_test__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	test_config(&cfg);
	for (k = 0; k < 5; k++) {
		if (!test__start_subtest(names[k]))
			continue;
		scenario(&ser, k);
		compare(skel, &cfg, &ser, NULL);
		if (k == 0) {
			ASSERT_EQ(skel->bss->test_baselines[20].state, KSENSE_BASELINE_FROZEN, "frozen after warm-up");
			ASSERT_EQ(skel->bss->test_scores[2].friction_valid, 0, "friction empty in warm-up");
			ASSERT_EQ(skel->bss->test_decisions[MAXW - 1].band, KSENSE_BAND_LOW, "idle is Low");
			ASSERT_EQ(skel->bss->test_decisions[MAXW - 1].verdict, KSENSE_VERDICT_ALLOW, "idle allows");
		}
		if (k == 3) {
			ASSERT_GE(skel->bss->test_decisions[MAXW - 1].score, 70, "sustained stress is High");
			ASSERT_EQ(skel->bss->test_decisions[MAXW - 1].verdict, KSENSE_VERDICT_DENY, "stress denies");
			ASSERT_GT(skel->bss->test_scores[MAXW - 1].energy_permille, 800, "energy accumulates");
			ASSERT_GT(skel->bss->test_scores[MAXW - 1].energy_above_ms, 10000, "time above threshold");
		}
		if (k == 1) {
			ASSERT_EQ(skel->bss->test_scores[30].direction, 1, "ramp rises");
			ASSERT_GT(skel->bss->test_scores[MAXW - 1].score, skel->bss->test_scores[10].score,
				  "ramp score grows");
		}
	}
	if (test__start_subtest("warmup_scores_cpu_psi_only")) {
		/* during warm-up a busy, stalled machine still scores High */
		scenario(&ser, 3);
		for (k = 0; k < 8; k++) {
			ser.w[k].cpu_busy_permille = 990;
			ser.w[k].psi_cpu.some_permille = 900;
		}
		cfg.warmup_s = 600;
		compare(skel, &cfg, &ser, NULL);
		ASSERT_EQ(skel->bss->test_scores[3].friction_valid, 0, "still warming up");
		ASSERT_GE(skel->bss->test_scores[3].score, 70, "CPU and PSI alone score High");
		ASSERT_EQ(skel->bss->test_baselines[3].warmup_remaining_s, 596, "remaining seconds");
		cfg.warmup_s = 5;
	}
	if (test__start_subtest("baseline_reset")) {
		scenario(&ser, 0);
		compare(skel, &cfg, &ser, NULL);
		cfg.baseline_reset_gen = 7;
		skel->bss->test_cfg = cfg;
		memcpy(skel->bss->test_windows, ser.w, sizeof(ser.w[0]) * 3);
		skel->bss->test_nr_windows = 3;
		{
			LIBBPF_OPTS(bpf_test_run_opts, run);

			ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ksense_test_analyze), &run),
				  "run after reset");
		}
		ASSERT_EQ(skel->bss->test_baselines[0].state, KSENSE_BASELINE_WARMUP, "reset restarts warm-up");
		ASSERT_EQ(skel->bss->test_baselines[0].samples, 1, "learning from scratch");
		ASSERT_EQ(skel->bss->test_baselines[0].reset_gen, 7, "generation honoured");
		ASSERT_EQ(skel->bss->test_scores[0].friction_valid, 0, "friction empty again");
		cfg.baseline_reset_gen = 0;
	}
	ksense_test__destroy(skel);
}

/* Score = CPU input / 10 exactly: rule Low -> 0 with mu = 1 - x, rule
 * High -> 100 with mu = x; the Sugeno mean is x * 100. */
static void linear_score_config(struct ksense_config *c)
{
	char err[128];

	test_config(c);
	ks_setting_apply(c, ks_setting_find("mf.cpu.low"), "0,0,0,1000", err, sizeof(err));
	ks_setting_apply(c, ks_setting_find("mf.cpu.high"), "0,1000,1000,1000", err, sizeof(err));
	ks_setting_apply(c, ks_setting_find("rules"), "--L-:0;--H-:100", err, sizeof(err));
}

KS_TEST_F(decision_hysteresis, KS_SAN)
{
	static const struct {
		__u32 score, band, verdict, reason, streak, latched;
	} table[] = {
		{ 10, KSENSE_BAND_LOW, KSENSE_VERDICT_ALLOW, KSENSE_REASON_LOW, 0, 0 },
		{ 50, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_LOW, 0, 0 },
		{ 58, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_MID, 0, 0 },
		{ 62, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_BAD, 1, 0 },
		{ 65, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_DENY, KSENSE_REASON_MEDIUM_BAD, 2, 1 },
		{ 58, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_DENY, KSENSE_REASON_MEDIUM_MID, 2, 1 },
		{ 50, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_LOW, 0, 1 },
		{ 58, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_DENY, KSENSE_REASON_MEDIUM_MID, 0, 1 },
		{ 40, KSENSE_BAND_LOW, KSENSE_VERDICT_ALLOW, KSENSE_REASON_LOW, 0, 0 },
		{ 58, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_MID, 0, 0 },
		{ 75, KSENSE_BAND_HIGH, KSENSE_VERDICT_DENY, KSENSE_REASON_HIGH, 1, 0 },
		{ 58, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_MID, 1, 0 },
		{ 70, KSENSE_BAND_HIGH, KSENSE_VERDICT_DENY, KSENSE_REASON_HIGH, 2, 1 },
		{ 69, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_DENY, KSENSE_REASON_MEDIUM_BAD, 3, 1 },
		{ 45, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_LOW, 0, 1 },
		{ 44, KSENSE_BAND_LOW, KSENSE_VERDICT_ALLOW, KSENSE_REASON_LOW, 0, 0 },
		{ 61, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_BAD, 1, 0 },
		{ 60, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_MID, 1, 0 },
		{ 55, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_LOW, 0, 0 },
		{ 56, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_MID, 0, 0 },
		{ 61, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_ALLOW, KSENSE_REASON_MEDIUM_BAD, 1, 0 },
		{ 61, KSENSE_BAND_MEDIUM, KSENSE_VERDICT_DENY, KSENSE_REASON_MEDIUM_BAD, 2, 1 },
		{ 100, KSENSE_BAND_HIGH, KSENSE_VERDICT_DENY, KSENSE_REASON_HIGH, 3, 1 },
		{ 0, KSENSE_BAND_LOW, KSENSE_VERDICT_ALLOW, KSENSE_REASON_LOW, 0, 0 },
	};
	static struct series ser;
	struct ksense_decision host[MAXW];
	struct ksense_config cfg;
	struct ksense_test *skel;
	unsigned int i, n = sizeof(table) / sizeof(table[0]);

	if (getuid() != 0) {
		test__skip("needs root to load BPF");
		return;
	}
	skel = ksense_test__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	linear_score_config(&cfg);
	ser.n = 0;
	for (i = 0; i < n; i++)
		add_window(&ser, 200, 30, 1000, 100, table[i].score * 10, 0);
	compare(skel, &cfg, &ser, host);
	for (i = 0; i < n; i++) {
		const struct ksense_decision *d = &skel->bss->test_decisions[i];
		char what[64];

		snprintf(what, sizeof(what), "row %u (score %u)", i, table[i].score);
		if (!ASSERT_EQ(d->score, table[i].score, what) || !ASSERT_EQ(d->band, table[i].band, what) ||
		    !ASSERT_EQ(d->verdict, table[i].verdict, what) ||
		    !ASSERT_EQ(d->reason, table[i].reason, what) ||
		    !ASSERT_EQ(d->bad_streak, table[i].streak, what) ||
		    !ASSERT_EQ(d->latched, table[i].latched, what))
			break;
	}
	ksense_test__destroy(skel);
}

KS_TEST_F(analytics_math, KS_SAN | KS_HOST)
{
	struct ksense_trapezoid t = { 200, 400, 600, 800 };
	__u64 d;

	ASSERT_EQ(ks_trapezoid(&t, 100), 0, "below a");
	ASSERT_EQ(ks_trapezoid(&t, 300), 500, "rising edge");
	ASSERT_EQ(ks_trapezoid(&t, 500), 1000, "plateau");
	ASSERT_EQ(ks_trapezoid(&t, 700), 500, "falling edge");
	ASSERT_EQ(ks_trapezoid(&t, 800), 0, "foot");
	t = (struct ksense_trapezoid){ 0, 0, 200, 400 };
	ASSERT_EQ(ks_trapezoid(&t, 0), 1000, "left shoulder");
	t = (struct ksense_trapezoid){ 600, 800, 1000, 1000 };
	ASSERT_EQ(ks_trapezoid(&t, 1000), 1000, "right shoulder");
	ASSERT_EQ(ks_exp2_neg_q16(0), 65536, "2^0");
	ASSERT_EQ(ks_exp2_neg_q16(65536), 32768, "2^-1");
	d = ks_exp2_neg_q16(32768); /* 2^-0.5 = 0.70711 */
	ASSERT_TRUE(d > 46330 && d < 46350, "2^-0.5");
	ASSERT_EQ(ks_exp2_neg_q16(40ull << 16), 0, "underflow");
	ASSERT_EQ(ks_sdiv(-7, 2), -3, "sdiv truncates toward zero");
	ASSERT_EQ(ks_sdiv(7, 2), 3, "sdiv positive");
}

/* Rules read back in the form `ksense config set rules=` takes, and a
 * set no input has shown as '?' (as `ksense top` shows the top rule): a
 * corrupt rule never reads as "any". */
KS_TEST_F(rules_format, KS_SAN | KS_HOST)
{
	struct ksense_config c;
	char err[256], buf[512], when[KSENSE_NR_INPUTS + 1];

	ks_config_defaults(&c);
	if (!ASSERT_OK(ks_setting_apply(&c, ks_setting_find("rules"), "--L-:0;HMLH:100", err, sizeof(err)), err))
		return;
	ks_setting_format(&c, ks_setting_find("rules"), buf, sizeof(buf));
	ASSERT_STREQ(buf, "--L-:0;HMLH:100", "round trip");
	*ksense_when_of(&c.rules[1].when, 2) = 7;
	ks_rule_when_format(&c.rules[1], when);
	ASSERT_STREQ(when, "HM?H", "an unknown set is '?'");
	ks_setting_format(&c, ks_setting_find("rules"), buf, sizeof(buf));
	ASSERT_STREQ(buf, "--L-:0;HM?H:100", "in the setting's text too");
	ASSERT_NEQ(ks_setting_apply(&c, ks_setting_find("rules"), buf, err, sizeof(err)), 0,
		   "which `set` refuses");
}
