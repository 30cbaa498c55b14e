// SPDX-License-Identifier: GPL-2.0
/*
 * What the pod and node watches say, kept as the scheduler needs it: the
 * requests every bound pod holds on its node (and the ones we assumed
 * before the watch says so), our pending pods with their queue state, and
 * each node's agent.  A node change that matters to a decision takes back
 * the bindings to it that are not yet sent, so no binding goes out on a
 * decision the cluster has since overtaken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "sched.h"

#define NBUCKETS      4096
#define NODE_BUCKETS  8192

static unsigned int hash_key(const char *s)
{
	unsigned int h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

int sched_cache_init(struct scheduler *s)
{
	s->nbuckets = NBUCKETS;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	s->node_nbuckets = NODE_BUCKETS;
	s->node_buckets = calloc(s->node_nbuckets, sizeof(*s->node_buckets));
	return s->buckets && s->node_buckets ? 0 : -ENOMEM;
}

static struct pod_ent **pod_slot(struct scheduler *s, const char *key)
{
	struct pod_ent **pp = &s->buckets[hash_key(key) % s->nbuckets];

	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->hnext;
	return pp;
}

struct pod_ent *sched_pod_find(struct scheduler *s, const char *ns, const char *name)
{
	char key[2 * SCHED_NAME_LEN];

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	return *pod_slot(s, key);
}

static struct node_ent **node_slot(struct scheduler *s, const char *name)
{
	struct node_ent **pp = &s->node_buckets[hash_key(name) % s->node_nbuckets];

	while (*pp && strcmp((*pp)->n.name, name))
		pp = &(*pp)->hnext;
	return pp;
}

struct node_ent *sched_node_find(struct scheduler *s, const char *name)
{
	return *node_slot(s, name);
}

static void node_add(struct node_ent *n, const struct pod_ent *p, int sign)
{
	int i, x;

	n->use.cpu_milli += sign * p->counted_cpu_milli;
	n->use.mem_bytes += sign * p->counted_mem_bytes;
	n->use.pods += sign;
	for (i = 0; i < p->nr_ext; i++)
		if ((x = sched_node_ext(&n->n, p->ext[i].name)) >= 0)
			n->use.ext[x] += sign * p->ext[i].value;
	n->n_anti += sign * (p->nr_anti > 0);
	n->n_ports += sign * (p->nr_ports > 0);
}

static void node_link(struct node_ent *n, struct pod_ent *p)
{
	p->on = n;
	p->node_prev = NULL;
	p->node_next = n->pods;
	if (n->pods)
		n->pods->node_prev = p;
	n->pods = p;
	node_add(n, p, 1);
}

static void node_unlink(struct pod_ent *p)
{
	struct node_ent *n = p->on;

	if (!n)
		return;
	node_add(n, p, -1);
	if (p->node_prev)
		p->node_prev->node_next = p->node_next;
	else
		n->pods = p->node_next;
	if (p->node_next)
		p->node_next->node_prev = p->node_prev;
	p->node_next = p->node_prev = NULL;
	p->on = NULL;
}

static void odd_unlink(struct scheduler *s, struct pod_ent *p)
{
	if (!p->odd_anti)
		return;
	if (p->odd_prev)
		p->odd_prev->odd_next = p->odd_next;
	else
		s->odd_anti = p->odd_next;
	if (p->odd_next)
		p->odd_next->odd_prev = p->odd_prev;
	p->odd_next = p->odd_prev = NULL;
	p->odd_anti = false;
}

static void odd_link(struct scheduler *s, struct pod_ent *p)
{
	int i;

	for (i = 0; i < p->nr_anti && !p->anti[i].unevaluable[0]; i++)
		;
	if (i == p->nr_anti || p->odd_anti)
		return;
	p->odd_anti = true;
	p->odd_prev = NULL;
	p->odd_next = s->odd_anti;
	if (s->odd_anti)
		s->odd_anti->odd_prev = p;
	s->odd_anti = p;
}

const struct pod_ent *sched_odd_anti_against(const struct scheduler *s, const struct pod_ent *p,
					    const struct sched_anti **term)
{
	const struct pod_ent *q;
	char qns[SCHED_NAME_LEN];
	int i;

	if (!p->pending)
		return NULL;
	for (q = s->odd_anti; q; q = q->odd_next) {
		const char *slash = strchr(q->key, '/');

		if (q == p)
			continue;
		snprintf(qns, sizeof(qns), "%.*s", (int)(slash ? slash - q->key : 0), q->key);
		for (i = 0; i < q->nr_anti; i++)
			if (q->anti[i].unevaluable[0] &&
			    sched_anti_may_match(&q->anti[i], qns, p->pending->ns, p->pending->labels)) {
				*term = &q->anti[i];
				return q;
			}
	}
	return NULL;
}

static void uncount(struct scheduler *s, struct pod_ent *p)
{
	if (!p->counted_node[0])
		return;
	odd_unlink(s, p);
	node_unlink(p);
	p->counted_node[0] = '\0';
	p->counted_cpu_milli = p->counted_mem_bytes = 0;
	p->assumed = false;
	free(p->ext);
	free(p->ports);
	free(p->labels);
	free(p->anti);
	p->ext = NULL;
	p->ports = NULL;
	p->labels = NULL;
	p->anti = NULL;
	p->nr_ext = p->nr_ports = p->nr_anti = 0;
}

static void *dup_mem(const void *src, size_t n)
{
	void *d = n ? malloc(n) : NULL;

	if (d)
		memcpy(d, src, n);
	return d;
}

/* sp's requests, host ports, labels and anti-affinity held on node. */
static void count(struct scheduler *s, struct pod_ent *p, const char *node, const struct sched_pod *sp, bool assumed)
{
	struct node_ent *n = sched_node_find(s, node);

	snprintf(p->counted_node, sizeof(p->counted_node), "%s", node);
	p->counted_cpu_milli = sp->req_cpu_milli;
	p->counted_mem_bytes = sp->req_mem_bytes;
	p->assumed = assumed;
	p->ext = dup_mem(sp->req_ext, (size_t)sp->nr_req_ext * sizeof(*sp->req_ext));
	p->nr_ext = p->ext ? sp->nr_req_ext : 0;
	p->ports = dup_mem(sp->ports, (size_t)sp->nr_ports * sizeof(*sp->ports));
	p->nr_ports = p->ports ? sp->nr_ports : 0;
	p->anti = dup_mem(sp->anti, (size_t)sp->nr_anti * sizeof(*sp->anti));
	p->nr_anti = p->anti ? sp->nr_anti : 0;
	p->labels = strdup(sp->labels);
	if ((sp->nr_req_ext && !p->ext) || (sp->nr_ports && !p->ports) || (sp->nr_anti && !p->anti) || !p->labels)
		ks_err("out of memory", "what=pod_usage pod=%s", p->key);
	odd_link(s, p);
	if (n)
		node_link(n, p);
}

