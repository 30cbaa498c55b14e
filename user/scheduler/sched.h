/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense-scheduler's state: what the watches say, what is queued and
 * assumed, and the settings.  The main loop owns all of it; the lease, the
 * binder's workers and the scorer run in threads of their own and talk to
 * the loop only through their queues (binder.h, scorer.h, kube_lease.h).
 *
 * A pending pod's life: QUEUED (in the heap, due at due_ms) -> decided in
 * a step -> BINDING (its requests assumed on the node, the binding queued
 * or in flight) -> BOUND (201; assumed until the watch shows the node) ->
 * the watch: an ordinary bound pod.  A binding whose outcome is unknown
 * goes VERIFY (assumed; a GET is due after backoff) -> VERIFYING -> bound,
 * or QUEUED again.  A step that needs scores it does not have parks the
 * pod in WAIT_SCORES until they come.
 */
#ifndef KSENSE_SCHEDULER_H
#define KSENSE_SCHEDULER_H

#include <stdbool.h>
#include "agent_client.h"
#include "binder.h"
#include "informer.h"
#include "kube.h"
#include "kube_lease.h"
#include "sched_model.h"
#include "scorer.h"

struct sched_opts {
	char scheduler_name[SCHED_NAME_LEN];
	char agent_namespace[SCHED_NAME_LEN];
	char agent_label_key[SCHED_KEY_LEN];
	char agent_label_value[SCHED_VAL_LEN];
	int agent_port;
	int score_timeout_ms;       /* one /score round */
	int score_ttl_ms;           /* a node's score is reused this long */
	int nodes_to_score_pct;     /* percentageOfNodesToScore; 0: adaptive */
	int poll_s;                 /* FUZZY_SCHEDULER_POLL_S: resync period */
	int max_per_cycle;          /* FUZZY_SCHEDULER_MAX_PER_CYCLE: 0 = no limit */
	int placement_delay_s;      /* FUZZY_SCHEDULER_PLACEMENT_DELAY_S */
	int backoff_initial_ms;     /* unschedulable pods: first retry */
	int backoff_max_ms;
	int bind_workers;
	int bind_timeout_ms;        /* per binding request */
	int step_pods;              /* decisions per step, between looks at the watches */
	bool scheduled_events;      /* a Normal "Scheduled" Event per binding */
	/* leader election */
	bool leader_elect;
	char lease_namespace[SCHED_NAME_LEN];
	char lease_name[SCHED_NAME_LEN];
	char identity[256];
	int lease_duration_s, renew_deadline_s, retry_period_s;
};

enum pod_sched_state {
	PS_NONE,         /* not ours, or bound: only counted */
	PS_QUEUED,       /* in the heap */
	PS_WAIT_SCORES,  /* its sample's scores are being asked */
	PS_BINDING,      /* assumed; binding queued or in flight */
	PS_BOUND,        /* 201; assumed until the watch confirms */
	PS_VERIFY,       /* outcome unknown; assumed; GET due at due_ms (in the heap) */
	PS_VERIFYING,    /* the GET is queued or in flight */
};

/* A pod as far as the scheduler cares: where it counts against a node's
 * allocatable, and, for our pending pods, the queue state. */
struct pod_ent {
	char key[2 * SCHED_NAME_LEN];      /* ns/name */
	char uid[64];
	unsigned long gen;                 /* list generation that last saw it */
	/* requests counted against a node: the watch's truth, or our assumption */
	char counted_node[SCHED_NAME_LEN];
	__s64 counted_cpu_milli, counted_mem_bytes;
	bool assumed;
	struct node_ent *on;               /* counted_node, while it exists */
	struct pod_ent *node_next, *node_prev;
	/* what else it holds there, for the next pods' predicates */
	int nr_ext;
	struct sched_res *ext;
	int nr_ports;
	struct sched_port *ports;
	char *labels;                      /* "k=v\n"... */
	int nr_anti;
	struct sched_anti *anti;
	/* on scheduler.odd_anti: it carries an anti-affinity term the model
	 * cannot evaluate */
	bool odd_anti;
	struct pod_ent *odd_next, *odd_prev;
	bool is_agent;
	bool agent_ok;                     /* an agent pod that serves: */
	struct ks_agent_ep agent_ep;       /* where */
	/* ours and pending */
	struct sched_pod *pending;
	enum pod_sched_state state;
	int heap_idx;                      /* -1: not in the heap */
	unsigned int attempts;             /* failed tries, for the backoff */
	long long due_ms;                  /* next try (QUEUED, VERIFY) */
	long long pending_since_ms;        /* first seen pending, for latency */
	long long wait_since_ms;           /* WAIT_SCORES since */
	bool unschedulable;                /* last try found no node */
	char last_event_msg[512];
	long long last_event_ms;
	struct pod_ent *hnext;
};

struct node_ent {
	struct sched_node n;
	unsigned long gen;
	int idx;                           /* in scheduler.node */
	struct node_ent *hnext;            /* name hash chain */
	struct sched_use use;              /* what the pods counted here request */
	struct pod_ent *agent_pod;         /* its ksense agent's pod, NULL: none known */
	struct pod_ent *pods;              /* the pods counted here */
	int n_anti, n_ports;               /* of them, with anti-affinity, with host ports */
	/* the node's last /score, and from which agent */
	struct ks_agent_ep agent;
	bool have_score;
	struct ks_agent_score score;
	char score_err[128];
	long long score_at_ms;             /* 0: never answered */
	bool score_asked;                  /* a request is out */
	unsigned int score_failures;       /* in a row: a failing agent is asked
					    * less often */
};

