// SPDX-License-Identifier: GPL-2.0
/*
 * The tick: a bpf_timer that closes a window every config.window_ms.  It
 * merges the per-CPU accumulators, computes the window's statistics and
 * percentiles, reads the kernel's PSI group, and publishes the result to
 * the `history` ring, and adds it to the `totals` pin.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"
#include "hist.bpf.h"
#include "analytics.h"
#include "cgclass.h"
#include "bandwidth.bpf.h"
#include "cghist.h"

#define KS_CLOCK_MONOTONIC 1
#define KS_NSEC_PER_MSEC   1000000ull
#define KS_FIXED_1         2048 /* the kernel's load-average fixed point */
#define KS_PSI_STALE_NS    (5000ull * KS_NSEC_PER_MSEC) /* > 2 x PSI_FREQ */
#define KS_PSI_NR          6

/* Possible CPUs, set by the loader before load (libbpf_num_possible_cpus):
 * fixed for the life of the programs, so read-only data rather than the
 * writable `config` pin; the verifier sees the value. */
const volatile __u32 ks_nr_cpus = 1;

struct merge_ctx {
	__u32 slot;
	__u32 publish;             /* add to the totals too (a window closes) */
};

/* Step i merges bucket i % B of every signal of CPU i / B into `merged`
 * (and, when the window is published, into the totals) and clears it. */
static long merge_step(__u64 i, struct merge_ctx *mc)
{
	__u64 cpu = i / KSENSE_HIST_BUCKETS, b = i % KSENSE_HIST_BUCKETS;
	struct ksense_totals *t;
	struct ksense_acc *a, *m;
	__u32 sig, n;

	ks_barrier_var(b);
	a = bpf_map_lookup_percpu_elem(&ks_acc, &mc->slot, cpu);
	m = bpf_map_lookup_elem(&ks_merged, &zero_key);
	t = bpf_map_lookup_elem(&ks_totals, &zero_key);
	if (!a || !m || !t || b >= KSENSE_HIST_BUCKETS)
		return 0;
	for (sig = 0; sig < KSENSE_NR_SIGNALS; sig++) {
		n = a->sig[sig].buckets[b];
		a->sig[sig].buckets[b] = 0;
		if (mc->publish)
			ksense_totals_hist(t, sig)->buckets[b] += n;
		if (cpu == 0)
			m->sig[sig].buckets[b] = n;
		else
			m->sig[sig].buckets[b] += n;
	}
	return 0;
}

/* One signal's count, sum and max of one CPU into the merged ones. */
static __always_inline void merge_scalars(struct ksense_hist *dst, struct ksense_hist *src, bool first)
{
	if (first) {
		dst->count = 0;
		dst->sum_ns = 0;
		dst->max_ns = 0;
	}
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	src->count = 0;
	src->sum_ns = 0;
	src->max_ns = 0;
}

struct cpu_ctx {
	__u32 slot;
	__u64 now;
	__u64 idle_ns;
	__s64 d_area_ns;
};

/* Per CPU: fold the accumulator's scalars and difference the running idle
 * and D-area counters against the tick's last snapshot. */
static long cpu_step(__u64 cpu, struct cpu_ctx *cc)
{
	struct ksense_acc *a = bpf_map_lookup_percpu_elem(&ks_acc, &cc->slot, cpu);
	struct ksense_cpu *c = bpf_map_lookup_percpu_elem(&ks_cpus, &zero_key, cpu);
	struct ksense_acc *m = bpf_map_lookup_elem(&ks_merged, &zero_key);
	__u64 idle, since, last;
	__s64 area;
	__u32 sig;

	if (!a || !c || !m)
		return 1;
	for (sig = 0; sig < KSENSE_NR_SIGNALS; sig++)
		merge_scalars(&m->sig[sig], &a->sig[sig], cpu == 0);

	idle = c->idle_ns;
	since = c->idle_since_ns;
	if (since && cc->now > since)
		idle += cc->now - since;
	if (idle > c->tick_idle_ns)
		cc->idle_ns += idle - c->tick_idle_ns;
	c->tick_idle_ns = idle;

	area = c->d_area_ns;
	last = c->d_last_ns;
	if (last && cc->now > last)
		area += c->d_nr * (__s64)(cc->now - last);
	cc->d_area_ns += area - c->tick_d_area_ns;
	c->tick_d_area_ns = area;
	return 0;
}

