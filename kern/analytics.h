/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel analytics: baseline, friction, direction, energy, fuzzy score
 * and decision.  Pure integer functions over the pinned structs, compiled
 * into the BPF tick and into host tests alike, so the two can be compared
 * bit for bit.  BPF has no signed division (clang 14, BPF ISA v3): signed
 * quotients go through ks_sdiv.  pins/README.md states every formula.
 */
#ifndef KSENSE_ANALYTICS_H
#define KSENSE_ANALYTICS_H

#include "ksense.h"

#define KS_NS_PER_MS 1000000ull

/* A loop whose body the BPF verifier checks once (bpf_loop) instead of once
 * per iteration and branch combination; a plain loop on the host. */
#ifdef __VMLINUX_H__
#define KS_LOOP(n, fn, ctx) bpf_loop((n), (fn), (ctx), 0)
/* keep a bounds check the verifier needs from being folded away */
#define KS_OPAQUE(v) asm volatile("" : "+r"(v))
#else
#define KS_OPAQUE(v) ((void)(v))
#define KS_LOOP(n, fn, ctx)                              \
	do {                                             \
		__u32 ___i;                              \
		for (___i = 0; ___i < (n); ___i++)       \
			if ((fn)(___i, (ctx)))           \
				break;                   \
	} while (0)
#endif
#define KS_VALUE_CAP 1000000000000ull /* signals are capped before x1000 */

static __always_inline __s64 ks_sdiv(__s64 a, __u64 b)
{
	if (!b)
		return 0;
	if (a < 0)
		return -(__s64)((__u64)(-a) / b);
	return (__s64)((__u64)a / b);
}

static __always_inline __u64 ks_min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* 2^-x for x in Q16 (x >= 0), result in Q16: the integer part shifts, the
 * fraction uses the Taylor series of e^-(f ln 2) to the 4th term (error
 * below 2e-4). */
static __always_inline __u64 ks_exp2_neg_q16(__u64 x_q16)
{
	__u64 n = x_q16 >> 16, f = x_q16 & 0xffff;
	__u64 y = (f * 45426) >> 16; /* f * ln2 in Q16 (ln2 = 45426 / 65536) */
	__u64 y2 = (y * y) >> 16, y3 = (y2 * y) >> 16, y4 = (y3 * y) >> 16;
	__u64 r = 65536 - y + y2 / 2 - y3 / 6 + y4 / 24;

	if (n >= 32)
		return 0;
	return r >> n;
}

static __always_inline __u32 ks_trapezoid(const struct ksense_trapezoid *t, __u32 x)
{
	if (x < t->a || x > t->d)
		return 0;
	if (x < t->b)
		return (x - t->a) * 1000 / (t->b - t->a);
	if (x <= t->c)
		return 1000;
	if (x < t->d)
		return (t->d - x) * 1000 / (t->d - t->c);
	return 0; /* x == d > c: the falling edge's foot */
}

static __always_inline __u64 ks_base_value(const struct ksense_window *w, __u32 i)
{
	__u64 v;

	switch (i) {
	case KSENSE_BS_RQ_P99: v = w->runq.p99_ns; break;
	case KSENSE_BS_RQ_AVG: v = w->runq.avg_ns; break;
	case KSENSE_BS_DSTATE: v = w->dstate_us_per_s; break;
	default: v = w->netrx_us_per_s; break;
	}
	return ks_min_u64(v, KS_VALUE_CAP);
}

static __always_inline struct ksense_ewma *ks_base_ewma(struct ksense_baseline *b, __u32 i)
{
	switch (i) {
	case KSENSE_BS_RQ_P99: return &b->rq_p99_ns;
	case KSENSE_BS_RQ_AVG: return &b->rq_avg_ns;
	case KSENSE_BS_DSTATE: return &b->dstate_us_per_s;
	default: return &b->netrx_us_per_s;
	}
}

/* The score's named per-signal and per-input fields by index (each struct
 * holds __u32s in its enum's order; pins/ksense.h asserts the sizes). */
static __always_inline __u32 *ks_term(struct ksense_score *s, __u32 i)
{
	return (__u32 *)&s->friction_term + i;
}

static __always_inline __u32 *ks_input(struct ksense_score *s, __u32 i)
{
	return (__u32 *)&s->input + i;
}

/* input i's membership in set j (0 LOW, 1 MEDIUM, 2 HIGH) */
static __always_inline __u32 *ks_membership(struct ksense_score *s, __u32 i, __u32 j)
{
	return (__u32 *)&s->membership + i * KSENSE_NR_SETS + j;
}