/* An agent pod's endpoint, by pod (the extender's list). */
struct agent_ent {
	char pod_key[2 * SCHED_NAME_LEN];
	struct ks_agent_ep ep;
};

struct sched_stats {
	unsigned long long bound, bind_conflicts, bind_errors, bind_unknown, verified, requeued_changed,
		unschedulable, events_queued, score_rounds, score_failures, dropped_assumed, score_waits;
};

struct scheduler {
	struct sched_opts o;
	struct kube_client *kc;
	struct informer pods, nodes;
	/* pods: chained hash by ns/name */
	struct pod_ent **buckets;
	unsigned int nbuckets, npods;
	/* the queue: a min-heap on (due_ms, pending_since_ms) */
	struct pod_ent **heap;
	int nheap, heap_cap;
	int nwaiting;                      /* pods in WAIT_SCORES */
	/* counted pods whose anti-affinity has a term the model cannot
	 * evaluate: a pending pod such a term may select waits */
	struct pod_ent *odd_anti;
	/* nodes: an array for order and sampling, a hash by name */
	struct node_ent **node;
	int nnodes, node_cap;
	struct node_ent **node_buckets;
	unsigned int node_nbuckets;
	/* sampling: where the next pods start looking */
	int sample_start, sample_last_examined;
	long long sample_rotated_ms;
	bool window_prefetched;
	long long wait_check_ms;           /* WAIT_SCORES pods are woken by then at the latest */
	bool step_more;                    /* the last step left due work it had room for */
	bool room_freed;                   /* a bound pod went since the last step: retry the unschedulable */
	long long last_decision_ms;
	/* score requests gathered in a step */
	struct score_req *score_batch;
	int nscore_batch, score_batch_cap;
	/* the helpers */
	struct kube_lease *lease;          /* NULL: --no-leader-elect */
	struct binder *binder;
	struct scorer *scorer;
	bool leading;
	unsigned long lease_term;
	/* cycles */
	long long next_cycle_ms;           /* seed pacing: no cycle before this */
	long long next_resync_ms;
	struct sched_stats st;
	struct sched_metrics *metrics;     /* the status port's snapshot */
	const char *latency_log;           /* --latency-log FILE: one line per binding */
};

/* cache.c */
int sched_cache_init(struct scheduler *s);
void sched_cache_free(struct scheduler *s);
extern const struct informer_ops sched_pod_ops, sched_node_ops;
struct node_ent *sched_node_find(struct scheduler *s, const char *name);
struct pod_ent *sched_pod_find(struct scheduler *s, const char *ns, const char *name);
const struct ks_agent_ep *sched_agent_of(struct scheduler *s, const char *node);
/* Every unschedulable pod due now (a node or a score changed). */
void sched_requeue_all(struct scheduler *s, const char *why);
/* Count p's requests on node as ours until the watch says otherwise. */
void sched_assume(struct scheduler *s, struct pod_ent *p, const char *node);
/* Take our assumption back (the watch's truth, if any, stays). */
void sched_unassume(struct scheduler *s, struct pod_ent *p);
/* Bindings to node not yet sent are taken back and their pods decided
 * again: the node changed after the decision. */
void sched_node_changed(struct scheduler *s, const char *node, const char *why);
/* The first counted pod (not p) with an anti-affinity term the model
 * cannot evaluate that may select p, and the term; NULL: none. */
const struct pod_ent *sched_odd_anti_against(const struct scheduler *s, const struct pod_ent *p,
					    const struct sched_anti **term);
/* Leadership lost: every assumption and queued write dropped. */
void sched_drop_assumed(struct scheduler *s, const char *why);

/* queue.c: the heap of QUEUED and VERIFY pods */
void sched_queue_put(struct scheduler *s, struct pod_ent *p, long long due_ms);
void sched_queue_remove(struct scheduler *s, struct pod_ent *p);
struct pod_ent *sched_queue_top(const struct scheduler *s);
long long sched_next_due(const struct scheduler *s);

/* cycle.c */
/* One bounded step of decisions; returns how many pods it decided. */
int sched_step(struct scheduler *s, long long now);
/* Results of the binder's and the scorer's threads. */
void sched_jobs_done(struct scheduler *s, struct sched_job *done);
void sched_scores_done(struct scheduler *s, struct score_res *r, int n);
/* Queue a FailedScheduling/Scheduled style Event about p. */
void sched_event(struct scheduler *s, const char *ns, const char *name, const char *uid, const char *type,
		 const char *reason, const char *msg);
/* Many nodes and pods coming: move the score window and ask ahead even
 * between pods; when to call again. */
long long sched_keep_warm(struct scheduler *s, long long now);
/* Every pod waiting for scores back into the queue, due now. */
void sched_wake_waiting(struct scheduler *s);
/* Ask every node's score again now (resync). */
void sched_refresh_all(struct scheduler *s, long long now);
/* The score requests gathered so far go to the scorer. */
void sched_flush_score_requests(struct scheduler *s);

#endif