static __always_inline __u32 permille(__u64 part, __u64 whole)
{
	if (!whole)
		return 0;
	if (part >= whole)
		return 1000;
	return (__u32)(part * 1000 / whole);
}

static __always_inline __u32 psi_state(__u32 i)
{
	switch (i) {
	case 0: return bpf_core_enum_value(enum psi_states, PSI_IO_SOME);
	case 1: return bpf_core_enum_value(enum psi_states, PSI_IO_FULL);
	case 2: return bpf_core_enum_value(enum psi_states, PSI_MEM_SOME);
	case 3: return bpf_core_enum_value(enum psi_states, PSI_MEM_FULL);
	case 4: return bpf_core_enum_value(enum psi_states, PSI_CPU_SOME);
	default: return bpf_core_enum_value(enum psi_states, PSI_CPU_FULL);
	}
}

/* The tick's working copies, off its stack (6.1's verifier counts the
 * whole call chain against 512 bytes).  Per-CPU; the tick is the only user. */
struct ks_tick_scratch {
	__u32 rq[KSENSE_CG_RQ_BUCKETS];  /* a histogram taken, then walked */
	struct ks_cg_rq_pct pct;
	unsigned long avg10[KS_PSI_NR];  /* one PSI group's reads */
	__u64 total[KS_PSI_NR];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_tick_scratch);
} ks_tick_scratch SEC(".maps");

/* The PSI averaging state a reader keeps for one group between windows. */
struct ks_psi_seen {
	__u64 *avg_total;          /* [KS_PSI_NR] */
	__u64 *last_update;
	__u64 *seen_ns;
	__u32 *permille;           /* [KS_PSI_NR] */
};

/* One PSI group at g: the kernel's avg10 of each state, and the stall
 * shares over its own averaging period: avg_total[] and avg_last_update
 * move together in update_averages(), every PSI_FREQ (2 s) while anything
 * is non-idle, so their deltas are an exact ratio.  When the kernel stops
 * averaging because nothing stalls, the share is 0.  False when g cannot
 * be read. */
static __always_inline bool ks_psi_read(void *g, __u64 now, struct ks_psi_seen *ps, struct ksense_psi *cpu,
					struct ksense_psi *io, struct ksense_psi *mem)
{
	struct ks_tick_scratch *sc = bpf_map_lookup_elem(&ks_tick_scratch, &zero_key);
	__u32 off_total = bpf_core_field_offset(struct psi_group, avg_total);
	__u32 off_last = bpf_core_field_offset(struct psi_group, avg_last_update);
	__u32 off_avg = bpf_core_field_offset(struct psi_group, avg);
	unsigned long *avg10;
	__u64 *total, last = 0;
	int i;

	if (!sc || !g || bpf_probe_read_kernel(&last, sizeof(last), g + off_last))
		return false;
	avg10 = sc->avg10;
	total = sc->total;
	for (i = 0; i < KS_PSI_NR; i++) {
		__u32 s = psi_state(i);

		total[i] = 0;
		avg10[i] = 0;
		bpf_probe_read_kernel(&total[i], sizeof(total[i]), g + off_total + s * sizeof(__u64));
		bpf_probe_read_kernel(&avg10[i], sizeof(avg10[i]),
				      g + off_avg + s * 3 * sizeof(unsigned long));
	}

	if (last != *ps->last_update) {
		__u64 dt = last - *ps->last_update;

		for (i = 0; i < KS_PSI_NR; i++) {
			if (*ps->last_update && last > *ps->last_update)
				ps->permille[i] = permille(total[i] - ps->avg_total[i], dt);
			ps->avg_total[i] = total[i];
		}
		*ps->last_update = last;
		*ps->seen_ns = now;
	} else if (now - *ps->seen_ns > KS_PSI_STALE_NS) {
		for (i = 0; i < KS_PSI_NR; i++)
			ps->permille[i] = 0;
	}

	io->some_avg10_permille = avg10[0] * 10 / KS_FIXED_1;
	io->full_avg10_permille = avg10[1] * 10 / KS_FIXED_1;
	mem->some_avg10_permille = avg10[2] * 10 / KS_FIXED_1;
	mem->full_avg10_permille = avg10[3] * 10 / KS_FIXED_1;
	cpu->some_avg10_permille = avg10[4] * 10 / KS_FIXED_1;
	cpu->full_avg10_permille = avg10[5] * 10 / KS_FIXED_1;
	io->some_permille = ps->permille[0];
	io->full_permille = ps->permille[1];
	mem->some_permille = ps->permille[2];
	mem->full_permille = ps->permille[3];
	cpu->some_permille = ps->permille[4];
	cpu->full_permille = ps->permille[5];
	return true;
}

