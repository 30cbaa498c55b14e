// SPDX-License-Identifier: GPL-2.0
/*
 * GET /metrics: the Prometheus text exposition (format 0.0.4).
 *
 * The node's signals come from the `totals` pin as counters since load
 * (a scrape every 15 or 30 s loses no window, and rate() over any range
 * is exact), the latencies as histograms whose `le` edges are edges of the
 * kernel's own log-linear buckets, two per octave (2^k and 1.5 x 2^k
 * ns): merging adds no misfiled event, and histogram_quantile's answer
 * lies in an le-bucket whose ends are at most 1.5x apart (the kernel's
 * buckets are 1/8 octave).  Gauges only for what is a state, not a rate:
 * the latest window's score, friction, energy, direction, band and
 * decision (as labels), and the baseline.
 */
#include <stdio.h>
#include <string.h>
#include "names.h"
#include "app.h"
#include "hist.h"
#include "metrics.h"
#include "snapshot.h"
#include "pins.h"
#include "pods.h"
#include "version.h"

const double ks_lat_bounds_s[KS_LAT_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
};

/* Histogram `le` edges per signal: 2^lo_log2 .. 2^hi_log2 ns, two per
 * octave.  Below the range is folded into the first bucket, above into
 * +Inf; sum and count are exact. */
static const struct hist_export {
	const char *name, *help;
	unsigned int lo_log2, hi_log2;
} hist_exports[] = {
	{ "ksense_runqueue_latency_seconds", "Time from wakeup or preemption to running, per event.", 10, 30 },
	{ "ksense_dstate_episode_seconds", "Length of each stay in D state (uninterruptible).", 14, 34 },
	{ "ksense_netrx_softirq_seconds", "Length of each NET_RX softirq run.", 8, 26 },
	{ "ksense_direct_reclaim_seconds",
	  "Length of each direct reclaim stall: a task reclaiming memory itself before its allocation goes on "
	  "(the machine low on memory, or its memory cgroup at its limit).", 10, 34 },
};

static void metric(struct ks_buf *b, const char *name, const char *help, const char *type, double v)
{
	ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name, v);
}

static void head(struct ks_buf *b, const char *name, const char *help, const char *type)
{
	ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Kernel buckets below the edge `le_ns` (an edge of theirs: bucket lo is
 * (8 + sub) << (group - 1), and 2^k, 1.5 x 2^k are sub 0 and 4). */
static void histogram(struct ks_buf *b, const struct hist_export *e, const struct ksense_hist_total *h)
{
	__u64 cum = 0, total = 0;
	__u32 idx = 0;
	unsigned int k;
	int half;

	for (idx = 0; idx < KSENSE_HIST_BUCKETS; idx++)
		total += h->buckets[idx];
	head(b, e->name, e->help, "histogram");
	idx = 0;
	for (k = e->lo_log2; k <= e->hi_log2; k++)
		for (half = 0; half < 2 && !(k == e->hi_log2 && half); half++) {
			__u64 le_ns = half ? 3ull << (k - 1) : 1ull << k;

			/* every bucket whose values are all below le_ns */
			for (; idx < KSENSE_HIST_BUCKETS && ksense_hist_lo(idx) + ksense_hist_width(idx) <= le_ns; idx++)
				cum += h->buckets[idx];
			ks_buf_printf(b, "%s_bucket{le=\"%.12g\"} %llu\n", e->name, le_ns / 1e9, (unsigned long long)cum);
		}
	/* +Inf equals _count: the buckets can trail the count by a straggling
	 * event (hist.bpf.h), and a histogram's +Inf must not lag its count */
	ks_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", e->name,
		      (unsigned long long)(total > h->count ? total : h->count), e->name, h->sum_ns / 1e9, e->name,
		      (unsigned long long)(total > h->count ? total : h->count));
}

static void totals(struct ks_buf *b, const struct ksense_totals *t)
{
	metric(b, "ksense_windows_total", "Windows the kernel's tick closed since load.", "counter", t->seq);
	metric(b, "ksense_cpu_busy_seconds_total", "CPU time not idle, summed over CPUs.", "counter",
	       t->cpu_busy_ns / 1e9);
	metric(b, "ksense_cpu_capacity_seconds_total", "CPU time available (CPUs x time measured).", "counter",
	       t->cpu_capacity_ns / 1e9);
	metric(b, "ksense_dstate_seconds_total", "Task time spent in D state (uninterruptible), summed over tasks.",
	       "counter", t->dstate_ns / 1e9);
	metric(b, "ksense_deny_windows_total", "Windows whose decision was deny.", "counter", t->deny_windows);
	head(b, "ksense_psi_stall_seconds_total",
	     "Pressure stall time of the whole node (CPU full is undefined node-wide and left out).", "counter");
	ks_buf_printf(b, "ksense_psi_stall_seconds_total{resource=\"cpu\",kind=\"some\"} %.9f\n"
		      "ksense_psi_stall_seconds_total{resource=\"io\",kind=\"some\"} %.9f\n"
		      "ksense_psi_stall_seconds_total{resource=\"io\",kind=\"full\"} %.9f\n"
		      "ksense_psi_stall_seconds_total{resource=\"memory\",kind=\"some\"} %.9f\n"
		      "ksense_psi_stall_seconds_total{resource=\"memory\",kind=\"full\"} %.9f\n",
		      t->psi_cpu_some_ns / 1e9, t->psi_io_some_ns / 1e9, t->psi_io_full_ns / 1e9,
		      t->psi_mem_some_ns / 1e9, t->psi_mem_full_ns / 1e9);
	histogram(b, &hist_exports[0], &t->runq);
	histogram(b, &hist_exports[1], &t->dstate);
	histogram(b, &hist_exports[2], &t->netrx);
	histogram(b, &hist_exports[3], &t->reclaim);
}

