// SPDX-License-Identifier: GPL-2.0
/* The node's verdict as a Node condition and an optional taint (nodestate.h). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "names.h"
#include "buf.h"
#include "csvlog.h"
#include "json.h"
#include "kube.h"
#include "kube_event.h"
#include "log.h"
#include "nodestate.h"
#include "snapshot.h"
#include "pins.h"
#include "test_score.h"

#define SMP "application/strategic-merge-patch+json"
#define BACKOFF_CAP_MS 300000u

struct ks_nodestate {
	pthread_mutex_t mu;          /* want, have_want, stop */
	pthread_cond_t wake;
	struct ks_node_verdict want;
	bool have_want;
	bool stop;
	pthread_t th;
	bool running;
	struct kube_client *k;
	struct ks_nodestate_opts o;
	char node[254];
	/* the writer thread's own state */
	bool known;                  /* the node was read (cur_*, taints, rv) */
	char cur_status[16];         /* KernelStress status on the node, "" none */
	char cur_since[40];          /* its lastTransitionTime */
	char written_reason[64];
	unsigned long long last_write_ms;  /* the condition's, for the heartbeat */
	unsigned long long last_taint_ms;  /* the taint's last write */
	unsigned long long next_ok_ms;     /* no PATCH of the node before: one gate for all */
	unsigned int attempt;
	bool tainted;                /* our taint is on the node */
	struct ks_buf other_taints;  /* the node's other taints, JSON, comma separated */
	char rv[KUBE_RV_MAX];
};

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

/* ---- verdicts, on the event loop's thread ---- */

static void rule_reason(char *out, size_t len, const struct ksense_config *cfg, __u32 idx)
{
	static const char *const inputs[KSENSE_NR_INPUTS] = { "Friction", "Energy", "Cpu", "Psi" };
	static const char *const sets[] = { "", "Low", "Medium", "High" };
	size_t n = 0;
	int i;

	out[0] = '\0';
	if (idx < cfg->nr_rules && idx < KSENSE_MAX_RULES)
		for (i = 0; i < KSENSE_NR_INPUTS; i++) {
			__u8 w = ksense_when_get(&cfg->rules[idx].when, i);

			if (w > KSENSE_SET_ANY && w <= KSENSE_SET_HIGH && n < len)
				n += (size_t)snprintf(out + n, len - n, "%s%s", inputs[i], sets[w]);
		}
	if (!out[0] || n >= len)
		snprintf(out, len, "Rule%u", idx);
}

void ks_node_verdict_from_pins(struct ks_node_verdict *v)
{
	struct ksense_config cfg;
	struct ks_snapshot snap;
	const struct ksense_window *w = &snap.w;
	const struct ksense_decision *d = &snap.d;
	const struct ksense_verdict_rec *r = &w->verdict;
	__u64 now = ks_now_ns(), age_ms;
	char inputs[160];

	memset(v, 0, sizeof(*v));
	if (ks_read_config(&cfg) || ks_snapshot_read(&snap, KS_SNAP_DECISION) || !w->seq) {
		snprintf(v->reason, sizeof(v->reason), "NoKernelData");
		snprintf(v->message, sizeof(v->message), "ksense pins unreadable at %s (ksense load?)", ks_pin_root());
		return;
	}
	age_ms = now > w->end_ns ? (now - w->end_ns) / 1000000 : 0;
	if (age_ms > 3ull * cfg.window_ms + 1000) {
		snprintf(v->reason, sizeof(v->reason), "KernelDataStale");
		snprintf(v->message, sizeof(v->message), "last window closed %llu ms ago (window %u ms)",
			 (unsigned long long)age_ms, cfg.window_ms);
		return;
	}
	v->have = true;
	v->deny = r->verdict == KSENSE_VERDICT_DENY;
	v->score = r->score;
	if (v->deny)
		rule_reason(v->reason, sizeof(v->reason), &cfg, d->seq ? d->top_rule : KSENSE_MAX_RULES);
	else
		snprintf(v->reason, sizeof(v->reason), "KernelNotStressed");
	if (r->friction_valid)
		snprintf(inputs, sizeof(inputs), "friction %.1f, energy %.1f, cpu %.1f%%, psi %.1f%%",
			 r->friction_permille / 10.0, r->energy_permille / 10.0, r->cpu_permille / 10.0,
			 r->psi_permille / 10.0);
	else
		snprintf(inputs, sizeof(inputs), "cpu %.1f%%, psi %.1f%% (baseline warm-up)", r->cpu_permille / 10.0,
			 r->psi_permille / 10.0);
	snprintf(v->message, sizeof(v->message), "ksense score %u (%s band, %s%s): %s; run-queue p99 %.0f us; window %llu",
		 r->score, ks_band_name(r->band), v->deny ? "deny" : "allow", d->seq && d->latched ? ", latched" : "",
		 inputs, w->runq.p99_ns / 1000.0, (unsigned long long)w->seq);
}

