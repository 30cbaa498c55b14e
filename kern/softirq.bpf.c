// SPDX-License-Identifier: GPL-2.0
/* NET_RX softirq time.  Softirqs do not nest on a CPU, so one per-CPU entry
 * timestamp is enough.  NET_RX_SOFTIRQ has been 3 on every kernel (the
 * softirq tracepoints' own format prints it by that number). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "hist.bpf.h"

SEC("tp_btf/softirq_entry")
int BPF_PROG(ksense_softirq_entry, unsigned int vec_nr)
{
	struct ksense_cpu *c;

	if (vec_nr != NET_RX_SOFTIRQ)
		return 0;
	c = ksense_cpu();
	if (c)
		c->softirq_entry_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(ksense_softirq_exit, unsigned int vec_nr)
{
	struct ksense_state *st;
	struct ksense_cpu *c;
	struct ksense_acc *a;
	__u64 now;

	if (vec_nr != NET_RX_SOFTIRQ)
		return 0;
	c = ksense_cpu();
	st = ksense_state();
	if (!c || !st || !c->softirq_entry_ns)
		return 0;
	a = ksense_acc_open(st);
	if (!a)
		return 0;
	now = bpf_ktime_get_ns();
	if (now > c->softirq_entry_ns)
		ksense_hist_add(&a->netrx, now - c->softirq_entry_ns);
	c->softirq_entry_ns = 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
