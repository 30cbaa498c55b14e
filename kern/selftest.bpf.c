// SPDX-License-Identifier: GPL-2.0
/*
 * Entry points for selftests only (linked into ksense_test.bpf.o, never into
 * the object `ksense load` uses).  They drive the same recording and
 * percentile code the sensors and the tick run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "hist.bpf.h"
#include "analytics.h"
#include "cghist.h"
#include "selftest.h"

#define KSENSE_TEST_MAX_VALUES 8192

__u64 test_values[KSENSE_TEST_MAX_VALUES];
__u32 test_nr;
struct ksense_lat test_out;

static long clear_step(__u64 i, void *unused)
{
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);

	if (m && i < KSENSE_HIST_BUCKETS)
		m->sig[KSENSE_SIG_RUNQ].buckets[i] = 0;
	return 0;
}

static long add_step(__u64 i, void *unused)
{
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);

	if (!m || i >= KSENSE_TEST_MAX_VALUES)
		return 1;
	ksense_hist_add(&m->sig[KSENSE_SIG_RUNQ], test_values[i]);
	return 0;
}

/* Record test_values[0..test_nr) into an empty histogram and read it back
 * as the tick would: test_out gets count/sum/avg/p50/p95/p99/max. */
SEC("syscall")
int ksense_test_hist(void *ctx)
{
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);
	__u32 n = test_nr;

	if (!m)
		return -1;
	if (n > KSENSE_TEST_MAX_VALUES)
		n = KSENSE_TEST_MAX_VALUES;
	m->sig[KSENSE_SIG_RUNQ].count = 0;
	m->sig[KSENSE_SIG_RUNQ].sum_ns = 0;
	m->sig[KSENSE_SIG_RUNQ].max_ns = 0;
	bpf_loop(KSENSE_HIST_BUCKETS, clear_step, NULL, 0);
	bpf_loop(n, add_step, NULL, 0);
	ksense_lat_from_merged(KSENSE_SIG_RUNQ, &test_out);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* Expected verifier rejections, declared beside the program: the test loads
 * each "?"-section program (not autoloaded otherwise) and requires the load
 * to fail with the declared message in the verifier log's tail. */
#define __ksense_reject(msg) __attribute__((btf_decl_tag("ksense_reject:" msg)))

__u32 reject_index;

SEC("?syscall") __ksense_reject("unbounded memory access")
int ksense_test_reject_oob(void *ctx)
{
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);

	/* unchecked index: the verifier must refuse this */
	if (m)
		m->sig[KSENSE_SIG_RUNQ].buckets[reject_index] = 1;
	return 0;
}

/* Synthetic windows through the real analytics: the test fills test_cfg and
 * test_windows[0..test_nr_windows), the program runs ksense_analyze on each
 * in order, exactly as the tick does, and records the state after each. */
#define KSENSE_TEST_MAX_WINDOWS 64

struct ksense_config test_cfg;
struct ksense_window test_windows[KSENSE_TEST_MAX_WINDOWS];
struct ksense_baseline test_baselines[KSENSE_TEST_MAX_WINDOWS];
struct ksense_score test_scores[KSENSE_TEST_MAX_WINDOWS];
struct ksense_decision test_decisions[KSENSE_TEST_MAX_WINDOWS];
__u32 test_nr_windows;

static long analyze_step(__u64 i, void *unused)
{
	struct ksense_baseline *b = bpf_map_lookup_elem(&ks_baseline, &zero_key);
	struct ksense_score *s = bpf_map_lookup_elem(&ks_score, &zero_key);
	struct ksense_decision *d = bpf_map_lookup_elem(&ks_decision, &zero_key);

	if (!b || !s || !d || i >= KSENSE_TEST_MAX_WINDOWS)
		return 1;
	/* 6.1's verifier does not carry the check over to the copy of i the
	 * compiler spills: make it re-read the checked register */
	ks_barrier_var(i);
	ksense_analyze(&test_cfg, &test_windows[i], b, s, d);
	test_baselines[i] = *b;
	test_scores[i] = *s;
	test_decisions[i] = *d;
	return 0;
}

