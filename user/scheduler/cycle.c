// SPDX-License-Identifier: GPL-2.0
/*
 * One scheduling cycle: the due pods, oldest first; every node's /score
 * (asked of all agents at once, reused for score_ttl_ms); sched_pick; the
 * binding; a FailedScheduling Event and a backoff when nothing fits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "kube_event.h"
#include "log.h"
#include "sched.h"

/* How long a node's last answer stands: the TTL while its agent answers;
 * after failures in a row, doubling up to 30 s (a resync or a new agent
 * pod asks again at once). */
static long long score_ttl(const struct scheduler *s, const struct node_ent *e)
{
	long long ttl = s->o.score_ttl_ms ?: 1;
	unsigned int n = e->score_failures;

	while (n-- > 0 && ttl < 30000)
		ttl *= 2;
	return ttl < 30000 || !e->score_failures ? ttl : 30000;
}

void sched_refresh_scores(struct scheduler *s, long long now, bool force)
{
	struct ks_agent_get *g = calloc((size_t)(s->nnodes ?: 1), sizeof(*g));
	int *which = calloc((size_t)(s->nnodes ?: 1), sizeof(*which));
	bool changed = false;
	int i, n = 0;

	if (!g || !which) {
		ks_err("out of memory", "what=score_round%s", "");
		goto out;
	}
	for (i = 0; i < s->nnodes; i++) {
		struct node_ent *e = &s->node[i];
		const struct ks_agent_ep *ep = sched_agent_of(s, e->n.name);

		if (!ep) {
			if (e->have_score)
				changed = true;
			e->have_score = false;
			snprintf(e->score_err, sizeof(e->score_err), "no ksense agent pod runs on this node");
			e->score_at_ms = 0;
			continue;
		}
		if (!force && e->score_at_ms && now - e->score_at_ms < score_ttl(s, e) &&
		    !strcmp(e->agent.host, ep->host) && e->agent.port == ep->port)
			continue;
		if (strcmp(e->agent.host, ep->host) || e->agent.port != ep->port)
			e->score_failures = 0; /* another agent pod: a fresh start */
		e->agent = *ep;
		g[n].host = e->agent.host;
		g[n].port = e->agent.port;
		g[n].path = "/score";
		which[n++] = i;
	}
	if (!n)
		goto out;
	s->st.score_rounds++;
	ks_agent_get_many(g, n, s->o.score_timeout_ms);
	now = informer_now_ms();
	for (i = 0; i < n; i++) {
		struct node_ent *e = &s->node[which[i]];
		struct ks_agent_score sc;
		char err[256];
		bool had = e->have_score;

		if (ks_agent_score_from(&g[i], &sc, err, sizeof(err))) {
			s->st.score_failures++;
			if (had || strcmp(e->score_err, err))
				ks_warn("node skipped: no score", "node=%s agent=%s:%d err=\"%s\"", e->n.name,
					e->agent.host, e->agent.port, err);
			e->have_score = false;
			e->score_failures++;
			snprintf(e->score_err, sizeof(e->score_err), "%.127s", err);
		} else {
			e->score_failures = 0;
			if (!had || sc.score != e->score.score || sc.deny != e->score.deny)
				changed = true;
			e->score = sc;
			e->have_score = true;
			e->score_err[0] = '\0';
		}
		e->score_at_ms = now;
		ks_agent_get_free(&g[i]);
	}
	if (changed)
		sched_requeue_all(s, "a node's score changed");
out:
	free(g);
	free(which);
}

/* POST an Event about pod p; best effort (a failure is logged, counted). */
static void post_event(struct scheduler *s, const struct sched_pod *p, const char *type, const char *reason,
		       const char *msg)
{
	const struct kube_event_ref ref = {
		.api_version = "v1", .kind = "Pod", .ns = p->ns, .name = p->name, .uid = p->uid,
	};
	const struct kube_event ev = {
		.type = type, .reason = reason, .message = msg, .component = s->o.scheduler_name,
		.instance = s->o.identity, .action = "Scheduling",
	};
	char err[256] = "";
	int st = kube_event_post(s->kc, &ref, &ev, NULL, 0, err, sizeof(err));

	if (st < 200 || st >= 300) {
		s->st.event_errors++;
		ks_warn("cannot post event", "pod=%s/%s reason=%s status=%d err=\"%s\"", p->ns, p->name, reason, st,
			err);
	} else {
		s->st.events_posted++;
	}
}

