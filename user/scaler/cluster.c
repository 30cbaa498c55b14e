// SPDX-License-Identifier: GPL-2.0
/*
 * What the API server says, for one poll: the Deployments (replicas,
 * resourceVersion, annotations), ReplicaSets and HorizontalPodAutoscalers
 * (an HPA on a Deployment keeps ksense off it) are listed afresh every
 * poll, because the replica count and the annotations must be current
 * when a scale is decided, and a list every 2 s is cheap next to a watch's
 * bookkeeping.  Pods are not listed: only the pods the agents report are
 * looked up, once each, since a pod's controller never changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent_client.h"
#include "kube.h"
#include "log.h"
#include "scaler.h"

/* Grow *arr (of elements of sz bytes) to hold one more; the new element,
 * zeroed, or NULL. */
static void *push(void *arr_p, int *n, int *cap, size_t sz)
{
	void **arr = arr_p;
	char *p;

	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		void *q = realloc(*arr, (size_t)ncap * sz);

		if (!q)
			return NULL;
		*arr = q;
		*cap = ncap;
	}
	p = (char *)*arr + (size_t)(*n)++ * sz;
	memset(p, 0, sz);
	return p;
}

static void str_at(const struct ks_json *j, int root, const char *path, char *out, size_t outlen)
{
	if (ks_json_string(j, ks_json_path_at(j, root, path), out, outlen))
		out[0] = '\0';
}

static int deploy_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct ks_scaler *s = arg;
	struct ks_deploy *d;
	int i;

	(void)len;
	if (!json) { /* the list restarted */
		s->ndeps = 0;
		return 0;
	}
	d = push(&s->deps, &s->ndeps, &s->capdeps, sizeof(*d));
	if (!d)
		return -ENOMEM;
	str_at(j, 0, "metadata.namespace", d->ns, sizeof(d->ns));
	str_at(j, 0, "metadata.name", d->name, sizeof(d->name));
	str_at(j, 0, "metadata.uid", d->uid, sizeof(d->uid));
	str_at(j, 0, "metadata.resourceVersion", d->rv, sizeof(d->rv));
	/* the API defaults spec.replicas to 1; absent only in a hand-made object */
	d->replicas = 1;
	i = ks_json_path_at(j, 0, "spec.replicas");
	if (ks_json_is_number(j, i)) {
		long v = strtol(j->src + j->tok[i].start, NULL, 10);

		d->replicas = v < 0 ? 0 : v > KS_REPLICAS_LIMIT * 10L ? KS_REPLICAS_LIMIT * 10 : (int)v;
	}
	if (!d->ns[0] || !d->name[0]) {
		s->ndeps--;
		return 0;
	}
	ks_deploy_annotations(d, j, 0);
	return 0;
}

static int rs_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct ks_scaler *s = arg;
	char kind[64];
	struct ks_rs *r;
	int refs, n, e;

	(void)len;
	if (!json) {
		s->nrss = 0;
		return 0;
	}
	r = push(&s->rss, &s->nrss, &s->caprss, sizeof(*r));
	if (!r)
		return -ENOMEM;
	str_at(j, 0, "metadata.namespace", r->ns, sizeof(r->ns));
	str_at(j, 0, "metadata.name", r->name, sizeof(r->name));
	refs = ks_json_path_at(j, 0, "metadata.ownerReferences");
	for (n = 0; (e = ks_json_index(j, refs, n)) >= 0; n++) {
		bool is_ctl = false;

		str_at(j, e, "kind", kind, sizeof(kind));
		ks_json_bool(j, ks_json_member(j, e, "controller"), &is_ctl);
		if (is_ctl && !strcmp(kind, "Deployment")) {
			str_at(j, e, "name", r->deploy, sizeof(r->deploy));
			break;
		}
	}
	if (!r->ns[0] || !r->name[0] || !r->deploy[0])
		s->nrss--; /* not a Deployment's: never needed */
	return 0;
}

/* Deployments are listed first: an HPA marks the one it targets. */
static int hpa_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct ks_scaler *s = arg;
	char ns[64], name[254], kind[64], api[64], target[254];
	struct ks_deploy *d;
	int i;

	(void)len;
	if (!json) {
		for (i = 0; i < s->ndeps; i++)
			s->deps[i].hpa[0] = '\0';
		return 0;
	}
	str_at(j, 0, "metadata.namespace", ns, sizeof(ns));
	str_at(j, 0, "metadata.name", name, sizeof(name));
	str_at(j, 0, "spec.scaleTargetRef.kind", kind, sizeof(kind));
	str_at(j, 0, "spec.scaleTargetRef.apiVersion", api, sizeof(api));
	str_at(j, 0, "spec.scaleTargetRef.name", target, sizeof(target));
	if (strcmp(kind, "Deployment") || (api[0] && strncmp(api, "apps/", 5)))
		return 0;
	d = ks_cluster_find(s, ns, target);
	if (d)
		snprintf(d->hpa, sizeof(d->hpa), "%s/%s", ns, name);
	return 0;
}