void sched_assume(struct scheduler *s, struct pod_ent *p, const char *node)
{
	if (!p->pending)
		return;
	uncount(s, p);
	count(s, p, node, p->pending, true);
}

void sched_unassume(struct scheduler *s, struct pod_ent *p)
{
	if (p->assumed)
		uncount(s, p);
}

/* Another serving agent pod of node n, after the one it had went away
 * (a rollout briefly has two). */
static struct pod_ent *other_agent(struct scheduler *s, const struct node_ent *n, const struct pod_ent *gone)
{
	unsigned int b;
	struct pod_ent *p;

	for (b = 0; b < s->nbuckets; b++)
		for (p = s->buckets[b]; p; p = p->hnext)
			if (p != gone && p->agent_ok && !strcmp(p->agent_ep.node, n->n.name))
				return p;
	return NULL;
}

static void agent_detach(struct scheduler *s, struct pod_ent *p)
{
	struct node_ent *n;

	if (!p->agent_ok)
		return;
	p->agent_ok = false;
	n = sched_node_find(s, p->agent_ep.node);
	if (n && n->agent_pod == p)
		n->agent_pod = other_agent(s, n, p);
}

const struct ks_agent_ep *sched_agent_of(struct scheduler *s, const char *node)
{
	struct node_ent *n = sched_node_find(s, node);

	return n && n->agent_pod ? &n->agent_pod->agent_ep : NULL;
}

/* Agent pods are matched by namespace and one label; a node learns its
 * agent when both are known, in either order. */
static bool is_agent_pod(struct scheduler *s, const struct ks_json *j)
{
	char ns[SCHED_NAME_LEN] = "", val[SCHED_VAL_LEN] = "";
	int labels;

	ks_json_string(j, ks_json_path(j, "metadata.namespace"), ns, sizeof(ns));
	if (strcmp(ns, s->o.agent_namespace))
		return false;
	labels = ks_json_path(j, "metadata.labels");
	if (labels < 0 || ks_json_string(j, ks_json_member(j, labels, s->o.agent_label_key), val, sizeof(val)))
		return false;
	return !strcmp(val, s->o.agent_label_value);
}

