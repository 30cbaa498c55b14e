/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-linear histogram math, compiled both into BPF programs and into host
 * tests, so the percentiles the tick reports are checked against the very
 * code that produces them.  Integer only; no loops over values.
 */
#ifndef KSENSE_HIST_H
#define KSENSE_HIST_H

#include "ksense.h"

/* Index of the most significant set bit; v must be non-zero.  Branch-free
 * shifts because BPF has no count-leading-zeros instruction. */
static __always_inline __u32 ksense_msb64(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFull) << 5; v >>= s; r |= s;
	s = (v > 0xFFFFull) << 4;     v >>= s; r |= s;
	s = (v > 0xFFull) << 3;       v >>= s; r |= s;
	s = (v > 0xFull) << 2;        v >>= s; r |= s;
	s = (v > 0x3ull) << 1;        v >>= s; r |= s;
	r |= (__u32)(v >> 1);
	return r;
}

static __always_inline __u32 ksense_hist_index(__u64 v)
{
	__u32 m;

	if (v < KSENSE_HIST_SUB)
		return (__u32)v;
	m = ksense_msb64(v);
	if (m > KSENSE_HIST_MAX_MSB)
		return KSENSE_HIST_BUCKETS - 1;
	return (m - KSENSE_HIST_SUB_BITS + 1) * KSENSE_HIST_SUB +
	       (__u32)((v >> (m - KSENSE_HIST_SUB_BITS)) & (KSENSE_HIST_SUB - 1));
}

/* Smallest value that falls into bucket idx. */
static __always_inline __u64 ksense_hist_lo(__u32 idx)
{
	__u32 group = idx / KSENSE_HIST_SUB, sub = idx % KSENSE_HIST_SUB;

	if (group == 0)
		return idx;
	return (__u64)(KSENSE_HIST_SUB + sub) << (group - 1);
}

static __always_inline __u64 ksense_hist_width(__u32 idx)
{
	__u32 group = idx / KSENSE_HIST_SUB;

	return group == 0 ? 1 : 1ull << (group - 1);
}

/* The value a bucket reports: its midpoint (exact for width-1 buckets). */
static __always_inline __u64 ksense_hist_value(__u32 idx)
{
	return ksense_hist_lo(idx) + ksense_hist_width(idx) / 2;
}

/* Nearest-rank: the rank (1-based) of the p-per-mille percentile of n. */
static __always_inline __u64 ksense_rank(__u64 n, __u32 permille)
{
	return (n * permille + 999) / 1000;
}

#endif /* KSENSE_HIST_H */