static __always_inline void ks_baseline_restart(struct ksense_baseline *b, __u32 gen)
{
	__builtin_memset(b, 0, sizeof(*b));
	b->state = KSENSE_BASELINE_WARMUP;
	b->reset_gen = gen;
}

/* Learn one window during warm-up; returns 1 when the baseline froze now. */
static __always_inline int ks_baseline_update(const struct ksense_config *cfg,
					      const struct ksense_window *w,
					      struct ksense_baseline *b)
{
	__u64 warmup_ns = (__u64)cfg->warmup_s * 1000 * KS_NS_PER_MS, elapsed;
	__s64 alpha;
	__u32 i;

	if (b->reset_gen != cfg->baseline_reset_gen)
		ks_baseline_restart(b, cfg->baseline_reset_gen);
	for (i = 0; i < KSENSE_NR_BASE_SIGNALS; i++)
		ks_base_ewma(b, i)->last = ks_base_value(w, i);
	if (b->state == KSENSE_BASELINE_FROZEN)
		return 0;

	/* The first windows weigh 1/n (a plain mean) until that falls below
	 * alpha: an EWMA started from one sample would otherwise remember that
	 * sample for ~1/alpha windows. */
	alpha = cfg->baseline_alpha_permille;
	if (b->samples && 1000 / (b->samples + 1) > alpha)
		alpha = 1000 / (b->samples + 1);
	for (i = 0; i < KSENSE_NR_BASE_SIGNALS; i++) {
		struct ksense_ewma *e = ks_base_ewma(b, i);
		__s64 x = (__s64)(ks_base_value(w, i) * 1000), dx, adx;

		if (!b->samples) {
			e->mean_milli = x;
			e->dev_milli = 0;
			continue;
		}
		dx = x - e->mean_milli;
		adx = dx < 0 ? -dx : dx;
		e->mean_milli += ks_sdiv(dx * alpha, 1000);
		e->dev_milli += ks_sdiv((adx - e->dev_milli) * alpha, 1000);
	}
	if (!b->samples)
		b->started_ns = w->start_ns;
	b->samples++;
	elapsed = w->end_ns > b->started_ns ? w->end_ns - b->started_ns : 0;
	if (elapsed >= warmup_ns) {
		b->state = KSENSE_BASELINE_FROZEN;
		b->frozen_ns = w->end_ns;
		b->warmup_remaining_s = 0;
		return 1;
	}
	b->warmup_remaining_s = (__u32)((warmup_ns - elapsed + 1000 * KS_NS_PER_MS - 1) /
					(1000 * KS_NS_PER_MS));
	return 0;
}

static __always_inline void ks_friction(const struct ksense_config *cfg,
					const struct ksense_window *w,
					struct ksense_baseline *b, struct ksense_score *s)
{
	__u64 total = 0;
	__u32 i;

	for (i = 0; i < KSENSE_NR_BASE_SIGNALS; i++) {
		struct ksense_ewma *e = ks_base_ewma(b, i);
		__s64 excess = (__s64)(ks_base_value(w, i) * 1000) - e->mean_milli;
		__u64 den, term = 0;

		den = (__u64)(e->dev_milli > 0 ? e->dev_milli : 0) * cfg->friction_k_permille / 1000 +
		      ks_min_u64(ksense_base_u64_get(&cfg->friction_eps, i), KS_VALUE_CAP) * 1000;
		if (excess > 0)
			term = den ? ks_min_u64((__u64)excess * 1000 / den, 1000) : 1000;
		*ks_term(s, i) = (__u32)term;
		total += term * ksense_base_u32_get(&cfg->friction_weight_permille, i);
	}
	s->friction_permille = (__u32)ks_min_u64(total / 1000, 1000);
}

static __always_inline void ks_direction(const struct ksense_config *cfg,
					 struct ksense_score *s, __u32 prev_friction,
					 int have_prev)
{
	__s64 delta, slope = s->slope_permille;

	if (!have_prev) {
		s->slope_permille = 0;
		s->direction = 0;
		return;
	}
	delta = (__s64)s->friction_permille - (__s64)prev_friction;
	slope += ks_sdiv((delta - slope) * (__s64)cfg->direction_alpha_permille, 1000);
	s->slope_permille = (__s32)slope;
	if (slope > (__s64)cfg->direction_deadband_permille)
		s->direction = 1;
	else if (slope < -(__s64)cfg->direction_deadband_permille)
		s->direction = -1;
	else
		s->direction = 0;
}

