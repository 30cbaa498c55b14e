/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense pinned-map contract.
 *
 * Every struct stored in a map under /sys/fs/bpf/ksense/ is defined here and
 * nowhere else; BPF (kern/) and userspace (user/, selftests/) both include
 * this file.  The structs are an ABI: fields are never reordered, a retired
 * field becomes reservedN, and any layout change bumps KSENSE_SCHEMA_VERSION.
 * Only fixed-size __u/__s types, explicit padding, and enums held 32 bits
 * wide (each has a KSENSE_*_U32 member that needs 32 bits, whatever the
 * compiler's enum sizing) appear here.  Enum-typed fields and named fields
 * instead of index arrays make `bpftool map dump` print names
 * ("band": "KSENSE_BAND_LOW", "membership": {"cpu": {"high_permille": ..}}).
 * What the BPF programs keep for themselves (never pinned) is in
 * kern/internal.h.
 */
#ifndef KSENSE_PINS_H
#define KSENSE_PINS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#endif

#define KSENSE_SCHEMA_VERSION 9

/* Pin tree.  Userspace may override the root with KSENSE_PIN_ROOT (tests). */
#define KSENSE_PIN_ROOT      "/sys/fs/bpf/ksense"
#define KSENSE_PIN_LINKS     "links"
#define KSENSE_PIN_STATE     "state"
#define KSENSE_PIN_CONFIG    "config"
#define KSENSE_PIN_HISTORY   "history"
#define KSENSE_PIN_BASELINE  "baseline"
#define KSENSE_PIN_SCORE     "score"
#define KSENSE_PIN_DECISION  "decision"
#define KSENSE_PIN_CGROUPS   "cgroups"
#define KSENSE_PIN_STACKS    "stacks"
#define KSENSE_PIN_SELF      "self"
#define KSENSE_PIN_SELF_GEN  "self_gen"
#define KSENSE_PIN_TOTALS    "totals"

#define KSENSE_MAX_CGROUPS   4096  /* LRU: the least recently active go first */
#define KSENSE_MAX_STACKS    16384
#define KSENSE_MAX_SELF      64    /* ksense's own processes on one node */
#define KSENSE_MAX_WAKERS    16384 /* (wakee, waker) cgroup pairs tallied per window */
#define KSENSE_TOP_WAKERS    4     /* waker cgroups kept per cgroup and window */
#define KSENSE_SAMPLE_HZ     99

/* Log-linear histogram: values 0..7 get one bucket each; above that every
 * power of two [2^m, 2^(m+1)) is split into 2^KSENSE_HIST_SUB_BITS equal
 * buckets.  A reported value is its bucket's midpoint, so it is within
 * 1/2^(KSENSE_HIST_SUB_BITS+1) = 6.25 % of every value in the bucket. */
#define KSENSE_HIST_SUB_BITS 3
#define KSENSE_HIST_SUB      (1u << KSENSE_HIST_SUB_BITS)
#define KSENSE_HIST_MAX_MSB  41 /* 2^42 ns = 73 min; larger values clamp */
#define KSENSE_HIST_BUCKETS  ((KSENSE_HIST_MAX_MSB - KSENSE_HIST_SUB_BITS + 2) * KSENSE_HIST_SUB)

/* Per-cgroup run-queue latency histogram (kern/cghist.h): 1 us .. 2^34 ns
 * log-linear with 4 sub-buckets, one bucket below and one above. */
#define KSENSE_CG_RQ_MIN_SHIFT 10
#define KSENSE_CG_RQ_MAX_SHIFT 33
#define KSENSE_CG_RQ_SUB_BITS  2
#define KSENSE_CG_RQ_SUB       (1u << KSENSE_CG_RQ_SUB_BITS)
#define KSENSE_CG_RQ_BUCKETS   (2 + (KSENSE_CG_RQ_MAX_SHIFT - KSENSE_CG_RQ_MIN_SHIFT + 1) * KSENSE_CG_RQ_SUB)
#define KSENSE_CG_RQ_HOLD      4 /* buckets a CPU holds for one cgroup before it flushes */

#define KSENSE_HISTORY_LEN   1024 /* windows kept; slot = seq % LEN */
#define KSENSE_MAX_CPUS      256

#define KSENSE_WINDOW_MS_DEFAULT 1000u
#define KSENSE_WINDOW_MS_MIN     100u
#define KSENSE_WINDOW_MS_MAX     60000u

enum ksense_psi_source {
	KSENSE_PSI_NONE = 0,    /* psi_system not found yet: PSI fields are 0 */
	KSENSE_PSI_KERNEL = 1,  /* read from the kernel's psi_system in BPF */
	KSENSE_PSI_U32 = 0x7fffffff,
};

enum ksense_baseline_state {
	KSENSE_BASELINE_WARMUP = 0,  /* learning: friction and energy are empty */
	KSENSE_BASELINE_FROZEN = 1,
	KSENSE_BASELINE_U32 = 0x7fffffff,
};

enum ksense_band {
	KSENSE_BAND_NONE = 0,        /* no score yet */
	KSENSE_BAND_LOW = 1,
	KSENSE_BAND_MEDIUM = 2,
	KSENSE_BAND_HIGH = 3,
	KSENSE_BAND_U32 = 0x7fffffff,
};

enum ksense_verdict {
	KSENSE_VERDICT_NONE = 0,
	KSENSE_VERDICT_ALLOW = 1,
	KSENSE_VERDICT_DENY = 2,
	KSENSE_VERDICT_U32 = 0x7fffffff,
};

/* Why the decision is what it is. */
enum ksense_reason {
	KSENSE_REASON_NONE = 0,
	KSENSE_REASON_LOW = 1,           /* score < band_low_below: allow, clears */
	KSENSE_REASON_HIGH = 2,          /* score >= band_high_from: deny */
	KSENSE_REASON_MEDIUM_LOW = 3,    /* medium, <= medium_low_upper: allow */
	KSENSE_REASON_MEDIUM_BAD = 4,    /* medium, > medium_mid_upper: a bad window */
	KSENSE_REASON_MEDIUM_MID = 5,    /* medium, between: deny only when latched */
	KSENSE_REASON_U32 = 0x7fffffff,
};

/* The histogrammed signals of a window.  The sensors' accumulators and the
 * tick's merge are arrays indexed by it; ksense_window and ksense_totals
 * hold one named field per signal, in this order and adjacent
 * (ksense_window_lat() and ksense_totals_hist() index them).  Adding a
 * sensor: docs/ARCHITECTURE.md, "Adding a sensor". */
enum ksense_signal {
	KSENSE_SIG_RUNQ = 0,         /* run-queue latency */
	KSENSE_SIG_DSTATE = 1,       /* D-state episodes */
	KSENSE_SIG_NETRX = 2,        /* NET_RX softirq runs */
	KSENSE_SIG_RECLAIM = 3,      /* direct reclaim episodes (kern/reclaim.bpf.c) */
	KSENSE_NR_SIGNALS = 4,
};

/* Fuzzy inputs, all on a 0..1000 scale. */
enum ksense_input {
	KSENSE_IN_FRICTION = 0,
	KSENSE_IN_ENERGY = 1,
	KSENSE_IN_CPU = 2,
	KSENSE_IN_PSI = 3,
	KSENSE_NR_INPUTS = 4,
};

/* Fuzzy sets; a rule's `when` uses ANY for "this input does not matter". */
enum ksense_set {
	KSENSE_SET_ANY = 0,
	KSENSE_SET_LOW = 1,
	KSENSE_SET_MEDIUM = 2,
	KSENSE_SET_HIGH = 3,
	KSENSE_NR_SETS = 3,
};

/* Baseline signals (index into ksense_baseline.sig and friction terms). */
enum ksense_base_signal {
	KSENSE_BS_RQ_P99 = 0,        /* runq.p99_ns */
	KSENSE_BS_RQ_AVG = 1,        /* runq.avg_ns */
	KSENSE_BS_DSTATE = 2,        /* dstate_us_per_s */
	KSENSE_BS_NETRX = 3,         /* netrx_us_per_s */
	KSENSE_NR_BASE_SIGNALS = 4,
};

#define KSENSE_MAX_RULES 16

/* A cgroup's bottleneck over recent windows (the `cgroups` pin). */
enum ksense_class {
	KSENSE_CLASS_UNKNOWN = 0,
	KSENSE_CLASS_IDLE = 1,
	KSENSE_CLASS_CPU = 2,      /* working hard: scaling out helps */
	KSENSE_CLASS_BLOCK = 3,    /* waiting on disk: more replicas add contention */
	KSENSE_CLASS_OFFCPU = 4,   /* waiting on something else (a peer, a lock) */
	KSENSE_CLASS_THROTTLED = 5, /* CPU-starved by its own CFS quota: the limit binds */
	KSENSE_CLASS_U32 = 0x7fffffff,
};

/* What ended an off-CPU wait: the context of the wakeup (sched_waking runs
 * in the waker's context).  Indexes ksense_cgroup.wait_ns[]. */
enum ksense_cause {
	KSENSE_CAUSE_NONE = 0,       /* no wakeup seen (the class cause: none) */
	KSENSE_CAUSE_LOCK = 1,       /* a task of the same cgroup: a lock hand-off or internal queue */
	KSENSE_CAUSE_DEPENDENCY = 2, /* a task of another cgroup (its id is kept) */
	KSENSE_CAUSE_NETWORK = 3,    /* network softirq with no task behind it (a NIC's interrupt) */
	KSENSE_CAUSE_DEVICE = 4,     /* a hard interrupt, or block/tasklet/other softirqs: a device */
	KSENSE_CAUSE_KERNEL = 5,     /* a kernel thread, or the idle task outside any handler */
	KSENSE_CAUSE_TIMER = 6,      /* a timer expired: a sleep, which is idle, not a wait */
	KSENSE_NR_CAUSES = 7,
	KSENSE_CAUSE_U32 = 0x7fffffff,
};

/* What the sensors found in this kernel's BTF, chosen by CO-RE at load
 * (`state.kernel_paths`; `ksense status` prints them). */
enum ksense_kernel_path {
	/* a throttled task: 6.18's task-based throttling marks the task
	 * itself (task_struct.throttled) ... */
	KSENSE_PATH_TASK_THROTTLED = 1u << 0,
	/* ... earlier kernels throttle the cfs_rq the task stays queued on
	 * (cfs_rq.throttle_count counts throttled levels above and at it) */
	KSENSE_PATH_CFS_RQ_THROTTLE_COUNT = 1u << 1,
	/* the task's task group: task_struct.sched_task_group ... */
	KSENSE_PATH_TASK_GROUP = 1u << 2,
	/* ... or, without it, its sched entity's cfs_rq->tg */
	KSENSE_PATH_SE_CFS_RQ_TG = 1u << 3,
	/* the task group's CFS bandwidth (CONFIG_CFS_BANDWIDTH) */
	KSENSE_PATH_CFS_BANDWIDTH = 1u << 4,
	/* cfs_rq.throttled is a one-bit field (6.18) rather than an int */
	KSENSE_PATH_THROTTLED_BITFIELD = 1u << 5,
};

enum ksense_state_flags {
	KSENSE_STATE_TIMER_ARMED = 1u << 0,
};

/* One latency-like signal over one window (all in ns except count). */
struct ksense_lat {
	__u64 count;
	__u64 sum_ns;
	__u64 avg_ns;
	__u64 p50_ns;
	__u64 p95_ns;
	__u64 p99_ns;
	__u64 max_ns;
};

/* Pressure stall of one resource, in per-mille (1000 = 100 % stalled). */
struct ksense_psi {
	__u32 some_avg10_permille; /* the kernel's own avg10 */
	__u32 full_avg10_permille;
	__u32 some_permille;       /* stall share over the kernel's last PSI period */
	__u32 full_permille;
};

/* What the analytics made of one window (kept in every history slot). */
struct ksense_verdict_rec {
	enum ksense_baseline_state baseline_state;
	__u32 friction_valid;      /* 0 during warm-up: friction/energy empty */
	__u32 friction_permille;   /* Friction 0..100 as 0..1000 */
	__s32 direction;           /* -1, 0, +1 */
	__s32 slope_permille;      /* EWMA of friction's change per window */
	__u32 energy_permille;     /* Energy 0..100 as 0..1000 */
	__u32 cpu_permille;        /* fuzzy input CPUUtil */
	__u32 psi_permille;        /* fuzzy input PSI: max some share of cpu/io/mem */
	__u32 score;               /* 0..100 */
	enum ksense_band band;
	enum ksense_verdict verdict;
	enum ksense_reason reason;
};

/* A closed window: every `history` slot (slot = seq % KSENSE_HISTORY_LEN). */
struct ksense_window {
	__u64 seq;                 /* 1 for the first window after load; 0 while
	                            * the tick rewrites the slot (stored last) */
	__u64 start_ns;            /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__u64 duration_ns;
	struct ksense_lat runq;    /* wakeup / preemption -> on CPU */
	struct ksense_lat dstate;  /* D-state episodes that ended in the window */
	struct ksense_lat netrx;   /* NET_RX softirq runs */
	struct ksense_lat reclaim; /* direct reclaim episodes (a task reclaiming for its allocation) */
	__u64 dstate_ns;           /* task-ns spent in D during the window */
	__u64 netrx_ns;            /* = netrx.sum_ns */
	__u64 dstate_us_per_s;     /* dstate_ns per second of window, in us */
	__u64 netrx_us_per_s;
	__u64 cpu_busy_ns;         /* summed over CPUs */
	__u32 cpu_busy_permille;   /* of nr_cpus * duration */
	__u32 nr_cpus;
	struct ksense_psi psi_cpu;
	struct ksense_psi psi_io;
	struct ksense_psi psi_mem;
	enum ksense_psi_source psi_source;
	__u32 reserved0;
	struct ksense_verdict_rec verdict; /* the analytics of this window */
};

/* One histogrammed signal summed over every window since load: counters
 * that only grow, bucket by bucket (the same log-linear buckets). */
struct ksense_hist_total {
	__u64 count;
	__u64 sum_ns;
	__u64 buckets[KSENSE_HIST_BUCKETS];
};

/* The `totals` pin (key 0): what the windows add up to since load, for
 * readers that sample at their own pace (a Prometheus scrape every 15 or
 * 30 s loses no window, and a restarted reader loses nothing).  The tick
 * adds each window as it closes it.  Its copy is whole when seq ==
 * seq_end: seq_end is stored first and seq last. */
struct ksense_totals {
	__u64 seq;                 /* windows added (the last one's seq) */
	__u64 loaded_ns;           /* CLOCK_MONOTONIC of the load */
	__u64 end_ns;              /* end of window `seq` */
	__u64 elapsed_ns;          /* the windows' durations, summed */
	__u64 cpu_busy_ns;         /* summed over CPUs */
	__u64 cpu_capacity_ns;     /* nr_cpus x window time */
	__u64 dstate_ns;           /* task-ns spent in D */
	/* stall time of psi_system (ns, as /proc/pressure's total= in us);
	 * CPU full is undefined for the whole machine and left out */
	__u64 psi_cpu_some_ns;
	__u64 psi_io_some_ns;
	__u64 psi_io_full_ns;
	__u64 psi_mem_some_ns;
	__u64 psi_mem_full_ns;
	__u64 deny_windows;        /* windows whose decision was deny */
	__u64 reserved0;
	struct ksense_hist_total runq;
	struct ksense_hist_total dstate;   /* D episodes, by length */
	struct ksense_hist_total netrx;
	struct ksense_hist_total reclaim;  /* direct reclaim episodes, by length */
	__u64 seq_end;
};

/* Membership function: 0 below a, rising to 1000 at b, 1000 to c, falling
 * to 0 at d.  Points on the inputs' 0..1000 scale; a == b (or c == d) is a
 * vertical edge (a shoulder at 0 or 1000). */
struct ksense_trapezoid {
	__u16 a, b, c, d;
};

/* One input's fuzzy sets. */
struct ksense_mf_sets {
	struct ksense_trapezoid low;
	struct ksense_trapezoid medium;
	struct ksense_trapezoid high;
};

/* The membership functions of every input (enum ksense_input order;
 * ksense_mf_get() indexes them). */
struct ksense_mf {
	struct ksense_mf_sets friction;
	struct ksense_mf_sets energy;
	struct ksense_mf_sets cpu;
	struct ksense_mf_sets psi;
};

/* A rule's condition on each input: an enum ksense_set, one byte each
 * (enum ksense_input order; ksense_when_get() indexes them). */
struct ksense_rule_when {
	__u8 friction;
	__u8 energy;
	__u8 cpu;
	__u8 psi;
};

/* One number per baseline signal (enum ksense_base_signal order). */
struct ksense_base_u32 {
	__u32 rq_p99;
	__u32 rq_avg;
	__u32 dstate;
	__u32 netrx;
};

struct ksense_base_u64 {
	__u64 rq_p99;              /* ns */
	__u64 rq_avg;              /* ns */
	__u64 dstate;              /* us/s */
	__u64 netrx;               /* us/s */
};

/* A zero-order Sugeno rule: IF every input whose `when` is not ANY is in
 * that set THEN score = `score` (0..100).  Strength is the minimum of the
 * memberships named. */
struct ksense_rule {
	struct ksense_rule_when when;
	__u8 score;
	__u8 reserved[3];
};

/* Run-time settings: the `config` pin (key 0).  Read by the tick each
 * window, so a change takes effect at the next window without reload.
 * Documented key by key in pins/README.md and `ksense config show`. */
struct ksense_config {
	__u32 schema_version;
	__u32 window_ms;
	__u32 reserved2;           /* was nr_cpus: now read-only data set at load (state.nr_cpus) */
	__u32 warmup_s;            /* baseline learning time */
	__u32 baseline_reset_gen;  /* bump to restart warm-up (ksense baseline reset) */
	__u32 baseline_alpha_permille;   /* EWMA weight of a new window */
	__u32 friction_k_permille;       /* k of (x - mean) / (k * dev + eps) */
	struct ksense_base_u32 friction_weight_permille; /* sum 1000 */
	__u32 reserved0;
	struct ksense_base_u64 friction_eps; /* in each signal's unit */
	__u32 direction_alpha_permille;  /* EWMA weight of friction's change */
	__u32 direction_deadband_permille; /* |slope| at or below: direction 0 */
	__u32 energy_half_life_s;
	__u32 energy_threshold_permille; /* energy at or above counts "above" */
	struct ksense_mf mf;
	struct ksense_rule rules[KSENSE_MAX_RULES];
	__u32 nr_rules;
	__u32 band_low_below;      /* score < this: Low (45) */
	__u32 band_high_from;      /* score >= this: High (70) */
	__u32 medium_low_upper;    /* FUZZY_MEDIUM_LOW_UPPER (55) */
	__u32 medium_mid_upper;    /* FUZZY_MEDIUM_MID_UPPER (60) */
	__u32 medium_bad_threshold; /* FUZZY_MEDIUM_BAD_THRESHOLD (2) */
	/* per-cgroup classes, shares in permille of the window (of one CPU) */
	__u32 cg_cpu_min_permille;      /* on-CPU + run-queue wait at or above: CPU (500) */
	__u32 cg_block_min_permille;    /* D time at or above: BLOCK (200) */
	__u32 cg_offcpu_min_permille;   /* waits not ended by a timer at or above: OFFCPU (500) */
	__u32 cg_hysteresis_windows;    /* windows a new class must hold (3) */
	__u32 cg_throttled_min_permille; /* throttled waits at or above: THROTTLED (100) */
	__u32 cg_lock_min_permille;     /* waits ended by siblings at or above (and >= on-CPU): OFFCPU/LOCK (500) */
	__u32 cg_lock_min_wakeups;      /* ... with at least this many sibling wakeups per second (50) */
	__u32 reserved1;
};

/* EWMA of one baseline signal, in that signal's unit x 1000. */
struct ksense_ewma {
	__s64 mean_milli;
	__s64 dev_milli;           /* mean absolute deviation */
	__u64 last;                /* the latest sample, in the signal's unit */
};

/* The `baseline` pin (key 0): learned during warm-up, then frozen. */
struct ksense_baseline {
	enum ksense_baseline_state state;
	__u32 reset_gen;           /* config.baseline_reset_gen last honoured */
	__u64 started_ns;          /* end of the first window learned */
	__u64 frozen_ns;           /* when it froze, 0 while warming up */
	__u32 warmup_remaining_s;
	__u32 samples;             /* windows learned */
	struct ksense_ewma rq_p99_ns;
	struct ksense_ewma rq_avg_ns;
	struct ksense_ewma dstate_us_per_s;
	struct ksense_ewma netrx_us_per_s;
	__u64 seq;                 /* window whose close wrote it last; 0 while being rewritten */
};

/* Friction's term of each baseline signal (enum ksense_base_signal order). */
struct ksense_friction_terms {
	__u32 rq_p99_permille;
	__u32 rq_avg_permille;
	__u32 dstate_permille;
	__u32 netrx_permille;
};

/* The fuzzy inputs (enum ksense_input order), 0..1000. */
struct ksense_fuzzy_inputs {
	__u32 friction_permille;
	__u32 energy_permille;
	__u32 cpu_permille;
	__u32 psi_permille;
};

/* One input's membership in each fuzzy set (enum ksense_set order, from LOW). */
struct ksense_fuzzy_sets {
	__u32 low_permille;
	__u32 medium_permille;
	__u32 high_permille;
};

struct ksense_fuzzy_memberships {
	struct ksense_fuzzy_sets friction;
	struct ksense_fuzzy_sets energy;
	struct ksense_fuzzy_sets cpu;
	struct ksense_fuzzy_sets psi;
};

/* The `score` pin (key 0): every quantity between the window and the
 * decision, plus the state the next window continues from. */
struct ksense_score {
	__u64 seq;                 /* window this belongs to */
	enum ksense_baseline_state baseline_state;
	__u32 friction_valid;      /* 0: warm-up, score from CPU and PSI only */
	__u32 friction_permille;
	struct ksense_friction_terms friction_term;
	__s32 direction;
	__s32 slope_permille;
	__u32 energy_permille;
	__u32 energy_peak_permille;   /* since the baseline froze */
	__u32 reserved0;
	__u64 energy_integral;        /* leaky integral of friction, permille x ms */
	__u64 energy_ceiling;         /* the same integral of a constant 1000 */
	__u64 energy_above_ms;        /* consecutive ms at or above the threshold */
	struct ksense_fuzzy_inputs input;
	struct ksense_fuzzy_memberships membership;
	__u32 rule_strength_permille[KSENSE_MAX_RULES];
	__u32 top_rule;            /* index of the strongest rule */
	__u32 score_permille;      /* Sugeno output, 0..1000 */
	__u32 score;               /* 0..100, rounded */
	__u32 rules_used;          /* rules that fired (strength > 0) */
};

/* The `decision` pin (key 0). */
struct ksense_decision {
	__u64 seq;
	__u32 score;
	enum ksense_band band;
	enum ksense_verdict verdict;
	enum ksense_reason reason;
	__u32 bad_streak;          /* consecutive bad windows */
	__u32 latched;             /* 1: medium-mid windows deny until a Low */
	__u32 top_rule;
	__u32 friction_valid;
};

/* Tick state: the `state` pin (key 0).  schema_version stays at offset 0 so
 * a loader of any version can tell which schema a pinned tree has. */
struct ksense_state {
	__u32 schema_version;
	__u32 flags;               /* enum ksense_state_flags */
	__u64 seq;                 /* last closed window */
	__u64 window_start_ns;     /* start of the open window */
	__u64 loaded_ns;           /* when the timer was armed */
	__u64 ticks;               /* timer callbacks run */
	__u32 acc_slot;            /* accumulator slot sensors write into (0/1) */
	enum ksense_psi_source psi_source;
	__u64 psi_group_addr;      /* kernel address of psi_system */
	__u64 psi_avg_total[6];    /* avg_total[] at the last seen PSI period */
	__u64 psi_avg_last_update;
	__u64 psi_seen_ns;         /* our clock when avg_last_update last moved */
	__u32 psi_permille[6];     /* stall share of that period, per psi state */
	__u32 kernel_paths;        /* enum ksense_kernel_path bits, set at start */
	__u32 nr_cpus;             /* possible CPUs the tick merges (read-only data, set at load) */
	struct bpf_timer timer;
};

/* One of a cgroup's top waker cgroups over a window. */
struct ksense_waker {
	__u64 cgroup_id;           /* the waker's cgroup2 id */
	__u64 wait_ns;             /* the waits it ended */
	__u32 wakeups;
	__u32 share_permille;      /* of the cgroup's waits (all causes but TIMER) */
};

/* Off-CPU time and waits by what ended them (enum ksense_cause order;
 * `none` stays 0: a wait is charged when a wakeup ends it). */
struct ksense_cause_ns {
	__u64 none;
	__u64 lock;
	__u64 dependency;
	__u64 network;
	__u64 device;
	__u64 kernel;
	__u64 timer;
};

struct ksense_cause_n {
	__u32 none;
	__u32 lock;
	__u32 dependency;
	__u32 network;
	__u32 device;
	__u32 kernel;
	__u32 timer;
};

/* The `cgroups` pin: key cgroup id (cgroup2 inode number). */
struct ksense_cgroup {
	__u64 cgroup_id;
	__u64 seq;                 /* window of the last update */
	enum ksense_class class;   /* after hysteresis */
	enum ksense_cause cause;   /* of an OFFCPU class (NONE otherwise) */
	enum ksense_class candidate; /* the latest windows' class ... */
	enum ksense_cause candidate_cause; /* ... and cause, held together */
	__u32 streak;              /* windows the candidate has held */
	__u32 on_cpu_permille;     /* of one CPU */
	__u32 d_permille;          /* task-time in D per window time */
	__u32 s_permille;
	__u64 on_cpu_ns;           /* the last window's sums */
	__u64 d_ns;
	__u64 s_ns;
	__u64 wakeups;
	__u64 samples;
	__u64 io_count;
	__u64 io_bytes;
	__u64 io_lat_avg_ns;
	__u64 idle_windows;        /* consecutive windows with nothing at all */
	/* CFS bandwidth throttling, seen from the tasks: waits that began
	 * with the task throttled (or woken into a throttled group) and ended
	 * when it ran again; not counted as run-queue latency */
	__u64 throttled_ns;        /* the last window's task-ns of such waits */
	__u64 throttled_waits;
	__u32 throttled_permille;  /* throttled_ns per window, of one CPU */
	/* ... and from the kernel's own counters (cpu.stat) of the nearest
	 * task group, the tasks' own or an ancestor, that has a quota */
	__u32 bw_level;            /* 0 the tasks' own group, n: n levels up; ~0: no quota found */
	__u64 bw_cgroup_id;        /* kernfs id (directory inode) of that group's cgroup, v1 or v2 */
	__u64 bw_quota_us;         /* its quota per period */
	__u64 bw_period_us;
	__u64 bw_throttled_ns;     /* Δ throttled_time over the window (cpu.stat throttled_time, ns) */
	__u32 bw_nr_periods;       /* Δ nr_periods */
	__u32 bw_nr_throttled;     /* Δ nr_throttled */
	__u64 bw_total_throttled_ns; /* the counters at the window's end (the next delta's base) */
	__u32 bw_total_periods;
	__u32 bw_total_throttled;
	/* why it waited: off-CPU time (S and D, clipped to the window) of the
	 * waits that ended in the window, by what ended them */
	struct ksense_cause_ns wait_ns;  /* ksense_cause_ns_of() indexes it */
	struct ksense_cause_n wait_n;
	__u32 reserved1;
	__u32 wait_permille;       /* waits of every cause but TIMER, of the window (of one CPU) */
	__u32 lock_permille;       /* the LOCK part */
	struct ksense_waker wakers[KSENSE_TOP_WAKERS]; /* the top waker cgroups, most first */
	/* run-queue latency of its tasks over the window: wakeup or
	 * preemption to on CPU (waits for a CFS quota not included) */
	__u64 rq_count;
	__u64 rq_sum_ns;
	__u64 rq_avg_ns;
	__u64 rq_p50_ns;           /* from its histogram: within 12.5 % (512 ns below 1 us) */
	__u64 rq_p99_ns;
	__u64 rq_max_ns;           /* exact */
	/* its own pressure stall (cgroup2 keeps PSI per cgroup) */
	struct ksense_psi psi_cpu; /* full is meaningful per cgroup */
	struct ksense_psi psi_io;
	struct ksense_psi psi_mem;
	enum ksense_psi_source psi_source; /* NONE: no PSI group found */
	__u32 reserved2;
};

/* The `stacks` pin: on-CPU samples by cgroup, process and the sampled
 * user-space address (the first frame of the user stack). */
struct ksense_stack_key {
	__u64 cgroup_id;
	__u32 tgid;
	__u32 reserved0;
	__u64 addr;
};

/* The `self` pin: ksense's own processes, left out of every per-cgroup
 * sensor (on-CPU, D/S off-CPU, samples and stacks, block I/O) so the
 * daemons never see themselves in the numbers they serve.  Key: tgid in
 * the kernel's initial PID namespace (what the sensors see).  Daemons add
 * themselves at start (user/lib/self_exclude.c) and remove themselves at
 * exit; the sensors drop an entry when the process's last thread exits, so
 * a reused PID is never excluded. */
struct ksense_self {
	__u32 tgid;                /* = the key, for readers of a dump */
	__u32 reserved0;
	__u64 start_ticks;         /* /proc/PID/stat starttime: tells a reused PID */
	__u64 registered_ns;       /* CLOCK_MONOTONIC */
	char comm[16];             /* char, so bpftool prints it as a string */
};

/* The `self_gen` pin (one element): bumped by every change to `self`, so
 * the sensors can keep a task's answer until it changes instead of
 * searching the hash at every event. */
struct ksense_self_gen {
	__u64 gen;
	__u64 changed_ns;          /* CLOCK_MONOTONIC of the last bump */
};

/* The field of signal sig (< KSENSE_NR_SIGNALS) in a window and in the
 * totals: the per-signal fields are adjacent, in enum order (asserted
 * below). */
static __always_inline struct ksense_lat *ksense_window_lat(struct ksense_window *w, __u32 sig)
{
	return (struct ksense_lat *)((char *)w + __builtin_offsetof(struct ksense_window, runq)) + sig;
}

static __always_inline struct ksense_hist_total *ksense_totals_hist(struct ksense_totals *t, __u32 sig)
{
	return (struct ksense_hist_total *)((char *)t + __builtin_offsetof(struct ksense_totals, runq)) + sig;
}

/* Structs of one type's fields in an enum's order, indexed by that enum
 * (i below the enum's count; the structs have no padding, asserted below). */
static __always_inline __u64 *ksense_cause_ns_of(struct ksense_cause_ns *c, __u32 cause)
{
	return (__u64 *)c + cause;
}

static __always_inline __u32 *ksense_cause_n_of(struct ksense_cause_n *c, __u32 cause)
{
	return (__u32 *)c + cause;
}

static __always_inline __u64 ksense_cause_ns_get(const struct ksense_cause_ns *c, __u32 cause)
{
	return ((const __u64 *)c)[cause];
}

static __always_inline __u32 ksense_cause_n_get(const struct ksense_cause_n *c, __u32 cause)
{
	return ((const __u32 *)c)[cause];
}

/* Input `input`'s membership function for set `set` (0 low, 1 medium,
 * 2 high: enum ksense_set minus one). */
static __always_inline const struct ksense_trapezoid *ksense_mf_get(const struct ksense_mf *m, __u32 input,
								    __u32 set)
{
	return (const struct ksense_trapezoid *)m + input * KSENSE_NR_SETS + set;
}

static __always_inline __u8 ksense_when_get(const struct ksense_rule_when *w, __u32 input)
{
	return ((const __u8 *)w)[input];
}

static __always_inline __u8 *ksense_when_of(struct ksense_rule_when *w, __u32 input)
{
	return (__u8 *)w + input;
}

static __always_inline __u32 ksense_base_u32_get(const struct ksense_base_u32 *v, __u32 sig)
{
	return ((const __u32 *)v)[sig];
}

static __always_inline __u64 ksense_base_u64_get(const struct ksense_base_u64 *v, __u32 sig)
{
	return ((const __u64 *)v)[sig];
}

#define KSENSE_SIGNAL_AT(type, field, sig, elem)                                         \
	_Static_assert(__builtin_offsetof(type, field) ==                               \
		       __builtin_offsetof(type, runq) + (sig) * sizeof(elem), #type "." #field)
KSENSE_SIGNAL_AT(struct ksense_window, dstate, KSENSE_SIG_DSTATE, struct ksense_lat);
KSENSE_SIGNAL_AT(struct ksense_window, netrx, KSENSE_SIG_NETRX, struct ksense_lat);
KSENSE_SIGNAL_AT(struct ksense_totals, dstate, KSENSE_SIG_DSTATE, struct ksense_hist_total);
KSENSE_SIGNAL_AT(struct ksense_totals, netrx, KSENSE_SIG_NETRX, struct ksense_hist_total);
KSENSE_SIGNAL_AT(struct ksense_window, reclaim, KSENSE_SIG_RECLAIM, struct ksense_lat);
KSENSE_SIGNAL_AT(struct ksense_totals, reclaim, KSENSE_SIG_RECLAIM, struct ksense_hist_total);

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct ksense_cause_ns) == KSENSE_NR_CAUSES * sizeof(__u64), "ksense_cause_ns layout");
_Static_assert(sizeof(struct ksense_cause_n) == KSENSE_NR_CAUSES * sizeof(__u32), "ksense_cause_n layout");
_Static_assert(sizeof(struct ksense_friction_terms) == KSENSE_NR_BASE_SIGNALS * sizeof(__u32), "friction terms");
_Static_assert(sizeof(struct ksense_fuzzy_inputs) == KSENSE_NR_INPUTS * sizeof(__u32), "fuzzy inputs");
_Static_assert(sizeof(struct ksense_fuzzy_memberships) == KSENSE_NR_INPUTS * KSENSE_NR_SETS * sizeof(__u32),
	       "fuzzy memberships");
