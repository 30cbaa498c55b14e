// SPDX-License-Identifier: GPL-2.0
/*
 * The extender's status port (--status-addr, as in standalone mode):
 * /metrics from the counters its server thread keeps, /healthz from the
 * age of that thread's latest tick (a liveness probe sees a server that
 * stopped turning: this port's thread answers regardless).
 */
#include "buf.h"
#include "extender.h"
#include "informer.h"
#include "version.h"

/* the server ticks every 100 ms; this long without one and it is stuck */
#define EXT_STALE_MS 10000

#define LOAD(m, field) __atomic_load_n(&(m)->field, __ATOMIC_RELAXED)

static void counter(struct ks_buf *b, const char *name, const char *help, unsigned long long v)
{
	ks_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

void sched_extender_metrics_render(void *arg, struct ks_buf *b)
{
	struct extender_metrics *m = arg;

	ks_buf_printf(b, "# HELP ksense_scheduler_extender_requests_total kube-scheduler's extender calls by verb.\n"
		      "# TYPE ksense_scheduler_extender_requests_total counter\n"
		      "ksense_scheduler_extender_requests_total{verb=\"filter\"} %llu\n"
		      "ksense_scheduler_extender_requests_total{verb=\"prioritize\"} %llu\n",
		      LOAD(m, filters), LOAD(m, prioritizes));
	counter(b, "ksense_scheduler_extender_bad_requests_total",
		"Extender calls refused for a body that is not ExtenderArgs (400).", LOAD(m, bad_requests));
	counter(b, "ksense_scheduler_agent_score_requests_total", "Node /score requests sent to agents.",
		LOAD(m, agent_requests));
	counter(b, "ksense_scheduler_agent_score_failures_total",
		"/score requests that failed (timeout, refused, a bad answer).", LOAD(m, agent_failures));
	ks_buf_printf(b, "# HELP ksense_scheduler_extender_agents_synced 1 once the agent pods are listed.\n"
		      "# TYPE ksense_scheduler_extender_agents_synced gauge\n"
		      "ksense_scheduler_extender_agents_synced %d\n", LOAD(m, agents_synced));
	ks_build_info_gauge(b);
}

int sched_extender_metrics_health(void *arg, struct ks_buf *b)
{
	struct extender_metrics *m = arg;
	long long at = LOAD(m, tick_ms), age = at ? informer_now_ms() - at : -1;
	int ok = age >= 0 && age <= EXT_STALE_MS;

	/* as standalone mode's: not synced yet is said, not failed (the
	 * extender port's own /healthz is the readiness one) */
	ks_buf_printf(b, "{\"status\":\"%s\",\"loop_age_ms\":%lld,\"synced\":%s,\"extender\":true}\n",
		      ok ? "ok" : "stuck", age, LOAD(m, agents_synced) ? "true" : "false");
	return ok ? 200 : 503;
}
