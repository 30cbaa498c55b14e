// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "metrics.h"
#include "sched.h"
#include "version.h"

#define SNAPSHOT_MS   250
/* the loop publishes every turn it takes; this long without one and it is
 * stuck (a turn waits at most ~1 s for its poll) */
#define STALE_MS      10000
#define LAT_BUCKETS   14

/* pending -> bound, in s: from a fast bind to a pod that waited minutes */
static const double lat_le_s[LAT_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};

struct snapshot {
	long long at_ms;
	bool leading, synced;
	int nodes, pods;
	int active, backoff, verify, scoring;
	struct sched_stats st;
	unsigned long long agent_requests;
	unsigned long long lat_bucket[LAT_BUCKETS + 1];
	double lat_sum_s;
	unsigned long long lat_count;
};

struct sched_metrics {
	/* the main loop's */
	unsigned long long lat_bucket[LAT_BUCKETS + 1];
	double lat_sum_s;
	unsigned long long lat_count;
	long long next_ms;
	/* shared */
	pthread_mutex_t mu;
	struct snapshot snap;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sched_metrics *sched_metrics_new(void)
{
	struct sched_metrics *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

void sched_metrics_free(struct sched_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void sched_metrics_bound(struct sched_metrics *m, long long latency_ms)
{
	double s = latency_ms / 1e3;
	int k;

	if (!m)
		return;
	for (k = 0; k < LAT_BUCKETS && s > lat_le_s[k]; k++)
		;
	m->lat_bucket[k]++;
	m->lat_sum_s += s;
	m->lat_count++;
}

void sched_metrics_publish(struct sched_metrics *m, struct scheduler *s, long long now)
{
	struct snapshot n = { .at_ms = now };
	int i;

	if (!m || now < m->next_ms)
		return;
	m->next_ms = now + SNAPSHOT_MS;
	n.leading = s->leading;
	n.synced = s->nodes.synced && s->pods.synced;
	n.nodes = s->nnodes;
	n.pods = (int)s->npods;
	/* a standby keeps its queue warm for a takeover but schedules none of
	 * it: it reports nothing pending, so sum() over replicas counts each
	 * pod once (the leader's) */
	n.scoring = s->leading ? s->nwaiting : 0;
	for (i = 0; s->leading && i < s->nheap; i++) {
		const struct pod_ent *p = s->heap[i];

		if (p->state == PS_VERIFY)
			n.verify++;
		else if (p->due_ms <= now)
			n.active++;
		else
			n.backoff++;
	}
	n.st = s->st;
	n.agent_requests = s->scorer ? scorer_requests(s->scorer) : 0;
	memcpy(n.lat_bucket, m->lat_bucket, sizeof(n.lat_bucket));
	n.lat_sum_s = m->lat_sum_s;
	n.lat_count = m->lat_count;
	pthread_mutex_lock(&m->mu);
	m->snap = n;
	pthread_mutex_unlock(&m->mu);
}

static void take(struct sched_metrics *m, struct snapshot *out)
{
	pthread_mutex_lock(&m->mu);
	*out = m->snap;
	pthread_mutex_unlock(&m->mu);
}

static void head(struct ks_buf *b, const char *name, const char *type, const char *help)
{
	ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void sched_metrics_render(void *arg, struct ks_buf *b)
{
	struct snapshot n;
	unsigned long long cum = 0;
	int k;

	take(arg, &n);
	head(b, "ksense_scheduler_leader", "gauge", "1 while this replica holds the Lease and binds.");
	ks_buf_printf(b, "ksense_scheduler_leader %d\n", n.leading);
	head(b, "ksense_scheduler_pending_pods", "gauge",
	     "Pods waiting for the fuzzy-scheduler, by queue: due now, in backoff after no node fit, "
	     "waiting for node scores, or checked after a binding whose outcome is unknown; "
	     "0 on a standby replica (the leader's count is the cluster's).");
	ks_buf_printf(b, "ksense_scheduler_pending_pods{queue=\"active\"} %d\n"
		      "ksense_scheduler_pending_pods{queue=\"backoff\"} %d\n"
		      "ksense_scheduler_pending_pods{queue=\"scoring\"} %d\n"
		      "ksense_scheduler_pending_pods{queue=\"verify\"} %d\n", n.active, n.backoff, n.scoring, n.verify);
	head(b, "ksense_scheduler_schedule_attempts_total", "counter",
	     "Scheduling attempts by result: bound, no node fit, already bound elsewhere (409), "
	     "binding failed, binding outcome unknown.");
	ks_buf_printf(b, "ksense_scheduler_schedule_attempts_total{result=\"scheduled\"} %llu\n"
		      "ksense_scheduler_schedule_attempts_total{result=\"unschedulable\"} %llu\n"
		      "ksense_scheduler_schedule_attempts_total{result=\"conflict\"} %llu\n"
		      "ksense_scheduler_schedule_attempts_total{result=\"error\"} %llu\n"
		      "ksense_scheduler_schedule_attempts_total{result=\"unknown\"} %llu\n",
		      n.st.bound, n.st.unschedulable, n.st.bind_conflicts, n.st.bind_errors, n.st.bind_unknown);
	head(b, "ksense_scheduler_binding_errors_total", "counter",
	     "Bindings that failed or whose outcome was unknown (then checked by GET).");
	ks_buf_printf(b, "ksense_scheduler_binding_errors_total %llu\n", n.st.bind_errors + n.st.bind_unknown);
	head(b, "ksense_scheduler_pod_scheduling_duration_seconds", "histogram",
	     "Time from a pod first seen pending to its binding.");
	for (k = 0; k < LAT_BUCKETS; k++) {
		cum += n.lat_bucket[k];
		ks_buf_printf(b, "ksense_scheduler_pod_scheduling_duration_seconds_bucket{le=\"%g\"} %llu\n", lat_le_s[k],
			      cum);
	}
	ks_buf_printf(b, "ksense_scheduler_pod_scheduling_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		      "ksense_scheduler_pod_scheduling_duration_seconds_sum %.6f\n"
		      "ksense_scheduler_pod_scheduling_duration_seconds_count %llu\n",
		      n.lat_count, n.lat_sum_s, n.lat_count);
	head(b, "ksense_scheduler_agent_score_requests_total", "counter", "Node /score requests sent to agents.");
	ks_buf_printf(b, "ksense_scheduler_agent_score_requests_total %llu\n", n.agent_requests);
	head(b, "ksense_scheduler_agent_score_rounds_total", "counter", "Rounds of /score requests.");
	ks_buf_printf(b, "ksense_scheduler_agent_score_rounds_total %llu\n", n.st.score_rounds);
	head(b, "ksense_scheduler_agent_score_failures_total", "counter",
	     "/score requests that failed (timeout, refused, a bad answer).");
	ks_buf_printf(b, "ksense_scheduler_agent_score_failures_total %llu\n", n.st.score_failures);
	head(b, "ksense_scheduler_nodes", "gauge", "Nodes the scheduler's watch knows.");
	ks_buf_printf(b, "ksense_scheduler_nodes %d\n", n.nodes);
	head(b, "ksense_scheduler_events_total", "counter", "Events queued (FailedScheduling, Scheduled).");
	ks_buf_printf(b, "ksense_scheduler_events_total %llu\n", n.st.events_queued);
	ks_build_info_gauge(b);
}

int sched_metrics_health(void *arg, struct ks_buf *b)
{
	struct snapshot n;
	long long age;

	take(arg, &n);
	age = n.at_ms ? mono_ms() - n.at_ms : -1;
	ks_buf_printf(b, "{\"status\":\"%s\",\"loop_age_ms\":%lld,\"synced\":%s,\"leader\":%s}\n",
		      age >= 0 && age <= STALE_MS ? "ok" : "stuck", age, n.synced ? "true" : "false",
		      n.leading ? "true" : "false");
	return age >= 0 && age <= STALE_MS ? 200 : 503;
}
