/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place.  Each field that some target
 * kernel (6.1, 6.12, 6.18) lacks is read through a `___ks` variant struct
 * guarded by bpf_core_field_exists(), so the object compiles against any
 * vmlinux.h and CO-RE picks the path at load; the verifier drops the
 * branch not taken.  ksense_kernel_paths() reports the choice (the `state`
 * pin, `ksense status`, vmtest's CORE line).
 */
#ifndef KSENSE_CORE_FIXES_BPF_H
#define KSENSE_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include "ksense.h"

/* 6.18, the task-based throttle series ("sched/fair: Switch to task based
 * throttle model"): a task of a throttled group throttles itself on its
 * way back to user space, is dequeued, and is marked here until the group
 * is unthrottled. */
struct task_struct___ks_task_throttle {
	bool throttled;
} __attribute__((preserve_access_index));

/* Before it (6.1, 6.12) the cfs_rq is throttled as a whole and its tasks
 * stay queued on it; throttle_count (on every kernel) counts the throttled
 * levels at and above the cfs_rq.  cfs_rq.throttled was an int until
 * 6.18 made it a one-bit field. */
struct cfs_rq___ks {
	int throttle_count;
	int throttled;
} __attribute__((preserve_access_index));

struct cfs_rq___ks_bitfield {
	bool throttled: 1;
} __attribute__((preserve_access_index));

/* task_struct.sched_task_group exists with CONFIG_CGROUP_SCHED (all our
 * targets); the sched entity's cfs_rq->tg is the fallback. */
struct task_struct___ks_tg {
	struct task_group *sched_task_group;
} __attribute__((preserve_access_index));

struct task_group___ks_bw {
	struct cfs_bandwidth cfs_bandwidth;
} __attribute__((preserve_access_index));

static __always_inline __u32 ksense_kernel_paths(void)
{
	__u32 paths = 0;

	if (bpf_core_field_exists(struct task_struct___ks_task_throttle, throttled))
		paths |= KSENSE_PATH_TASK_THROTTLED;
	else if (bpf_core_field_exists(struct cfs_rq___ks, throttle_count))
		paths |= KSENSE_PATH_CFS_RQ_THROTTLE_COUNT;
	if (bpf_core_field_exists(struct task_struct___ks_tg, sched_task_group))
		paths |= KSENSE_PATH_TASK_GROUP;
	else
		paths |= KSENSE_PATH_SE_CFS_RQ_TG;
	if (bpf_core_field_exists(struct task_group___ks_bw, cfs_bandwidth))
		paths |= KSENSE_PATH_CFS_BANDWIDTH;
	if (bpf_core_field_exists(struct cfs_rq___ks_bitfield, throttled) &&
	    bpf_core_field_size(struct cfs_rq___ks_bitfield, throttled) == 1)
		paths |= KSENSE_PATH_THROTTLED_BITFIELD;
	return paths;
}

/* The helpers below run on the scheduler's hot path with BTF-typed task
 * pointers: direct loads (CO-RE still relocates each offset; the verifier
 * makes them fault-safe), not BPF_CORE_READ's probe-read calls. */

/* The task's cfs_rq is in a throttled hierarchy. */
static __always_inline bool ks_cfs_rq_throttled(struct task_struct *p)
{
	struct cfs_rq___ks *rq;

	if (!bpf_core_field_exists(struct cfs_rq___ks, throttle_count))
		return false;
	rq = (void *)p->se.cfs_rq;
	return rq && rq->throttle_count > 0;
}

/* p leaves the CPU still runnable: is it leaving because its CFS quota ran
 * out (rather than for another task)?  Cheap: at most two loads. */
static __always_inline bool ks_switched_out_throttled(struct task_struct *p)
{
	struct task_struct___ks_task_throttle *tp = (void *)p;

	if (bpf_core_field_exists(struct task_struct___ks_task_throttle, throttled))
		return tp->throttled;
	return ks_cfs_rq_throttled(p);
}

/* p is woken: does it join a throttled group's queue, to wait for the next
 * period?  Only before 6.18: there it waits queued on the throttled cfs_rq;
 * with task-based throttling it runs (in the kernel) and throttles itself
 * at its switch-out, which ks_switched_out_throttled sees. */
static __always_inline bool ks_woken_throttled(struct task_struct *p)
{
	if (bpf_core_field_exists(struct task_struct___ks_task_throttle, throttled))
		return false;
	return ks_cfs_rq_throttled(p);
}

/* The task group whose bandwidth the task's run time is charged to. */
static __always_inline __u64 ks_task_group_addr(struct task_struct *p)
{
	struct task_struct___ks_tg *tp = (void *)p;

	struct cfs_rq *rq;

	if (bpf_core_field_exists(struct task_struct___ks_tg, sched_task_group))
		return (__u64)(unsigned long)tp->sched_task_group;
	rq = p->se.cfs_rq;
	return rq ? (__u64)(unsigned long)rq->tg : 0;
}

#endif /* KSENSE_CORE_FIXES_BPF_H */
