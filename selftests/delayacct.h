/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-task delay accounting over generic netlink (TASKSTATS), with libnl:
 * an oracle independent of ksense's BPF for run-queue and block I/O wait.
 */
#ifndef KSENSE_DELAYACCT_H
#define KSENSE_DELAYACCT_H

#include <sys/types.h>
#include <linux/types.h>

struct ks_delay {
	__u64 cpu_count;
	__u64 cpu_delay_ns;        /* runnable but waiting for a CPU */
	__u64 blkio_count;
	__u64 blkio_delay_ns;      /* waiting for synchronous block I/O */
	__u64 cpu_run_real_ns;
};

struct ks_delay_client;

/* 0 or negative errno. */
int ks_delay_open(struct ks_delay_client **out);
/* Delay accounting of one thread (tid); -ESRCH when it is gone. */
int ks_delay_read(struct ks_delay_client *c, pid_t tid, struct ks_delay *out);
void ks_delay_close(struct ks_delay_client *c);
/* Set kernel.task_delayacct; returns the previous value or negative errno. */
int ks_delay_enable(int on);

#endif
