// SPDX-License-Identifier: GPL-2.0
/*
 * The extender's server glue (see extender.h): the webhook's epoll server
 * answers the requests, its tick drives the agent-pod informer, and each
 * request refreshes the scores it needs, in rounds of at most SCORER_ROUND
 * agents under one deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent_client.h"
#include "extender.h"
#include "log.h"
#include "kube_extender.h"
#include "server.h"

#define EXT_BUCKETS 8192

/* One node's last answer. */
struct ext_node {
	char name[SCHED_NAME_LEN];
	struct ks_agent_ep agent;
	bool have_score;
	struct ks_agent_score score;
	char err[128];
	long long at_ms;
	unsigned int failures;
	struct ext_node *hnext;
};

struct ext {
	const struct sched_opts *o;
	struct informer agents;
	struct agent_ent *ag;
	int nag, capag;
	unsigned long *ag_gen;
	struct ext_node **buckets;
	unsigned long long requests;
	struct extender_metrics *m;
};

#define COUNT(x, field, n) __atomic_fetch_add(&(x)->m->field, (n), __ATOMIC_RELAXED)

static unsigned int hash_of(const char *s)
{
	unsigned int h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct ext_node *node_get(struct ext *x, const char *name)
{
	struct ext_node **pp = &x->buckets[hash_of(name) % EXT_BUCKETS];

	while (*pp && strcmp((*pp)->name, name))
		pp = &(*pp)->hnext;
	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (*pp)
			snprintf((*pp)->name, sizeof((*pp)->name), "%s", name);
	}
	return *pp;
}

static const struct ks_agent_ep *agent_of(const struct ext *x, const char *node)
{
	int i;

	for (i = 0; i < x->nag; i++)
		if (!strcmp(x->ag[i].ep.node, node))
			return &x->ag[i].ep;
	return NULL;
}

static void agent_drop(struct ext *x, int i)
{
	x->ag[i] = x->ag[--x->nag];
	x->ag_gen[i] = x->ag_gen[x->nag];
}

/* The agent pods come from a watch with the agents' label selector. */
static void agent_apply(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j,
			unsigned long gen)
{
	struct ext *x = arg;
	char key[2 * SCHED_NAME_LEN], ns[SCHED_NAME_LEN] = "", name[SCHED_NAME_LEN] = "", err[256];
	struct ks_agent_ep ep;
	int i, rc;

	(void)json;
	(void)len;
	ks_json_string(j, ks_json_path(j, "metadata.namespace"), ns, sizeof(ns));
	ks_json_string(j, ks_json_path(j, "metadata.name"), name, sizeof(name));
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	for (i = 0; i < x->nag; i++)
		if (!strcmp(x->ag[i].pod_key, key)) {
			agent_drop(x, i);
			break;
		}
	if (!strcmp(type, "DELETED"))
		return;
	rc = ks_agent_from_pod(j, 0, x->o->agent_port, &ep, err, sizeof(err));
	if (rc) {
		if (rc != -ENOENT)
			ks_warn("agent pod skipped", "pod=%s err=\"%s\"", key, err);
		return;
	}
	if (x->nag == x->capag) {
		int cap = x->capag ? 2 * x->capag : 64;
		struct agent_ent *na = realloc(x->ag, (size_t)cap * sizeof(*na));
		unsigned long *ng = realloc(x->ag_gen, (size_t)cap * sizeof(*ng));

		if (na)
			x->ag = na;
		if (ng)
			x->ag_gen = ng;
		if (!na || !ng) {
			ks_err("out of memory", "what=agent%s", "");
			return;
		}
		x->capag = cap;
	}
	snprintf(x->ag[x->nag].pod_key, sizeof(x->ag[0].pod_key), "%s", key);
	x->ag[x->nag].ep = ep;
	x->ag_gen[x->nag++] = gen;
}

static void agent_synced(void *arg, unsigned long gen)
{
	struct ext *x = arg;
	int i;

	for (i = x->nag - 1; i >= 0; i--)
		if (x->ag_gen[i] < gen)
			agent_drop(x, i);
}

static const struct informer_ops agent_ops = { .apply = agent_apply, .synced = agent_synced };

static long long ttl_of(const struct ext *x, const struct ext_node *e)
{
	long long ttl = x->o->score_ttl_ms ?: 1;
	unsigned int n = e->failures;

	while (n-- > 0 && ttl < 30000)
		ttl *= 2;
	return ttl < 30000 ? ttl : 30000;
}

