/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps shared by every kern/ .bpf.c file.  Declared __weak so each object can see
 * them and `bpftool gen object` links them into one instance of each.
 */
#ifndef KSENSE_MAPS_BPF_H
#define KSENSE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ksense.h"
#include "internal.h"
#include "core_fixes.bpf.h"
#include "cghist.h"

/* pinned: config, state, history, baseline, score, decision,
 * cgroups, stacks, self, self_gen, totals */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_config);
} ks_config SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_state);
} ks_state SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KSENSE_HISTORY_LEN);
	__type(key, __u32);
	__type(value, struct ksense_window);
} ks_history SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_baseline);
} ks_baseline SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_score);
} ks_score SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_decision);
} ks_decision SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSENSE_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ksense_cgroup);
} ks_cgroups SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSENSE_MAX_STACKS);
	__type(key, struct ksense_stack_key);
	__type(value, __u64);
} ks_stacks SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSENSE_MAX_SELF);
	__type(key, __u32);
	__type(value, struct ksense_self);
} ks_self SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_self_gen);
} ks_self_gen SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_totals);
} ks_totals SEC(".maps") __weak;

/* internal: kept alive by the programs that use them */
/* Shared by all CPUs (atomic adds): the tick then needs no per-CPU merge
 * loop inside its per-cgroup callback, which 6.1's verifier refuses. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSENSE_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ksense_cg_acc);
} ks_cg_acc SEC(".maps") __weak;

/* off-CPU time of one cgroup ended by another's tasks, over the open
 * window; the tick keeps each cgroup's top wakers and ages pairs out */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSENSE_MAX_WAKERS);
	__type(key, struct ksense_waker_key);
	__type(value, struct ksense_waker_acc);
} ks_wakers SEC(".maps") __weak;

/* block requests in flight: request address -> struct ksense_rq */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct ksense_rq);
} ks_rqs SEC(".maps") __weak;
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* indexed by ksense_state.acc_slot */
	__type(key, __u32);
	__type(value, struct ksense_acc);
} ks_acc SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_cpu);
} ks_cpus SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_acc);
} ks_merged SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ksense_task);
} ks_tasks SEC(".maps") __weak;

static const __u32 zero_key;

/* Hide a value from the optimiser so the bounds check the verifier needs is
 * not folded away (e.g. after i % N). */
#define ks_barrier_var(v) asm volatile("" : "+r"(v))
/* Keep the compiler from moving stores across this point. */
#define ks_barrier() asm volatile("" ::: "memory")

static __always_inline struct ksense_state *ksense_state(void)
{
	return bpf_map_lookup_elem(&ks_state, &zero_key);
}

/* The accumulator of the open window on this CPU. */
static __always_inline struct ksense_acc *ksense_acc_open(const struct ksense_state *st)
{
	__u32 slot = st->acc_slot & 1;

	return bpf_map_lookup_elem(&ks_acc, &slot);
}

/* The accumulator of cgroup cgid, created on first use; add with
 * ks_cg_add (other CPUs add to it too). */
static __always_inline struct ksense_cg_acc *ksense_cg(__u64 cgid)
{
	static const struct ksense_cg_acc zero_acc;
	struct ksense_cg_acc *a;

	if (!cgid)
		return NULL;
	a = bpf_map_lookup_elem(&ks_cg_acc, &cgid);
	if (a)
		return a;
	bpf_map_update_elem(&ks_cg_acc, &cgid, &zero_acc, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ks_cg_acc, &cgid);
}

#define ks_cg_add(field, v) __sync_fetch_and_add(&(field), (v))

/* One of ksense's own processes (the `self` pin): left out of the
 * per-cgroup sensors.  Called only where a cgroup would be charged, so
 * the hot path pays one lookup of a small hash map there and nowhere else. */
static __always_inline bool ksense_is_self(__u32 tgid)
{
	return bpf_map_lookup_elem(&ks_self, &tgid) != NULL;
}

static __always_inline struct ksense_cpu *ksense_cpu(void)
{
	return bpf_map_lookup_elem(&ks_cpus, &zero_key);
}

/* Whether task t (of process tgid) is one of ksense's own.  The answer is
 * kept in t until `self` changes (userspace bumps self_gen after every
 * change): a hash search at every switch and wakeup would cost more than
 * the rest of the sensor. */
