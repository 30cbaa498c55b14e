// SPDX-License-Identifier: GPL-2.0
/*
 * The only writes ksense-scaler makes: a merge PATCH of the Deployment's
 * spec.replicas together with its ksense.io/last-scale annotation (the
 * cooldown's memory, which must survive restarts and be shared by
 * replicas, as HPA keeps status.lastScaleTime), and core v1 Events.  Both
 * are sent only while the Lease proves this replica leads.  A scale
 * carries the Deployment's resourceVersion, so a
 * Deployment changed since this poll's list (someone ran kubectl scale)
 * gets a 409 instead of being overwritten; the next poll decides again on
 * fresh data.  Events about a lasting condition (a refusal, a wait, a bad
 * annotation) are posted once per --event-interval-s per Deployment and
 * reason, and then the same Event's count and lastTimestamp are patched,
 * as the kubelet's event correlator does: `kubectl describe` shows
 * "(x42 over 10m)" instead of 300 rows.  Scale Events are never folded:
 * each one records a change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "kube.h"
#include "kube_event.h"
#include "kube_lease.h"
#include "log.h"
#include "metrics.h"
#include "scaler.h"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int ks_act_scale(struct ks_scaler *s, struct ks_deploy *d, int to, const char *reason, const char *msg,
		 const char *evidence_kv, double now_s)
{
	char path[512], err[512], smsg[256], when[40], ann[512];
	struct ks_buf body, resp, annb;
	int status = 0, rc;
	double wall = ks_wall_s();
	time_t secs = (time_t)wall;
	struct tm tm;

	if (s->cfg.dry_run) {
		ks_info("would scale", "dry_run=1 deployment=%s/%s from=%d to=%d reason=%s %s", d->ns, d->name,
			d->replicas, to, reason, evidence_kv);
		return 0;
	}
	/* a write from a replica that may no longer lead could land after
	 * another one took over: not sent */
	if (s->lease && !kube_lease_held_for(s->lease, mono_ms(), s->io_timeout_ms)) {
		ks_warn("not scaling: not leading", "deployment=%s/%s from=%d to=%d", d->ns, d->name, d->replicas, to);
		return -EAGAIN;
	}
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ks_buf_init(&annb, 1024);
	ks_buf_printf(&annb, "{\"time\":\"%s\",\"direction\":\"%s\",\"from\":%d,\"to\":%d,\"by\":", when,
		      to > d->replicas ? "up" : "down", d->replicas, to);
	ks_buf_json_str(&annb, s->instance);
	ks_buf_printf(&annb, "}");
	snprintf(ann, sizeof(ann), "%s", annb.data);
	ks_buf_free(&annb);
	ks_buf_init(&body, 4096);
	ks_buf_init(&resp, 1u << 20);
	/* the replicas and the record of this scale in one write: a crash
	 * cannot leave one without the other */
	ks_buf_printf(&body, "{\"metadata\":{\"resourceVersion\":");
	ks_buf_json_str(&body, d->rv);
	ks_buf_printf(&body, ",\"annotations\":{");
	ks_buf_json_str(&body, KS_ANN_LAST_SCALE);
	ks_buf_printf(&body, ":");
	ks_buf_json_str(&body, ann);
	ks_buf_printf(&body, "}},\"spec\":{\"replicas\":%d}}", to);
	snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/deployments/%s", d->ns, d->name);
	kube_client_set_timeouts(s->kube, s->io_timeout_ms < 3000 ? s->io_timeout_ms : 3000, s->io_timeout_ms);
	rc = kube_request(s->kube, "PATCH", path, "application/merge-patch+json", body.data, body.len, &status,
			  &resp, err, sizeof(err));
	kube_client_set_timeouts(s->kube, 3000, 10000);
	if (rc) {
		ks_err("scale failed", "deployment=%s/%s from=%d to=%d err=\"%s\"", d->ns, d->name, d->replicas,
		       to, err);
		goto out;
	}
	if (status == 409) {
		ks_warn("scale conflict: the Deployment changed since it was listed; deciding again next poll",
			"deployment=%s/%s from=%d to=%d", d->ns, d->name, d->replicas, to);
		rc = -EEXIST;
		goto out;
	}
	if (status != 200) {
		rc = kube_status_errno(status);
		ks_err("scale failed", "deployment=%s/%s from=%d to=%d status=%d err=\"%s\"", d->ns, d->name,
		       d->replicas, to, status, kube_status_message(resp.data, resp.len, smsg, sizeof(smsg)));
		goto out;
	}
	ks_info("scaled", "deployment=%s/%s from=%d to=%d reason=%s %s", d->ns, d->name, d->replicas, to,
		reason, evidence_kv);
	s->actions++;
	d->have_last_scale = true;
	d->last_scale_wall_s = (double)secs;
	d->last_scale_dir = to > d->replicas ? 1 : -1;
	d->replicas = to;
	/* a scale is a change: its own Event, never folded into an earlier one */
	ks_act_event(s, d, "Normal", reason, msg, NULL, now_s);