/* One series per value of an enum, 1 on the current one. */
static void one_hot(struct ks_buf *b, const char *name, const char *help, const char *label,
		    const char *const *values, int n, const char *current)
{
	int i;

	head(b, name, help, "gauge");
	for (i = 0; i < n; i++)
		ks_buf_printf(b, "%s{%s=\"%s\"} %d\n", name, label, values[i], !strcmp(values[i], current));
}

static void latest(struct ks_buf *b, const struct ks_snapshot *snap, __u64 age_ms)
{
	const struct ksense_window *w = &snap->w;
	const struct ksense_decision *d = &snap->d;
	/* every value a label can take, by the contract's names */
	const char *const bands[] = { ks_band_name(KSENSE_BAND_LOW), ks_band_name(KSENSE_BAND_MEDIUM),
				      ks_band_name(KSENSE_BAND_HIGH) };
	const char *const decisions[] = { ks_verdict_name(KSENSE_VERDICT_ALLOW), ks_verdict_name(KSENSE_VERDICT_DENY) };
	const struct ksense_verdict_rec *v = &w->verdict;

	metric(b, "ksense_window_age_seconds", "Age of the latest closed window.", "gauge", age_ms / 1e3);
	metric(b, "ksense_window_duration_seconds", "Length of the latest closed window.", "gauge",
	       w->duration_ns / 1e9);
	metric(b, "ksense_score", "Fuzzy stress score of the latest window, 0..100.", "gauge", v->score);
	one_hot(b, "ksense_band", "Score band of the latest window (1 on the current band).", "band", bands, 3,
		ks_band_name(v->band));
	one_hot(b, "ksense_decision", "The node's decision (1 on the current one): deny holds new pods off.",
		"decision", decisions, 2, ks_verdict_name(v->verdict));
	/* streak and latch are the decision pin's, when of the same window */
	if (d->seq) {
		metric(b, "ksense_bad_windows", "Consecutive bad medium windows.", "gauge", d->bad_streak);
		metric(b, "ksense_decision_latched", "1 while medium windows deny until a low one.", "gauge",
		       d->latched);
	}
	metric(b, "ksense_baseline_frozen", "1 once the baseline warm-up is over.", "gauge",
	       v->baseline_state == KSENSE_BASELINE_FROZEN);
	/* empty during the baseline warm-up: the families without a sample */
	head(b, "ksense_friction", "Friction of the latest window, 0..100 (none during the warm-up).", "gauge");
	if (v->friction_valid)
		ks_buf_printf(b, "ksense_friction %.15g\n", v->friction_permille / 10.0);
	head(b, "ksense_energy", "Energy (leaky integral of friction), 0..100 (none during the warm-up).", "gauge");
	if (v->friction_valid)
		ks_buf_printf(b, "ksense_energy %.15g\n", v->energy_permille / 10.0);
	head(b, "ksense_direction", "Direction of friction: -1, 0, 1 (none during the warm-up).", "gauge");
	if (v->friction_valid)
		ks_buf_printf(b, "ksense_direction %d\n", v->direction);
}