SEC("syscall")
int ksense_test_analyze(void *ctx)
{
	__u32 n = test_nr_windows;

	if (n > KSENSE_TEST_MAX_WINDOWS)
		n = KSENSE_TEST_MAX_WINDOWS;
	bpf_loop(n, analyze_step, NULL, 0);
	return 0;
}

/* Measures bpf_stats' own cost per event for tools/bench: an empty program
 * on the tracepoint the sensors use most. */
SEC("?tp_btf/sched_switch")
int ksense_bench_noop_switch(void *ctx)
{
	return 0;
}

/* The per-cgroup run-queue histogram end to end: test_values[0..test_nr)
 * charged as one cgroup's waits through the sensors' per-CPU hold and
 * flush, then read back with the tick's percentile walk. */
#define KSENSE_TEST_CG 0xfffffffffff0ull

struct ksense_lat test_cg_out;

static long cg_charge_step(__u64 i, void *unused)
{
	struct ksense_cpu *c = ksense_cpu();
	__u64 v;

	if (!c || i >= KSENSE_TEST_MAX_VALUES)
		return 1;
	v = test_values[i];
	ksense_rq_charge(c, KSENSE_TEST_CG, 1, v, ks_cg_rq_index(v));
	return 0;
}

SEC("syscall")
int ksense_test_cg_hist(void *ctx)
{
	static const struct ksense_cg_acc zero;
	struct ks_cg_rq_pct pc;
	struct ksense_cg_acc *a;
	struct ksense_cpu *c = ksense_cpu();
	__u64 key = KSENSE_TEST_CG;
	__u32 n = test_nr;

	if (!c)
		return -1;
	if (n > KSENSE_TEST_MAX_VALUES)
		n = KSENSE_TEST_MAX_VALUES;
	bpf_map_update_elem(&ks_cg_acc, &key, &zero, BPF_ANY);
	bpf_loop(n, cg_charge_step, NULL, 0);
	ksense_rq_flush(c);
	a = bpf_map_lookup_elem(&ks_cg_acc, &key);
	if (!a)
		return -1;
	ks_cg_rq_percentiles(a->rq_buckets, a->rq_count, a->rq_max_ns, &pc);
	test_cg_out.count = a->rq_count;
	test_cg_out.sum_ns = a->rq_sum_ns;
	test_cg_out.max_ns = a->rq_max_ns;
	test_cg_out.p50_ns = pc.p50;
	test_cg_out.p99_ns = pc.p99;
	bpf_map_delete_elem(&ks_cg_acc, &key);
	return 0;
}

/* A reference for the per-cgroup run-queue histogram, live: every wait of
 * rec_cgid's tasks, exact, as the sensors define one (from sched_waking,
 * or a switch-out still runnable, to the switch-in; a task woken before it
 * left the CPU waits from that switch-out).  Sent with its switch-in
 * time, for the test to cut into the tick's windows. */
__u64 rec_cgid;
__u64 rec_dropped;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rec_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} rec_queued SEC(".maps");

SEC("?tp_btf/sched_waking")
int BPF_PROG(ksense_test_rec_waking, struct task_struct *p)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 pid = p->pid;

	if (rec_cgid && task_cgroup_id(p) == rec_cgid)
		bpf_map_update_elem(&rec_queued, &pid, &now, BPF_ANY);
	return 0;
}

SEC("?tp_btf/sched_switch")
int BPF_PROG(ksense_test_rec_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct ksense_test_rec r;
	__u64 now = bpf_ktime_get_ns(), *q;
	__u32 pid = prev->pid;

	if (!rec_cgid)
		return 0;
	if (prev->pid && task_cgroup_id(prev) == rec_cgid &&
	    (preempt || prev_state == 0 || bpf_map_lookup_elem(&rec_queued, &pid)))
		bpf_map_update_elem(&rec_queued, &pid, &now, BPF_ANY);
	pid = next->pid;
	if (!pid || task_cgroup_id(next) != rec_cgid)
		return 0;
	q = bpf_map_lookup_elem(&rec_queued, &pid);
	if (!q)
		return 0;
	if (now > *q) {
		r.at_ns = now;
		r.wait_ns = now - *q;
		if (bpf_ringbuf_output(&rec_ring, &r, sizeof(r), 0))
			__sync_fetch_and_add(&rec_dropped, 1);
	}
	bpf_map_delete_elem(&rec_queued, &pid);
	return 0;
}