out:
	ks_buf_free(&body);
	ks_buf_free(&resp);
	return rc;
}

static struct ks_event_state *event_state(struct ks_scaler *s, const struct ks_deploy *d, const char *reason)
{
	struct ks_event_state *e;
	char key[400];
	int i;

	snprintf(key, sizeof(key), "%s/%s/%s", d->ns, d->name, reason);
	for (i = 0; i < s->nevents; i++)
		if (!strcmp(s->events[i].key, key))
			return &s->events[i];
	if (s->nevents == s->capevents) {
		int ncap = s->capevents ? s->capevents * 2 : 16;
		void *q = realloc(s->events, (size_t)ncap * sizeof(*s->events));

		if (!q)
			return NULL;
		s->events = q;
		s->capevents = ncap;
	}
	e = &s->events[s->nevents++];
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->ns, sizeof(e->ns), "%s", d->ns);
	return e;
}

/* PATCH the Event already posted (patch_name) or POST a new one (its name
 * into name_out); the HTTP status, or negative errno on transport failure. */
static int post_event(struct ks_scaler *s, const struct ks_deploy *d, const char *type, const char *reason,
		      const char *msg, unsigned int count, const char *patch_name, char *name_out,
		      size_t name_len, char *err, size_t errlen)
{
	const struct kube_event_ref ref = {
		.api_version = "apps/v1", .kind = "Deployment", .ns = d->ns, .name = d->name, .uid = d->uid,
		.resource_version = d->rv,
	};
	const struct kube_event ev = {
		.type = type, .reason = reason, .message = msg, .component = "ksense-scaler",
		.instance = s->instance, .count = count,
	};

	if (patch_name)
		return kube_event_bump(s->kube, d->ns, patch_name, count, msg, err, errlen);
	return kube_event_post(s->kube, &ref, &ev, name_out, name_len, err, errlen);
}

void ks_act_event(struct ks_scaler *s, const struct ks_deploy *d, const char *type, const char *reason,
		  const char *msg, const char *evidence_kv, double now_s)
{
	struct ks_event_state *e = NULL, one;
	enum ks_log_level lvl = strcmp(type, "Warning") ? KS_LOG_INFO : KS_LOG_WARN;
	char err[512];
	int st;

	ks_scaler_metrics_decision(s->metrics, d, reason);
	if (evidence_kv) { /* a lasting condition: rate-limited */
		e = event_state(s, d, reason);
		if (!e) {
			ks_err("out of memory for Event state", "deployment=%s/%s reason=%s", d->ns, d->name, reason);
			return;
		}
		e->seen_poll = s->poll;
		e->count++;
		if (e->last_post_s > 0 && now_s - e->last_post_s < s->cfg.event_interval_s) {
			ks_debug("event folded", "deployment=%s/%s reason=%s count=%u", d->ns, d->name, reason, e->count);
			return;
		}
		ks_log(lvl, msg, "deployment=%s/%s reason=%s type=%s%s %s", d->ns, d->name, reason, type,
		       s->cfg.dry_run ? " dry_run=1" : "", evidence_kv);
	} else {
		memset(&one, 0, sizeof(one));
		one.count = 1;
		e = &one;
	}
	if (s->cfg.dry_run) {
		ks_info("would post event", "dry_run=1 deployment=%s/%s reason=%s type=%s", d->ns, d->name, reason,
			type);
		e->last_post_s = now_s;
		return;
	}
	if (e->event_name[0]) {
		st = post_event(s, d, type, reason, msg, e->count, e->event_name, NULL, 0, err, sizeof(err));
		if (st == 404) /* expired or deleted: start a new one */
			e->event_name[0] = '\0';
		else
			goto done;
	}
	st = post_event(s, d, type, reason, msg, e->count, NULL, e->event_name, sizeof(e->event_name), err,
			sizeof(err));
done:
	if (st < 200 || st >= 300) {
		/* not marked as posted: the next poll tries again */
		ks_warn("event not posted", "deployment=%s/%s reason=%s status=%d err=\"%s\"", d->ns, d->name, reason,
			st, err);
		if (st == 409 || st == 404)
			e->event_name[0] = '\0';
		return;
	}
	e->last_post_s = now_s;
}
