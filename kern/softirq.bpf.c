// SPDX-License-Identifier: GPL-2.0
/* NET_RX softirq time, and which softirq a CPU is in (for the wakeup
 * sensor).  Softirqs do not nest on a CPU, so one per-CPU entry timestamp
 * and vector are enough.  The vectors (NET_RX_SOFTIRQ 3, ...) have been the
 * same on every kernel (the softirq tracepoints' own format prints them by
 * those numbers). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "hist.bpf.h"

#define KS_PF_KTHREAD 0x00200000 /* include/linux/sched.h, unchanged since 2.6 */

/* NET_RX raised by a task outside any handler: loopback and veth deliver
 * a sender's packets this way (netif_rx in the sender's context), so the
 * NET_RX that follows on this CPU, inline or in ksoftirqd, works for that
 * task, and the wakeups it makes are that task's.  A NIC raises it from
 * its interrupt handler instead: no owner, the wakeups are NETWORK. */
SEC("tp_btf/softirq_raise")
int BPF_PROG(ksense_softirq_raise, unsigned int vec_nr)
{
	struct task_struct *cur;
	struct ksense_cpu *c;

	if (vec_nr != NET_RX_SOFTIRQ)
		return 0;
	c = ksense_cpu();
	if (!c || c->hardirq_depth || c->softirq_vec)
		return 0;
	cur = bpf_get_current_task_btf();
	if (!cur->pid || (cur->flags & KS_PF_KTHREAD))
		return 0;
	c->netrx_raiser_cgid = task_cgroup_id(cur);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(ksense_softirq_entry, unsigned int vec_nr)
{
	struct ksense_cpu *c = ksense_cpu();

	if (!c)
		return 0;
	c->softirq_vec = vec_nr + 1;
	if (vec_nr != NET_RX_SOFTIRQ)
		return 0;
	c->softirq_entry_ns = bpf_ktime_get_ns();
	c->softirq_owner_cgid = c->netrx_raiser_cgid;
	c->netrx_raiser_cgid = 0;
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(ksense_softirq_exit, unsigned int vec_nr)
{
	struct ksense_state *st;
	struct ksense_cpu *c;
	struct ksense_acc *a;
	__u64 now;

	c = ksense_cpu();
	if (!c)
		return 0;
	c->softirq_vec = 0;
	if (vec_nr != NET_RX_SOFTIRQ)
		return 0;
	c->softirq_owner_cgid = 0;
	st = ksense_state();
	if (!st || !c->softirq_entry_ns)
		return 0;
	a = ksense_acc_open(st);
	if (!a)
		return 0;
	now = bpf_ktime_get_ns();
	if (now > c->softirq_entry_ns)
		ksense_hist_add(&a->sig[KSENSE_SIG_NETRX], now - c->softirq_entry_ns);
	c->softirq_entry_ns = 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
