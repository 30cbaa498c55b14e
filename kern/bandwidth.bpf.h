/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tick's view of CFS bandwidth: from the task group a cgroup's tasks
 * were last charged to (ksense_cg_acc.tg_addr, noted by the sensors), the
 * nearest group up the tree that has a quota, and its own counters - the
 * numbers cpu.stat prints (nr_periods, nr_throttled, throttled_time), the
 * same on cgroup v1 `cpu` and v2 `cpu.max`.
 *
 * The address was valid when a sensor read it from a running task; the
 * group may have been freed since (its cgroup removed).  So the tick reads
 * it only for a cgroup charged in this or the last window, through
 * probe-reads that cannot fault, and takes nothing that fails a check: the
 * group online, a sane period and quota, counters that never go back.
 */
#ifndef KSENSE_BANDWIDTH_BPF_H
#define KSENSE_BANDWIDTH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include "core_fixes.bpf.h"

#define KS_BW_MAX_LEVELS   8
#define KS_RUNTIME_INF     (~0ull)
#define KS_NS_PER_US       1000ull
/* cpu.cfs_period_us and cpu.max accept 1 ms .. 1 s */
#define KS_BW_PERIOD_MIN_NS 1000000ull
#define KS_BW_PERIOD_MAX_NS 1000000000ull

struct ks_bw {
	__u64 cgroup_id;
	__u64 quota_ns;
	__u64 period_ns;
	__u64 throttled_ns;        /* cumulative */
	__u32 nr_periods;          /* cumulative */
	__u32 nr_throttled;
	__u32 level;
};

/* CSS_ONLINE is an anonymous enum's constant in the kernel: its value has
 * been 1 << 1 since css flags exist. */
#define KS_CSS_ONLINE (1u << 1)

static __always_inline bool ks_bw_read_inline(__u64 tg_addr, struct ks_bw *out)
{
	struct task_group___ks_bw *tg = (void *)(unsigned long)tg_addr;
	__u64 quota, period;
	unsigned int flags;
	int i;

	if (!bpf_core_field_exists(struct task_group___ks_bw, cfs_bandwidth))
		return false;
	for (i = 0; i < KS_BW_MAX_LEVELS && tg; i++) {
		flags = BPF_CORE_READ((struct task_group *)tg, css.flags);
		if (!(flags & KS_CSS_ONLINE))
			return false;
		quota = BPF_CORE_READ(tg, cfs_bandwidth.quota);
		if (quota != KS_RUNTIME_INF) {
			period = BPF_CORE_READ(tg, cfs_bandwidth.period);
			if (period < KS_BW_PERIOD_MIN_NS || period > KS_BW_PERIOD_MAX_NS || !quota ||
			    quota > period * KSENSE_MAX_CPUS * 4)
				return false;
			out->quota_ns = quota;
			out->period_ns = period;
			out->throttled_ns = BPF_CORE_READ(tg, cfs_bandwidth.throttled_time);
			out->nr_periods = BPF_CORE_READ(tg, cfs_bandwidth.nr_periods);
			out->nr_throttled = BPF_CORE_READ(tg, cfs_bandwidth.nr_throttled);
			out->cgroup_id = BPF_CORE_READ((struct task_group *)tg, css.cgroup, kn, id);
			out->level = i;
			return out->nr_throttled <= out->nr_periods;
		}
		tg = (void *)BPF_CORE_READ((struct task_group *)tg, parent);
	}
	return false;
}

/* Fold the group's counters into cg: the window's deltas against the
 * totals kept at the last window, when the same group was read then and
 * nothing went back (anything else restarts from these totals). */
static __always_inline void ks_bw_fold(struct ksense_cgroup *cg, const struct ks_bw *bw, bool found,
				       __u64 dur_ns, __u32 ncpu)
{
	bool same = found && cg->bw_level != ~0u && cg->bw_cgroup_id == bw->cgroup_id &&
		    bw->throttled_ns >= cg->bw_total_throttled_ns && bw->nr_periods >= cg->bw_total_periods &&
		    bw->nr_throttled >= cg->bw_total_throttled;

	cg->bw_throttled_ns = 0;
	cg->bw_nr_periods = 0;
	cg->bw_nr_throttled = 0;
	if (!found) {
		cg->bw_level = ~0u;
		cg->bw_cgroup_id = 0;
		cg->bw_quota_us = 0;
		cg->bw_period_us = 0;
		cg->bw_total_throttled_ns = 0;
		cg->bw_total_periods = 0;
		cg->bw_total_throttled = 0;
		return;
	}
	/* a throttled delta above every CPU's whole window is not these counters */
	if (same && bw->throttled_ns - cg->bw_total_throttled_ns <= (__u64)ncpu * dur_ns * 2) {
		cg->bw_throttled_ns = bw->throttled_ns - cg->bw_total_throttled_ns;
		cg->bw_nr_periods = bw->nr_periods - cg->bw_total_periods;
		cg->bw_nr_throttled = bw->nr_throttled - cg->bw_total_throttled;
	}
	cg->bw_level = bw->level;
	cg->bw_cgroup_id = bw->cgroup_id;
	cg->bw_quota_us = bw->quota_ns / KS_NS_PER_US;
	cg->bw_period_us = bw->period_ns / KS_NS_PER_US;
	cg->bw_total_throttled_ns = bw->throttled_ns;
	cg->bw_total_periods = bw->nr_periods;
	cg->bw_total_throttled = bw->nr_throttled;
}

/* The tick's working copy: not on its stack, which 6.1's verifier counts
 * over the whole call chain (timer callback, map walk) against 512 bytes.
 * Per-CPU; the tick is its only user. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_bw);
} ks_bw_scratch SEC(".maps");

/* cg's bandwidth fields for this window, from the group at tg_addr (0:
 * none to read). */
static __always_inline void ks_bw_update(struct ksense_cgroup *cg, __u64 tg_addr, __u64 dur_ns, __u32 ncpu)
{
	__u32 zero = 0;
	struct ks_bw *bw = bpf_map_lookup_elem(&ks_bw_scratch, &zero);
	bool found;

	if (!bw)
		return;
	__builtin_memset(bw, 0, sizeof(*bw));
	found = tg_addr && ks_bw_read_inline(tg_addr, bw);
	ks_bw_fold(cg, bw, found, dur_ns, ncpu);
}

#endif /* KSENSE_BANDWIDTH_BPF_H */
