/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense-scheduler's /metrics and /healthz on its status port
 * (user/lib/status_http.c).  The main loop owns every counter; it
 * publishes a snapshot (at most every SNAPSHOT_MS) that the status thread
 * renders, so a scrape never touches the scheduler's state.
 */
#ifndef KSENSE_SCHED_METRICS_H
#define KSENSE_SCHED_METRICS_H

#include "buf.h"

struct scheduler;
struct sched_metrics;

struct sched_metrics *sched_metrics_new(void);
void sched_metrics_free(struct sched_metrics *m);
/* A pod bound latency_ms after it was first seen pending. */
void sched_metrics_bound(struct sched_metrics *m, long long latency_ms);
/* From the main loop, every turn: cheap unless a snapshot is due. */
void sched_metrics_publish(struct sched_metrics *m, struct scheduler *s, long long now_ms);
/* status_http callbacks (the status thread). */
void sched_metrics_render(void *m, struct ks_buf *out);
int sched_metrics_health(void *m, struct ks_buf *out);

#endif
