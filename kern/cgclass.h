/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A cgroup's bottleneck class from one window's sums, with hysteresis.
 * Shared by the tick and host tests; integer only.  The rule (pins/README):
 *   THROTTLED  waits for its CFS quota >= cg_throttled_min_permille, or
 *              at least as long as it ran: the limit binds, whatever
 *              else it did (so a throttled cgroup is never IDLE)
 *   CPU     on-CPU >= cg_cpu_min_permille of one CPU and on-CPU >= D time
 *   BLOCK   D time >= cg_block_min_permille of the window
 *   OFFCPU  interruptible waits ended by wakeups >= cg_offcpu_min_permille
 *   IDLE    otherwise
 * A new class replaces the current one after cg_hysteresis_windows windows
 * in a row (at once while the class is still UNKNOWN).
 */
#ifndef KSENSE_CGCLASS_H
#define KSENSE_CGCLASS_H

#include "../pins/ksense.h"

static __always_inline __u32 ks_share_permille(__u64 ns, __u64 dur_ns)
{
	__u64 v;

	if (!dur_ns)
		return 0;
	v = ns * 1000 / dur_ns;
	return v > 0xffffffffull ? 0xffffffffu : (__u32)v;
}

static __always_inline __u32 ks_cg_candidate(const struct ksense_config *cfg, const struct ksense_cgroup *cg,
					     __u64 wakeups)
{
	__u32 on = cg->on_cpu_permille, d = cg->d_permille, s = cg->s_permille;

	if (cg->throttled_waits &&
	    (cg->throttled_permille >= cfg->cg_throttled_min_permille || cg->throttled_ns >= cg->on_cpu_ns))
		return KSENSE_CLASS_THROTTLED;
	if (on >= cfg->cg_cpu_min_permille && on >= d)
		return KSENSE_CLASS_CPU;
	if (d >= cfg->cg_block_min_permille)
		return KSENSE_CLASS_BLOCK;
	if (s >= cfg->cg_offcpu_min_permille && wakeups)
		return KSENSE_CLASS_OFFCPU;
	return KSENSE_CLASS_IDLE;
}

/* Fold one window's sums into cg (keyed by cgid), for window seq. */
static __always_inline void ksense_cg_classify(const struct ksense_config *cfg, struct ksense_cgroup *cg,
					       __u64 cgid, const struct ksense_cg_acc *sum, __u64 dur_ns,
					       __u64 seq)
{
	__u32 cand;

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
	if (!sum->on_cpu_ns && !sum->d_ns && !sum->s_ns && !sum->samples && !sum->io_count &&
	    !sum->throttled_waits)
		cg->idle_windows++;
	else
		cg->idle_windows = 0;

	cand = ks_cg_candidate(cfg, cg, sum->wakeups);
	if (cand == cg->candidate) {
		if (cg->streak < 0xffff)
			cg->streak++;
	} else {
		cg->candidate = cand;
		cg->streak = 1;
	}
	if (cg->class == KSENSE_CLASS_UNKNOWN || cg->streak >= cfg->cg_hysteresis_windows)
		cg->class = cand;
}

#endif
