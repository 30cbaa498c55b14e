// SPDX-License-Identifier: GPL-2.0
/*
 * Per-cgroup sensors beyond the scheduler's: 99 Hz on-CPU samples with the
 * sampled user-space address, and block I/O attributed to the cgroup of the
 * task that submitted the bio (buffered writeback submitted by a flusher
 * kworker counts for the kworker's cgroup).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

#define KS_USER_FRAMES 2

SEC("perf_event")
int ksense_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct ksense_stack_key key = {};
	__u64 frames[KS_USER_FRAMES] = {}, one = 1, *count, now;
	struct ksense_cpu *c = ksense_cpu();
	struct ksense_cg_acc *a;
	struct ksense_task *t;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	long n;

	/* what switches and wakeups held on this CPU reaches the shared
	 * hash at least every sample: the lag behind a window is ~10 ms */
	if (c) {
		ksense_cg_flush(c);
		ksense_dep_flush(c);
		ksense_rq_flush(c);
	}
	if (!(__u32)pid_tgid || ksense_is_self(pid_tgid >> 32))
		return 0; /* the idle task, or ksense itself */
	key.cgroup_id = bpf_get_current_cgroup_id();
	a = ksense_cg(key.cgroup_id);
	if (!a)
		return 0;
	ks_cg_add(a->samples, 1);
	/* sched_switch credits on-CPU time at switch-out; a task alone on
	 * its CPU may not switch out for many windows, so credit what it ran
	 * so far here (sched_switch cannot interleave: it runs with
	 * interrupts off on this CPU) */
	t = bpf_task_storage_get(&ks_tasks, bpf_get_current_task_btf(), 0, 0);
	now = bpf_ktime_get_ns();
	if (t && t->oncpu_ns && now > t->oncpu_ns) {
		ks_cg_add(a->on_cpu_ns, now - t->oncpu_ns);
		t->oncpu_ns = now;
	}
	n = bpf_get_stack(ctx, frames, sizeof(frames), BPF_F_USER_STACK);
	if (n < (long)sizeof(frames[0]) || !frames[0])
		return 0; /* a kernel thread, or no user stack to read */
	key.tgid = pid_tgid >> 32;
	key.addr = frames[0];
	count = bpf_map_lookup_elem(&ks_stacks, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&ks_stacks, &key, &one, BPF_NOEXIST);
	return 0;
}

/* bios in flight -> the cgroup2 id of the task that submitted them */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} ks_bios SEC(".maps");

/* The current task's cgroup2 id, or 0 (charged to no cgroup: ksense_cg
 * refuses it) for ksense's own processes. */
static __always_inline __u64 current_cgroup_id(void)
{
	return ksense_is_self(bpf_get_current_pid_tgid() >> 32) ? 0 : bpf_get_current_cgroup_id();
}

/* submit_bio runs in the submitter's context (for fsync and direct I/O the
 * task itself): remember whose bio it is.  The bio's blkcg would name a
 * cgroup-v1 blkio group on hybrid hosts, not the cgroup2 id pods have. */
SEC("tp_btf/block_bio_queue")
int BPF_PROG(ksense_bio_queue, struct bio *bio)
{
	__u64 key = (__u64)(unsigned long)bio, cgid = current_cgroup_id();

	bpf_map_update_elem(&ks_bios, &key, &cgid, BPF_ANY);
	return 0;
}

static __always_inline __u64 rq_cgroup_id(struct request *rq)
{
	__u64 key = (__u64)(unsigned long)BPF_CORE_READ(rq, bio), *cgid;

	cgid = bpf_map_lookup_elem(&ks_bios, &key);
	if (cgid) {
		__u64 id = *cgid;

		bpf_map_delete_elem(&ks_bios, &key);
		return id;
	}
	return current_cgroup_id();
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(ksense_block_issue, struct request *rq)
{
	struct ksense_rq r = {};
	__u64 key = (__u64)(unsigned long)rq;

	r.cgroup_id = rq_cgroup_id(rq);
	r.bytes = BPF_CORE_READ(rq, __data_len);
	r.issue_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&ks_rqs, &key, &r, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(ksense_block_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)(unsigned long)rq, now;
	struct ksense_cg_acc *a;
	struct ksense_rq *r;

	r = bpf_map_lookup_elem(&ks_rqs, &key);
	if (!r)
		return 0;
	now = bpf_ktime_get_ns();
	a = ksense_cg(r->cgroup_id);
	if (a) {
		ks_cg_add(a->io_count, 1);
		ks_cg_add(a->io_bytes, r->bytes);
		if (now > r->issue_ns)
			ks_cg_add(a->io_lat_ns, now - r->issue_ns);
	}
	bpf_map_delete_elem(&ks_rqs, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
