// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "metrics.h"
#include "scaler.h"
#include "version.h"

/* series kept: Deployments x reasons seen; past this, new ones are not */
#define MAX_SERIES 4096

struct series {
	char ns[64], name[254];
	char cls[16], reason[48];
	unsigned long long count;
};

struct ks_scaler_metrics {
	/* the main loop's */
	struct series *series;
	int nseries;
	unsigned long long polls, poll_failures;
	int leading;               /* as last rendered; -1 never */
	/* shared */
	pthread_mutex_t mu;
	struct ks_buf text;        /* the exposition of the last turn */
	long long turn_ms;         /* when the loop last turned */
	double interval_s;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ks_scaler_metrics *ks_scaler_metrics_new(void)
{
	struct ks_scaler_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->series = calloc(MAX_SERIES, sizeof(*m->series));
	if (!m->series) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	ks_buf_init(&m->text, 8u << 20);
	m->leading = -1;
	return m;
}

void ks_scaler_metrics_free(struct ks_scaler_metrics *m)
{
	if (!m)
		return;
	ks_buf_free(&m->text);
	pthread_mutex_destroy(&m->mu);
	free(m->series);
	free(m);
}

/* What the scaler did, as a label: the Event reason says it exactly, the
 * action groups reasons (the alert on refusals keys on it). */
static const char *action_of(const char *reason)
{
	static const struct { const char *reason, *action; } map[] = {
		{ "ScaledUp", "scale_up" },          { "ScaledDown", "scale_down" },
		{ "DependencyScaled", "dependency" }, { "ScaleUpRefused", "refused" },
		{ "HPAConflict", "refused" },         { "InvalidAnnotation", "refused" },
		{ "ScaleUpLimited", "limited" },      { "OffCpuWait", "wait" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(reason, map[i].reason))
			return map[i].action;
	return "other";
}

void ks_scaler_metrics_decision(struct ks_scaler_metrics *m, const struct ks_deploy *d, const char *reason)
{
	const char *cls = ks_class_name(d->cls);
	int i;

	if (!m)
		return;
	for (i = 0; i < m->nseries; i++) {
		struct series *x = &m->series[i];

		if (!strcmp(x->ns, d->ns) && !strcmp(x->name, d->name) && !strcmp(x->reason, reason) &&
		    !strcmp(x->cls, cls)) {
			x->count++;
			return;
		}
	}
	if (m->nseries == MAX_SERIES)
		return;
	snprintf(m->series[m->nseries].ns, sizeof(m->series[0].ns), "%s", d->ns);
	snprintf(m->series[m->nseries].name, sizeof(m->series[0].name), "%s", d->name);
	snprintf(m->series[m->nseries].cls, sizeof(m->series[0].cls), "%s", cls);
	snprintf(m->series[m->nseries].reason, sizeof(m->series[0].reason), "%s", reason);
	m->series[m->nseries++].count = 1;
}

static void head(struct ks_buf *b, const char *name, const char *type, const char *help)
{
	ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are Kubernetes names: no quote, backslash or newline. */
static void render(struct ks_scaler_metrics *m, struct ks_scaler *s, bool leading, struct ks_buf *b)
{
	int i;

	head(b, "ksense_scaler_leader", "gauge", "1 while this replica holds the Lease and polls.");
	ks_buf_printf(b, "ksense_scaler_leader %d\n", leading);
	head(b, "ksense_scaler_polls_total", "counter", "Polls of the agents and the API.");
	ks_buf_printf(b, "ksense_scaler_polls_total %llu\n", m->polls);
	head(b, "ksense_scaler_poll_failures_total", "counter", "Polls the API server failed.");
	ks_buf_printf(b, "ksense_scaler_poll_failures_total %llu\n", m->poll_failures);
	head(b, "ksense_scaler_agents", "gauge", "Node agents asked in the last poll, and those that answered.");
	ks_buf_printf(b, "ksense_scaler_agents{state=\"asked\"} %u\nksense_scaler_agents{state=\"answered\"} %u\n",
		      s->agents, s->agents_ok);
	head(b, "ksense_scaler_actions_total", "counter",
	     "Decisions about a Deployment, by its pods' class, the action (scale_up, scale_down, "
	     "refused, limited, wait, dependency) and the Event reason.");
	for (i = 0; i < m->nseries; i++) {
		const struct series *x = &m->series[i];

		ks_buf_printf(b, "ksense_scaler_actions_total{namespace=\"");
		ks_buf_prom_label(b, x->ns);
		ks_buf_printf(b, "\",deployment=\"");
		ks_buf_prom_label(b, x->name);
		ks_buf_printf(b, "\",class=\"%s\",action=\"%s\",reason=\"%s\"} %llu\n", x->cls, action_of(x->reason),
			      x->reason, x->count);
	}
	head(b, "ksense_scaler_last_scale_timestamp_seconds", "gauge",
	     "When ksense last scaled the Deployment (its ksense.io/last-scale annotation), Unix time.");
	for (i = 0; i < s->ndeps; i++) {
		const struct ks_deploy *d = &s->deps[i];

		if (!d->have_last_scale)
			continue;
		ks_buf_printf(b, "ksense_scaler_last_scale_timestamp_seconds{namespace=\"");
		ks_buf_prom_label(b, d->ns);
		ks_buf_printf(b, "\",deployment=\"");
		ks_buf_prom_label(b, d->name);
		ks_buf_printf(b, "\",direction=\"%s\"} %.0f\n", d->last_scale_dir > 0 ? "up" : "down",
			      d->last_scale_wall_s);
	}
}

void ks_scaler_metrics_turn(struct ks_scaler_metrics *m, struct ks_scaler *s, bool leading, bool polled,
			    bool poll_ok, double interval_s)
{
	struct ks_buf b;

	if (!m)
		return;
	if (polled) {
		m->polls++;
		m->poll_failures += !poll_ok;
	}
	ks_buf_init(&b, 8u << 20);
	if (polled || leading != m->leading)
		render(m, s, leading, &b);
	m->leading = leading;
	pthread_mutex_lock(&m->mu);
	m->turn_ms = mono_ms();
	m->interval_s = interval_s;
	if (b.len) {
		/* swap: the old text is freed outside the lock */
		struct ks_buf old = m->text;

		m->text = b;
		b = old;
	}
	pthread_mutex_unlock(&m->mu);
	ks_buf_free(&b);
}

void ks_scaler_metrics_render(void *arg, struct ks_buf *out)
{
	struct ks_scaler_metrics *m = arg;

	pthread_mutex_lock(&m->mu);
	ks_buf_append(out, m->text.data ? m->text.data : "", m->text.len);
	pthread_mutex_unlock(&m->mu);
	ks_build_info_gauge(out);
}

int ks_scaler_metrics_health(void *arg, struct ks_buf *out)
{
	struct ks_scaler_metrics *m = arg;
	long long age, limit;

	pthread_mutex_lock(&m->mu);
	age = m->turn_ms ? mono_ms() - m->turn_ms : -1;
	/* a poll may take its requests' timeouts; a few intervals and it is stuck */
	limit = (long long)(3 * m->interval_s * 1000) + 30000;
	pthread_mutex_unlock(&m->mu);
	ks_buf_printf(out, "{\"status\":\"%s\",\"loop_age_ms\":%lld}\n", age >= 0 && age <= limit ? "ok" : "stuck",
		      age);
	return age >= 0 && age <= limit ? 200 : 503;
}
