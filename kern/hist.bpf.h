/* SPDX-License-Identifier: GPL-2.0 */
/* Histogram recording and reading on the BPF side. */
#ifndef KSENSE_HIST_BPF_H
#define KSENSE_HIST_BPF_H

#include "maps.bpf.h"
#include "hist.h"

/* Per-CPU, so plain adds: the only writer is this CPU with preemption off.
 * The tick reads it from another CPU after flipping acc_slot, which is why
 * a straggling event may land in the slot just closed (bounded, rare). */
static __always_inline void ksense_hist_add(struct ksense_hist *h, __u64 v)
{
	__u32 idx = ksense_hist_index(v);

	h->count++;
	h->sum_ns += v;
	if (v > h->max_ns)
		h->max_ns = v;
	if (idx < KSENSE_HIST_BUCKETS)
		h->buckets[idx]++;
}

/* Signal sig's histogram in a; NULL when sig is out of range. */
static __always_inline struct ksense_hist *ksense_acc_hist(struct ksense_acc *a, __u32 sig)
{
	ks_barrier_var(sig);
	return sig < KSENSE_NR_SIGNALS ? &a->sig[sig] : NULL;
}

/* Record v into signal sig of this CPU's open accumulator. */
static __always_inline void ksense_record(const struct ksense_state *st, __u32 sig, __u64 v)
{
	struct ksense_acc *a = ksense_acc_open(st);

	if (a && sig < KSENSE_NR_SIGNALS)
		ksense_hist_add(&a->sig[sig], v);
}

struct ksense_pct_ctx {
	__u32 sig;
	__u64 max;
	__u64 cum;
	__u64 rank50, rank95, rank99;
	__u64 p50, p95, p99;
	__u32 found; /* bit 0: p50, 1: p95, 2: p99 */
};

static long ksense_pct_step(__u64 i, struct ksense_pct_ctx *c)
{
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);
	struct ksense_hist *h;
	__u64 v;

	if (!m || i >= KSENSE_HIST_BUCKETS)
		return 1;
	h = ksense_acc_hist(m, c->sig);
	if (!h)
		return 1;
	c->cum += h->buckets[i];
	/* The last bucket is open-ended: its midpoint means nothing. */
	v = i == KSENSE_HIST_BUCKETS - 1 ? c->max : ksense_hist_value((__u32)i);
	if (!(c->found & 1) && c->cum >= c->rank50) {
		c->p50 = v;
		c->found |= 1;
	}
	if (!(c->found & 2) && c->cum >= c->rank95) {
		c->p95 = v;
		c->found |= 2;
	}
	if (c->cum >= c->rank99) {
		c->p99 = v;
		c->found |= 4;
		return 1; /* p99 is the last one we need */
	}
	return 0;
}

static __always_inline __u64 ksense_min64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* Statistics of one signal of the `merged` histogram. */
static __always_inline void ksense_lat_from_merged(__u32 sig, struct ksense_lat *out)
{
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);
	struct ksense_pct_ctx c = { .sig = sig };
	struct ksense_hist *h;

	__builtin_memset(out, 0, sizeof(*out));
	if (!m)
		return;
	h = ksense_acc_hist(m, sig);
	if (!h)
		return;
	out->count = h->count;
	out->sum_ns = h->sum_ns;
	out->max_ns = h->max_ns;
	if (!h->count)
		return;
	out->avg_ns = h->sum_ns / h->count;
	c.max = h->max_ns;
	c.rank50 = ksense_rank(h->count, 500);
	c.rank95 = ksense_rank(h->count, 950);
	c.rank99 = ksense_rank(h->count, 990);
	bpf_loop(KSENSE_HIST_BUCKETS, ksense_pct_step, &c, 0);
	/* Buckets can trail count by a straggling event (see ksense_hist_add):
	 * a rank not reached is the top of the window.  And a midpoint can
	 * overshoot the largest value seen; never report more than it. */
	if (!(c.found & 1))
		c.p50 = out->max_ns;
	if (!(c.found & 2))
		c.p95 = out->max_ns;
	if (!(c.found & 4))
		c.p99 = out->max_ns;
	out->p50_ns = ksense_min64(c.p50, out->max_ns);
	out->p95_ns = ksense_min64(c.p95, out->max_ns);
	out->p99_ns = ksense_min64(c.p99, out->max_ns);
}

#endif /* KSENSE_HIST_BPF_H */