/* The machine's PSI, from psi_system; its stall time added to the totals
 * as the kernel averages it (the same order as psi_state(): io, mem, cpu
 * some; CPU full is undefined node-wide). */
static __always_inline void read_psi(struct ksense_state *st, struct ksense_window *w,
				     struct ksense_totals *t, __u64 now)
{
	struct ks_psi_seen ps = { st->psi_avg_total, &st->psi_avg_last_update, &st->psi_seen_ns, st->psi_permille };
	__u64 seen = st->psi_avg_last_update;
	__u64 io_some = st->psi_avg_total[0], io_full = st->psi_avg_total[1];
	__u64 mem_some = st->psi_avg_total[2], mem_full = st->psi_avg_total[3], cpu_some = st->psi_avg_total[4];

	if (st->psi_source != KSENSE_PSI_KERNEL ||
	    !ks_psi_read((void *)(unsigned long)st->psi_group_addr, now, &ps, &w->psi_cpu, &w->psi_io, &w->psi_mem))
		return;
	if (seen && st->psi_avg_last_update > seen) {
		t->psi_io_some_ns += st->psi_avg_total[0] - io_some;
		t->psi_io_full_ns += st->psi_avg_total[1] - io_full;
		t->psi_mem_some_ns += st->psi_avg_total[2] - mem_some;
		t->psi_mem_full_ns += st->psi_avg_total[3] - mem_full;
		t->psi_cpu_some_ns += st->psi_avg_total[4] - cpu_some;
	}
	/* CPU full is undefined for the whole machine (some task always runs
	 * while any is non-idle): the kernel keeps an internal value but
	 * /proc/pressure/cpu prints 0 for it, and so do we.  A cgroup's CPU
	 * full is meaningful and is read per cgroup. */
	w->psi_cpu.full_avg10_permille = 0;
	w->psi_cpu.full_permille = 0;
	w->psi_source = KSENSE_PSI_KERNEL;
}

#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#endif

/* Baseline, friction, direction, energy, score and decision of window w.
 * score and decision are rewritten in place while readers may copy them;
 * their seq says which window a copy belongs to. */
static __always_inline void analyze(const struct ksense_config *cfg, struct ksense_window *w,
				    __u64 seq)
{
	struct ksense_baseline *b = bpf_map_lookup_elem(&ks_baseline, &zero_key);
	struct ksense_score *s = bpf_map_lookup_elem(&ks_score, &zero_key);
	struct ksense_decision *d = bpf_map_lookup_elem(&ks_decision, &zero_key);

	if (!b || !s || !d)
		return;
	/* a reader's copy with seq 0 is torn, one with this seq is whole:
	 * seq is cleared before the rewrite and set after it, in this order */
	WRITE_ONCE(b->seq, 0);
	WRITE_ONCE(s->seq, 0);
	WRITE_ONCE(d->seq, 0);
	barrier();
	ksense_analyze(cfg, w, b, s, d);
	barrier();
	/* w->seq is 0 while the slot is being filled (stored last) */
	WRITE_ONCE(b->seq, seq);
	WRITE_ONCE(s->seq, seq);
	WRITE_ONCE(d->seq, seq);
}

struct cg_ctx {
	const struct ksense_config *cfg;
	__u64 dur_ns;
	__u64 seq;
	__u64 now;
	__u32 ncpu;
};

/* Take a counter's value and subtract exactly that: adds racing with us
 * on other CPUs stay for the next window (no xchg needed, BPF ISA v1). */
#define ks_take(field) ({ __u64 ___v = (field); __sync_fetch_and_add(&(field), -___v); ___v; })

