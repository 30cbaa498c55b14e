/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node's ksense verdict in the Kubernetes API: a Node condition
 * (type KernelStress: True while the decision is deny, False on allow,
 * Unknown without kernel data) and, when asked, a PreferNoSchedule taint
 * ksense.io/kernel-stress while the decision is deny.
 *
 * The event loop hands every window's verdict to ks_nodestate_set (cheap:
 * a copy under a mutex); a thread does the API calls, as podmeta's does,
 * so a slow API server never holds up an admission.  Writes: on a change
 * of status or reason, and a heartbeat every heartbeat_s; never more than
 * one write to the Node per interval_s, condition and taint together
 * (both owed: the one written longer ago first, the other an interval
 * later), however the score oscillates; a conflict is read again and
 * retried an interval later, a failed call backs off (interval_s doubling
 * to 5 minutes).  Only PATCH is used: the condition on nodes/status by
 * strategic merge on conditions by type (all the base RBAC grants), the
 * taint on nodes, its list whole with the node's resourceVersion as
 * precondition (taints have no merge key; the k8s/node-taint component
 * grants it), and the node is read from PATCH responses (an empty patch at
 * start and after a conflict changes nothing).
 */
#ifndef KSENSE_NODESTATE_H
#define KSENSE_NODESTATE_H

#include <stdbool.h>
#include <stddef.h>

#define KS_NODE_CONDITION "KernelStress"
#define KS_NODE_TAINT_KEY "ksense.io/kernel-stress"

/* What the condition says; made on the event loop's thread. */
struct ks_node_verdict {
	bool have;                 /* false: no kernel data (status Unknown) */
	bool deny;
	unsigned int score;
	char reason[64];           /* CamelCase, as condition reasons are */
	char message[512];
};

struct ks_nodestate_opts {
	bool taint;                /* PreferNoSchedule taint while deny */
	unsigned int interval_s;   /* least time between two writes to the Node */
	unsigned int heartbeat_s;  /* the condition is rewritten at least this often */
};

struct ks_nodestate;

/* Start the writer for `node` (kubeconfig as ks_podmeta_start).  NULL with
 * the reason in err. */
struct ks_nodestate *ks_nodestate_start(const char *kubeconfig, const char *node,
					const struct ks_nodestate_opts *o, char *err, size_t errlen);
/* The latest verdict; wakes the writer when status or reason changed. */
void ks_nodestate_set(struct ks_nodestate *s, const struct ks_node_verdict *v);
/* Stop the thread (a write in flight finishes or times out) and free. */
void ks_nodestate_free(struct ks_nodestate *s);

/* The verdict of the latest window in the pins (reason: the decision's
 * strongest rule, e.g. FrictionHighCpuHigh); have=false when the pins are
 * missing or the window is stale. */
void ks_node_verdict_from_pins(struct ks_node_verdict *v);
/* TEST ONLY: from a --test-score-file line "<score> <allow|deny>". */
void ks_node_verdict_from_test_file(const char *path, struct ks_node_verdict *v);

#endif
