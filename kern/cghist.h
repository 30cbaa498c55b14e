/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-cgroup run-queue latency histogram: small enough to keep one per
 * cgroup (KSENSE_CG_RQ_BUCKETS u32 counters, 392 bytes), log-linear with 4
 * sub-buckets per power of two from 1 us to 2^34 ns (17 s).  Shared by the
 * sensors, the tick and host tests.
 *
 *   bucket 0                 below 1 us
 *   1 + (m - 10) * 4 + s     [2^m + s * 2^(m-2), 2^m + (s+1) * 2^(m-2)), m = 10..33
 *   KSENSE_CG_RQ_BUCKETS - 1 2^34 ns and above
 *
 * A percentile is reported as its bucket's midpoint, capped at the
 * window's largest value (which the open-ended buckets report): within
 * 12.5 % of the exact nearest-rank percentile at and above 1 us, within
 * 512 ns below it.
 */
#ifndef KSENSE_CGHIST_H
#define KSENSE_CGHIST_H

#include "ksense.h"
#include "hist.h"

static __always_inline __u32 ks_cg_rq_index(__u64 v)
{
	__u32 m;

	if (v < (1ull << KSENSE_CG_RQ_MIN_SHIFT))
		return 0;
	m = ksense_msb64(v);
	if (m > KSENSE_CG_RQ_MAX_SHIFT)
		return KSENSE_CG_RQ_BUCKETS - 1;
	return 1 + (m - KSENSE_CG_RQ_MIN_SHIFT) * KSENSE_CG_RQ_SUB +
	       (__u32)((v >> (m - KSENSE_CG_RQ_SUB_BITS)) & (KSENSE_CG_RQ_SUB - 1));
}

/* The value bucket idx reports (the open-ended ones are capped by the
 * caller at the window's maximum). */
static __always_inline __u64 ks_cg_rq_value(__u32 idx)
{
	__u32 g, s, m;

	if (idx == 0)
		return (1ull << KSENSE_CG_RQ_MIN_SHIFT) / 2;
	if (idx >= KSENSE_CG_RQ_BUCKETS - 1)
		return ~0ull;
	g = (idx - 1) / KSENSE_CG_RQ_SUB;
	s = (idx - 1) % KSENSE_CG_RQ_SUB;
	m = g + KSENSE_CG_RQ_MIN_SHIFT;
	/* lo + width / 2 */
	return (1ull << m) + (__u64)s * (1ull << (m - KSENSE_CG_RQ_SUB_BITS)) +
	       (1ull << (m - KSENSE_CG_RQ_SUB_BITS)) / 2;
}

/* Keeps the verifier from tracking a value exactly: states that differ
 * only in it then prune, so a walk over the buckets stays linear. */
#ifdef __VMLINUX_H__
#define KS_CG_OPAQUE(v) asm volatile("" : "+r"(v))
#else
#define KS_CG_OPAQUE(v) ((void)(v))
#endif

/* Nearest-rank p50 and p99 over a histogram: the walk records the buckets
 * (idx + 1; 0 not yet), ks_cg_rq_pct_done turns them into values. */
struct ks_cg_rq_pct {
	__u64 rank50, rank99;
	__u64 cum;
	__u64 max;
	__u32 i50, i99;
	__u64 p50, p99;
};

static __always_inline void ks_cg_rq_pct_init(struct ks_cg_rq_pct *c, __u64 count, __u64 max)
{
	c->rank50 = ksense_rank(count, 500);
	c->rank99 = ksense_rank(count, 990);
	c->cum = 0;
	c->max = max;
	c->i50 = c->i99 = 0;
	c->p50 = c->p99 = 0;
}

/* One bucket of the walk (count n at idx, in order); true when done. */
static __always_inline bool ks_cg_rq_pct_step(struct ks_cg_rq_pct *c, __u32 idx, __u64 n)
{
	__u32 at = idx + 1;

	c->cum += n;
	KS_CG_OPAQUE(at);
	if (!c->i50 && c->cum >= c->rank50)
		c->i50 = at;
	if (c->cum >= c->rank99) {
		c->i99 = at;
		return true;
	}
	return false;
}

static __always_inline __u64 ks_cg_rq_pct_value(const struct ks_cg_rq_pct *c, __u32 at)
{
	__u64 v;

	/* a rank a straggling count did not reach is the window's top */
	if (!at || at > KSENSE_CG_RQ_BUCKETS)
		return c->max;
	v = ks_cg_rq_value(at - 1);
	return v > c->max ? c->max : v;
}

static __always_inline void ks_cg_rq_pct_done(struct ks_cg_rq_pct *c, __u64 count)
{
	if (!count)
		return;
	c->p50 = ks_cg_rq_pct_value(c, c->i50);
	c->p99 = ks_cg_rq_pct_value(c, c->i99);
}

/* p50/p99 of a histogram b of count values whose largest is max. */
static __always_inline void ks_cg_rq_percentiles(const __u32 *b, __u64 count, __u64 max, struct ks_cg_rq_pct *pc)
{
	__u32 i;

	ks_cg_rq_pct_init(pc, count, max);
	for (i = 0; count && i < KSENSE_CG_RQ_BUCKETS; i++)
		if (ks_cg_rq_pct_step(pc, i, b[i]))
			break;
	ks_cg_rq_pct_done(pc, count);
}

#endif
