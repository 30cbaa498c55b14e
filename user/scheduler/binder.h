/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler's writes, off the main loop: a few worker threads, each
 * with its own API connection, take bindings, verifications (a GET of a
 * pod whose binding's outcome is unknown) and Events from one queue under
 * one shared QPS limit, and hand the results back through an eventfd.
 * kube-scheduler binds in a goroutine after "assume" for the same reason:
 * one slow request must delay no other pod.
 *
 * Freshness: a worker takes its QPS token first and only then the oldest
 * job, so a decision never waits in a worker's hands; just before sending
 * a binding it asks the lease whether a write landing within the request
 * timeout still lands while we lead, and sends nothing otherwise.
 * Bindings and verifications go before Events; Events are best effort.
 */
#ifndef KSENSE_SCHED_BINDER_H
#define KSENSE_SCHED_BINDER_H

#include <stdbool.h>
#include "kube.h"
#include "kube_lease.h"
#include "sched_model.h"

enum sched_job_kind { JOB_BIND, JOB_VERIFY, JOB_EVENT };

enum sched_outcome {
	OUT_NONE,
	OUT_BOUND,      /* 201 */
	OUT_CONFLICT,   /* 409: bound by someone (maybe us, earlier) */
	OUT_GONE,       /* 404: the pod is gone */
	OUT_FAILED,     /* a definite refusal (4xx): nothing was written */
	OUT_UNKNOWN,    /* timeout, reset, 5xx: written or not, nobody knows */
	OUT_NOT_SENT,   /* not leading (or stopping): never sent */
	OUT_FOUND,      /* verify: the pod as the API has it (got_*) */
};

struct sched_job {
	enum sched_job_kind kind;
	char ns[SCHED_NAME_LEN];
	char name[SCHED_NAME_LEN];
	char uid[64];
	char node[SCHED_NAME_LEN];       /* bind: the target */
	/* event */
	char ev_type[16];
	char ev_reason[64];
	char ev_action[32];
	char ev_message[1024];
	/* result */
	enum sched_outcome outcome;
	int status;                      /* HTTP status, 0 on transport failure */
	char err[320];
	char got_node[SCHED_NAME_LEN];   /* verify: spec.nodeName ("" unbound) */
	char got_uid[64];
	long long queued_ms, sent_ms, done_ms;
	struct sched_job *next;
};

struct binder_opts {
	int workers;
	double qps;                      /* <= 0: no limit */
	int burst;
	int timeout_ms;                  /* per request, connect included */
	const char *user_agent;
	const struct kube_lease *lease;  /* NULL: act alone (--no-leader-elect) */
	const char *component;           /* Events' source */
	const char *instance;            /* Events' reportingInstance */
	int max_events;                  /* queued Events kept; more are dropped */
};

struct binder;

int binder_start(struct binder **out, const struct kube_config *kc, const struct binder_opts *o, char *err,
		 size_t errlen);
/* Readable when results are waiting (binder_done resets it). */
int binder_fd(const struct binder *b);
/* Queue a job (the binder owns it from here; queued_ms is set). */
void binder_submit(struct binder *b, struct sched_job *j);
/* Bindings queued or in flight. */
int binder_bind_load(struct binder *b);
/* Take queued (not yet sent) BIND and VERIFY jobs off the queue: those to
 * node (NULL: any), of pod ns/name (NULL: any).  The caller owns the list. */
struct sched_job *binder_cancel(struct binder *b, const char *node, const char *ns, const char *name);
/* Finished jobs, oldest first; the caller owns the list. */
struct sched_job *binder_done(struct binder *b);
/* Workers finish what they are sending and stop; queued jobs are dropped. */
void binder_stop(struct binder *b);
void sched_jobs_free(struct sched_job *j);

struct binder_stats {
	unsigned long long sent, events_dropped, events_failed;
};
void binder_stats(struct binder *b, struct binder_stats *st);

#endif
