/* SPDX-License-Identifier: GPL-2.0 */
/* ksense-scheduler's state: what the watches say, what is queued, and the
 * settings.  Single-threaded: everything runs in the main poll loop. */
#ifndef KSENSE_SCHEDULER_H
#define KSENSE_SCHEDULER_H

#include <stdbool.h>
#include "agent_client.h"
#include "informer.h"
#include "kube.h"
#include "sched_model.h"

struct sched_opts {
	char scheduler_name[SCHED_NAME_LEN];
	char agent_namespace[SCHED_NAME_LEN];
	char agent_label_key[SCHED_KEY_LEN];
	char agent_label_value[SCHED_VAL_LEN];
	int agent_port;
	int score_timeout_ms;       /* one /score round over all nodes */
	int score_ttl_ms;           /* a node's score is reused this long */
	int poll_s;                 /* FUZZY_SCHEDULER_POLL_S: resync period */
	int max_per_cycle;          /* FUZZY_SCHEDULER_MAX_PER_CYCLE: 0 = no limit */
	int placement_delay_s;      /* FUZZY_SCHEDULER_PLACEMENT_DELAY_S */
	int backoff_initial_ms;     /* unschedulable pods: first retry */
	int backoff_max_ms;
	bool scheduled_events;      /* a Normal "Scheduled" Event per binding */
	/* leader election */
	bool leader_elect;
	char lease_namespace[SCHED_NAME_LEN];
	char lease_name[SCHED_NAME_LEN];
	char identity[256];
	int lease_duration_s, renew_deadline_s, retry_period_s;
};

/* A pod as far as the scheduler cares: where it counts against a node's
 * allocatable, and, for our pending pods, the queue state. */
struct pod_ent {
	char key[2 * SCHED_NAME_LEN];      /* ns/name */
	char uid[64];
	unsigned long gen;                 /* list generation that last saw it */
	/* requests counted against node[] (bound, not finished) */
	char counted_node[SCHED_NAME_LEN];
	__s64 counted_cpu_milli, counted_mem_bytes;
	bool is_agent;
	/* ours and pending: queued */
	struct sched_pod *pending;
	unsigned int attempts;
	long long due_ms;                  /* next try */
	long long pending_since_ms;        /* first seen pending, for latency */
	bool unschedulable;                /* last try found no node */
	char last_event_msg[512];
	long long last_event_ms;
	struct pod_ent *hnext;
};

struct node_ent {
	struct sched_node n;
	unsigned long gen;
	__s64 used_cpu_milli, used_mem_bytes;
	/* the node's last /score, and from which agent */
	struct ks_agent_ep agent;
	bool have_score;
	struct ks_agent_score score;
	char score_err[128];
	long long score_at_ms;             /* 0: never asked */
	unsigned int score_failures;       /* in a row: a failing agent is asked
					    * less often, so it cannot slow
					    * every cycle by the round's deadline */
};

struct agent_ent {
	char pod_key[2 * SCHED_NAME_LEN];
	struct ks_agent_ep ep;
};

struct sched_stats {
	unsigned long long bound, bind_conflicts, bind_errors, unschedulable, events_posted,
		event_errors, score_rounds, score_failures;
};

struct scheduler {
	struct sched_opts o;
	struct kube_client *kc;
	struct informer pods, nodes;
	/* pods: chained hash by ns/name */
	struct pod_ent **buckets;
	unsigned int nbuckets, npods;
	struct node_ent *node;
	int nnodes, node_cap;
	struct agent_ent *agents;
	int nagents, agent_cap;
	/* leader election */
	bool leader;
	long long lease_next_ms, lease_renewed_ms, lease_observed_ms;
	char lease_observed[512];          /* holder + renewTime last read */
	/* cycles */
	long long next_cycle_ms;           /* seed pacing: no cycle before this */
	long long next_resync_ms;
	struct sched_stats st;
	const char *latency_log;           /* --latency-log FILE: one line per binding */
};

/* cache.c */
int sched_cache_init(struct scheduler *s);
void sched_cache_free(struct scheduler *s);
extern const struct informer_ops sched_pod_ops, sched_node_ops;
struct node_ent *sched_node_find(struct scheduler *s, const char *name);
const struct ks_agent_ep *sched_agent_of(const struct scheduler *s, const char *node);
/* Every unschedulable pod due now (a node or a score changed). */
void sched_requeue_all(struct scheduler *s, const char *why);
/* Count p's requests on node (a binding we made, before the watch says so). */
void sched_assume(struct scheduler *s, struct pod_ent *p, const char *node);
long long sched_next_due(const struct scheduler *s);
/* Pending pods due by now, oldest first, at most max (0: all); returns n. */
int sched_due_pods(struct scheduler *s, long long now, struct pod_ent **out, int max);

/* cycle.c */
/* One scheduling cycle; returns how many pods it bound. */
int sched_cycle(struct scheduler *s, long long now);
void sched_refresh_scores(struct scheduler *s, long long now, bool force);

/* lease.c */
/* Acquire or renew; returns when it wants to run again (ms). */
long long sched_lease_step(struct scheduler *s, long long now);
void sched_lease_release(struct scheduler *s);

#endif
