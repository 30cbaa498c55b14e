// SPDX-License-Identifier: GPL-2.0
/*
 * One poll: read the Deployments, find the agents, ask all of them for
 * /pods at once under one deadline, fold each reported pod into its
 * Deployment, run the rules.  An agent that is down, slow or talks
 * nonsense costs its node's pods for this poll, nothing more; the API
 * being unreachable fails the poll (the caller backs off).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent_client.h"
#include "kube.h"
#include "log.h"
#include "scaler.h"

static void fold_report(struct ks_scaler *s, const struct ks_agent_get *g, const struct ks_agent_ep *ep)
{
	struct ks_pods_report r;
	struct ks_deploy *d;
	char err[256];
	int i, k;

	if (g->rc) {
		ks_warn("agent skipped: no answer", "node=%s agent=%s:%d err=\"%s\"", ep->node, ep->host, ep->port,
			g->err);
		return;
	}
	if (g->status != 200) {
		for (k = 0; k < (int)g->body_len && k < 100 && g->body[k] >= ' ' && g->body[k] < 127; k++)
			;
		ks_warn("agent skipped: error status", "node=%s agent=%s:%d status=%d body=\"%.*s\"", ep->node,
			ep->host, ep->port, g->status, k, g->body ? g->body : "");
		return;
	}
	if (ks_pods_parse(g->body, g->body_len, &r, err, sizeof(err))) {
		ks_warn("agent skipped: malformed /pods", "node=%s agent=%s:%d err=\"%s\"", ep->node, ep->host,
			ep->port, err);
		return;
	}
	s->agents_ok++;
	if (r.skipped)
		ks_warn("agent report: pod entries skipped", "node=%s agent=%s:%d skipped=%d first=\"%s\"", ep->node,
			ep->host, ep->port, r.skipped, r.first_skip);
	for (i = 0; i < r.npods; i++) {
		const struct ks_pod_report *p = &r.pods[i];

		if (s->cfg.namespace_[0] && strcmp(p->namespace_, s->cfg.namespace_))
			continue;
		s->pods_seen++;
		d = ks_cluster_pod_deploy(s, p);
		if (!d)
			continue;
		s->pods_mapped++;
		ks_rules_add_pod(d, p);
		/* the pods whose tasks ended its waits, as Deployments */
		for (k = 0; p->cls == KS_CLASS_OFFCPU && k < p->ndeps; k++) {
			struct ks_pod_report dp;

			memset(&dp, 0, sizeof(dp));
			snprintf(dp.uid, sizeof(dp.uid), "%s", p->deps[k].uid);
			snprintf(dp.namespace_, sizeof(dp.namespace_), "%s", p->deps[k].namespace_);
			snprintf(dp.name, sizeof(dp.name), "%s", p->deps[k].name);
			ks_rules_add_dep(d, ks_cluster_pod_deploy(s, &dp), &p->deps[k]);
		}
		ks_debug("pod", "node=%s pod=%s/%s deployment=%s class=%s oncpu_permille=%.0f", ep->node,
			 p->namespace_, p->name, d->name, ks_class_name(p->cls), p->oncpu_permille);
	}
	ks_pods_report_free(&r);
}

int ks_poll(struct ks_scaler *s, double now_s, char *err, size_t errlen)
{
	struct ks_agent_ep *eps = NULL;
	struct ks_agent_get *g = NULL;
	int rc, n = 0, i;

	s->poll++;
	s->agents = s->agents_ok = s->pods_seen = s->pods_mapped = s->actions = 0;
	rc = ks_cluster_list(s, err, errlen);
	if (rc)
		goto out;
	rc = ks_cluster_agents(s, &eps, &n, err, errlen);
	if (rc)
		goto out;
	s->agents = (unsigned int)n;
	if (n > 0) {
		g = calloc((size_t)n, sizeof(*g));
		if (!g) {
			snprintf(err, errlen, "out of memory for %d agent requests", n);
			rc = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++) {
			g[i].host = eps[i].host;
			g[i].port = eps[i].port;
			g[i].path = "/pods";
			g[i].max_bytes = KS_PODS_BODY_MAX;
		}
		ks_agent_get_many(g, n, s->cfg.agent_timeout_ms);
		for (i = 0; i < n; i++)
			fold_report(s, &g[i], &eps[i]);
	} else {
		ks_warn("no serving agent pods", "namespace=%s selector=\"%s\"", s->cfg.agent_namespace,
			s->cfg.agent_selector);
	}
	ks_rules_run(s, now_s);
	ks_cluster_forget(s, now_s);
	ks_debug("poll", "poll=%llu deployments=%d agents=%u agents_ok=%u pods=%u pods_mapped=%u actions=%u", s->poll,
		 s->ndeps, s->agents, s->agents_ok, s->pods_seen, s->pods_mapped, s->actions);
out:
	if (g)
		for (i = 0; i < n; i++)
			ks_agent_get_free(&g[i]);
	free(g);
	free(eps);
	return rc;
}
