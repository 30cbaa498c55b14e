/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GET /pods: every recently active cgroup of the `cgroups` pin mapped to
 * its pod and container (cgroup id -> path -> pod), per-pod sums, the pod's
 * class, and its top sampled functions from the `stacks` pin.
 */
#ifndef KSENSE_WEBHOOK_PODS_H
#define KSENSE_WEBHOOK_PODS_H

#include "server.h"

#define KS_PODS_TOP 5                /* functions per pod */
#define KS_PODS_RECENT_WINDOWS 3     /* a cgroup older than this many windows is left out */

struct ks_podmeta;
struct ks_pods;

struct ks_pods_opts {
	const char *node;
	struct ks_podmeta *meta;           /* NULL: no names */
	const char (*exclude)[64];         /* namespaces left out (when known) */
	int nr_exclude;
};

struct ks_pods *ks_pods_new(void);
void ks_pods_free(struct ks_pods *p);
/* Fill r with the /pods response (200, or 503 with the reason). */
void ks_pods_render(struct ks_pods *p, const struct ks_pods_opts *o, struct ks_response *r);
/* The same pods as Prometheus series, per container (namespace, pod,
 * container labels): the class as a label, on-CPU, throttled and off-CPU
 * shares and run-queue p99 of its last window.  One instance per thread
 * (its cgroup path cache is not shared).  Nothing when the pins cannot be
 * read. */
void ks_pods_prometheus(struct ks_pods *p, const struct ks_pods_opts *o, struct ks_buf *b);

#endif