/* An agent pod may be seen before its node: the node adopts it then. */
static void agent_apply(struct scheduler *s, struct pod_ent *p, const struct ks_json *j)
{
	struct ks_agent_ep ep;
	struct node_ent *n;
	char err[256];
	int rc;

	agent_detach(s, p);
	rc = ks_agent_from_pod(j, 0, s->o.agent_port, &ep, err, sizeof(err));
	if (rc) {
		if (rc != -ENOENT)
			ks_warn("agent pod skipped", "pod=%s err=\"%s\"", p->key, err);
		return;
	}
	p->agent_ep = ep;
	p->agent_ok = true;
	n = sched_node_find(s, ep.node);
	if (n)
		n->agent_pod = p;
	ks_debug("agent", "node=%s pod=%s addr=%s:%d", ep.node, p->key, ep.host, ep.port);
}

static bool finished(const struct sched_pod *p)
{
	return !strcmp(p->phase, "Succeeded") || !strcmp(p->phase, "Failed");
}

static void pending_free(struct pod_ent *p)
{
	if (p->pending)
		sched_pod_free(p->pending);
	free(p->pending);
	p->pending = NULL;
}

/* Our pending pod is no longer ours to place (bound by anyone, deleted,
 * finished): whatever we had queued for it is taken back. */
static void forget_pending(struct scheduler *s, struct pod_ent *p)
{
	if (s->binder && (p->state == PS_BINDING || p->state == PS_VERIFYING || p->state == PS_VERIFY)) {
		const char *slash = strchr(p->key, '/');
		char ns[SCHED_NAME_LEN];

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - p->key), p->key);
		sched_jobs_free(binder_cancel(s->binder, NULL, ns, slash + 1));
	}
	if (p->state == PS_WAIT_SCORES)
		s->nwaiting--;
	sched_queue_remove(s, p);
	p->state = PS_NONE;
	pending_free(p);
}

/* A pod gone (deleted, or missing from a relist): a bound one's room is
 * free again (an assumed one is ours: its binding's outcome says what to
 * do). */
static void pod_remove(struct scheduler *s, struct pod_ent **slot)
{
	struct pod_ent *p = *slot;

	if (p->counted_node[0] && !p->assumed)
		s->room_freed = true;
	forget_pending(s, p);
	uncount(s, p);
	agent_detach(s, p);
	*slot = p->hnext;
	free(p);
	s->npods--;
}

static void pod_apply(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j,
		      unsigned long gen)
{
	struct scheduler *s = arg;
	struct sched_pod *sp = calloc(1, sizeof(*sp));
	struct pod_ent **slot, *p;
	char key[sizeof(p->key)], err[256];
	long long now = informer_now_ms();
	bool ours;

	(void)json; /* j is json parsed, by the informer */
	(void)len;
	if (!sp) {
		ks_err("out of memory", "what=pod%s", "");
		return;
	}
	if (sched_pod_from_json(j, sp, err, sizeof(err))) {
		ks_warn("pod skipped: cannot parse", "event=%s err=\"%s\"", type, err);
		goto out;
	}
	snprintf(key, sizeof(key), "%s/%s", sp->ns, sp->name);
	slot = pod_slot(s, key);
	if (!strcmp(type, "DELETED")) {
		if (*slot)
			pod_remove(s, slot);
		goto out;
	}
	p = *slot;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			ks_err("out of memory", "what=pod%s", "");
			goto out;
		}
		snprintf(p->key, sizeof(p->key), "%s", key);
		p->heap_idx = -1;
		*slot = p;
		s->npods++;
	}
	p->gen = gen;
	/* a pod deleted and created again under the same name is another pod */
	if (strcmp(p->uid, sp->uid)) {
		forget_pending(s, p);
		uncount(s, p);
		snprintf(p->uid, sizeof(p->uid), "%s", sp->uid);
		p->attempts = 0;
		p->last_event_msg[0] = '\0';
		p->pending_since_ms = 0;
		p->unschedulable = false;
	}
	ours = !sp->node_name[0] && !sp->terminating && !sp->gated && !strcmp(sp->scheduler_name, s->o.scheduler_name) &&
	       (!sp->phase[0] || !strcmp(sp->phase, "Pending"));
	if (sp->node_name[0] && !finished(sp)) {
		/* the truth replaces any assumption */
		bool moved = strcmp(p->counted_node, sp->node_name) != 0;

		if (p->pending)
			forget_pending(s, p);
		uncount(s, p);
		count(s, p, sp->node_name, sp, false);
		/* someone else's pod took room on the node: our queued
		 * decisions for it were made without that */
		if (moved)
			sched_node_changed(s, sp->node_name, "a pod was bound there");
	} else if (!p->assumed) {
		/* a bound pod that finished frees its room as one deleted */
		if (p->counted_node[0])
			s->room_freed = true;
		uncount(s, p);
	}
	p->is_agent = is_agent_pod(s, j);
	if (p->is_agent)
		agent_apply(s, p, j);
	else
		agent_detach(s, p);
	if (ours) {
		if (!p->pending) {
			p->pending_since_ms = p->pending_since_ms ?: now;
			p->state = PS_QUEUED;
			sched_queue_put(s, p, now);
		}
		/* the newest object, whatever state the pod is in */
		pending_free(p);
		p->pending = sp;
		sp = NULL;
	} else if (p->pending) {
		forget_pending(s, p);
		if (p->assumed)
			uncount(s, p);
	}
