/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A cgroup's bottleneck class from one window's sums, with hysteresis, and
 * its top waker cgroups.  Shared by the tick and host tests; integer only.
 * The rule (pins/README), first match wins:
 *   THROTTLED  waits for its CFS quota >= cg_throttled_min_permille, or
 *              at least as long as it ran: the limit binds, whatever
 *              else it did (so a throttled cgroup is never IDLE)
 *   OFFCPU/LOCK  waits ended by its own tasks >= cg_lock_min_permille and
 *              >= its on-CPU time, with >= cg_lock_min_wakeups such
 *              wakeups per second: its threads mostly wait for each other
 *              while one runs (serialized), even if that one is busy
 *   CPU        CPU demand >= cg_cpu_min_permille of one CPU and >= D, the
 *              demand being on-CPU time plus run-queue wait: a pod that
 *              other pods keep off a busy CPU wants CPU it cannot get
 *              (starved, not idle)
 *   BLOCK      D time >= cg_block_min_permille of the window
 *   OFFCPU/x   waits of every cause but a timer >= cg_offcpu_min_permille;
 *              x is the cause with the most of that time
 *   IDLE       otherwise (sleeps that timers end are idle, not waits),
 *              unless it was throttled at all: THROTTLED
 * A new class (and cause) replaces the current one after
 * cg_hysteresis_windows windows in a row (at once while UNKNOWN, and at
 * once to THROTTLED: throttling is the kernel's fact, not a noisy share,
 * and a throttled cgroup must never show IDLE).
 */
#ifndef KSENSE_CGCLASS_H
#define KSENSE_CGCLASS_H

#include "ksense.h"
#include "internal.h"

#define KS_NS_PER_S 1000000000ull

static __always_inline __u32 ks_share_permille(__u64 ns, __u64 dur_ns)
{
	__u64 v;

	if (!dur_ns)
		return 0;
	v = ns * 1000 / dur_ns;
	return v > 0xffffffffull ? 0xffffffffu : (__u32)v;
}

/* The waits that count as waiting: every cause but a timer's. */
static __always_inline __u64 ks_waits_ns(const struct ksense_cgroup *cg)
{
	const struct ksense_cause_ns *w = &cg->wait_ns;

	return w->none + w->lock + w->dependency + w->network + w->device + w->kernel;
}

/* The class of cg's window; *cause the OFFCPU class's cause. */
static __always_inline __u32 ks_cg_candidate(const struct ksense_config *cfg, const struct ksense_cgroup *cg,
					     __u64 rq_ns, __u64 dur_ns, __u32 *cause)
{
	__u32 on = cg->on_cpu_permille, d = cg->d_permille, lock = cg->lock_permille, best;
	__u32 demand = ks_share_permille(cg->on_cpu_ns + rq_ns, dur_ns);
	__u64 lock_per_s = dur_ns ? (__u64)cg->wait_n.lock * KS_NS_PER_S / dur_ns : 0;
	int i;

	*cause = KSENSE_CAUSE_NONE;
	if (cg->throttled_waits &&
	    (cg->throttled_permille >= cfg->cg_throttled_min_permille || cg->throttled_ns >= cg->on_cpu_ns))
		return KSENSE_CLASS_THROTTLED;
	if (lock >= cfg->cg_lock_min_permille && lock >= on && lock_per_s >= cfg->cg_lock_min_wakeups) {
		*cause = KSENSE_CAUSE_LOCK;
		return KSENSE_CLASS_OFFCPU;
	}
	if (demand >= cfg->cg_cpu_min_permille && demand >= d)
		return KSENSE_CLASS_CPU;
	if (d >= cfg->cg_block_min_permille)
		return KSENSE_CLASS_BLOCK;
	if (cg->wait_permille >= cfg->cg_offcpu_min_permille) {
		best = KSENSE_CAUSE_LOCK;
		for (i = KSENSE_CAUSE_LOCK; i < KSENSE_NR_CAUSES; i++)
			if (i != KSENSE_CAUSE_TIMER && ksense_cause_ns_get(&cg->wait_ns, i) > ksense_cause_ns_get(&cg->wait_ns, best))
				best = i;
		*cause = best;
		return KSENSE_CLASS_OFFCPU;
	}
	/* throttled a little, and light otherwise: its limit still bound */
	return cg->throttled_waits ? KSENSE_CLASS_THROTTLED : KSENSE_CLASS_IDLE;
}