static __always_inline void ks_energy(const struct ksense_config *cfg,
				      const struct ksense_window *w, struct ksense_score *s)
{
	__u64 dur_ms = w->duration_ns / KS_NS_PER_MS, decay = 0, half_ms;

	if (!dur_ms)
		dur_ms = 1;
	half_ms = (__u64)cfg->energy_half_life_s * 1000;
	if (half_ms)
		decay = ks_exp2_neg_q16((dur_ms << 16) / half_ms);
	s->energy_integral = ((s->energy_integral * decay) >> 16) + s->friction_permille * dur_ms;
	s->energy_ceiling = ((s->energy_ceiling * decay) >> 16) + 1000 * dur_ms;
	s->energy_permille = (__u32)ks_min_u64(s->energy_integral * 1000 / s->energy_ceiling, 1000);
	if (s->energy_permille > s->energy_peak_permille)
		s->energy_peak_permille = s->energy_permille;
	if (s->energy_permille >= cfg->energy_threshold_permille)
		s->energy_above_ms += dur_ms;
	else
		s->energy_above_ms = 0;
}

struct ks_fuzzy_ctx {
	const struct ksense_config *cfg;
	struct ksense_score *s;
	__u32 nr;
	__u32 used;
	__u32 top;
	__u32 top_strength;
	__u64 num;
	__u64 den;
};

static long ks_membership_step(__u32 k, void *ctx)
{
	struct ks_fuzzy_ctx *c = ctx;
	__u64 i = k / KSENSE_NR_SETS, j = k % KSENSE_NR_SETS;

	KS_OPAQUE(i);
	KS_OPAQUE(j);
	if (i >= KSENSE_NR_INPUTS || j >= KSENSE_NR_SETS)
		return 1;
	*ks_membership(c->s, i, j) = ks_trapezoid(ksense_mf_get(&c->cfg->mf, i, j), *ks_input(c->s, i));
	return 0;
}

static long ks_rule_step(__u32 r, void *ctx)
{
	struct ks_fuzzy_ctx *c = ctx;
	const struct ksense_rule *rule;
	__u32 strength = 1000, named = 0, i;
	__u64 ri = r;

	KS_OPAQUE(ri);
	if (ri >= KSENSE_MAX_RULES)
		return 1;
	r = ri;
	rule = &c->cfg->rules[r];
	for (i = 0; i < KSENSE_NR_INPUTS; i++) {
		__u32 set = ksense_when_get(&rule->when, i), idx = set - 1, mu;

		if (set == KSENSE_SET_ANY)
			continue;
		named++;
		/* warm-up: friction and energy are unknown, not zero */
		if (!c->s->friction_valid && (i == KSENSE_IN_FRICTION || i == KSENSE_IN_ENERGY))
			strength = 0;
		mu = idx < KSENSE_NR_SETS ? *ks_membership(c->s, i, idx) : 0;
		if (mu < strength)
			strength = mu;
	}
	if (r >= c->nr || !named || rule->score > 100)
		strength = 0;
	c->s->rule_strength_permille[r] = strength;
	if (strength) {
		c->used++;
		c->num += (__u64)strength * rule->score * 10;
		c->den += strength;
		if (strength > c->top_strength) {
			c->top = r;
			c->top_strength = strength;
		}
	}
	return 0;
}

/* Memberships of every input, every rule's strength (AND = min), and the
 * zero-order Sugeno output: the strength-weighted mean of rule scores. */
static __always_inline void ks_fuzzy(const struct ksense_config *cfg, struct ksense_score *s)
{
	struct ks_fuzzy_ctx c = { .cfg = cfg, .s = s, .nr = cfg->nr_rules };

	if (c.nr > KSENSE_MAX_RULES)
		c.nr = KSENSE_MAX_RULES;
	KS_LOOP(KSENSE_NR_INPUTS * KSENSE_NR_SETS, ks_membership_step, &c);
	KS_LOOP(KSENSE_MAX_RULES, ks_rule_step, &c);
	s->rules_used = c.used;
	s->top_rule = c.top;
	s->score_permille = c.den ? (__u32)(c.num / c.den) : 0;
	s->score = (s->score_permille + 5) / 10;
}