void ks_node_verdict_from_test_file(const char *path, struct ks_node_verdict *v)
{
	unsigned int score = 0;
	bool deny = false;

	memset(v, 0, sizeof(*v));
	if (!ks_test_score_read(path, &score, &deny)) {
		snprintf(v->reason, sizeof(v->reason), "NoKernelData");
		snprintf(v->message, sizeof(v->message), "test score file unreadable");
		return;
	}
	v->have = true;
	v->deny = deny;
	v->score = score;
	snprintf(v->reason, sizeof(v->reason), "%s", v->deny ? "TestScoreDeny" : "KernelNotStressed");
	snprintf(v->message, sizeof(v->message), "ksense score %u (%s) from the test score file", score,
		 deny ? "deny" : "allow");
}

/* ---- the writer thread ---- */

static const char *status_of(const struct ks_node_verdict *v)
{
	return !v->have ? "Unknown" : v->deny ? "True" : "False";
}

/* The node in a PATCH response: our condition, our taint, the others, rv. */
static int read_node(struct ks_nodestate *s, const char *body, size_t len)
{
	int conds, taints, e, k;
	struct ks_json j;
	char err[256], type[64], key[256], effect[32];

	if (ks_json_parse(&j, body, len, err, sizeof(err))) {
		ks_warn("node state: the API's node is not JSON", "node=%s err=\"%s\"", s->node, err);
		return -EPROTO;
	}
	ks_json_string(&j, ks_json_path(&j, "metadata.resourceVersion"), s->rv, sizeof(s->rv));
	s->cur_status[0] = s->cur_since[0] = '\0';
	conds = ks_json_path(&j, "status.conditions");
	for (k = 0; ks_json_is_array(&j, conds) && (e = ks_json_index(&j, conds, k)) >= 0; k++)
		if (!ks_json_string(&j, ks_json_member(&j, e, "type"), type, sizeof(type)) &&
		    !strcmp(type, KS_NODE_CONDITION)) {
			ks_json_string(&j, ks_json_member(&j, e, "status"), s->cur_status, sizeof(s->cur_status));
			ks_json_string(&j, ks_json_member(&j, e, "lastTransitionTime"), s->cur_since,
				       sizeof(s->cur_since));
		}
	s->tainted = false;
	ks_buf_reset(&s->other_taints);
	taints = ks_json_path(&j, "spec.taints");
	for (k = 0; ks_json_is_array(&j, taints) && (e = ks_json_index(&j, taints, k)) >= 0; k++) {
		key[0] = effect[0] = '\0';
		ks_json_string(&j, ks_json_member(&j, e, "key"), key, sizeof(key));
		ks_json_string(&j, ks_json_member(&j, e, "effect"), effect, sizeof(effect));
		if (!strcmp(key, KS_NODE_TAINT_KEY) && !strcmp(effect, "PreferNoSchedule")) {
			s->tainted = true;
			continue;
		}
		/* kept verbatim: the list is written whole */
		ks_buf_printf(&s->other_taints, "%s%.*s", s->other_taints.len ? "," : "",
			      j.tok[e].end - j.tok[e].start, j.src + j.tok[e].start);
	}
	ks_json_free(&j);
	s->known = true;
	return 0;
}