/* Ask the agents of the nodes whose score is older than its TTL. */
static void refresh(struct ext *x, struct ext_node **nodes, int n)
{
	struct ks_agent_get *g = calloc(SCORER_ROUND, sizeof(*g));
	struct ext_node **which = calloc(SCORER_ROUND, sizeof(*which));
	long long now = informer_now_ms();
	int i = 0, k, m;

	if (!g || !which) {
		ks_err("out of memory", "what=extender_scores n=%d", n);
		goto out;
	}
	while (i < n) {
		for (m = 0; i < n && m < SCORER_ROUND; i++) {
			struct ext_node *e = nodes[i];
			const struct ks_agent_ep *ep = agent_of(x, e->name);

			if (!ep) {
				e->have_score = false;
				snprintf(e->err, sizeof(e->err), "no ksense agent pod runs on this node");
				continue;
			}
			if (strcmp(e->agent.host, ep->host) || e->agent.port != ep->port) {
				e->agent = *ep;
				e->failures = 0;
				e->at_ms = 0;
			}
			if (e->at_ms && now - e->at_ms < ttl_of(x, e))
				continue;
			memset(&g[m], 0, sizeof(g[m]));
			g[m].host = e->agent.host;
			g[m].port = e->agent.port;
			g[m].path = "/score";
			which[m++] = e;
		}
		if (!m)
			continue;
		COUNT(x, agent_requests, (unsigned long long)m);
		ks_agent_get_many(g, m, x->o->score_timeout_ms);
		now = informer_now_ms();
		for (k = 0; k < m; k++) {
			struct ext_node *e = which[k];
			char err[256];

			if (ks_agent_score_from(&g[k], &e->score, err, sizeof(err))) {
				if (e->have_score || strcmp(e->err, err))
					ks_warn("node has no score", "node=%s err=\"%s\"", e->name, err);
				e->have_score = false;
				e->failures++;
				COUNT(x, agent_failures, 1);
				snprintf(e->err, sizeof(e->err), "%.127s", err);
			} else {
				e->have_score = true;
				e->failures = 0;
				e->err[0] = '\0';
			}
			e->at_ms = now;
			ks_agent_get_free(&g[k]);
		}
	}
out:
	free(g);
	free(which);
}

