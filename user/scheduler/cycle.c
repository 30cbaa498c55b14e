// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduling in small steps.  A step takes at most --step-pods due pods
 * (and at most a few milliseconds), decides each against the cache as it
 * is now, assumes the chosen node's resources and hands the binding to
 * the binder; then the loop reads the watches and the lease again before
 * the next step.  Decisions never run far ahead of the bindings: a step
 * decides only while the binder holds fewer than two bindings per worker,
 * so a binding sent is at most a few milliseconds older than its
 * decision, and one whose node changed meanwhile is taken back
 * (sched_node_changed) and decided again.
 *
 * Scores.  Each node's /score is kept with its time.  A decision looks at
 * up to sample_target() feasible nodes, like kube-scheduler's
 * percentageOfNodesToScore: all of them up to 100 nodes, then a share
 * (adaptive: 50% minus 1% per 125 nodes, at least 5%, at least 100
 * nodes).  With all nodes in the sample, a score older than 3/4 of the
 * TTL is asked again ahead of time and one past the TTL is waited for (at
 * most two rounds).  With more nodes the sample is a window that moves on
 * every 2/3 TTL: the next window's scores are asked a round's deadline
 * (at least a quarter TTL) before it opens, so decisions rarely wait, and
 * the agents see about one request per window node per window, not one
 * per node per TTL; a round that comes late leaves the window's scores in
 * use, asked again, up to twice the TTL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "metrics.h"
#include "sched.h"

#define STEP_BUDGET_MS   20     /* of deciding, before the watches are read again */
#define DETAIL_NODES     20     /* up to this many nodes, Events name each node's reason */
#define EVENT_REPEAT_MS  60000

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

static int sample_target(const struct scheduler *s)
{
	int pct = s->o.nodes_to_score_pct, n = s->nnodes, t;

	if (n <= 100)
		return n;
	if (pct <= 0) {
		pct = 50 - n / 125;
		if (pct < 5)
			pct = 5;
	}
	t = (int)((long long)n * pct / 100);
	return t < 100 ? 100 : t > n ? n : t;
}

static void ask_score(struct scheduler *s, struct node_ent *e, const struct ks_agent_ep *ep)
{
	struct score_req *r;

	if (e->score_asked)
		return;
	if (s->nscore_batch == s->score_batch_cap) {
		int cap = s->score_batch_cap ? 2 * s->score_batch_cap : 256;
		struct score_req *nb = realloc(s->score_batch, (size_t)cap * sizeof(*nb));

		if (!nb) {
			ks_err("out of memory", "what=score_batch%s", "");
			return;
		}
		s->score_batch = nb;
		s->score_batch_cap = cap;
	}
	r = &s->score_batch[s->nscore_batch++];
	snprintf(r->node, sizeof(r->node), "%s", e->n.name);
	snprintf(r->host, sizeof(r->host), "%s", ep->host);
	r->port = ep->port;
	e->score_asked = true;
}

void sched_flush_score_requests(struct scheduler *s)
{
	if (!s->nscore_batch)
		return;
	s->st.score_rounds++;
	scorer_request(s->scorer, s->score_batch, s->nscore_batch);
	s->nscore_batch = 0;
}

/* The agent that serves node e now; a new agent pod starts afresh. */
static const struct ks_agent_ep *agent_for(struct scheduler *s, struct node_ent *e)
{
	const struct ks_agent_ep *ep = sched_agent_of(s, e->n.name);

	if (!ep) {
		e->have_score = false;
		e->score_at_ms = 0;
		snprintf(e->score_err, sizeof(e->score_err), "no ksense agent pod runs on this node");
		return NULL;
	}
	if (strcmp(e->agent.host, ep->host) || e->agent.port != ep->port) {
		e->agent = *ep;
		e->score_failures = 0;
		e->score_at_ms = 0;
		e->have_score = false;
	}
	return ep;
}

void sched_refresh_all(struct scheduler *s, long long now)
{
	int i;

	(void)now;
	/* with a moving window only the window's scores matter, and asking
	 * thousands at once would hold the scorer up for rounds */
	if (s->nnodes > sample_target(s))
		return;
	for (i = 0; i < s->nnodes; i++) {
		struct node_ent *e = s->node[i];
		const struct ks_agent_ep *ep = agent_for(s, e);

		if (ep)
			ask_score(s, e, ep);
	}
	sched_flush_score_requests(s);
}