/* One PATCH; 0 with the node read from the answer, or negative errno. */
static int patch(struct ks_nodestate *s, const char *what, bool status, const char *body)
{
	char path[320], err[512], msg[256];
	struct ks_buf resp;
	int st = 0, rc;

	snprintf(path, sizeof(path), "/api/v1/nodes/%s%s", s->node, status ? "/status" : "");
	ks_buf_init(&resp, 8u << 20);
	rc = kube_request(s->k, "PATCH", path, SMP, body, strlen(body), &st, &resp, err, sizeof(err));
	if (!rc && st != 200) {
		ks_warn("node state: PATCH refused", "node=%s what=%s status=%d msg=\"%s\"", s->node, what, st,
			kube_status_message(resp.data, resp.len, msg, sizeof(msg)));
		rc = kube_status_errno(st);
	} else if (rc) {
		ks_warn("node state: PATCH failed", "node=%s what=%s err=\"%s\"", s->node, what, err);
	} else {
		rc = read_node(s, resp.data, resp.len);
	}
	ks_buf_free(&resp);
	return rc;
}

static int write_condition(struct ks_nodestate *s, const struct ks_node_verdict *v)
{
	const char *status = status_of(v);
	char now[40], since[40];
	struct ks_buf b;
	int rc;

	kube_rfc3339_now(now, sizeof(now));
	/* the transition time moves only when the status does */
	snprintf(since, sizeof(since), "%s", !strcmp(s->cur_status, status) && s->cur_since[0] ? s->cur_since : now);
	ks_buf_init(&b, 1u << 16);
	ks_buf_printf(&b, "{\"status\":{\"conditions\":[{\"type\":\"" KS_NODE_CONDITION "\",\"status\":\"%s\","
		      "\"reason\":", status);
	ks_buf_json_str(&b, v->reason);
	ks_buf_printf(&b, ",\"message\":");
	ks_buf_json_str(&b, v->message);
	ks_buf_printf(&b, ",\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}", now, since);
	rc = patch(s, "condition", true, b.data);
	ks_buf_free(&b);
	if (!rc) {
		if (strcmp(s->written_reason, v->reason) || strcmp(status, s->cur_status))
			ks_info("node condition written", "node=%s type=" KS_NODE_CONDITION " status=%s reason=%s",
				s->node, status, v->reason);
		snprintf(s->written_reason, sizeof(s->written_reason), "%s", v->reason);
	}
	return rc;
}

static int write_taint(struct ks_nodestate *s, bool want)
{
	struct ks_buf b;
	int rc;

	ks_buf_init(&b, 1u << 20);
	/* the whole list with the resourceVersion it was read at: another
	 * writer's change in between is a 409, never lost */
	ks_buf_printf(&b, "{\"metadata\":{\"resourceVersion\":\"%s\"},\"spec\":{\"taints\":[%s", s->rv,
		      s->other_taints.len ? s->other_taints.data : "");
	if (want)
		ks_buf_printf(&b, "%s{\"key\":\"" KS_NODE_TAINT_KEY "\",\"effect\":\"PreferNoSchedule\"}",
			      s->other_taints.len ? "," : "");
	ks_buf_printf(&b, "]}}");
	rc = patch(s, want ? "add taint" : "remove taint", false, b.data);
	ks_buf_free(&b);
	if (!rc)
		ks_info(want ? "node taint added" : "node taint removed", "node=%s taint=" KS_NODE_TAINT_KEY
			":PreferNoSchedule", s->node);
	return rc;
}

static unsigned long long backoff(unsigned int *attempt, unsigned int interval_ms)
{
	unsigned long long d = kube_backoff_ms((*attempt)++, interval_ms, BACKOFF_CAP_MS);

	return d < interval_ms ? interval_ms : d;
}

/* One write (condition or taint) per interval_ms for the whole Node, and
 * the node read again (an empty patch) only right before a write the gate
 * already allows: a conflict or an error is retried an interval later at
 * the soonest, never at once. */
static void write_one(struct ks_nodestate *s, const struct ks_node_verdict *v, unsigned long long now,
		      unsigned int interval_ms)
{
	bool cond_changed = strcmp(status_of(v), s->cur_status) || strcmp(v->reason, s->written_reason);
	bool cond_due = cond_changed || !s->last_write_ms || now >= s->last_write_ms + s->o.heartbeat_s * 1000ull;
	bool want_taint = s->o.taint && v->have && v->deny;
	bool taint_due = s->o.taint && want_taint != s->tainted;
	int rc;

	/* a changed verdict before a heartbeat; condition and taint both
	 * owed: the one written longer ago (an oscillating score must not
	 * starve the taint) */
	if (cond_changed && taint_due)
		cond_due = s->last_write_ms <= s->last_taint_ms;
	else
		cond_due = cond_changed || (cond_due && !taint_due);
	if (cond_due) {
		s->last_write_ms = now;
		rc = write_condition(s, v);
	} else if (taint_due) {
		s->last_taint_ms = now;
		rc = write_taint(s, want_taint);
	} else {
		return;
	}
	if (!rc) {
		s->attempt = 0;
		s->next_ok_ms = now + interval_ms;
		return;
	}
	/* read it again before the next write; a 409 (someone changed the
	 * node) is no API failure: an interval, not a growing backoff */
	s->known = false;
	s->next_ok_ms = now + (rc == -EEXIST ? interval_ms : backoff(&s->attempt, interval_ms));
}