out:
	if (sp)
		sched_pod_free(sp);
	free(sp);
}

static void pod_synced(void *arg, unsigned long gen)
{
	struct scheduler *s = arg;
	unsigned int b;

	for (b = 0; b < s->nbuckets; b++) {
		struct pod_ent **pp = &s->buckets[b];

		while (*pp) {
			if ((*pp)->gen < gen)
				pod_remove(s, pp);
			else
				pp = &(*pp)->hnext;
		}
	}
}

/* Usage belongs to pods, which may have arrived before their node: a new
 * node takes the pods counted under its name. */
static void node_adopt(struct scheduler *s, struct node_ent *n)
{
	unsigned int b;
	struct pod_ent *p;

	if (!s->npods)
		return;
	for (b = 0; b < s->nbuckets; b++)
		for (p = s->buckets[b]; p; p = p->hnext) {
			if (!p->on && !strcmp(p->counted_node, n->n.name))
				node_link(n, p);
			if (p->agent_ok && !strcmp(p->agent_ep.node, n->n.name))
				n->agent_pod = p;
		}
}

/* The node's resources changed (extended ones may be new): its use is
 * summed again from its pods. */
static void node_recount(struct node_ent *n)
{
	struct pod_ent *p;

	memset(&n->use, 0, sizeof(n->use));
	n->n_anti = n->n_ports = 0;
	for (p = n->pods; p; p = p->node_next)
		node_add(n, p, 1);
}

static void node_remove(struct scheduler *s, struct node_ent *n)
{
	struct node_ent **slot = node_slot(s, n->n.name);
	int i = n->idx;

	sched_node_changed(s, n->n.name, "node removed");
	while (n->pods)
		node_unlink(n->pods);
	*slot = n->hnext;
	s->node[i] = s->node[--s->nnodes];
	s->node[i]->idx = i;
	sched_node_free(&n->n);
	free(n);
}

/* Node heartbeats change only status timestamps: only what the filter
 * reads counts as a change. */
static bool node_changed(const struct sched_node *a, const struct sched_node *b)
{
	return a->ready != b->ready || a->unschedulable != b->unschedulable ||
	       a->alloc_cpu_milli != b->alloc_cpu_milli || a->alloc_mem_bytes != b->alloc_mem_bytes ||
	       a->alloc_pods != b->alloc_pods || a->nr_ext != b->nr_ext || a->too_many_taints != b->too_many_taints ||
	       memcmp(a->ext, b->ext, sizeof(a->ext[0]) * (size_t)a->nr_ext) ||
	       a->nr_labels != b->nr_labels || a->nr_taints != b->nr_taints ||
	       memcmp(a->labels, b->labels, sizeof(a->labels[0]) * (size_t)a->nr_labels) ||
	       memcmp(a->taints, b->taints, sizeof(a->taints[0]) * (size_t)a->nr_taints);
}

