/* SPDX-License-Identifier: GPL-2.0 */
/* Workloads with a known effect, run as threads of the test process. */
#ifndef KSENSE_WORKLOADS_H
#define KSENSE_WORKLOADS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WL_MAX_THREADS 8

enum wl_kind { WL_SPIN, WL_FSYNC, WL_UDP };

struct workload {
	enum wl_kind kind;
	int nr;                 /* threads */
	int cpu;                /* pin every thread to this CPU, or -1 */
	volatile bool stop;
	pthread_t th[WL_MAX_THREADS];
	pid_t tid[WL_MAX_THREADS];
	volatile int started;
	int fds[2];             /* WL_UDP: receiver, sender; WL_FSYNC: file */
	char path[128];
	unsigned long long ops;
};

/* Start nr threads of kind; 0 or negative errno.  wl_stop joins them. */
int wl_start(struct workload *w, enum wl_kind kind, int nr, int cpu);
void wl_stop(struct workload *w);

/* A cgroup laid out like the kubelet's pod cgroups:
 * <cgroup2>/kubepods.slice-ksense-<tag>-<pid>/kubepods-burstable-pod<tag>.slice
 * (the tests' own parent, so concurrent runs never share one). */
struct wl_cgroup {
	char base[512];
	char dir[768];
	unsigned long long id;  /* cgroup2 id: the directory's inode */
	/* the twin in the cgroup v1 `cpu` hierarchy, as the kubelet keeps on
	 * hybrid hosts ("" while there is none) */
	char cpu_base[512];
	char cpu_dir[768];
	bool cpu_v2;            /* cpu.max is written in dir (pure cgroup2) */
};

/* The CFS bandwidth counters of a cgroup's cpu.stat. */
struct wl_cpu_stat {
	unsigned long long nr_periods;
	unsigned long long nr_throttled;
	unsigned long long throttled_ns; /* v1 throttled_time, v2 throttled_usec x 1000 */
};

/* 0 or negative errno (-ENOENT: no cgroup2 mount). */
int wl_cgroup_create(struct wl_cgroup *c, const char *tag);
/* rmdir both levels; the caller has reaped every process in it. */
void wl_cgroup_destroy(struct wl_cgroup *c);
/* Hold c to quota_us of CPU time per period_us, where the kernel offers a
 * CFS quota: the v1 `cpu` hierarchy (cpu.cfs_quota_us in a twin of c's
 * path, as on hybrid nodes), else cgroup2's cpu.max (enabling the cpu
 * controller down to c).  c->dir may be any cgroup below c->base (both on
 * the cgroup2 mount; the twin is made from base down).  Call before anything runs in c: wl_cgroup_enter
 * then enters the twin too, wl_cgroup_destroy removes it.  0, -EOPNOTSUPP
 * when neither hierarchy has the cpu controller, or negative errno. */
int wl_cgroup_cpu_limit(struct wl_cgroup *c, unsigned int quota_us, unsigned int period_us);
/* c's cpu.stat bandwidth counters; 0 or negative errno. */
int wl_cgroup_cpu_stat(const struct wl_cgroup *c, struct wl_cpu_stat *out);
/* s into dir/file (a cgroup control file); 0 or negative errno. */
int wl_write_str(const char *dir, const char *file, const char *s);
/* mkdir -p path (0755); 0 or negative errno.  The caller removes what it
 * made. */
int wl_mkdirs(const char *path);
/* The cgroup v1 `cpu` mount into buf; 0 or -ENOENT. */
int wl_cpu_v1_mount(char *buf, size_t len);
/* Move this process into c; 0 or negative errno. */
int wl_cgroup_enter(const struct wl_cgroup *c);
/* fork(); the child has entered c when it returns 0 (or _exit(2)s). */
pid_t wl_cgroup_fork(const struct wl_cgroup *c);
/* Kill and reap a child started by wl_cgroup_fork (pid <= 0 is a no-op). */
void wl_reap(pid_t pid);

/* The CPU burner's hot function: loops 10^8 times. */
void ksense_burn_cycles(void);
/* ksense_burn_cycles forever. */
void wl_burn_forever(void) __attribute__((noreturn));
/* Rewrites 4 KiB of a file and fsyncs it, forever: D state, block I/O. */
void wl_fsync_forever(void) __attribute__((noreturn));
/* A client of wl_slow_peer_forever on loopback port: asleep (S) waiting
 * for each answer; returns (exits) when the peer goes. */
void wl_wait_peer_forever(int port) __attribute__((noreturn));
/* Accepts one client on lfd and answers each byte after 100 ms. */
void wl_slow_peer_forever(int lfd) __attribute__((noreturn));
/* Accepts one client on lfd and answers each byte after burn_ms of CPU,
 * while another thread computes all the time: a CPU-saturated server its
 * client waits on. */
void wl_busy_peer_forever(int lfd, int burn_ms) __attribute__((noreturn));
/* nthreads (2..WL_MAX_THREADS) threads serialized on one mutex: each
 * holds it while it spins 2 ms of CPU, so one runs and the others wait. */
void wl_lock_forever(int nthreads) __attribute__((noreturn));
/* Pinned to cpu (-1: not): sleeps 1 ms, then computes 50 us, forever -
 * a light task whose every wakeup waits for a CPU. */
void wl_periodic_forever(int cpu) __attribute__((noreturn));
/* wl_burn_forever pinned to cpu. */
void wl_burn_on_forever(int cpu) __attribute__((noreturn));
/* Sleeps 10 ms on a timer, forever: idle, woken by timers only. */
void wl_timer_sleep_forever(void) __attribute__((noreturn));

#endif
