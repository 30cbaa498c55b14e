// SPDX-License-Identifier: GPL-2.0
/*
 * Direct reclaim stalls: time a task spent reclaiming memory itself before
 * its allocation could go on, either because the machine ran low
 * (mm_vmscan_direct_reclaim_begin .. _end, try_to_free_pages) or because
 * its memory cgroup reached its limit (mm_vmscan_memcg_reclaim_begin ..
 * _end, try_to_free_mem_cgroup_pages: a pod at its memory limit).  Both
 * fire in the allocating task, which may sleep and move between CPUs in
 * between, so the start is kept in the task; they do not nest (reclaim
 * runs with PF_MEMALLOC, which keeps allocations inside it from
 * reclaiming).  One episode, begin to end, is one event of the `reclaim`
 * signal (enum ksense_signal): the tick makes its count, sum and
 * percentiles like every other signal's.  kswapd's background reclaim
 * stalls nobody and is not counted.  Tracepoint arguments are not read,
 * so the programs attach whatever their prototypes are on this kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "hist.bpf.h"

/* when the current reclaim episode of a task began, 0 outside one */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} ks_reclaim_tasks SEC(".maps");

static __always_inline void reclaim_begin(void)
{
	__u64 *start = bpf_task_storage_get(&ks_reclaim_tasks, bpf_get_current_task_btf(), 0,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (start)
		*start = bpf_ktime_get_ns();
}

static __always_inline void reclaim_end(void)
{
	__u64 *start = bpf_task_storage_get(&ks_reclaim_tasks, bpf_get_current_task_btf(), 0, 0);
	struct ksense_state *st = ksense_state();
	__u64 now = bpf_ktime_get_ns();

	/* no start: the programs were attached inside this episode */
	if (!start || !*start)
		return;
	if (st && now > *start)
		ksense_record(st, KSENSE_SIG_RECLAIM, now - *start);
	*start = 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(ksense_reclaim_begin)
{
	reclaim_begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(ksense_reclaim_end)
{
	reclaim_end();
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(ksense_memcg_reclaim_begin)
{
	reclaim_begin();
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(ksense_memcg_reclaim_end)
{
	reclaim_end();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