static void path_for(const struct ks_scaler *s, const char *group_path, const char *res, char *out, size_t n)
{
	if (s->cfg.namespace_[0])
		snprintf(out, n, "%s/namespaces/%s/%s", group_path, s->cfg.namespace_, res);
	else
		snprintf(out, n, "%s/%s", group_path, res);
}

int ks_cluster_list(struct ks_scaler *s, char *err, size_t errlen)
{
	char path[256], rv[KUBE_RV_MAX];
	int rc;

	s->ndeps = 0;
	s->nrss = 0;
	path_for(s, "/apis/apps/v1", "deployments", path, sizeof(path));
	rc = kube_list(s->kube, path, 500, deploy_item, s, rv, sizeof(rv), err, errlen);
	if (rc)
		return rc;
	path_for(s, "/apis/apps/v1", "replicasets", path, sizeof(path));
	rc = kube_list(s->kube, path, 500, rs_item, s, rv, sizeof(rv), err, errlen);
	if (rc)
		return rc;
	/* an HPA on the same Deployment: not listing them is not knowing, so
	 * it fails the poll (no action); a cluster without the API has none */
	path_for(s, "/apis/autoscaling/v2", "horizontalpodautoscalers", path, sizeof(path));
	rc = kube_list(s->kube, path, 500, hpa_item, s, rv, sizeof(rv), err, errlen);
	if (rc == -ENOENT) {
		ks_debug("no autoscaling/v2 API: no HorizontalPodAutoscalers", "err=\"%s\"", err);
		rc = 0;
	}
	return rc;
}

struct ks_deploy *ks_cluster_find(struct ks_scaler *s, const char *ns, const char *name)
{
	int i;

	for (i = 0; i < s->ndeps; i++)
		if (!strcmp(s->deps[i].ns, ns) && !strcmp(s->deps[i].name, name))
			return &s->deps[i];
	return NULL;
}

static struct ks_pod_owner *owner_lookup(struct ks_scaler *s, const struct ks_pod_report *p)
{
	int i;

	for (i = 0; i < s->nowners; i++) {
		struct ks_pod_owner *o = &s->owners[i];

		if (strcmp(o->ns, p->namespace_) || strcmp(o->name, p->name))
			continue;
		/* a recreated pod of the same name is another pod */
		if (p->uid[0] && strcmp(o->uid, p->uid))
			continue;
		return o;
	}
	return NULL;
}

/* GET the pod for its controller: 0 (o filled, rs "" when not
 * RS-controlled or gone), or a negative errno on a transport error. */
static int owner_fetch(struct ks_scaler *s, const struct ks_pod_report *p, struct ks_pod_owner *o)
{
	char path[512], err[512], msg[256], kind[64];
	struct ks_json j = { 0 };
	struct ks_buf b;
	int status = 0, rc, refs, n, e;

	ks_buf_init(&b, 4u << 20);
	snprintf(o->ns, sizeof(o->ns), "%s", p->namespace_);
	snprintf(o->name, sizeof(o->name), "%s", p->name);
	snprintf(o->uid, sizeof(o->uid), "%s", p->uid);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", p->namespace_, p->name);
	rc = kube_request(s->kube, "GET", path, NULL, NULL, 0, &status, &b, err, sizeof(err));
	if (rc) {
		ks_warn("pod lookup failed", "pod=%s/%s err=\"%s\"", p->namespace_, p->name, err);
		goto out;
	}
	if (status == 404) {
		ks_debug("reported pod is gone", "pod=%s/%s", p->namespace_, p->name);
		goto out;
	}
	if (status != 200) {
		ks_warn("pod lookup failed", "pod=%s/%s status=%d err=\"%s\"", p->namespace_, p->name, status,
			kube_status_message(b.data, b.len, msg, sizeof(msg)));
		rc = kube_status_errno(status);
		goto out;
	}
	rc = ks_json_parse_limits(&j, b.data, b.len, b.len + 1, KS_JSON_MAX_TOKENS, err, sizeof(err));
	if (rc) {
		ks_warn("pod lookup: bad JSON", "pod=%s/%s err=\"%s\"", p->namespace_, p->name, err);
		goto out;
	}
	str_at(&j, 0, "metadata.uid", o->uid, sizeof(o->uid));
	if (p->uid[0] && strcmp(o->uid, p->uid)) {
		ks_debug("reported pod was recreated under its name", "pod=%s/%s reported_uid=%s api_uid=%s",
			 p->namespace_, p->name, p->uid, o->uid);
		snprintf(o->uid, sizeof(o->uid), "%s", p->uid);
		goto out;
	}
	refs = ks_json_path(&j, "metadata.ownerReferences");
	for (n = 0; (e = ks_json_index(&j, refs, n)) >= 0; n++) {
		bool ctl = false;

		str_at(&j, e, "kind", kind, sizeof(kind));
		ks_json_bool(&j, ks_json_member(&j, e, "controller"), &ctl);
		if (ctl && !strcmp(kind, "ReplicaSet")) {
			str_at(&j, e, "name", o->rs, sizeof(o->rs));
			break;
		}
	}
out:
	ks_json_free(&j);
	ks_buf_free(&b);
	return rc;
}