static __always_inline bool ksense_task_is_self(struct ksense_task *t, __u32 tgid)
{
	struct ksense_self_gen *g = bpf_map_lookup_elem(&ks_self_gen, &zero_key);
	__u64 gen = g ? g->gen + 1 : 0;

	if (!gen || t->self_gen != gen) {
		t->self = ksense_is_self(tgid);
		t->self_gen = gen;
	}
	return t->self;
}

/* The held off-CPU time by cause into a (NULL: dropped). */
static __always_inline void ksense_cg_flush_waits(struct ksense_cpu *c, struct ksense_cg_acc *a)
{
	int i;

	for (i = 0; i < KSENSE_NR_CAUSES; i++) {
		if (!c->cg_wait_n[i])
			continue;
		if (a) {
			ks_cg_add(a->wait_ns[i], c->cg_wait_ns[i]);
			ks_cg_add(a->wait_n[i], c->cg_wait_n[i]);
		}
		c->cg_wait_ns[i] = 0;
		c->cg_wait_n[i] = 0;
	}
}

/* Every caller runs with interrupts off on its CPU (sched_switch,
 * try_to_wake_up under pi_lock, the perf_event sampler's hrtimer), so the
 * held charges are never seen half-updated. */
static __always_inline void ksense_cg_flush(struct ksense_cpu *c)
{
	struct ksense_cg_acc *a;

	if (!c->cg_id)
		return;
	a = ksense_cg(c->cg_id);
	if (a) {
		if (c->cg_on_cpu_ns)
			ks_cg_add(a->on_cpu_ns, c->cg_on_cpu_ns);
		if (c->cg_d_ns)
			ks_cg_add(a->d_ns, c->cg_d_ns);
		if (c->cg_s_ns)
			ks_cg_add(a->s_ns, c->cg_s_ns);
		if (c->cg_wakeups)
			ks_cg_add(a->wakeups, c->cg_wakeups);
		if (c->cg_throttled_waits) {
			ks_cg_add(a->throttled_ns, c->cg_throttled_ns);
			ks_cg_add(a->throttled_waits, c->cg_throttled_waits);
		}
		/* the tick reads the group's bandwidth counters and the
		 * cgroup's PSI through these */
		if (c->cg_tg)
			a->tg_addr = c->cg_tg;
		if (c->cg_cgrp)
			a->cgrp_addr = c->cg_cgrp;
	}
	ksense_cg_flush_waits(c, a);
	c->cg_id = 0;
	c->cg_on_cpu_ns = c->cg_d_ns = c->cg_s_ns = c->cg_wakeups = 0;
	c->cg_throttled_ns = c->cg_throttled_waits = 0;
}

/* The held (wakee, waker) pair into the `ks_wakers` tally. */
static __always_inline void ksense_dep_flush(struct ksense_cpu *c)
{
	static const struct ksense_waker_acc zero_waker;
	struct ksense_waker_key key;
	struct ksense_waker_acc *v;

	if (!c->dep_n)
		return;
	key.wakee = c->dep_wakee;
	key.waker = c->dep_waker;
	v = bpf_map_lookup_elem(&ks_wakers, &key);
	if (!v) {
		bpf_map_update_elem(&ks_wakers, &key, &zero_waker, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&ks_wakers, &key);
	}
	if (v) {
		ks_cg_add(v->ns, c->dep_ns);
		ks_cg_add(v->n, c->dep_n);
	}
	c->dep_ns = c->dep_n = 0;
}

/* dur ns of wakee's off-CPU time ended by waker's tasks, held per CPU
 * while the same pair repeats in the same window (a client and its
 * server alternate two pairs, so it repeats less than the cgroup hold). */
static __always_inline void ksense_dep_charge(struct ksense_cpu *c, __u64 wakee, __u64 waker, __u64 seq, __u64 dur)
{
	if (c->dep_wakee != wakee || c->dep_waker != waker || c->dep_seq != seq) {
		ksense_dep_flush(c);
		c->dep_wakee = wakee;
		c->dep_waker = waker;
		c->dep_seq = seq;
	}
	c->dep_ns += dur;
	c->dep_n++;
}

