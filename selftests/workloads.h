/* SPDX-License-Identifier: GPL-2.0 */
/* Workloads with a known effect, run as threads of the test process. */
#ifndef KSENSE_WORKLOADS_H
#define KSENSE_WORKLOADS_H

#include <pthread.h>
#include <stdbool.h>
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

#endif
