// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler sensors: run-queue latency, D-state episodes and area, CPU idle
 * time, and discovery of the kernel's psi_system group.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"
#include "hist.bpf.h"

#define KS_TASK_RUNNING         0x0000
#define KS_TASK_UNINTERRUPTIBLE 0x0002
#define KS_TASK_NOLOAD          0x0400 /* TASK_IDLE sleepers are not "stuck" */
#define KS_PSI_MAX_DEPTH        32

static __always_inline struct ksense_task *task_state(struct task_struct *p, bool create)
{
	return bpf_task_storage_get(&ks_tasks, p, 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

#define KS_PF_KTHREAD 0x00200000 /* include/linux/sched.h, unchanged since 2.6 */

/* What is ending p's wait: the context sched_waking runs in is the
 * waker's.  *waker gets the waker's cgroup for LOCK and DEPENDENCY. */
static __always_inline __u32 waker_cause(struct ksense_cpu *c, __u64 now, __u64 wakee, __u64 *waker)
{
	struct task_struct *cur;
	__u64 id;
	__u32 vec;

	if (ks_ctx_depth(&c->hrtimer_depth, c->hrtimer_entry_ns, now))
		return KSENSE_CAUSE_TIMER;
	if (ks_ctx_depth(&c->hardirq_depth, c->hardirq_entry_ns, now))
		return KSENSE_CAUSE_DEVICE;
	if (c->softirq_vec) {
		vec = c->softirq_vec - 1;
		if (vec == TIMER_SOFTIRQ || vec == HRTIMER_SOFTIRQ)
			return KSENSE_CAUSE_TIMER;
		if (vec != NET_RX_SOFTIRQ && vec != NET_TX_SOFTIRQ)
			return KSENSE_CAUSE_DEVICE;
		if (!c->softirq_owner_cgid)
			return KSENSE_CAUSE_NETWORK;
		/* packets a task sent over loopback or a veth */
		*waker = c->softirq_owner_cgid;
		return *waker == wakee ? KSENSE_CAUSE_LOCK : KSENSE_CAUSE_DEPENDENCY;
	}
	cur = bpf_get_current_task_btf();
	if (!cur->pid || (cur->flags & KS_PF_KTHREAD))
		return KSENSE_CAUSE_KERNEL;
	/* the task sched_switch put on this CPU, whose cgroup it noted; the
	 * barriers keep the two loads apart (the verifier refuses one load
	 * instruction shared by a map value and a kernel pointer) */
	if (c->cur_task == (__u64)(unsigned long)cur && c->cur_css == (__u64)(unsigned long)cur->cgroups) {
		id = c->cur_cgid;
		ks_barrier_var(id);
	} else {
		id = task_cgroup_id(cur);
		ks_barrier_var(id);
	}
	*waker = id;
	return id == wakee ? KSENSE_CAUSE_LOCK : KSENSE_CAUSE_DEPENDENCY;
}

/* A sleeper is being woken: its cgroup waited off CPU from switch-out (or
 * the window's start, if later) until now, for whatever is waking it. */
static __always_inline void end_offcpu(struct task_struct *p, struct ksense_task *t, __u64 now,
				       struct ksense_cpu *c, const struct ksense_state *st)
{
	__u64 start = t->offcpu_ns, dur, wakee, waker = 0;
	__u32 cause;

	t->offcpu_ns = 0;
	if (now <= start || ksense_task_is_self(t, p->tgid) || !ksense_cg_hold(c, p, ks_task_cgid(p, t), st->seq))
		return;
	if (start < st->window_start_ns)
		start = st->window_start_ns;
	dur = now > start ? now - start : 0;
	if (t->offcpu_d)
		c->cg_d_ns += dur;
	else
		c->cg_s_ns += dur;
	c->cg_wakeups++;
	wakee = c->cg_id;
	cause = waker_cause(c, now, wakee, &waker);
	if (cause >= KSENSE_NR_CAUSES)
		return;
	c->cg_wait_ns[cause] += dur;
	c->cg_wait_n[cause]++;
	if (cause == KSENSE_CAUSE_DEPENDENCY)
		ksense_dep_charge(c, wakee, waker, st->seq, dur);
}

/* sched_waking: in the waker's context, before the wakee is queued.  A
 * task without storage has not been switched out since load: nothing to
 * end, and its first run-queue wait is not worth an allocation here. */
SEC("tp_btf/sched_waking")
int BPF_PROG(ksense_sched_waking, struct task_struct *p)
{
	struct ksense_state *st;
	struct ksense_task *t;
	struct ksense_cpu *c;
	__u64 now;

	if (!p->pid)
		return 0;
	t = task_state(p, false);
	if (!t)
		return 0;
	st = ksense_state();
	c = ksense_cpu();
	if (!st || !c)
		return 0;
	now = bpf_ktime_get_ns();
	t->queued_ns = now;
	t->queued_throttled = ks_woken_throttled(p);
	if (t->offcpu_ns)
		end_offcpu(p, t, now, c, st);
	return 0;
}

/* Tasks in D: a per-CPU count changed where the task leaves or re-enters the
 * CPU, and its time integral.  The sum over CPUs is the machine's count,
 * even though a task may enter D on one CPU and come back on another. */
static __always_inline void d_change(struct ksense_cpu *c, __u64 now, __s64 delta)
{
	if (c->d_last_ns)
		c->d_area_ns += c->d_nr * (__s64)(now - c->d_last_ns);
	c->d_nr += delta;
	c->d_last_ns = now;
}

/* psi_system is not reachable by symbol here (no data ksyms), but it tops
 * the parent chain of every non-root cgroup's psi group. */
static __always_inline void find_psi_system(struct task_struct *p, struct ksense_state *st)
{
	struct psi_group *g, *parent;
	int i;

	g = BPF_CORE_READ(p, cgroups, dfl_cgrp, psi);
	if (!g)
		return;
	for (i = 0; i < KS_PSI_MAX_DEPTH; i++) {
		parent = BPF_CORE_READ(g, parent);
		if (!parent)
			break;
		g = parent;
	}
	if (i == 0 || i == KS_PSI_MAX_DEPTH)
		return; /* a root cgroup's own group, or too deep to trust */
	st->psi_group_addr = (__u64)(unsigned long)g;
	st->psi_source = KSENSE_PSI_KERNEL;
}

/* prev leaves the CPU: its cgroup's on-CPU time, and what it waits for. */
static __always_inline void switched_out(struct task_struct *prev, struct ksense_task *t, __u64 now,
					 bool preempt, unsigned int prev_state, struct ksense_cpu *c, __u64 seq)
{
	bool runnable = preempt || prev_state == KS_TASK_RUNNING;
	bool d = (prev_state & KS_TASK_UNINTERRUPTIBLE) && !(prev_state & KS_TASK_NOLOAD);

	if (t->oncpu_ns) {
		if (now > t->oncpu_ns && !ksense_task_is_self(t, prev->tgid) &&
		    ksense_cg_hold(c, prev, ks_task_cgid(prev, t), seq))
			c->cg_on_cpu_ns += now - t->oncpu_ns;
		t->oncpu_ns = 0;
	}
	if (runnable) {
		t->queued_ns = now;
		t->queued_throttled = ks_switched_out_throttled(prev);
		return;
	}
	/* A sched_waking since it last ran on a CPU: either it came between
	 * the task's setting a sleep state and this switch (sched_waking runs
	 * before the waker takes a runqueue lock), and the task is woken and
	 * waits for a CPU from now on, with no further wakeup - the switch-in
	 * then drops the off-CPU start below; or it woke the task before it
	 * left the CPU at all, the task ran on, and this is a sleep of its
	 * own, which a later wakeup ends as any. */
	if (t->queued_ns)
		t->queued_ns = now;
	if (!(prev_state & KS_TASK_NOLOAD)) {
		t->offcpu_ns = now;
		t->offcpu_d = d;
	}
	if (d && !t->dstate_ns) {
		t->dstate_ns = now;
		d_change(c, now, 1);
	}
}

/* next runs after waiting runnable since t->queued_ns: a run-queue wait,
 * or, when it waited for its CFS quota's next period, a throttled wait,
 * which is its cgroup's and no sign of a busy CPU. */
static __always_inline void switched_in(struct task_struct *next, struct ksense_task *t, __u64 now,
					struct ksense_acc *a, struct ksense_cpu *c, __u64 seq)
{
	__u64 wait = now - t->queued_ns;

	if (!t->queued_throttled) {
		ksense_hist_add(&a->sig[KSENSE_SIG_RUNQ], wait);
		if (!ksense_task_is_self(t, next->tgid))
			ksense_rq_charge(c, t->cgid, seq, wait, ks_cg_rq_index(wait));
		return;
	}
	t->queued_throttled = 0;
	if (!ksense_task_is_self(t, next->tgid) && ksense_cg_hold(c, next, t->cgid, seq)) {
		c->cg_throttled_ns += wait;
		c->cg_throttled_waits++;
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ksense_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct ksense_state *st = ksense_state();
	struct ksense_cpu *c = ksense_cpu();
	struct ksense_task *t;
	struct ksense_acc *a;
	__u64 now;

	if (!st || !c)
		return 0;
	a = ksense_acc_open(st);
	if (!a)
		return 0;
	now = bpf_ktime_get_ns();

	if (!prev->pid) {
		if (c->idle_since_ns && now > c->idle_since_ns)
			c->idle_ns += now - c->idle_since_ns;
		c->idle_since_ns = 0;
	} else {
		t = task_state(prev, true);
		if (t)
			switched_out(prev, t, now, preempt, prev_state, c, st->seq);
	}

	if (!next->pid) {
		c->idle_since_ns = now;
	} else {
		t = task_state(next, true);
		if (t) {
			if (!t->seen) {
				/* first seen.  A task that never ran is new:
				 * there is no sched_wakeup_new program (making
				 * its storage there cost ~1 us per fork), so its
				 * first wait counts from its start_time, the
				 * CLOCK_MONOTONIC ns fork stamps a moment before
				 * the new task is queued */
				t->seen = 1;
				if (!t->queued_ns && !next->se.sum_exec_runtime && next->start_time &&
				    next->start_time < now)
					t->queued_ns = next->start_time;
			}
			t->oncpu_ns = now;
			t->offcpu_ns = 0; /* a wakeup not seen (load raced it): not charged */
			c->cur_task = (__u64)(unsigned long)next;
			c->cur_cgid = ks_task_cgid(next, t);
			c->cur_css = t->css;
			if (t->queued_ns) {
				if (now > t->queued_ns)
					switched_in(next, t, now, a, c, st->seq);
				t->queued_ns = 0;
			}
			if (t->dstate_ns) {
				if (now > t->dstate_ns)
					ksense_hist_add(&a->sig[KSENSE_SIG_DSTATE], now - t->dstate_ns);
				t->dstate_ns = 0;
				d_change(c, now, -1);
			}
		}
	}

	if (st->psi_source == KSENSE_PSI_NONE && prev->pid)
		find_psi_system(prev, st);
	return 0;
}

/* The last thread of a process exits (signal->live has dropped to 0
 * before this tracepoint): if it was one of ksense's own, forget it, so
 * the PID, once reused, is counted again.  A daemon killed with SIGKILL
 * cannot remove itself; this does it for it. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ksense_self_exit, struct task_struct *p)
{
	__u32 tgid;

	if (p->signal->live.counter)
		return 0;
	tgid = p->tgid;
	bpf_map_delete_elem(&ks_self, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