/* The per-cgroup callback's working copy: too big for its stack frame
 * beside the tick's (the verifier allows 512 bytes for the whole chain).
 * Per-CPU, and the tick is the only user. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ksense_cg_acc);
} ks_tick_sum SEC(".maps");

/* One cgroup: take its accumulators, classify, publish. */
static long cg_step(struct bpf_map *map, __u64 *key, struct ksense_cg_acc *a, struct cg_ctx *cc)
{
	static const struct ksense_cgroup fresh; /* .rodata: keeps the stack small */
	struct ksense_cg_acc *sum = bpf_map_lookup_elem(&ks_tick_sum, &zero_key);
	struct ksense_cgroup *cg;
	__u64 cgid = *key;
	int i;

	if (!sum)
		return 1;
	sum->on_cpu_ns = ks_take(a->on_cpu_ns);
	sum->d_ns = ks_take(a->d_ns);
	sum->s_ns = ks_take(a->s_ns);
	sum->wakeups = ks_take(a->wakeups);
	sum->samples = ks_take(a->samples);
	sum->io_count = ks_take(a->io_count);
	sum->io_bytes = ks_take(a->io_bytes);
	sum->io_lat_ns = ks_take(a->io_lat_ns);
	sum->throttled_ns = ks_take(a->throttled_ns);
	sum->throttled_waits = ks_take(a->throttled_waits);
	for (i = 0; i < KSENSE_NR_CAUSES; i++) {
		sum->wait_ns[i] = ks_take(a->wait_ns[i]);
		sum->wait_n[i] = ks_take(a->wait_n[i]);
	}
	/* read, not taken: rq_step takes it with its histogram */
	sum->rq_sum_ns = *(volatile __u64 *)&a->rq_sum_ns;
	cg = bpf_map_lookup_elem(&ks_cgroups, &cgid);
	if (!cg) {
		bpf_map_update_elem(&ks_cgroups, &cgid, &fresh, BPF_NOEXIST);
		cg = bpf_map_lookup_elem(&ks_cgroups, &cgid);
		if (!cg)
			return 0;
		cg->bw_level = ~0u;
	}
	ksense_cg_classify(cc->cfg, cg, cgid, sum, cc->dur_ns, cc->seq);
	return 0;
}

/* One (wakee, waker) pair: its window's time into the wakee's top
 * wakers, after cg_step published the wakee's window.  A pair silent for a
 * whole window is dropped (the LRU would age it out too, more slowly). */
static long waker_step(struct bpf_map *map, struct ksense_waker_key *key, struct ksense_waker_acc *v,
		       struct cg_ctx *cc)
{
	struct ksense_cgroup *cg;
	__u64 ns, n;

	ns = ks_take(v->ns);
	n = ks_take(v->n);
	if (!n) {
		bpf_map_delete_elem(map, key);
		return 0;
	}
	cg = bpf_map_lookup_elem(&ks_cgroups, &key->wakee);
	if (cg && cg->seq == cc->seq)
		ks_cg_add_waker(cg, key->waker, ns, n);
	return 0;
}


/* One cgroup's run-queue latency: take its histogram, its percentiles
 * into the window cg_step published. */
static long rq_step(struct bpf_map *map, __u64 *key, struct ksense_cg_acc *a, struct cg_ctx *cc)
{
	struct ksense_cgroup *cg = bpf_map_lookup_elem(&ks_cgroups, key);
	struct ks_tick_scratch *sc = bpf_map_lookup_elem(&ks_tick_scratch, &zero_key);
	struct ks_cg_rq_pct *pc;
	__u64 count, sum, max;
	__u32 i, n, *b;

	if (!cg || !sc || cg->seq != cc->seq)
		return 0;
	b = sc->rq;
	pc = &sc->pct;
	count = ks_take(a->rq_count);
	sum = ks_take(a->rq_sum_ns);
	max = a->rq_max_ns;
	__sync_val_compare_and_swap(&a->rq_max_ns, max, 0);
	for (i = 0; i < KSENSE_CG_RQ_BUCKETS; i++) {
		n = a->rq_buckets[i];
		if (n)
			__sync_fetch_and_add(&a->rq_buckets[i], -n);
		b[i] = n;
	}
	cg->rq_count = count;
	cg->rq_sum_ns = sum;
	cg->rq_avg_ns = count ? sum / count : 0;
	cg->rq_max_ns = count ? max : 0;
	ks_cg_rq_percentiles(b, count, cg->rq_max_ns, pc);
	cg->rq_p50_ns = pc->p50;
	cg->rq_p99_ns = pc->p99;
	return 0;
}

/* One cgroup's own PSI group (cgroup2 keeps one per cgroup, controllers or
 * not), through the struct cgroup its tasks were last charged from; the
 * address is trusted only while it still names this cgroup. */