/* Many nodes: score the window after the current one ahead of its time. */
static void prefetch_next_window(struct scheduler *s, int from, int count)
{
	long long now = informer_now_ms();
	int k;

	for (k = 0; k < count && k < s->nnodes; k++) {
		struct node_ent *e = s->node[(from + k) % s->nnodes];
		const struct ks_agent_ep *ep = agent_for(s, e);

		if (ep && !(e->score_at_ms && now - e->score_at_ms < score_ttl(s, e) / 4))
			ask_score(s, e, ep);
	}
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

static long long max_ll(long long a, long long b)
{
	return a > b ? a : b;
}

static void window_move(struct scheduler *s, long long now, int target)
{
	long long ttl = s->o.score_ttl_ms ?: 1, period = ttl * 2 / 3 ?: 1;
	int span = s->sample_last_examined;

	if (s->nnodes <= target)
		return;
	if (span < target)
		span = target;
	if (span > 2 * target)
		span = 2 * target;
	if (now - s->sample_rotated_ms >= period) {
		s->sample_start = (s->sample_start + span) % s->nnodes;
		s->sample_rotated_ms = now;
		s->window_prefetched = false;
	}
	/* ask ahead by a round's deadline at least, so a slow round still
	 * lands before the window opens */
	if (!s->window_prefetched &&
	    now - s->sample_rotated_ms >= period - min_ll(max_ll(ttl / 4, s->o.score_timeout_ms + 50), period / 2)) {
		prefetch_next_window(s, (s->sample_start + span) % s->nnodes, span);
		s->window_prefetched = true;
	}
}

long long sched_keep_warm(struct scheduler *s, long long now)
{
	long long ttl = s->o.score_ttl_ms ?: 1;
	int target = sample_target(s);

	/* pods kept coming: the windows keep moving, and their scores keep
	 * being asked ahead, for ten TTLs after the last decision, so the
	 * next pod of a steady stream never waits for a round */
	if (!s->leading || s->nnodes <= target || !s->last_decision_ms || now - s->last_decision_ms > 10 * ttl)
		return now + 3600 * 1000LL;
	window_move(s, now, target);
	sched_flush_score_requests(s);
	return now + (ttl * 2 / 3) / 4 + 1;
}

/* The reasons nodes were passed over, for the FailedScheduling Event:
 * each node by name in a small cluster, counts by reason in a big one. */
struct why_tally {
	bool detail;
	char *buf;
	size_t len, off;
	int ncat;
	char cat[16][64];
	int count[16];
};

static void why_note(struct why_tally *t, const char *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why_note(struct why_tally *t, const char *node, const char *fmt, ...)
{
	char r[320];
	va_list ap;
	int i, n;

	va_start(ap, fmt);
	vsnprintf(r, sizeof(r), fmt, ap);
	va_end(ap);
	if (t->detail) {
		if (t->off < t->len) {
			n = snprintf(t->buf + t->off, t->len - t->off, "%s%s: %s", t->off ? "; " : "", node, r);
			if (n > 0)
				t->off += (size_t)n < t->len - t->off ? (size_t)n : t->len - t->off;
		}
		return;
	}
	/* the category: the reason up to its numbers */
	r[strcspn(r, ":(")] = '\0';
	for (i = 0; i < t->ncat && strcmp(t->cat[i], r); i++)
		;
	if (i == t->ncat && t->ncat < 16)
		snprintf(t->cat[t->ncat++], sizeof(t->cat[0]), "%.63s", r);
	if (i < t->ncat)
		t->count[i]++;
}

static void why_close(struct why_tally *t)
{
	int i, n;

	if (t->detail)
		return;
	t->off = 0;
	t->buf[0] = '\0';
	for (i = 0; i < t->ncat && t->off < t->len; i++) {
		n = snprintf(t->buf + t->off, t->len - t->off, "%s%d %s", i ? ", " : "", t->count[i], t->cat[i]);
		if (n > 0)
			t->off += (size_t)n < t->len - t->off ? (size_t)n : t->len - t->off;
	}
}

/* What the pods already on e say about p: host ports taken, and required
 * anti-affinity (hostname) either way, p's terms against them and theirs
 * against p. */
static bool pods_allow(const struct sched_pod *p, const struct node_ent *e, char *why, size_t whylen)
{
	const struct pod_ent *q;
	char qns[SCHED_NAME_LEN];
	int i, k;

	if (!p->nr_ports && !p->nr_anti && !e->n_anti)
		return true;
	for (q = e->pods; q; q = q->node_next) {
		const char *slash = strchr(q->key, '/');

		for (i = 0; i < p->nr_ports; i++)
			for (k = 0; k < q->nr_ports; k++)
				if (sched_ports_conflict(&p->ports[i], &q->ports[k])) {
					snprintf(why, whylen, "host port %d/%s is taken by pod %.200s", p->ports[i].port,
						 p->ports[i].proto, q->key);
					return false;
				}
		if (!p->nr_anti && !q->nr_anti)
			continue;
		snprintf(qns, sizeof(qns), "%.*s", (int)(slash ? slash - q->key : 0), q->key);
		/* an unevaluable term is never evaluated as a hostname one:
		 * its pod is unsupported (p) or holds p back (q,
		 * sched_odd_anti_against) */
		for (i = 0; i < p->nr_anti; i++)
			if (!p->anti[i].unevaluable[0] &&
			    sched_anti_matches(&p->anti[i], p->ns, qns, q->labels ? q->labels : "")) {
				snprintf(why, whylen, "pod anti-affinity: pod %.200s runs there", q->key);
				return false;
			}
		for (i = 0; i < q->nr_anti; i++)
			if (!q->anti[i].unevaluable[0] && sched_anti_matches(&q->anti[i], qns, p->ns, p->labels)) {
				snprintf(why, whylen, "pod %.180s there has anti-affinity against this pod", q->key);
				return false;
			}
	}
	return true;
}

enum decision { DECIDE_NONE, DECIDE_PICK, DECIDE_WAIT };

static enum decision decide(struct scheduler *s, struct pod_ent *p, long long now, struct node_ent **pick,
			    char *why, size_t whylen)
{
	struct why_tally t = { .detail = s->nnodes <= DETAIL_NODES, .buf = why, .len = whylen };
	int target = sample_target(s), k, feasible = 0, waiting_on = 0, examined = 0, start;
	bool may_wait = !p->wait_since_ms || now - p->wait_since_ms < 2LL * s->o.score_timeout_ms + 100;
	bool windowed = s->nnodes > target;
	struct node_ent *best = NULL;
	char r[256];

	why[0] = '\0';
	*pick = NULL;
	window_move(s, now, target);
	start = s->nnodes ? s->sample_start % s->nnodes : 0;
	for (k = 0; k < s->nnodes && feasible < target; k++) {
		struct node_ent *e = s->node[(start + k) % s->nnodes];
		const struct ks_agent_ep *ep;
		long long age, ttl;
		bool expired;

		examined++;
		if (!sched_fits(p->pending, &e->n, &e->use, r, sizeof(r)) ||
		    !pods_allow(p->pending, e, r, sizeof(r))) {
			why_note(&t, e->n.name, "%s", r);
			continue;
		}
		feasible++;
		ep = agent_for(s, e);
		if (!ep) {
			why_note(&t, e->n.name, "no score (%s)", e->score_err);
			continue;
		}
		age = now - e->score_at_ms;
		ttl = score_ttl(s, e);
		/* a window's score may outlive the TTL by a round that came
		 * late: it is asked again, and used meanwhile up to twice the
		 * TTL; older than that, or never asked, the pod waits */
		expired = !e->score_at_ms || age >= (windowed ? 2 * ttl : ttl);
		if (expired) {
			ask_score(s, e, ep);
			if (may_wait) {
				waiting_on++;
				continue;
			}
		} else if (age >= (windowed ? ttl : ttl * 3 / 4)) {
			ask_score(s, e, ep); /* ahead of time: nobody waits for it */
		}
		if (!e->have_score) {
			why_note(&t, e->n.name, "no score (%s)", e->score_err[0] ? e->score_err : "agent unreachable");
			continue;
		}
		if (expired) {
			why_note(&t, e->n.name, "no score (the last is %lld ms old)", age);
			continue;
		}
		if (e->score.deny) {
			why_note(&t, e->n.name, "denied by ksense (score %u)", e->score.score);
			continue;
		}
		if (!best || sched_better(&e->n, e->score.score, e->use.cpu_milli, &best->n, best->score.score,
					  best->use.cpu_milli))
			best = e;
	}
	s->sample_last_examined = examined;
	s->last_decision_ms = now;
	if (waiting_on) {
		ks_debug("waiting for scores", "pod=%s nodes=%d window_start=%d examined=%d", p->key, waiting_on, start,
			 examined);
		return DECIDE_WAIT;
	}
	if (best) {
		*pick = best;
		why[0] = '\0';
		return DECIDE_PICK;
	}
	if (!s->nnodes)
		snprintf(why, whylen, "no nodes");
	why_close(&t);
	return DECIDE_NONE;
}

void sched_event(struct scheduler *s, const char *ns, const char *name, const char *uid, const char *type,
		 const char *reason, const char *msg)
{
	struct sched_job *j = calloc(1, sizeof(*j));

	if (!j) {
		ks_err("out of memory", "what=event pod=%s/%s", ns, name);
		return;
	}
	j->kind = JOB_EVENT;
	snprintf(j->ns, sizeof(j->ns), "%s", ns);
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->uid, sizeof(j->uid), "%s", uid);
	snprintf(j->ev_type, sizeof(j->ev_type), "%s", type);
	snprintf(j->ev_reason, sizeof(j->ev_reason), "%s", reason);
	snprintf(j->ev_action, sizeof(j->ev_action), "Scheduling");
	snprintf(j->ev_message, sizeof(j->ev_message), "%s", msg);
	s->st.events_queued++;
	binder_submit(s->binder, j);
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

static void unschedulable(struct scheduler *s, struct pod_ent *p, long long now, const char *why)
{
	char msg[sizeof(p->last_event_msg)];

	p->attempts++;
	p->unschedulable = true;
	p->state = PS_QUEUED;
	sched_queue_put(s, p, now + backoff_ms(s, p->attempts));
	s->st.unschedulable++;
	snprintf(msg, sizeof(msg), "0/%d nodes are available: %.470s", s->nnodes, why);
	/* a pod that keeps failing for the same reason gets one Event a
	 * minute, not one per retry */
	if (strcmp(msg, p->last_event_msg) || now - p->last_event_ms >= EVENT_REPEAT_MS) {
		ks_warn("pod unschedulable", "pod=%s attempts=%u retry_ms=%lld why=\"%s\"", p->key, p->attempts,
			p->due_ms - now, msg);
		sched_event(s, p->pending->ns, p->pending->name, p->pending->uid, "Warning", "FailedScheduling", msg);
		snprintf(p->last_event_msg, sizeof(p->last_event_msg), "%s", msg);
		p->last_event_ms = now;
	}
}

static void wait_for_scores(struct scheduler *s, struct pod_ent *p, long long now)
{
	p->state = PS_WAIT_SCORES;
	if (!p->wait_since_ms)
		p->wait_since_ms = now;
	s->st.score_waits++;
	/* the scorer answers within its round's deadline; should it not,
	 * the loop wakes the pod anyway */
	if (!s->nwaiting)
		s->wait_check_ms = now + 2LL * s->o.score_timeout_ms + 200;
	s->nwaiting++;
}

void sched_wake_waiting(struct scheduler *s)
{
	long long now = informer_now_ms();
	unsigned int b;
	struct pod_ent *p;

	if (!s->nwaiting)
		return;
	for (b = 0; b < s->nbuckets; b++)
		for (p = s->buckets[b]; p; p = p->hnext)
			if (p->state == PS_WAIT_SCORES) {
				p->state = PS_QUEUED;
				s->nwaiting--;
				sched_queue_put(s, p, now);
			}
	s->nwaiting = 0;
}

static void submit_bind(struct scheduler *s, struct pod_ent *p, struct node_ent *e)
{
	struct sched_job *j = calloc(1, sizeof(*j));

	if (!j) {
		ks_err("out of memory", "what=binding pod=%s", p->key);
		p->state = PS_QUEUED;
		sched_queue_put(s, p, informer_now_ms() + s->o.backoff_initial_ms);
		return;
	}
	j->kind = JOB_BIND;
	snprintf(j->ns, sizeof(j->ns), "%s", p->pending->ns);
	snprintf(j->name, sizeof(j->name), "%s", p->pending->name);
	snprintf(j->uid, sizeof(j->uid), "%s", p->pending->uid);
	snprintf(j->node, sizeof(j->node), "%s", e->n.name);
	sched_assume(s, p, e->n.name);
	p->state = PS_BINDING;
	p->wait_since_ms = 0;
	binder_submit(s->binder, j);
}

static void submit_verify(struct scheduler *s, struct pod_ent *p)
{
	struct sched_job *j = calloc(1, sizeof(*j));

	if (!j) {
		ks_err("out of memory", "what=verify pod=%s", p->key);
		sched_queue_put(s, p, informer_now_ms() + s->o.backoff_initial_ms);
		return;
	}
	j->kind = JOB_VERIFY;
	snprintf(j->ns, sizeof(j->ns), "%s", p->pending->ns);
	snprintf(j->name, sizeof(j->name), "%s", p->pending->name);
	snprintf(j->uid, sizeof(j->uid), "%s", p->pending->uid);
	snprintf(j->node, sizeof(j->node), "%s", p->counted_node);
	p->state = PS_VERIFYING;
	binder_submit(s->binder, j);
}

int sched_step(struct scheduler *s, long long now)
{
	int decided = 0, looked = 0, room, max;
	long long end = now + STEP_BUDGET_MS;
	bool more = false;
	char why[4096];

	s->step_more = false;
	if (!s->leading || !s->pods.synced || !s->nodes.synced || now < s->next_cycle_ms)
		return 0;
	/* once per step however many pods went: as kube-scheduler moves its
	 * unschedulable pods on an assigned pod's deletion */
	if (s->room_freed) {
		s->room_freed = false;
		sched_requeue_all(s, "room freed on a node");
	}
	room = 2 * s->o.bind_workers - binder_bind_load(s->binder);
	max = s->o.step_pods;
	if (s->o.max_per_cycle > 0 && s->o.max_per_cycle < max)
		max = s->o.max_per_cycle;
	for (;;) {
		struct pod_ent *p = sched_queue_top(s);
		const struct sched_anti *term;
		const struct pod_ent *odd;
		struct node_ent *e;

		if (!p || p->due_ms > now)
			break;
		/* due work left: the step's size ends it, and the loop comes
		 * back after one look at the watches */
		if (decided >= max || looked >= 4 * s->o.step_pods || informer_now_ms() > end) {
			more = true;
			break;
		}
		looked++;
		if (p->state == PS_VERIFY) {
			sched_queue_remove(s, p);
			submit_verify(s, p);
			continue;
		}
		if (room <= 0)
			break; /* the binder's results wake the loop */
		sched_queue_remove(s, p);
		if (p->pending->unsupported[0]) {
			/* never a binding that ignores a constraint: the pod
			 * waits, and its Event says where it can be placed */
			snprintf(why, sizeof(why), "the pod uses %s, which ksense-scheduler does not evaluate in "
				 "standalone mode; schedule it with kube-scheduler and the ksense extender "
				 "(ksense-scheduler --extender, k8s/extender)", p->pending->unsupported);
			p->attempts = p->attempts > 8 ? p->attempts : 8; /* the longest backoff */
			unschedulable(s, p, now, why);
			decided++;
			continue;
		}
		if ((odd = sched_odd_anti_against(s, p, &term))) {
			/* the bound pod's term may forbid this pod on nodes the
			 * model cannot tell: never a binding that ignores it */
			snprintf(why, sizeof(why), "pod %.200s has %s that may select this pod, which ksense-scheduler "
				 "does not evaluate in standalone mode; schedule it with kube-scheduler and the ksense "
				 "extender (ksense-scheduler --extender, k8s/extender)", odd->key, term->unevaluable);
			unschedulable(s, p, now, why);
			decided++;
			continue;
		}
		switch (decide(s, p, now, &e, why, sizeof(why))) {
		case DECIDE_WAIT:
			wait_for_scores(s, p, now);
			continue;
		case DECIDE_PICK:
			submit_bind(s, p, e);
			room--;
			break;
		case DECIDE_NONE:
			p->wait_since_ms = 0;
			unschedulable(s, p, now, why);
			break;
		}
		decided++;
		if (s->o.placement_delay_s > 0 && p->state == PS_BINDING) {
			/* the seed's pacing: let the node's score see the new pod */
			s->next_cycle_ms = now + 1000LL * s->o.placement_delay_s;
			break;
		}
	}
	sched_flush_score_requests(s);
	if (s->o.max_per_cycle > 0 && decided) {
		if (now + 1000LL * s->o.poll_s > s->next_cycle_ms)
			s->next_cycle_ms = now + 1000LL * s->o.poll_s;
		more = false;
	}
	s->step_more = more && now >= s->next_cycle_ms;
	return decided;
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

/* A 201: logged, timed and announced, whether or not the watch was
 * faster than this result. */
static void bound(struct scheduler *s, struct pod_ent *p, struct sched_job *j, long long now)
{
	struct node_ent *e = sched_node_find(s, j->node);
	char msg[1024];

	s->st.bound++;
	ks_info("pod bound", "pod=%s/%s node=%s score=%u latency_ms=%lld attempts=%u bind_ms=%lld", j->ns, j->name,
		j->node, e ? e->score.score : 0, p ? now - p->pending_since_ms : -1, p ? p->attempts : 0,
		j->done_ms - j->sent_ms);
	if (p) {
		latency_log(s, p, j->node, now);
		sched_metrics_bound(s->metrics, now - p->pending_since_ms);
	}
	if (s->o.scheduled_events) {
		snprintf(msg, sizeof(msg), "Successfully assigned %s/%s to %s (ksense score %u)", j->ns, j->name,
			 j->node, e ? e->score.score : 0);
		sched_event(s, j->ns, j->name, j->uid, "Normal", "Scheduled", msg);
	}
}

static void bind_done(struct scheduler *s, struct pod_ent *p, struct sched_job *j, long long now)
{
	switch (j->outcome) {
	case OUT_BOUND:
		bound(s, p, j, now);
		p->state = PS_BOUND;
		return;
	case OUT_CONFLICT:
	case OUT_GONE:
		/* bound by someone else, or deleted: the watch brings the
		 * truth, and frees the entry when it does; should it never
		 * come (a 409 for another reason), the pod is tried again
		 * after the longest backoff */
		s->st.bind_conflicts += j->outcome == OUT_CONFLICT;
		ks_info(j->outcome == OUT_CONFLICT ? "pod already bound elsewhere" : "pod gone before binding",
			"pod=%s err=\"%s\"", p->key, j->err);
		sched_unassume(s, p);
		p->attempts++;
		p->state = PS_QUEUED;
		sched_queue_put(s, p, now + s->o.backoff_max_ms);
		return;
	case OUT_UNKNOWN:
		/* maybe written: keep the assumption and ask the API after a
		 * backoff whether the pod is bound */
		s->st.bind_unknown++;
		p->attempts++;
		p->state = PS_VERIFY;
		sched_queue_put(s, p, now + backoff_ms(s, p->attempts));
		ks_warn("binding outcome unknown, will check", "pod=%s node=%s check_in_ms=%lld err=\"%s\"", p->key,
			j->node, p->due_ms - now, j->err);
		return;
	case OUT_NOT_SENT:
		sched_unassume(s, p);
		p->state = PS_QUEUED;
		sched_queue_put(s, p, now);
		ks_debug("binding not sent", "pod=%s node=%s why=\"%s\"", p->key, j->node, j->err);
		return;
	default:
		s->st.bind_errors++;
		sched_unassume(s, p);
		p->attempts++;
		p->state = PS_QUEUED;
		sched_queue_put(s, p, now + backoff_ms(s, p->attempts));
		ks_err("binding failed, will retry", "pod=%s node=%s attempts=%u retry_ms=%lld err=\"%s\"", p->key,
		       j->node, p->attempts, p->due_ms - now, j->err);
		return;
	}
}

static void verify_done(struct scheduler *s, struct pod_ent *p, struct sched_job *j, long long now)
{
	if (j->outcome == OUT_FOUND && !strcmp(j->got_uid, p->uid)) {
		s->st.verified++;
		if (j->got_node[0]) {
			ks_info("binding outcome checked: bound", "pod=%s node=%s", p->key, j->got_node);
			if (strcmp(j->got_node, p->counted_node))
				sched_assume(s, p, j->got_node);
			p->state = PS_BOUND;
			return;
		}
		ks_info("binding outcome checked: not bound, deciding again", "pod=%s", p->key);
		sched_unassume(s, p);
		p->state = PS_QUEUED;
		sched_queue_put(s, p, now);
		return;
	}
	if (j->outcome == OUT_FOUND || j->outcome == OUT_GONE) {
		/* replaced or deleted: the watch removes it */
		sched_unassume(s, p);
		p->state = PS_QUEUED;
		sched_queue_put(s, p, now + s->o.backoff_max_ms);
		return;
	}
	p->attempts++;
	p->state = PS_VERIFY;
	sched_queue_put(s, p, now + backoff_ms(s, p->attempts));
	ks_warn("cannot check a binding's outcome, will retry", "pod=%s retry_ms=%lld err=\"%s\"", p->key,
		p->due_ms - now, j->err);
}

void sched_jobs_done(struct scheduler *s, struct sched_job *done)
{
	long long now = informer_now_ms();
	struct sched_job *j;

	for (j = done; j; j = j->next) {
		struct pod_ent *p = sched_pod_find(s, j->ns, j->name);
		bool mine = p && p->pending && !strcmp(p->uid, j->uid);

		if (j->kind == JOB_BIND && mine && p->state == PS_BINDING && !strcmp(p->counted_node, j->node)) {
			bind_done(s, p, j, now);
		} else if (j->kind == JOB_VERIFY && mine && p->state == PS_VERIFYING) {
			verify_done(s, p, j, now);
		} else if (j->kind == JOB_BIND && j->outcome == OUT_BOUND) {
			/* the watch was faster than this result, or we let go of
			 * the pod meanwhile (leadership lost): the watch tells
			 * the rest */
			bound(s, p && !strcmp(p->uid, j->uid) ? p : NULL, j, now);
		}
	}
	sched_jobs_free(done);
}

void sched_scores_done(struct scheduler *s, struct score_res *r, int n)
{
	bool changed = false;
	int i;

	for (i = 0; i < n; i++) {
		struct node_ent *e = sched_node_find(s, r[i].node);
		bool had;

		if (!e)
			continue;
		e->score_asked = false;
		if (strcmp(e->agent.host, r[i].host) || e->agent.port != r[i].port)
			continue; /* asked of an agent pod that has been replaced */
		had = e->have_score;
		if (r[i].rc) {
			s->st.score_failures++;
			if (had || strcmp(e->score_err, r[i].err))
				ks_warn("node skipped: no score", "node=%s agent=%s:%d err=\"%s\"", e->n.name, r[i].host,
					r[i].port, r[i].err);
			changed |= had;
			e->have_score = false;
			e->score_failures++;
			snprintf(e->score_err, sizeof(e->score_err), "%s", r[i].err);
		} else {
			bool deny_now = r[i].sc.deny && (!had || !e->score.deny);

			e->score_failures = 0;
			if (!had || r[i].sc.score != e->score.score || r[i].sc.deny != e->score.deny)
				changed = true;
			e->score = r[i].sc;
			e->have_score = true;
			e->score_err[0] = '\0';
			/* the decision changed: bindings decided on the old one go back */
			if (deny_now)
				sched_node_changed(s, e->n.name, "ksense decision is now deny");
		}
		e->score_at_ms = r[i].at_ms;
	}
	free(r);
	if (changed)
		sched_requeue_all(s, "a node's score changed");
	sched_wake_waiting(s);
}