/* The event loop's counters and gauges (server.h). */
static void server(struct ks_buf *b)
{
	struct ks_server_stats st;
	int k;

	ks_server_stats(&st);
	head(b, "ksense_webhook_rejected_connections_total",
	     "Connections closed or refused by the server's limits, by reason.", "counter");
	for (k = 0; k < KS_REJECT_NR; k++)
		ks_buf_printf(b, "ksense_webhook_rejected_connections_total{reason=\"%s\"} %llu\n",
			      ks_reject_reason_name(k), st.rejected[k]);
	metric(b, "ksense_webhook_buffered_bytes", "Bytes of requests, bodies and responses held now.", "gauge",
	       st.buffered_bytes);
	metric(b, "ksense_webhook_buffered_peak_bytes", "Most bytes held at once since start.", "gauge",
	       st.buffered_peak_bytes);
	metric(b, "ksense_webhook_buffer_budget_bytes", "Budget for held bytes; requests past it get 503.", "gauge",
	       st.budget_bytes);
	head(b, "ksense_webhook_connections", "Open connections, by listener.", "gauge");
	ks_buf_printf(b, "ksense_webhook_connections{listener=\"tls\"} %d\n"
		      "ksense_webhook_connections{listener=\"agent\"} %d\n", st.conns_tls, st.conns_agent);
	head(b, "ksense_webhook_connections_max", "Connection cap, by listener.", "gauge");
	ks_buf_printf(b, "ksense_webhook_connections_max{listener=\"tls\"} %d\n"
		      "ksense_webhook_connections_max{listener=\"agent\"} %d\n", st.max_conns_tls, st.max_conns_agent);
	metric(b, "ksense_webhook_worker_queued", "Heavy requests waiting for the worker thread.", "gauge",
	       st.worker_queued);
	metric(b, "ksense_webhook_loop_lag_seconds", "Worst lateness of the event loop's tick in the last 10 s.",
	       "gauge", st.loop_lag_ms / 1e3);
}

static void requests(struct ks_buf *b, const struct ks_app *a, const char *const route_names[R_NR])
{
	int i, k;

	metric(b, "ksense_webhook_admissions_recorded_total", "Pod CREATE admissions recorded.", "counter",
	       a->admissions_recorded);
	metric(b, "ksense_webhook_admissions_warned_total", "Recorded admissions warned (node in deny).", "counter",
	       a->admissions_denied_warned);
	metric(b, "ksense_webhook_admissions_dry_run_total", "Dry-run admissions answered, not recorded.", "counter",
	       a->admissions_dry_run);
	head(b, "ksense_webhook_requests_total", "Requests served, by path and status class.", "counter");
	for (i = 0; i < R_NR; i++)
		for (k = 1; k <= 5; k++)
			if (a->requests[i][k])
				ks_buf_printf(b, "ksense_webhook_requests_total{path=\"%s\",code=\"%dxx\"} %llu\n",
					      route_names[i], k, a->requests[i][k]);
	head(b, "ksense_webhook_request_duration_seconds", "Time from a request's first byte to its response.",
	     "histogram");
	for (i = 0; i < R_NR; i++) {
		unsigned long long cum = 0, total = 0;

		for (k = 0; k <= KS_LAT_BUCKETS; k++)
			total += a->latency_bucket[i][k];
		if (!total)
			continue;
		for (k = 0; k < KS_LAT_BUCKETS; k++) {
			cum += a->latency_bucket[i][k];
			ks_buf_printf(b, "ksense_webhook_request_duration_seconds_bucket{path=\"%s\",le=\"%g\"} %llu\n",
				      route_names[i], ks_lat_bounds_s[k], cum);
		}
		ks_buf_printf(b, "ksense_webhook_request_duration_seconds_bucket{path=\"%s\",le=\"+Inf\"} %llu\n"
			      "ksense_webhook_request_duration_seconds_sum{path=\"%s\"} %.9f\n"
			      "ksense_webhook_request_duration_seconds_count{path=\"%s\"} %llu\n",
			      route_names[i], total, route_names[i], a->latency_sum_ns[i] / 1e9,
			      route_names[i], total);
	}
}

void ks_metrics_render(struct ks_app *a, const char *const route_names[R_NR], struct ks_response *r)
{
	struct ksense_totals t;
	struct ks_snapshot snap;
	struct ksense_config cfg;
	struct ks_buf *b = &r->body;
	__u64 now = ks_now_ns(), age_ms;
	bool up;

	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	up = !ks_read_config(&cfg) && !ks_snapshot_read(&snap, KS_SNAP_DECISION) && !ks_read_totals(&t);
	ks_build_info_metrics(b);
	/* node series vanish with the pins; this one says why */
	metric(b, "ksense_pins_up", "1 when the pinned maps can be read (ksense is loaded).", "gauge", up);
	if (up) {
		struct ks_pods_opts o = {
			.node = a->node_name, .meta = a->meta,
			.exclude = (const char (*)[64])a->pods_exclude, .nr_exclude = a->nr_pods_exclude,
		};

		totals(b, &t);
		if (snap.w.seq) {
			age_ms = now > snap.w.end_ns ? (now - snap.w.end_ns) / 1000000 : 0;
			latest(b, &snap, age_ms);
		}
		/* series per container of this node's pods: a pod gone is gone
		 * from the next scrape (the series go stale, none left behind) */
		if (a->pods_metrics || (a->pods_metrics = ks_pods_new()))
			ks_pods_prometheus(a->pods_metrics, &o, b);
	}
	requests(b, a, route_names);
	server(b);
}