struct ks_deploy *ks_cluster_pod_deploy(struct ks_scaler *s, const struct ks_pod_report *p)
{
	struct ks_pod_owner *o = owner_lookup(s, p), tmp;
	struct ks_deploy *d;
	int i;

	if (!o) {
		memset(&tmp, 0, sizeof(tmp));
		/* a transport error is not cached: the next poll asks again */
		if (owner_fetch(s, p, &tmp))
			return NULL;
		o = push(&s->owners, &s->nowners, &s->capowners, sizeof(*o));
		if (!o)
			return NULL;
		*o = tmp;
	}
	o->seen_poll = s->poll;
	if (!o->rs[0])
		return NULL;
	for (i = 0; i < s->nrss; i++) {
		if (strcmp(s->rss[i].ns, o->ns) || strcmp(s->rss[i].name, o->rs))
			continue;
		d = ks_cluster_find(s, o->ns, s->rss[i].deploy);
		if (!d)
			ks_debug("pod's Deployment is gone", "pod=%s/%s replicaset=%s deployment=%s", o->ns,
				 o->name, o->rs, s->rss[i].deploy);
		return d;
	}
	ks_debug("pod's ReplicaSet is gone or has no Deployment", "pod=%s/%s replicaset=%s", o->ns, o->name,
		 o->rs);
	return NULL;
}

void ks_cluster_forget(struct ks_scaler *s, double now_s)
{
	int i, k;

	/* owners: a pod unreported for a few polls is gone or moved */
	for (i = k = 0; i < s->nowners; i++)
		if (s->owners[i].seen_poll + 3 >= s->poll)
			s->owners[k++] = s->owners[i];
	s->nowners = k;
	/* states: only while the Deployment exists */
	for (i = k = 0; i < s->nstates; i++)
		if (s->states[i].seen_poll == s->poll)
			s->states[k++] = s->states[i];
	s->nstates = k;
	/* Events: once the condition stopped and its rate limit ran out */
	for (i = k = 0; i < s->nevents; i++)
		if (s->events[i].seen_poll + 2 >= s->poll || now_s - s->events[i].last_post_s < s->cfg.event_interval_s)
			s->events[k++] = s->events[i];
	s->nevents = k;
	/* ks_deploy.st points into states: valid only until here, and the
	 * next poll sets it again */
	for (i = 0; i < s->ndeps; i++)
		s->deps[i].st = NULL;
}

void ks_cluster_free(struct ks_scaler *s)
{
	free(s->deps);
	free(s->rss);
	free(s->owners);
	free(s->states);
	free(s->events);
	s->deps = NULL;
	s->rss = NULL;
	s->owners = NULL;
	s->states = NULL;
	s->events = NULL;
	s->ndeps = s->nrss = s->nowners = s->nstates = s->nevents = 0;
	s->capdeps = s->caprss = s->capowners = s->capstates = s->capevents = 0;
}

struct agents_ctx {
	struct ks_agent_ep *eps;
	int n, cap;
	int default_port;
};

static int agent_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct agents_ctx *c = arg;
	struct ks_agent_ep ep, *slot;
	char err[256];
	int rc;

	(void)len;
	if (!json) {
		c->n = 0;
		return 0;
	}
	rc = ks_agent_from_pod(j, 0, c->default_port, &ep, err, sizeof(err));
	if (rc == -ENOENT) {
		ks_debug("agent pod not serving", "err=\"%s\"", err);
		return 0;
	}
	if (rc) {
		ks_warn("agent pod skipped", "err=\"%s\"", err);
		return 0;
	}
	slot = push(&c->eps, &c->n, &c->cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = ep;
	return 0;
}

int ks_cluster_agents(struct ks_scaler *s, struct ks_agent_ep **eps, int *n, char *err, size_t errlen)
{
	struct agents_ctx c = { .default_port = s->cfg.agent_port };
	char path[1024], sel[768], rv[KUBE_RV_MAX];
	int rc;

	kube_query_escape(s->cfg.agent_selector, sel, sizeof(sel));
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods%s%s", s->cfg.agent_namespace,
		 sel[0] ? "?labelSelector=" : "", sel);
	rc = kube_list(s->kube, path, 500, agent_item, &c, rv, sizeof(rv), err, errlen);
	if (rc) {
		free(c.eps);
		return rc;
	}
	*eps = c.eps;
	*n = c.n;
	return 0;
}