static void node_apply(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j,
		       unsigned long gen)
{
	struct scheduler *s = arg;
	struct sched_node *sn = calloc(1, sizeof(*sn));
	struct node_ent *n;
	char err[256];

	(void)json; /* j is json parsed, by the informer */
	(void)len;
	if (!sn) {
		ks_err("out of memory", "what=node%s", "");
		return;
	}
	if (sched_node_from_json(j, sn, err, sizeof(err))) {
		ks_warn("node skipped: cannot parse", "event=%s err=\"%s\"", type, err);
		goto out;
	}
	n = sched_node_find(s, sn->name);
	if (!strcmp(type, "DELETED")) {
		if (n) {
			ks_info("node removed", "node=%s", sn->name);
			node_remove(s, n);
		}
		goto out;
	}
	if (!n) {
		struct node_ent **slot;

		if (s->nnodes == s->node_cap) {
			int cap = s->node_cap ? 2 * s->node_cap : 64;
			struct node_ent **nn = realloc(s->node, (size_t)cap * sizeof(*nn));

			if (!nn) {
				ks_err("out of memory", "what=node%s", "");
				goto out;
			}
			s->node = nn;
			s->node_cap = cap;
		}
		n = calloc(1, sizeof(*n));
		if (!n) {
			ks_err("out of memory", "what=node%s", "");
			goto out;
		}
		n->n = *sn; /* its arrays are the node's now */
		memset(sn, 0, sizeof(*sn));
		n->idx = s->nnodes;
		s->node[s->nnodes++] = n;
		slot = node_slot(s, n->n.name);
		*slot = n;
		node_adopt(s, n);
		ks_info("node added", "node=%s ready=%d cpu_m=%lld", n->n.name, n->n.ready,
			(long long)n->n.alloc_cpu_milli);
		sched_requeue_all(s, "node added");
	} else {
		bool changed = node_changed(&n->n, sn);

		sched_node_free(&n->n);
		n->n = *sn;
		memset(sn, 0, sizeof(*sn));
		if (changed) {
			node_recount(n);
			sched_node_changed(s, n->n.name, "node changed");
			sched_requeue_all(s, "node changed");
		}
	}
	n->gen = gen;
out:
	sched_node_free(sn);
	free(sn);
}

static void node_synced(void *arg, unsigned long gen)
{
	struct scheduler *s = arg;
	int i;

	for (i = s->nnodes - 1; i >= 0; i--)
		if (s->node[i]->gen < gen)
			node_remove(s, s->node[i]);
}

const struct informer_ops sched_pod_ops = { .apply = pod_apply, .synced = pod_synced };
const struct informer_ops sched_node_ops = { .apply = node_apply, .synced = node_synced };

void sched_node_changed(struct scheduler *s, const char *node, const char *why)
{
	struct sched_job *j, *jobs;
	long long now = informer_now_ms();
	int n = 0;

	if (!s->binder)
		return;
	jobs = binder_cancel(s->binder, node, NULL, NULL);
	for (j = jobs; j; j = j->next) {
		struct pod_ent *p = sched_pod_find(s, j->ns, j->name);

		if (!p || p->state != PS_BINDING || strcmp(p->uid, j->uid))
			continue;
		sched_unassume(s, p);
		p->state = PS_QUEUED;
		sched_queue_put(s, p, now);
		n++;
	}
	sched_jobs_free(jobs);
	if (n) {
		s->st.requeued_changed += (unsigned long long)n;
		ks_info("bindings taken back: the node changed after the decision", "node=%s pods=%d why=\"%s\"", node,
			n, why);
	}
}

void sched_drop_assumed(struct scheduler *s, const char *why)
{
	long long now = informer_now_ms();
	unsigned int b, n = 0;
	struct pod_ent *p;

	if (s->binder)
		sched_jobs_free(binder_cancel(s->binder, NULL, NULL, NULL));
	for (b = 0; b < s->nbuckets; b++)
		for (p = s->buckets[b]; p; p = p->hnext) {
			if (!p->pending || p->state == PS_QUEUED)
				continue;
			if (p->state == PS_WAIT_SCORES)
				s->nwaiting--;
			sched_unassume(s, p);
			p->state = PS_QUEUED;
			sched_queue_put(s, p, now);
			n++;
		}
	s->st.dropped_assumed += n;
	ks_info("assumed state dropped", "pods=%u why=\"%s\"", n, why);
}

void sched_requeue_all(struct scheduler *s, const char *why)
{
	long long now = informer_now_ms();
	unsigned int b, moved = 0;
	struct pod_ent *p;

	for (b = 0; b < s->nbuckets; b++)
		for (p = s->buckets[b]; p; p = p->hnext) {
			if (!p->pending || p->state != PS_QUEUED)
				continue;
			if (p->heap_idx < 0 || (p->unschedulable && p->due_ms > now)) {
				sched_queue_put(s, p, now);
				moved++;
			}
		}
	if (moved)
		ks_debug("unschedulable pods retried now", "pods=%u why=\"%s\"", moved, why);
}

void sched_cache_free(struct scheduler *s)
{
	unsigned int b;
	int i;

	for (b = 0; b < s->nbuckets; b++)
		while (s->buckets[b])
			pod_remove(s, &s->buckets[b]);
	free(s->buckets);
	for (i = 0; i < s->nnodes; i++) {
		sched_node_free(&s->node[i]->n);
		free(s->node[i]);
	}
	free(s->node);
	free(s->node_buckets);
	free(s->heap);
	free(s->score_batch);
	s->node = NULL;
	s->nnodes = s->node_cap = 0;
}