static __always_inline void ks_decide(const struct ksense_config *cfg,
				      const struct ksense_score *s, struct ksense_decision *d)
{
	__u32 score = s->score;

	if (score >= cfg->band_high_from) {
		d->band = KSENSE_BAND_HIGH;
		d->reason = KSENSE_REASON_HIGH;
		d->verdict = KSENSE_VERDICT_DENY;
		d->bad_streak++;
		if (d->bad_streak >= cfg->medium_bad_threshold)
			d->latched = 1;
	} else if (score < cfg->band_low_below) {
		d->band = KSENSE_BAND_LOW;
		d->reason = KSENSE_REASON_LOW;
		d->verdict = KSENSE_VERDICT_ALLOW;
		d->bad_streak = 0;
		d->latched = 0;
	} else {
		d->band = KSENSE_BAND_MEDIUM;
		if (score <= cfg->medium_low_upper) {
			d->reason = KSENSE_REASON_MEDIUM_LOW;
			d->verdict = KSENSE_VERDICT_ALLOW;
			d->bad_streak = 0;
		} else if (score > cfg->medium_mid_upper) {
			d->reason = KSENSE_REASON_MEDIUM_BAD;
			d->bad_streak++;
			if (d->bad_streak >= cfg->medium_bad_threshold)
				d->latched = 1;
			d->verdict = d->latched ? KSENSE_VERDICT_DENY : KSENSE_VERDICT_ALLOW;
		} else {
			d->reason = KSENSE_REASON_MEDIUM_MID;
			d->verdict = d->latched ? KSENSE_VERDICT_DENY : KSENSE_VERDICT_ALLOW;
		}
	}
	d->score = score;
	d->top_rule = s->top_rule;
	d->friction_valid = s->friction_valid;
}

static __always_inline __u32 ks_max3(__u32 a, __u32 b, __u32 c)
{
	__u32 m = a > b ? a : b;

	return m > c ? m : c;
}

/* One window through the whole chain.  b, s and d hold the previous
 * window's state on entry and this window's on return; w->verdict is
 * filled. */
static __always_inline void ksense_analyze(const struct ksense_config *cfg,
					   struct ksense_window *w, struct ksense_baseline *b,
					   struct ksense_score *s, struct ksense_decision *d)
{
	__u32 prev_friction = s->friction_permille;
	int had_prev = s->friction_valid, froze;

	if (b->reset_gen != cfg->baseline_reset_gen)
		had_prev = 0;
	froze = ks_baseline_update(cfg, w, b);
	s->seq = w->seq;
	s->baseline_state = b->state;
	if (froze || b->state != KSENSE_BASELINE_FROZEN) {
		/* a new baseline: the derived signals start over */
		s->energy_integral = 0;
		s->energy_ceiling = 0;
		s->energy_peak_permille = 0;
		s->energy_above_ms = 0;
		s->slope_permille = 0;
		had_prev = 0;
	}
	s->friction_valid = b->state == KSENSE_BASELINE_FROZEN;
	if (s->friction_valid) {
		ks_friction(cfg, w, b, s);
		ks_direction(cfg, s, prev_friction, had_prev);
		ks_energy(cfg, w, s);
	} else {
		__builtin_memset(&s->friction_term, 0, sizeof(s->friction_term));
		s->friction_permille = 0;
		s->energy_permille = 0;
		s->direction = 0;
	}
	s->input.friction_permille = s->friction_permille;
	s->input.energy_permille = s->energy_permille;
	s->input.cpu_permille = w->cpu_busy_permille > 1000 ? 1000 : w->cpu_busy_permille;
	s->input.psi_permille = ks_max3(w->psi_cpu.some_permille, w->psi_io.some_permille, w->psi_mem.some_permille);
	ks_fuzzy(cfg, s);
	d->seq = w->seq;
	ks_decide(cfg, s, d);

	w->verdict.baseline_state = b->state;
	w->verdict.friction_valid = s->friction_valid;
	w->verdict.friction_permille = s->friction_permille;
	w->verdict.direction = s->direction;
	w->verdict.slope_permille = s->slope_permille;
	w->verdict.energy_permille = s->energy_permille;
	w->verdict.cpu_permille = s->input.cpu_permille;
	w->verdict.psi_permille = s->input.psi_permille;
	w->verdict.score = s->score;
	w->verdict.band = d->band;
	w->verdict.verdict = d->verdict;
	w->verdict.reason = d->reason;
}

#endif /* KSENSE_ANALYTICS_H */
