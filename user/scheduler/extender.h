/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense-scheduler --extender: kube-scheduler's HTTP extender.  kube-scheduler
 * keeps every predicate it has and calls
 *   POST <urlPrefix>/filter      nodes in ksense deny go to
 *                                failedAndUnresolvableNodes (evicting pods
 *                                there would not make the node calm in time,
 *                                so preemption must not pick it); the rest pass
 *   POST <urlPrefix>/prioritize  ksense score 0..100 as 10..0
 * with nodeCacheCapable true (node names) or false (Node objects).  A node
 * whose agent does not answer passes the filter with priority 0: ksense
 * adds a verdict, it never takes kube-scheduler's nodes away for want of
 * one.  Scores come from the nodes' agents (found through the API, as in
 * standalone mode), cached for --score-ttl-ms.  Malformed requests get a
 * 400 with {"error": why}, never a crash.
 */
#ifndef KSENSE_SCHED_EXTENDER_H
#define KSENSE_SCHED_EXTENDER_H

#include "kube.h"
#include "sched.h"

struct extender_opts {
	const char *addr;          /* plain HTTP listener, NULL: none */
	int port;
	const char *tls_addr;      /* HTTPS listener (enableHTTPS), NULL: none */
	int tls_port;
	const char *cert_path, *key_path;
};

/* What the extender did: written by its server thread, read by the status
 * port's thread (extender_metrics.c), every field with relaxed atomics. */
struct extender_metrics {
	unsigned long long filters, prioritizes, bad_requests;
	unsigned long long agent_requests, agent_failures;
	long long tick_ms;         /* CLOCK_MONOTONIC ms of the server's latest tick */
	int agents_synced;
};

/* Serves until SIGTERM/SIGINT: 0, or 1 when it cannot listen.  m: counted
 * into (the status port's), never NULL. */
int sched_extender_run(const struct sched_opts *o, const struct extender_opts *eo, struct kube_client *kc,
		       struct extender_metrics *m);

struct ks_buf;
/* The status port's callbacks (status_http.h) over a struct extender_metrics. */
void sched_extender_metrics_render(void *arg, struct ks_buf *b);
int sched_extender_metrics_health(void *arg, struct ks_buf *b);

#endif