_Static_assert(sizeof(enum ksense_band) == 4 && sizeof(enum ksense_verdict) == 4 &&
	       sizeof(enum ksense_reason) == 4 && sizeof(enum ksense_class) == 4 &&
	       sizeof(enum ksense_cause) == 4 && sizeof(enum ksense_psi_source) == 4 &&
	       sizeof(enum ksense_baseline_state) == 4, "pinned enums are 32 bits");
_Static_assert(sizeof(struct ksense_self) == 40, "ksense_self layout");
_Static_assert(sizeof(struct ksense_self_gen) == 16, "ksense_self_gen layout");
_Static_assert(sizeof(struct ksense_lat) == 56, "ksense_lat layout");
_Static_assert(sizeof(struct ksense_psi) == 16, "ksense_psi layout");
_Static_assert(sizeof(struct ksense_verdict_rec) == 48, "ksense_verdict_rec layout");
_Static_assert(sizeof(struct ksense_window) == 408, "ksense_window layout");
_Static_assert(sizeof(struct ksense_trapezoid) == 8, "ksense_trapezoid layout");
_Static_assert(sizeof(struct ksense_rule) == 8, "ksense_rule layout");
_Static_assert(sizeof(struct ksense_config) == 376, "ksense_config layout");
_Static_assert(sizeof(struct ksense_mf) == KSENSE_NR_INPUTS * KSENSE_NR_SETS * sizeof(struct ksense_trapezoid),
	       "ksense_mf: the inputs' sets, in order");
