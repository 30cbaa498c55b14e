/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense pinned-map contract.
 *
 * Every struct stored in a map under /sys/fs/bpf/ksense/ is defined here and
 * nowhere else; BPF (kern/) and userspace (user/, selftests/) both include
 * this file.  The structs are an ABI: fields are never reordered, a retired
 * field becomes reservedN, and any layout change bumps KSENSE_SCHEMA_VERSION.
 * Only fixed-size __u/__s types and explicit padding appear here.
 */
#ifndef KSENSE_PINS_H
#define KSENSE_PINS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h>
#endif

#define KSENSE_SCHEMA_VERSION 1

/* Pin tree.  Userspace may override the root with KSENSE_PIN_ROOT (tests). */
#define KSENSE_PIN_ROOT      "/sys/fs/bpf/ksense"
#define KSENSE_PIN_LINKS     "links"
#define KSENSE_PIN_STATE     "state"
#define KSENSE_PIN_CONFIG    "config"
#define KSENSE_PIN_WINDOW    "window"
#define KSENSE_PIN_HISTORY   "history"

/* Log-linear histogram: values 0..7 get one bucket each; above that every
 * power of two [2^m, 2^(m+1)) is split into 2^KSENSE_HIST_SUB_BITS equal
 * buckets.  A reported value is its bucket's midpoint, so it is within
 * 1/2^(KSENSE_HIST_SUB_BITS+1) = 6.25 % of every value in the bucket. */
#define KSENSE_HIST_SUB_BITS 3
#define KSENSE_HIST_SUB      (1u << KSENSE_HIST_SUB_BITS)
#define KSENSE_HIST_MAX_MSB  41 /* 2^42 ns = 73 min; larger values clamp */
#define KSENSE_HIST_BUCKETS  ((KSENSE_HIST_MAX_MSB - KSENSE_HIST_SUB_BITS + 2) * KSENSE_HIST_SUB)

#define KSENSE_HISTORY_LEN   1024 /* windows kept; slot = seq % LEN */
#define KSENSE_MAX_CPUS      256

#define KSENSE_WINDOW_MS_DEFAULT 1000u
#define KSENSE_WINDOW_MS_MIN     100u
#define KSENSE_WINDOW_MS_MAX     60000u

enum ksense_psi_source {
	KSENSE_PSI_NONE = 0,    /* psi_system not found yet: PSI fields are 0 */
	KSENSE_PSI_KERNEL = 1,  /* read from the kernel's psi_system in BPF */
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

/* A closed window: the `window` pin (key 0) and every `history` slot. */
struct ksense_window {
	__u64 seq;                 /* 1 for the first window after load; 0 while
	                            * the tick rewrites the slot (stored last) */
	__u64 start_ns;            /* CLOCK_MONOTONIC */
	__u64 end_ns;
	__u64 duration_ns;
	struct ksense_lat runq;    /* wakeup / preemption -> on CPU */
	struct ksense_lat dstate;  /* D-state episodes that ended in the window */
	struct ksense_lat netrx;   /* NET_RX softirq runs */
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
	__u32 psi_source;          /* enum ksense_psi_source */
	__u32 reserved0;
};

/* Run-time settings: the `config` pin (key 0).  Read by the tick each
 * window, so a change takes effect at the next window without reload. */
struct ksense_config {
	__u32 schema_version;
	__u32 window_ms;
	__u32 nr_cpus;             /* possible CPUs the tick merges */
	__u32 reserved0;
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
	__u32 psi_source;          /* enum ksense_psi_source */
	__u64 psi_group_addr;      /* kernel address of psi_system */
	__u64 psi_avg_total[6];    /* avg_total[] at the last seen PSI period */
	__u64 psi_avg_last_update;
	__u64 psi_seen_ns;         /* our clock when avg_last_update last moved */
	__u32 psi_permille[6];     /* stall share of that period, per psi state */
	struct bpf_timer timer;
};

/* Per-CPU histogram accumulator (sensors write, the tick merges). */
struct ksense_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u32 buckets[KSENSE_HIST_BUCKETS];
};

struct ksense_acc {
	struct ksense_hist runq;
	struct ksense_hist dstate;
	struct ksense_hist netrx;
};

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
};

/* Per-task sensor state (task storage, not pinned). */
struct ksense_task {
	__u64 queued_ns;           /* runnable since, 0 when on CPU or asleep */
	__u64 dstate_ns;           /* entered D at, 0 otherwise */
};

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct ksense_lat) == 56, "ksense_lat layout");
_Static_assert(sizeof(struct ksense_psi) == 16, "ksense_psi layout");
_Static_assert(sizeof(struct ksense_window) == 304, "ksense_window layout");
_Static_assert(sizeof(struct ksense_config) == 16, "ksense_config layout");
_Static_assert(KSENSE_HIST_BUCKETS == 320, "histogram bucket count");
#endif

#endif /* KSENSE_PINS_H */