static long psi_step(struct bpf_map *map, __u64 *key, struct ksense_cg_acc *a, struct cg_ctx *cc)
{
	struct ksense_cgroup *cg = bpf_map_lookup_elem(&ks_cgroups, key);
	struct cgroup *cgrp = (void *)(unsigned long)a->cgrp_addr;
	struct ks_psi_seen ps = { a->psi_avg_total, &a->psi_avg_last_update, &a->psi_seen_ns, a->psi_permille };

	if (!cg || cg->seq != cc->seq)
		return 0;
	cg->psi_source = KSENSE_PSI_NONE;
	if (!cgrp || cg->idle_windows > 1 || BPF_CORE_READ(cgrp, kn, id) != *key)
		return 0;
	if (ks_psi_read(BPF_CORE_READ(cgrp, psi), cc->now, &ps, &cg->psi_cpu, &cg->psi_io, &cg->psi_mem))
		cg->psi_source = KSENSE_PSI_KERNEL;
	return 0;
}

/* One cgroup's CFS bandwidth, after cg_step published its window.  A pass
 * of its own: inside cg_step the walk up the task groups multiplied the
 * verifier's paths past its limit. */
static long bw_step(struct bpf_map *map, __u64 *key, struct ksense_cg_acc *a, struct cg_ctx *cc)
{
	struct ksense_cgroup *cg = bpf_map_lookup_elem(&ks_cgroups, key);
	bool active;

	if (!cg || cg->seq != cc->seq)
		return 0;
	/* the task group's address is trusted only while its tasks run:
	 * this window or the last (idle_windows counts this one) */
	active = cg->on_cpu_ns || cg->throttled_waits || cg->wakeups || cg->idle_windows <= 1;
	ks_bw_update(cg, active ? a->tg_addr : 0, cc->dur_ns, cc->ncpu);
	return 0;
}

static __always_inline __u64 per_second_us(__u64 ns, __u64 duration_ns)
{
	/* ns per ns of window x 1e6 = us per second */
	return duration_ns ? ns * 1000 / (duration_ns / 1000 ? duration_ns / 1000 : 1) : 0;
}

static __always_inline __u32 possible_cpus(void)
{
	__u32 n = ks_nr_cpus;

	if (n == 0)
		n = 1;
	if (n > KSENSE_MAX_CPUS)
		n = KSENSE_MAX_CPUS;
	return n;
}

/* Close the open window at `now`.  Called only from the timer callback (and
 * once at start with publish = false to take the first snapshots). */
static __noinline int close_window(struct ksense_state *st, __u64 now, bool publish)
{
	struct ksense_config *cfg = bpf_map_lookup_elem(&ks_config, &zero_key);
	struct ksense_totals *t = bpf_map_lookup_elem(&ks_totals, &zero_key);
	struct cpu_ctx cc = { .now = now };
	struct merge_ctx mc;
	struct ksense_window *w;
	__u64 dur, cap;
	__u32 slot, ncpu, sig;

	if (!cfg || !st || !t)
		return 0;
	ncpu = possible_cpus();
	dur = now > st->window_start_ns ? now - st->window_start_ns : 0;
	mc.slot = st->acc_slot & 1;
	mc.publish = publish && dur;
	cc.slot = mc.slot;
	st->acc_slot = mc.slot ^ 1;
	if (mc.publish) {
		/* the totals change from here on: a copy taken now is torn */
		t->seq_end = st->seq + 1;
		ks_barrier();
	}

	bpf_loop(ncpu, cpu_step, &cc, 0);
	bpf_loop(ncpu * KSENSE_HIST_BUCKETS, merge_step, &mc, 0);

	if (!mc.publish) {
		st->window_start_ns = now;
		t->loaded_ns = now;
		return 0;
	}

	st->seq++;
	slot = st->seq % KSENSE_HISTORY_LEN;
	w = bpf_map_lookup_elem(&ks_history, &slot);
	if (!w)
		return 0;

	/* Readers copy slots while we write them: seq is 0 while a slot is
	 * being filled and is stored last, so a copy whose seq matches holds a
	 * whole window (stores are not reordered past the barrier). */
	w->seq = 0;
	ks_barrier();
	w->start_ns = st->window_start_ns;
	w->end_ns = now;
	w->duration_ns = dur;
	for (sig = 0; sig < KSENSE_NR_SIGNALS; sig++)
		ksense_lat_from_merged(sig, ksense_window_lat(w, sig));
	w->dstate_ns = cc.d_area_ns > 0 ? cc.d_area_ns : 0;
	w->netrx_ns = w->netrx.sum_ns;
	w->dstate_us_per_s = per_second_us(w->dstate_ns, dur);
	w->netrx_us_per_s = per_second_us(w->netrx_ns, dur);
	cap = (__u64)ncpu * dur;
	w->cpu_busy_ns = cap > cc.idle_ns ? cap - cc.idle_ns : 0;
	w->cpu_busy_permille = permille(w->cpu_busy_ns, cap);
	w->nr_cpus = ncpu;
	read_psi(st, w, t, now);
	analyze(cfg, w, st->seq);
	t->end_ns = now;
	t->elapsed_ns += dur;
	t->cpu_busy_ns += w->cpu_busy_ns;
	t->cpu_capacity_ns += cap;
	t->dstate_ns += w->dstate_ns;
	t->deny_windows += w->verdict.verdict == KSENSE_VERDICT_DENY;
	for (sig = 0; sig < KSENSE_NR_SIGNALS; sig++) {
		ksense_totals_hist(t, sig)->count += ksense_window_lat(w, sig)->count;
		ksense_totals_hist(t, sig)->sum_ns += ksense_window_lat(w, sig)->sum_ns;
	}
	ks_barrier();
	t->seq = st->seq;
	{
		struct cg_ctx cgc = { .cfg = cfg, .dur_ns = dur, .seq = st->seq, .now = now, .ncpu = ncpu };

		bpf_for_each_map_elem(&ks_cg_acc, cg_step, &cgc, 0);
		bpf_for_each_map_elem(&ks_cg_acc, bw_step, &cgc, 0);
		bpf_for_each_map_elem(&ks_wakers, waker_step, &cgc, 0);
		bpf_for_each_map_elem(&ks_cg_acc, rq_step, &cgc, 0);
		bpf_for_each_map_elem(&ks_cg_acc, psi_step, &cgc, 0);
	}

	ks_barrier();
	w->seq = st->seq;
	st->window_start_ns = now;
	return 0;
}