/* Whether a write is owed now or later (not counting the gate). */
static bool write_owed(const struct ks_nodestate *s, const struct ks_node_verdict *v)
{
	bool want_taint = s->o.taint && v->have && v->deny;

	return strcmp(status_of(v), s->cur_status) || strcmp(v->reason, s->written_reason) ||
	       (s->o.taint && want_taint != s->tainted);
}

static void *run(void *arg)
{
	struct ks_nodestate *s = arg;
	unsigned int interval_ms = s->o.interval_s * 1000u;

	for (;;) {
		struct ks_node_verdict v;
		unsigned long long now = mono_ms(), wake;
		bool due;
		struct timespec until;

		pthread_mutex_lock(&s->mu);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		v = s->want;
		due = s->have_want;
		pthread_mutex_unlock(&s->mu);

		if (due && !s->known && now >= s->next_ok_ms) {
			/* an empty patch reads the node and writes nothing */
			if (patch(s, "read", true, "{}"))
				s->next_ok_ms = now + backoff(&s->attempt, interval_ms);
		}
		if (due && s->known && now >= s->next_ok_ms)
			write_one(s, &v, now, interval_ms);

		/* sleep until the next thing that can be due, or a new verdict */
		now = mono_ms();
		wake = now + 60000;
		if (!s->known && s->have_want)
			wake = s->next_ok_ms; /* a read is owed */
		else if (s->known)
			wake = write_owed(s, &v) ? s->next_ok_ms : s->last_write_ms + s->o.heartbeat_s * 1000ull;
		if (wake < now + 10)
			wake = now + 10;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)((wake - now) / 1000);
		until.tv_nsec += (long)((wake - now) % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		if (!s->stop)
			pthread_cond_timedwait(&s->wake, &s->mu, &until);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

struct ks_nodestate *ks_nodestate_start(const char *kubeconfig, const char *node, const struct ks_nodestate_opts *o,
					char *err, size_t errlen)
{
	struct ks_nodestate *s;
	struct kube_config c;
	sigset_t all, old;
	int rc;

	if (!o->interval_s || o->heartbeat_s < o->interval_s) {
		snprintf(err, errlen, "the heartbeat (%u s) must be at least the write interval (%u s, > 0)",
			 o->heartbeat_s, o->interval_s);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wake, NULL);
	ks_buf_init(&s->other_taints, 1u << 20);
	s->o = *o;
	/* as the kubelet registers it; podmeta has checked it is a DNS subdomain */
	for (size_t i = 0; node[i] && i < sizeof(s->node) - 1; i++)
		s->node[i] = (char)tolower((unsigned char)node[i]);
	if (kube_config_load(&c, kubeconfig, NULL, err, errlen))
		goto fail;
	/* one write per interval at most: a small QPS is plenty */
	s->k = kube_client_new(&c, 2.0, 4, err, errlen);
	kube_config_free(&c);
	if (!s->k)
		goto fail;
	kube_client_set_timeouts(s->k, 5000, 10000);
	/* signals stay with the server's signalfd (see podmeta.c) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->th, NULL, run, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the node state thread: %s", strerror(rc));
		goto fail;
	}
	s->running = true;
	return s;
fail:
	ks_nodestate_free(s);
	return NULL;
}

void ks_nodestate_set(struct ks_nodestate *s, const struct ks_node_verdict *v)
{
	bool changed;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	changed = !s->have_want || s->want.have != v->have || s->want.deny != v->deny ||
		  strcmp(s->want.reason, v->reason);
	s->want = *v;
	s->have_want = true;
	if (changed)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

void ks_nodestate_free(struct ks_nodestate *s)
{
	if (!s)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->wake);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	kube_client_free(s->k);
	ks_buf_free(&s->other_taints);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