_Static_assert(sizeof(struct ksense_rule_when) == KSENSE_NR_INPUTS, "ksense_rule_when: a byte per input");
_Static_assert(sizeof(struct ksense_base_u32) == KSENSE_NR_BASE_SIGNALS * 4, "ksense_base_u32");
_Static_assert(sizeof(struct ksense_base_u64) == KSENSE_NR_BASE_SIGNALS * 8, "ksense_base_u64");
_Static_assert(sizeof(struct ksense_cgroup) == 496, "ksense_cgroup layout");
_Static_assert(KSENSE_CG_RQ_BUCKETS == 98, "per-cgroup histogram bucket count");
_Static_assert(sizeof(struct ksense_waker) == 24, "ksense_waker layout");
_Static_assert(sizeof(struct ksense_stack_key) == 24, "ksense_stack_key layout");
_Static_assert(sizeof(struct ksense_baseline) == 136, "ksense_baseline layout");
_Static_assert(sizeof(struct ksense_score) == 224, "ksense_score layout");
_Static_assert(sizeof(struct ksense_decision) == 40, "ksense_decision layout");
_Static_assert(KSENSE_HIST_BUCKETS == 320, "histogram bucket count");
_Static_assert(sizeof(struct ksense_hist_total) == 2576, "ksense_hist_total layout");
_Static_assert(sizeof(struct ksense_totals) == 10424, "ksense_totals layout");
#endif

#endif /* KSENSE_PINS_H */