static __always_inline __u64 window_ns(void)
{
	struct ksense_config *cfg = bpf_map_lookup_elem(&ks_config, &zero_key);
	__u32 ms = cfg ? cfg->window_ms : KSENSE_WINDOW_MS_DEFAULT;

	if (ms < KSENSE_WINDOW_MS_MIN || ms > KSENSE_WINDOW_MS_MAX)
		ms = KSENSE_WINDOW_MS_DEFAULT;
	return ms * KS_NSEC_PER_MSEC;
}

static int tick(void *map, int *key, struct ksense_state *st)
{
	st->ticks++;
	close_window(st, bpf_ktime_get_ns(), true);
	/* Re-read the window length each time: `config` is live. */
	bpf_timer_start(&st->timer, window_ns(), 0);
	return 0;
}

/* Run once by `ksense load` through BPF_PROG_TEST_RUN.  The timer keeps the
 * callback alive for as long as the pinned `state` map exists. */
SEC("syscall")
int ksense_start(void *ctx)
{
	struct ksense_state *st = ksense_state();
	int err;

	if (!st)
		return -1;
	if (st->flags & KSENSE_STATE_TIMER_ARMED)
		return 0;
	st->schema_version = KSENSE_SCHEMA_VERSION;
	st->kernel_paths = ksense_kernel_paths();
	st->nr_cpus = possible_cpus();
	st->loaded_ns = bpf_ktime_get_ns();
	close_window(st, st->loaded_ns, false);
	err = bpf_timer_init(&st->timer, &ks_state, KS_CLOCK_MONOTONIC);
	if (err)
		return err;
	err = bpf_timer_set_callback(&st->timer, tick);
	if (err)
		return err;
	err = bpf_timer_start(&st->timer, window_ns(), 0);
	if (err)
		return err;
	st->flags |= KSENSE_STATE_TIMER_ARMED;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* Benchmark entries (not autoloaded; tools/bench_tick enables them on a
 * private instance): one full tick on this instance's maps, and nothing,
 * to subtract the cost of BPF_PROG_TEST_RUN itself. */
SEC("?syscall")
int ksense_bench_tick(void *ctx)
{
	struct ksense_state *st = ksense_state();

	if (!st)
		return -1;
	return close_window(st, bpf_ktime_get_ns(), true);
}

SEC("?syscall")
int ksense_bench_noop(void *ctx)
{
	return 0;
}