/* Exponential from backoff_initial_ms, capped; no jitter needed: retries
 * of different pods are spread by when they first failed. */
static long long backoff_ms(const struct scheduler *s, unsigned int attempts)
{
	long long ms = s->o.backoff_initial_ms;

	while (attempts-- > 1 && ms < s->o.backoff_max_ms)
		ms *= 2;
	return ms < s->o.backoff_max_ms ? ms : s->o.backoff_max_ms;
}

#define EVENT_REPEAT_MS 60000

static void unschedulable(struct scheduler *s, struct pod_ent *p, long long now, int nnodes, const char *why)
{
	char msg[sizeof(p->last_event_msg)];

	p->attempts++;
	p->unschedulable = true;
	p->due_ms = now + backoff_ms(s, p->attempts);
	s->st.unschedulable++;
	snprintf(msg, sizeof(msg), "0/%d nodes are available: %.470s", nnodes, why);
	/* a pod that keeps failing for the same reason gets one Event a
	 * minute, not one per retry */
	if (strcmp(msg, p->last_event_msg) || now - p->last_event_ms >= EVENT_REPEAT_MS) {
		ks_warn("pod unschedulable", "pod=%s attempts=%u retry_ms=%lld why=\"%s\"", p->key, p->attempts,
			p->due_ms - now, msg);
		post_event(s, p->pending, "Warning", "FailedScheduling", msg);
		snprintf(p->last_event_msg, sizeof(p->last_event_msg), "%s", msg);
		p->last_event_ms = now;
	}
}

/* 0 bound, -EEXIST someone else bound it (409), -ENOENT it is gone (404),
 * other negative errno: try again later. */