static void answer(struct ext *x, const struct ks_http_request *req, bool filter, struct ks_response *resp)
{
	struct ks_ext_verdict *v = NULL;
	struct ext_node **nodes = NULL;
	struct ks_ext_args a;
	int *score = NULL, i, rc, passed = 0;
	char err[512];

	rc = ks_ext_args_parse(req->body, req->body_len, &a, err, sizeof(err));
	if (rc) {
		COUNT(x, bad_requests, 1);
		ks_warn("extender: bad request", "path=%s err=\"%s\"", req->path, err);
		ks_response_error(resp, rc == -ENOMEM ? 500 : 400, err);
		goto out;
	}
	nodes = calloc((size_t)a.n + 1, sizeof(*nodes));
	v = calloc((size_t)a.n + 1, sizeof(*v));
	score = calloc((size_t)a.n + 1, sizeof(*score));
	if (!nodes || !v || !score) {
		ks_response_error(resp, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		nodes[i] = node_get(x, a.names[i]);
		if (!nodes[i]) {
			ks_response_error(resp, 500, "out of memory");
			goto out;
		}
	}
	refresh(x, nodes, a.n);
	for (i = 0; i < a.n; i++) {
		struct ext_node *e = nodes[i];

		if (e->have_score && e->score.deny) {
			v[i].unresolvable = true;
			snprintf(v[i].reason, sizeof(v[i].reason),
				 "ksense: the node's kernel signals say deny (score %u, band %s)", e->score.score,
				 e->score.band[0] ? e->score.band : "?");
		} else {
			v[i].pass = true;
			passed++;
		}
		score[i] = e->have_score && !e->score.deny ? ks_ext_priority_of(e->score.score) : 0;
	}
	rc = filter ? ks_ext_filter_result(&a, v, &resp->body) : ks_ext_priorities(&a, score, &resp->body);
	if (rc) {
		ks_response_error(resp, 500, "the answer does not fit the response limit");
		goto out;
	}
	resp->status = 200;
	ks_debug(filter ? "extender filter" : "extender prioritize", "pod=%s/%s nodes=%d passed=%d by_name=%d",
		 a.pod_ns, a.pod_name, a.n, passed, a.by_name);
out:
	free(nodes);
	free(v);
	free(score);
	ks_ext_args_free(&a);
}

/* kube-scheduler posts to <urlPrefix>/<verb>: any prefix is fine. */
static bool verb_is(const char *path, const char *verb)
{
	size_t pl = strlen(path), vl = strlen(verb);

	return pl >= vl + 1 && path[pl - vl - 1] == '/' && !strcmp(path + pl - vl, verb);
}

static void handle(void *app, const struct ks_http_request *req, bool tls, struct ks_response *resp)
{
	struct ext *x = app;
	bool filter = verb_is(req->path, "filter"), prio = verb_is(req->path, "prioritize");

	(void)tls;
	x->requests++;
	if (!strcmp(req->path, "/healthz")) {
		resp->content_type = "text/plain";
		ks_buf_printf(&resp->body, "%s\n", x->agents.synced ? "ok" : "listing agents");
		resp->status = x->agents.synced ? 200 : 503;
		return;
	}
	if (!filter && !prio) {
		ks_response_error(resp, 404, "no such path: kube-scheduler's extender posts to <urlPrefix>/filter and "
				  "<urlPrefix>/prioritize");
		return;
	}
	if (strcmp(req->method, "POST")) {
		ks_response_error(resp, 405, "the extender verbs take POST");
		snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: POST\r\n");
		return;
	}
	COUNT(x, filters, filter);
	COUNT(x, prioritizes, prio);
	answer(x, req, filter, resp);
}

static void tick(void *app)
{
	struct ext *x = app;

	long long now = informer_now_ms();

	informer_step(&x->agents, now);
	__atomic_store_n(&x->m->tick_ms, now, __ATOMIC_RELAXED);
	__atomic_store_n(&x->m->agents_synced, x->agents.synced, __ATOMIC_RELAXED);
}

int sched_extender_run(const struct sched_opts *o, const struct extender_opts *eo, struct kube_client *kc,
		       struct extender_metrics *m)
{
	struct ks_server_opts so;
	struct ks_server_hooks h;
	struct ext x = { .o = o, .m = m };
	char path[2048], sel[512], esc[1536];
	int rc, i;

	x.buckets = calloc(EXT_BUCKETS, sizeof(*x.buckets));
	if (!x.buckets) {
		ks_err("out of memory", "what=extender%s", "");
		return 1;
	}
	snprintf(sel, sizeof(sel), "%s=%s", o->agent_label_key, o->agent_label_value);
	kube_query_escape(sel, esc, sizeof(esc));
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?labelSelector=%s", o->agent_namespace, esc);
	informer_init(&x.agents, "agent pods", path, kc, &agent_ops, &x);
	ks_server_opts_defaults(&so);
	so.tls_addr = eo->tls_addr;
	so.tls_port = eo->tls_port;
	so.cert_path = eo->cert_path;
	so.key_path = eo->key_path;
	so.agent_addr = eo->addr;
	so.agent_port = eo->port;
	so.tick_ms = 100;
	so.request_timeout_ms = 30000;
	so.max_body_bytes = KS_EXT_MAX_BYTES;
	so.max_response_bytes = KS_EXT_MAX_BYTES;
	/* the buffer budget holds one largest ExtenderArgs (its only client
	 * is kube-scheduler, one request at a time per profile) */
	so.budget_bytes = KS_EXT_MAX_BYTES + (4u << 20);
	memset(&h, 0, sizeof(h));
	h.app = &x;
	h.handle = handle;
	h.tick = tick;
	ks_info("extender starting", "addr=%s port=%d tls_addr=%s tls_port=%d agents=\"%s\"", eo->addr ? eo->addr : "-",
		eo->port, eo->tls_addr ? eo->tls_addr : "-", eo->tls_port, path);
	tick(&x);
	rc = ks_server_run(&so, &h);
	informer_close(&x.agents);
	ks_info("extender stopped", "requests=%llu filters=%llu prioritizes=%llu bad_requests=%llu agent_requests=%llu",
		x.requests, m->filters, m->prioritizes, m->bad_requests, m->agent_requests);
	for (i = 0; i < EXT_BUCKETS; i++)
		while (x.buckets[i]) {
			struct ext_node *e = x.buckets[i];

			x.buckets[i] = e->hnext;
			free(e);
		}
	free(x.buckets);
	free(x.ag);
	free(x.ag_gen);
	return rc ? 1 : 0;
}
