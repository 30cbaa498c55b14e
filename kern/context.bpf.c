// SPDX-License-Identifier: GPL-2.0
/*
 * What a CPU is running right now, for the wakeup sensor (sched.bpf.c's
 * sched_waking runs in the waker's context): hard interrupt handlers and
 * hrtimer callbacks, counted as they nest.  Softirqs are tracked by
 * softirq.bpf.c.  Without data ksyms there is no preempt_count to read;
 * these tracepoints are the portable way.  An exit seen without its entry
 * (the program attached inside a handler) is ignored; an entry whose exit
 * was lost is forgotten once the outermost entry is older than any
 * handler runs (KS_CTX_STALE_NS; here and in sched.bpf.c's waker_cause).
 * Exits are lost: `ksense load` attaches exits first, but a program is
 * also skipped when it is already running on the CPU, so an exit nested
 * in a softirq hrtimer's exit (a hard-irq hrtimer firing while that
 * program runs) never counts down.  Hence the entry time is the
 * outermost callback's: a stuck depth refreshed by every later entry
 * would name every wakeup on a busy CPU a timer's forever.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(ksense_irq_entry)
{
	struct ksense_cpu *c = ksense_cpu();

	if (c) {
		__u64 now = bpf_ktime_get_ns();

		if (!ks_ctx_depth(&c->hardirq_depth, c->hardirq_entry_ns, now))
			c->hardirq_entry_ns = now;
		c->hardirq_depth++;
	}
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(ksense_irq_exit)
{
	struct ksense_cpu *c = ksense_cpu();

	if (c && c->hardirq_depth)
		c->hardirq_depth--;
	return 0;
}

/* Every hrtimer callback: nanosleep, poll/epoll and futex timeouts wake
 * their sleepers from here (hrtimer_wakeup), in hard interrupt context or
 * in the HRTIMER softirq. */
SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(ksense_hrtimer_entry)
{
	struct ksense_cpu *c = ksense_cpu();

	if (c) {
		__u64 now = bpf_ktime_get_ns();

		if (!ks_ctx_depth(&c->hrtimer_depth, c->hrtimer_entry_ns, now))
			c->hrtimer_entry_ns = now;
		c->hrtimer_depth++;
	}
	return 0;
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(ksense_hrtimer_exit)
{
	struct ksense_cpu *c = ksense_cpu();

	if (c && c->hrtimer_depth)
		c->hrtimer_depth--;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
