/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-thread delay accounting read over generic netlink (TASKSTATS) with
 * libnl-genl-3: an oracle, independent of ksense's BPF, for run-queue wait
 * (cpu_delay) and synchronous block I/O wait (blkio_delay).
 *
 * Functions print nothing; they return 0 or a negative errno.
 */
#ifndef KSENSE_SELFTESTS_TASKSTATS_H
#define KSENSE_SELFTESTS_TASKSTATS_H

#include <sys/types.h>
#include <linux/types.h>

struct ks_taskstats {
	__u64 cpu_delay_total_ns;    /* runnable, waiting for a CPU */
	__u64 cpu_count;             /* number of times it waited for a CPU */
	__u64 blkio_delay_total_ns;  /* waiting for synchronous block I/O */
	__u64 blkio_count;
	__u64 cpu_run_real_total_ns; /* time spent running on a CPU */
};

struct ks_taskstats_client; /* opaque */

/*
 * Open a generic netlink socket and resolve the "TASKSTATS" family.
 * -ENOENT if the kernel has no TASKSTATS family, -ENOMEM, -EPERM, ...
 */
int ks_taskstats_open(struct ks_taskstats_client **out);

/*
 * Delay accounting of one thread (TASKSTATS_CMD_ATTR_PID = tid).
 * -ENOENT if the thread is gone (kernel ESRCH), -EBADMSG if the reply is
 * malformed, other negative errno from the kernel or libnl otherwise.
 */
int ks_taskstats_tid(struct ks_taskstats_client *c, pid_t tid, struct ks_taskstats *out);

/* NULL-safe. */
void ks_taskstats_close(struct ks_taskstats_client *c);

/*
 * Set kernel.task_delayacct (/proc/sys/kernel/task_delayacct) to on != 0.
 * Returns the previous value (0 or 1) or a negative errno.
 */
int ks_delayacct_set(int on);

#endif /* KSENSE_SELFTESTS_TASKSTATS_H */
