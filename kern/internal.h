/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the BPF programs keep for themselves: the values of the maps that are
 * not pinned (per-CPU accumulators, per-task state, per-cgroup sums of the
 * open window).  Not an ABI: nothing outside kern/ (and the host tests that
 * compile kern/ headers) sees these, and they change without a schema bump.
 * The pinned contract is pins/ksense.h.
 */
#ifndef KSENSE_INTERNAL_H
#define KSENSE_INTERNAL_H

#include "ksense.h"

/* Per-CPU histogram accumulator (sensors write, the tick merges). */
struct ksense_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u32 buckets[KSENSE_HIST_BUCKETS];
};

/* One CPU's histograms of the open window, one per enum ksense_signal: the
 * tick merges them in one loop, so a new signal needs no new merge code. */
struct ksense_acc {
	struct ksense_hist sig[KSENSE_NR_SIGNALS];
};

/* No hard interrupt handler or hrtimer callback runs this long: a depth
 * whose outermost entry is older lost an exit. */
#define KS_CTX_STALE_NS 10000000ull

/* Per-CPU running counters that are never reset; the tick differences them. */
struct ksense_cpu {
	__u64 idle_ns;             /* completed idle periods */
	__u64 idle_since_ns;       /* 0 unless the idle task is on this CPU */
	__s64 d_nr;                /* D entries here minus D exits here */
	__s64 d_area_ns;           /* integral of d_nr over time */
	__u64 d_last_ns;           /* when d_nr last changed */
	__u64 softirq_entry_ns;    /* NET_RX entry, 0 outside */
	__u64 tick_idle_ns;        /* tick's snapshot of idle at last close */
	__s64 tick_d_area_ns;      /* tick's snapshot of the D area */
	/* Per-cgroup charges held here while this CPU keeps charging the
	 * same cgroup in the same window (most switches and wakeups do), so
	 * the shared hash is touched once per run of them, not per event.
	 * Flushed on a change of cgroup or window and by the 99 Hz sampler. */
	__u64 cg_id;               /* cgroup held, 0 none */
	__u64 cg_seq;              /* window (state seq) it was taken in */
	__u64 cg_on_cpu_ns;
	__u64 cg_d_ns;
	__u64 cg_s_ns;
	__u64 cg_wakeups;
	__u64 cg_throttled_ns;
	__u64 cg_throttled_waits;
	__u64 cg_tg;               /* task group of the last task charged, 0 none */
	__u64 cg_wait_ns[KSENSE_NR_CAUSES];
	__u64 cg_wait_n[KSENSE_NR_CAUSES];
	/* the wakeup context: what is running on this CPU now */
	__u32 hardirq_depth;       /* irq_handler_entry .. exit */
	__u32 hrtimer_depth;       /* hrtimer_expire_entry .. exit */
	__u32 softirq_vec;         /* vector + 1 inside a softirq handler, 0 outside */
	__u32 reserved0;
	__u64 hardirq_entry_ns;    /* the outermost entry: a depth older than */
	__u64 hrtimer_entry_ns;    /* KS_CTX_STALE_NS is a lost exit, reset */
	__u64 netrx_raiser_cgid;   /* NET_RX raised from a task here (loopback, veth): its cgroup */
	__u64 softirq_owner_cgid;  /* the NET_RX running now serves that task's packets */
	/* a (wakee, waker) cgroup pair held like cg_*: cross-cgroup wakeups */
	__u64 dep_wakee;
	__u64 dep_waker;
	__u64 dep_seq;
	__u64 dep_ns;
	__u64 dep_n;
	/* run-queue waits of the cgroup switched in last, held like cg_* */
	__u64 rq_cg;
	__u64 rq_seq;
	__u64 rq_count;
	__u64 rq_sum_ns;
	__u64 rq_max_ns;
	__u32 rq_idx[KSENSE_CG_RQ_HOLD];
	__u32 rq_cnt[KSENSE_CG_RQ_HOLD];
	__u32 rq_n;                /* pairs held */
	__u32 reserved1;
	__u64 cg_cgrp;             /* cgroup of the last task charged (for its PSI), 0 none */
	/* the task switched in last here, for wakeups it makes */
	__u64 cur_task;
	__u64 cur_css;
	__u64 cur_cgid;
};

/* A handler depth whose outermost entry (entry_ns) is older than any
 * handler runs lost an exit: forget it.  The depth after that. */
static __always_inline __u32 ks_ctx_depth(__u32 *depth, __u64 entry_ns, __u64 now)
{
	if (*depth && now - entry_ns > KS_CTX_STALE_NS)
		*depth = 0;
	return *depth;
}

/* Per-task sensor state (task storage, not pinned). */
struct ksense_task {
	__u64 queued_ns;           /* runnable since, 0 when on CPU or asleep */
	__u64 dstate_ns;           /* entered D at, 0 otherwise */
	__u64 oncpu_ns;            /* switched in at, 0 when off CPU */
	__u64 offcpu_ns;           /* switched out asleep at, 0 otherwise */
	__u32 offcpu_d;            /* that sleep is uninterruptible */
	__u32 self;                /* one of ksense's own (the `self` pin) */
	__u64 self_gen;            /* self_gen's gen + 1 when `self` was looked up */
	__u32 queued_throttled;    /* queued_ns starts a wait for its CFS quota */
	__u32 seen;                /* switched in since the storage was made */
	__u64 css;                 /* the css_set cgid was read through ... */
	__u64 cgid;                /* ... the task's cgroup2 id, while it holds */
};

/* Accumulators of one cgroup over the open window (`ks_cg_acc`): one
 * entry shared by every CPU, added to atomically (the sensors first hold
 * charges per CPU in ksense_cpu.cg_* and flush them here). */
struct ksense_cg_acc {
	__u64 on_cpu_ns;
	__u64 d_ns;                /* off CPU, uninterruptible, until woken */
	__u64 s_ns;                /* off CPU, interruptible, until woken */
	__u64 wakeups;
	__u64 samples;             /* 99 Hz on-CPU samples */
	__u64 io_count;
	__u64 io_bytes;
	__u64 io_lat_ns;
	__u64 throttled_ns;        /* runnable but held back by a CFS quota, until on CPU */
	__u64 throttled_waits;
	__u64 tg_addr;             /* kernel address of its tasks' task group (kept, not taken) */
	__u64 wait_ns[KSENSE_NR_CAUSES]; /* off-CPU (S and D) by what ended it */
	__u64 wait_n[KSENSE_NR_CAUSES];
	__u64 rq_count;            /* run-queue waits of its tasks (throttled ones not) */
	__u64 rq_sum_ns;
	__u64 rq_max_ns;
	__u32 rq_buckets[KSENSE_CG_RQ_BUCKETS];
	__u64 cgrp_addr;           /* kernel address of its struct cgroup (kept, not taken) */
	/* its PSI group's averaging, as the tick last saw it */
	__u64 psi_avg_total[6];
	__u64 psi_avg_last_update;
	__u64 psi_seen_ns;
	__u32 psi_permille[6];
};

/* The `wakers` internal map: off-CPU time of cgroup `wakee` ended by tasks
 * (or their packets) of cgroup `waker`, over the open window. */
struct ksense_waker_key {
	__u64 wakee;
	__u64 waker;
};

struct ksense_waker_acc {
	__u64 ns;
	__u64 n;
};

/* A block request in flight (`ks_rqs`): when issued, by whom. */
struct ksense_rq {
	__u64 issue_ns;
	__u64 cgroup_id;
	__u64 bytes;
};

#endif /* KSENSE_INTERNAL_H */