/* Direct loads through the BTF-typed task pointer: on the hot path they
 * cost a fraction of BPF_CORE_READ's probe-read helper calls (the verifier
 * makes them fault-safe; CO-RE still relocates the offsets). */
static __always_inline __u64 task_cgroup_id(struct task_struct *p)
{
	return p->cgroups->dfl_cgrp->kn->id;
}

/* p's cgroup2 id, kept in its storage t while its css_set stays the same
 * (a task changes cgroups by changing css_set): one load instead of a
 * walk through three other objects' cache lines at every event. */
static __always_inline __u64 ks_task_cgid(struct task_struct *p, struct ksense_task *t)
{
	__u64 css = (__u64)(unsigned long)p->cgroups;

	if (t->css != css) {
		t->css = css;
		t->cgid = task_cgroup_id(p);
	}
	return t->cgid;
}

/* Hold charges for p's cgroup cgid in window seq on this CPU: false for
 * cgroup 0 (no cgroup2 id: nothing to charge).  A new hold also notes p's
 * task group and cgroup, for the tick to read their CFS bandwidth and PSI. */
static __always_inline bool ksense_cg_hold(struct ksense_cpu *c, struct task_struct *p, __u64 cgid, __u64 seq)
{
	if (!cgid)
		return false;
	if (c->cg_id != cgid || c->cg_seq != seq) {
		ksense_cg_flush(c);
		c->cg_id = cgid;
		c->cg_seq = seq;
		c->cg_tg = ks_task_group_addr(p);
		c->cg_cgrp = (__u64)(unsigned long)p->cgroups->dfl_cgrp;
	}
	return true;
}

/* The held run-queue waits into their cgroup's histogram. */
static __always_inline void ksense_rq_flush(struct ksense_cpu *c)
{
	struct ksense_cg_acc *a;
	__u64 old;
	__u32 i, idx;

	if (!c->rq_count)
		return;
	a = ksense_cg(c->rq_cg);
	if (a) {
		ks_cg_add(a->rq_count, c->rq_count);
		ks_cg_add(a->rq_sum_ns, c->rq_sum_ns);
		old = a->rq_max_ns;
		if (c->rq_max_ns > old)
			__sync_val_compare_and_swap(&a->rq_max_ns, old, c->rq_max_ns);
		for (i = 0; i < KSENSE_CG_RQ_HOLD && i < c->rq_n; i++) {
			idx = c->rq_idx[i];
			if (idx < KSENSE_CG_RQ_BUCKETS)
				__sync_fetch_and_add(&a->rq_buckets[idx], c->rq_cnt[i]);
		}
	}
	c->rq_count = c->rq_sum_ns = c->rq_max_ns = 0;
	c->rq_n = 0;
}

/* A run-queue wait of v ns for cgroup cgid in window seq, held on this
 * CPU: up to KSENSE_CG_RQ_HOLD distinct buckets of one cgroup, so a CPU
 * that keeps running the same pod's tasks touches the shared hash rarely. */
static __always_inline void ksense_rq_charge(struct ksense_cpu *c, __u64 cgid, __u64 seq, __u64 v, __u32 idx)
{
	__u32 i;

	if (!cgid)
		return;
	if (c->rq_cg != cgid || c->rq_seq != seq) {
		ksense_rq_flush(c);
		c->rq_cg = cgid;
		c->rq_seq = seq;
	}
	for (i = 0; i < KSENSE_CG_RQ_HOLD; i++) {
		if (i < c->rq_n && c->rq_idx[i] == idx) {
			c->rq_cnt[i]++;
			goto counted;
		}
	}
	if (c->rq_n >= KSENSE_CG_RQ_HOLD) {
		ksense_rq_flush(c);
		c->rq_cg = cgid;
		c->rq_seq = seq;
	}
	i = c->rq_n & (KSENSE_CG_RQ_HOLD - 1);
	c->rq_idx[i] = idx;
	c->rq_cnt[i] = 1;
	c->rq_n = i + 1;
counted:
	c->rq_count++;
	c->rq_sum_ns += v;
	if (v > c->rq_max_ns)
		c->rq_max_ns = v;
}

#endif /* KSENSE_MAPS_BPF_H */