static int bind_pod(struct scheduler *s, const struct sched_pod *p, const char *node, char *err, size_t errlen)
{
	struct ks_buf b, resp;
	char path[600], msg[256];
	int status = 0, rc;

	ks_buf_init(&b, 8192);
	ks_buf_init(&resp, 64 << 10);
	ks_buf_printf(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":");
	ks_buf_json_str(&b, p->name);
	ks_buf_printf(&b, ",\"namespace\":");
	ks_buf_json_str(&b, p->ns);
	/* the uid is a precondition: a pod re-created under the same name
	 * since we looked is not bound by mistake */
	if (p->uid[0]) {
		ks_buf_printf(&b, ",\"uid\":");
		ks_buf_json_str(&b, p->uid);
	}
	ks_buf_printf(&b, "},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":");
	ks_buf_json_str(&b, node);
	ks_buf_printf(&b, "}}");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", p->ns, p->name);
	rc = kube_request(s->kc, "POST", path, NULL, b.data, b.len, &status, &resp, err, errlen);
	if (!rc && status != 201 && status != 200) {
		kube_status_message(resp.data, resp.len, msg, sizeof(msg));
		snprintf(err, errlen, "HTTP %d: %s", status, msg);
		rc = status == 409 ? -EEXIST : status == 404 ? -ENOENT : kube_status_errno(status);
	}
	ks_buf_free(&b);
	ks_buf_free(&resp);
	return rc;
}

static void latency_log(struct scheduler *s, const struct pod_ent *p, const char *node, long long now)
{
	FILE *f;

	if (!s->latency_log)
		return;
	f = fopen(s->latency_log, "ae");
	if (!f)
		return;
	fprintf(f, "%s %s %lld\n", p->key, node, now - p->pending_since_ms);
	fclose(f);
}

static void fill_candidates(struct scheduler *s, struct sched_candidate *c)
{
	int i;

	for (i = 0; i < s->nnodes; i++) {
		struct node_ent *e = &s->node[i];

		c[i] = (struct sched_candidate){
			.node = &e->n,
			.used_cpu_milli = e->used_cpu_milli,
			.used_mem_bytes = e->used_mem_bytes,
			.have_score = e->have_score,
			.score = e->score.score,
			.deny = e->score.deny,
		};
		snprintf(c[i].score_err, sizeof(c[i].score_err), "%s", e->score_err);
	}
}

int sched_cycle(struct scheduler *s, long long now)
{
	struct sched_candidate *cand = NULL;
	struct pod_ent **due = NULL;
	char why[4096], err[512];
	int n, i, bound = 0;

	if (!s->leader || now < s->next_cycle_ms || !s->pods.synced || !s->nodes.synced)
		return 0;
	due = calloc(s->npods ?: 1, sizeof(*due));
	cand = calloc((size_t)(s->nnodes ?: 1), sizeof(*cand));
	if (!due || !cand) {
		ks_err("out of memory", "what=cycle%s", "");
		goto out;
	}
	n = sched_due_pods(s, now, due, s->o.max_per_cycle);
	if (!n)
		goto out;
	sched_refresh_scores(s, now, false);
	now = informer_now_ms();
	for (i = 0; i < n; i++) {
		struct pod_ent *p = due[i];
		int pick, rc;

		if (!p->pending)
			continue; /* bound or gone while scores were asked */
		fill_candidates(s, cand);
		pick = sched_pick(p->pending, cand, s->nnodes, why, sizeof(why));
		if (pick < 0) {
			unschedulable(s, p, now, s->nnodes, why);
			continue;
		}
		rc = bind_pod(s, p->pending, s->node[pick].n.name, err, sizeof(err));
		now = informer_now_ms();
		if (rc == -EEXIST || rc == -ENOENT) {
			/* bound by someone else, or deleted: the watch brings the
			 * truth, and frees the entry when it does; should it never
			 * come (a 409 for another reason), the pod is tried again
			 * after the longest backoff */
			s->st.bind_conflicts += rc == -EEXIST;
			ks_info(rc == -EEXIST ? "pod already bound elsewhere" : "pod gone before binding",
				"pod=%s err=\"%s\"", p->key, err);
			p->attempts++;
			p->due_ms = now + s->o.backoff_max_ms;
			continue;
		}
		if (rc) {
			s->st.bind_errors++;
			p->attempts++;
			p->due_ms = now + backoff_ms(s, p->attempts);
			ks_err("binding failed, will retry", "pod=%s node=%s attempts=%u retry_ms=%lld err=\"%s\"",
			       p->key, s->node[pick].n.name, p->attempts, p->due_ms - now, err);
			continue;
		}
		s->st.bound++;
		bound++;
		ks_info("pod bound", "pod=%s node=%s score=%u latency_ms=%lld attempts=%u", p->key,
			s->node[pick].n.name, s->node[pick].score.score, now - p->pending_since_ms, p->attempts);
		latency_log(s, p, s->node[pick].n.name, now);
		if (s->o.scheduled_events) {
			char msg[1024];

			snprintf(msg, sizeof(msg), "Successfully assigned %s to %s (ksense score %u)", p->key,
				 s->node[pick].n.name, s->node[pick].score.score);
			post_event(s, p->pending, "Normal", "Scheduled", msg);
		}
		sched_assume(s, p, s->node[pick].n.name);
		if (s->o.placement_delay_s > 0) {
			/* the seed's pacing: let the node's score see the new pod */
			s->next_cycle_ms = now + 1000LL * s->o.placement_delay_s;
			break;
		}
	}
	if (s->o.max_per_cycle > 0 && now + 1000LL * s->o.poll_s > s->next_cycle_ms)
		s->next_cycle_ms = now + 1000LL * s->o.poll_s;
out:
	free(due);
	free(cand);
	return bound;
}