/* Fold one window's sums into cg (keyed by cgid), for window seq.  The
 * top wakers start empty; ks_cg_add_waker fills them afterwards; the
 * run-queue fields too (sum->rq_sum_ns only counts as CPU demand here). */
static __always_inline void ksense_cg_classify(const struct ksense_config *cfg, struct ksense_cgroup *cg,
					       __u64 cgid, const struct ksense_cg_acc *sum, __u64 dur_ns,
					       __u64 seq)
{
	__u32 cand, cause;
	int i;

	cg->cgroup_id = cgid;
	cg->seq = seq;
	cg->on_cpu_ns = sum->on_cpu_ns;
	cg->d_ns = sum->d_ns;
	cg->s_ns = sum->s_ns;
	cg->wakeups = sum->wakeups;
	cg->samples = sum->samples;
	cg->io_count = sum->io_count;
	cg->io_bytes = sum->io_bytes;
	cg->io_lat_avg_ns = sum->io_count ? sum->io_lat_ns / sum->io_count : 0;
	cg->on_cpu_permille = ks_share_permille(sum->on_cpu_ns, dur_ns);
	cg->d_permille = ks_share_permille(sum->d_ns, dur_ns);
	cg->s_permille = ks_share_permille(sum->s_ns, dur_ns);
	cg->throttled_ns = sum->throttled_ns;
	cg->throttled_waits = sum->throttled_waits;
	cg->throttled_permille = ks_share_permille(sum->throttled_ns, dur_ns);
	for (i = 0; i < KSENSE_NR_CAUSES; i++) {
		*ksense_cause_ns_of(&cg->wait_ns, i) = sum->wait_ns[i];
		*ksense_cause_n_of(&cg->wait_n, i) = sum->wait_n[i] > 0xffffffffull ? 0xffffffffu : (__u32)sum->wait_n[i];
	}
	cg->wait_permille = ks_share_permille(ks_waits_ns(cg), dur_ns);
	cg->lock_permille = ks_share_permille(sum->wait_ns[KSENSE_CAUSE_LOCK], dur_ns);
	for (i = 0; i < KSENSE_TOP_WAKERS; i++) {
		cg->wakers[i].cgroup_id = 0;
		cg->wakers[i].wait_ns = 0;
		cg->wakers[i].wakeups = 0;
		cg->wakers[i].share_permille = 0;
	}
	if (!sum->on_cpu_ns && !sum->d_ns && !sum->s_ns && !sum->samples && !sum->io_count &&
	    !sum->throttled_waits)
		cg->idle_windows++;
	else
		cg->idle_windows = 0;

	/* the hysteresis holds class and cause together */
	cand = ks_cg_candidate(cfg, cg, sum->rq_sum_ns, dur_ns, &cause);
	if (cand == cg->candidate && cause == cg->candidate_cause) {
		if (cg->streak < 0xffff)
			cg->streak++;
	} else {
		cg->candidate = cand;
		cg->candidate_cause = cause;
		cg->streak = 1;
	}
	if (cg->class == KSENSE_CLASS_UNKNOWN || cand == KSENSE_CLASS_THROTTLED ||
	    cg->streak >= cfg->cg_hysteresis_windows) {
		cg->class = cand;
		cg->cause = cause;
	}
}

/* One waker cgroup's part of cg's window: kept if among the top
 * KSENSE_TOP_WAKERS by time, most first; its share is of cg's waits. */
static __always_inline void ks_cg_add_waker(struct ksense_cgroup *cg, __u64 waker, __u64 ns, __u64 n)
{
	struct ksense_waker w;
	__u64 waits = ks_waits_ns(cg);
	__u32 share;
	int i;

	share = waits ? (__u32)(ns >= waits ? 1000 : ns * 1000 / waits) : 0;
	w.cgroup_id = waker;
	w.wait_ns = ns;
	w.wakeups = n > 0xffffffffull ? 0xffffffffu : (__u32)n;
	w.share_permille = share;
	/* insertion into a sorted array of 4: carry the smaller one down */
	for (i = 0; i < KSENSE_TOP_WAKERS; i++) {
		if (cg->wakers[i].cgroup_id && cg->wakers[i].wait_ns >= w.wait_ns)
			continue;
		{
			struct ksense_waker t = cg->wakers[i];

			cg->wakers[i] = w;
			w = t;
		}
		if (!w.cgroup_id)
			break;
	}
}

#endif
