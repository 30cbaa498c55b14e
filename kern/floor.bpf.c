// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark floor (tools/bench, build/bench_floor): an empty tp_btf
 * program on every tracepoint ksense attaches to, so the cost of being
 * called at all is measured apart from what ksense does there.  Not part
 * of the object `ksense load` uses.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EMPTY(tp) \
	SEC("tp_btf/" #tp) \
	int floor_##tp(void *ctx) \
	{ \
		return 0; \
	}

EMPTY(sched_switch)
EMPTY(sched_waking)
EMPTY(sched_process_exit)
EMPTY(softirq_raise)
EMPTY(softirq_entry)
EMPTY(softirq_exit)
EMPTY(irq_handler_entry)
EMPTY(irq_handler_exit)
EMPTY(hrtimer_expire_entry)
EMPTY(hrtimer_expire_exit)
EMPTY(block_bio_queue)
EMPTY(block_rq_issue)
EMPTY(block_rq_complete)

char LICENSE[] SEC("license") = "GPL";
