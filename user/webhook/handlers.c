// SPDX-License-Identifier: GPL-2.0
/*
 * The endpoints.  Nothing here computes a score: every number is read from
 * the pins (one history slot for a whole window's view, so the fields of a
 * response always belong to the same window).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "admission.h"
#include "app.h"
#include "log.h"
#include "pins.h"
#include "self_exclude.h"
#include "pods.h"
#include "version.h"

static const double lat_bounds_s[KS_LAT_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
};

static enum ks_route route_of(const char *path)
{
	if (!strcmp(path, "/healthz"))
		return R_HEALTHZ;
	if (!strcmp(path, "/score"))
		return R_SCORE;
	if (!strcmp(path, "/validate"))
		return R_VALIDATE;
	if (!strcmp(path, "/metrics"))
		return R_METRICS;
	if (!strcmp(path, "/pods"))
		return R_PODS;
	return R_OTHER;
}

/* The latest window with its verdict, and how old it is; 0 or errno. */
static int latest(struct ksense_window *w, struct ksense_config *cfg, __u64 *age_ms)
{
	__u64 now = ks_now_ns();
	int err = ks_read_config(cfg);

	if (!err)
		err = ks_read_window(w);
	if (err)
		return err;
	if (!w->seq)
		return -EAGAIN;
	*age_ms = now > w->end_ns ? (now - w->end_ns) / 1000000 : 0;
	return 0;
}

static void healthz(struct ks_response *r)
{
	struct ksense_window w;
	struct ksense_config cfg;
	__u64 age_ms = 0;
	char msg[256];
	int err = latest(&w, &cfg, &age_ms);

	if (err == -EAGAIN) {
		ks_response_error(r, 503, "no window closed yet");
		return;
	}
	if (err) {
		snprintf(msg, sizeof(msg), "pins unreadable at %s: %s", ks_pin_root(), strerror(-err));
		ks_response_error(r, 503, msg);
		return;
	}
	if (age_ms > 3ull * cfg.window_ms + 1000) {
		snprintf(msg, sizeof(msg), "stale: last window closed %llu ms ago (window %u ms)",
			 (unsigned long long)age_ms, cfg.window_ms);
		ks_response_error(r, 503, msg);
		return;
	}
	ks_buf_printf(&r->body, "{\"status\":\"ok\",\"seq\":%llu,\"window_age_ms\":%llu}\n",
		      (unsigned long long)w.seq, (unsigned long long)age_ms);
}

static void num_or_null(struct ks_buf *b, const char *key, bool valid, double v)
{
	if (valid)
		ks_buf_printf(b, "\"%s\":%.1f,", key, v);
	else
		ks_buf_printf(b, "\"%s\":null,", key);
}

/* The file holds "<score 0..100> <allow|deny>"; it is read on every
 * request so a test can move a node's score while the daemon runs. */
static void test_score(struct ks_app *a, struct ks_response *r)
{
	char text[64] = "", decision[16] = "";
	unsigned int score = 0;
	FILE *f = fopen(a->test_score_file, "re");
	size_t n = 0;
	int tail = -1;

	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	if (!f || sscanf(text, "%3u %15s %n", &score, decision, &tail) != 2 || tail != (int)n || score > 100 ||
	    (strcmp(decision, "allow") && strcmp(decision, "deny"))) {
		ks_response_error(r, 503, "test score file unreadable or not '<0..100> <allow|deny>'");
		return;
	}
	ks_buf_printf(&r->body, "{\"node\":");
	ks_buf_json_str(&r->body, a->node_name);
	ks_buf_printf(&r->body, ",\"seq\":1,\"window_age_ms\":0,\"score\":%u,\"band\":\"%s\",\"decision\":\"%s\","
		      "\"score_from\":\"test-score-file\"}\n", score,
		      score >= 70 ? "high" : score >= 45 ? "medium" : "low", decision);
}

static void score(struct ks_app *a, struct ks_response *r)
{
	struct ksense_decision d = {};
	struct ksense_baseline b = {};
	struct ksense_window w;
	struct ksense_config cfg;
	const struct ksense_verdict_rec *v = &w.verdict;
	__u64 age_ms = 0;
	char msg[256];
	int err = latest(&w, &cfg, &age_ms);

	if (err) {
		snprintf(msg, sizeof(msg), "%s", err == -EAGAIN ? "no window closed yet" : strerror(-err));
		ks_response_error(r, 503, msg);
		return;
	}
	/* streak and latch live only in the decision pin: use them when it
	 * is of the same window */
	if (ks_read_pin(KSENSE_PIN_DECISION, &d) || d.seq != w.seq)
		memset(&d, 0, sizeof(d));
	ks_read_pin(KSENSE_PIN_BASELINE, &b);
	ks_buf_printf(&r->body, "{\"node\":");
	ks_buf_json_str(&r->body, a->node_name);
	ks_buf_printf(&r->body,
		      ",\"seq\":%llu,\"window_age_ms\":%llu,\"window_ms\":%u,\"score\":%u,\"band\":\"%s\","
		      "\"decision\":\"%s\",\"reason\":\"%s\",\"bad_windows\":%u,\"latched\":%s,",
		      (unsigned long long)w.seq, (unsigned long long)age_ms, cfg.window_ms, v->score,
		      ks_band_name(v->band), ks_verdict_name(v->verdict), ks_reason_name(v->reason),
		      d.seq ? d.bad_streak : 0, d.seq && d.latched ? "true" : "false");
	ks_buf_printf(&r->body, "\"baseline\":{\"state\":\"%s\",\"warmup_remaining_s\":%u},",
		      v->baseline_state == KSENSE_BASELINE_FROZEN ? "frozen" : "warmup",
		      b.warmup_remaining_s);
	ks_buf_printf(&r->body, "\"inputs\":{");
	num_or_null(&r->body, "friction", v->friction_valid, v->friction_permille / 10.0);
	if (v->friction_valid)
		ks_buf_printf(&r->body, "\"direction\":%d,", v->direction);
	else
		ks_buf_printf(&r->body, "\"direction\":null,");
	num_or_null(&r->body, "energy", v->friction_valid, v->energy_permille / 10.0);
	ks_buf_printf(&r->body,
		      "\"cpu_util_pct\":%.1f,\"psi_pct\":%.1f,\"psi_cpu_some_pct\":%.1f,"
		      "\"psi_io_some_pct\":%.1f,\"psi_mem_some_pct\":%.1f,"
		      "\"runq_p95_us\":%.1f,\"runq_p99_us\":%.1f,\"dstate_ms_per_s\":%.3f,"
		      "\"netrx_ms_per_s\":%.3f},\"score_from\":\"%s\"}\n",
		      v->cpu_permille / 10.0, v->psi_permille / 10.0, w.psi_cpu.some_permille / 10.0,
		      w.psi_io.some_permille / 10.0, w.psi_mem.some_permille / 10.0,
		      w.runq.p95_ns / 1000.0, w.runq.p99_ns / 1000.0, w.dstate_us_per_s / 1000.0,
		      w.netrx_us_per_s / 1000.0,
		      v->friction_valid ? "friction, energy, cpu, psi" : "cpu and psi only (baseline warm-up)");
}

static bool ns_allowed(const struct ks_app *a, const char *ns)
{
	int i;

	if (!a->nr_namespaces)
		return true;
	for (i = 0; i < a->nr_namespaces; i++)
		if (!strcmp(a->namespaces[i], ns))
			return true;
	return false;
}

static void validate(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r)
{
	struct ks_admission_request ar;
	struct ksense_window w;
	struct ksense_config cfg;
	const char *warnings[1];
	const char *audit[4];
	char err[256], warn[512], score_s[16];
	size_t nw = 0, na = 0;
	__u64 age_ms;

	if (strncmp(req->content_type, "application/json", 16)) {
		ks_response_error(r, 415, "Content-Type must be application/json");
		return;
	}
	if (ks_admission_parse(req->body, req->body_len, &ar, err, sizeof(err))) {
		ks_response_error(r, 400, err);
		return;
	}
	/* The seed's rule: Pod CREATE is always allowed; the scheduler holds
	 * pods on stressed nodes, the webhook only records. */
	if (!strcmp(ar.op, "CREATE") && !strcmp(ar.res_kind, "Pod") && ar.res_group[0] == '\0' &&
	    ns_allowed(a, ar.namespace_) && !latest(&w, &cfg, &age_ms)) {
		const char *pod = ar.name[0] ? ar.name : ar.generate_name;

		if (ks_csvlog_admission(&a->csv, ar.namespace_, pod, ar.uid, &w))
			ks_warn("cannot write fuzzy_score.csv", "uid=%s", ar.uid);
		a->admissions_recorded++;
		snprintf(score_s, sizeof(score_s), "%u", w.verdict.score);
		audit[na * 2] = "ksense.io/score";
		audit[na * 2 + 1] = score_s;
		na++;
		audit[na * 2] = "ksense.io/decision";
		audit[na * 2 + 1] = ks_verdict_name(w.verdict.verdict);
		na++;
		if (w.verdict.verdict == KSENSE_VERDICT_DENY) {
			snprintf(warn, sizeof(warn), "ksense: node %s is under pressure (score %u, %s band); "
				 "fuzzy-scheduler pods will not be placed here", a->node_name, w.verdict.score,
				 ks_band_name(w.verdict.band));
			warnings[nw++] = warn;
			a->admissions_denied_warned++;
		}
		ks_info("admission recorded", "ns=%s pod=%s uid=%s score=%u decision=%s", ar.namespace_, pod,
			ar.uid, w.verdict.score, ks_verdict_name(w.verdict.verdict));
	}
	if (ks_admission_format_response(&r->body, ar.uid, true, 0, NULL, warnings, nw, audit, na))
		ks_response_error(r, 500, "response too large");
}

static void metric(struct ks_buf *b, const char *name, const char *help, const char *type,
		   double v)
{
	ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void metrics(struct ks_app *a, struct ks_response *r)
{
	static const char *route_names[R_NR] = { "healthz", "score", "validate", "metrics", "pods", "other" };
	struct ksense_window w;
	struct ksense_config cfg;
	struct ks_buf *b = &r->body;
	__u64 age_ms = 0;
	int i, k;

	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	ks_build_info_metrics(b);
	if (!latest(&w, &cfg, &age_ms)) {
		const struct ksense_verdict_rec *v = &w.verdict;

		metric(b, "ksense_window_seq", "Sequence number of the latest closed window.", "counter", w.seq);
		metric(b, "ksense_window_age_seconds", "Age of the latest closed window.", "gauge", age_ms / 1e3);
		metric(b, "ksense_score", "Fuzzy stress score, 0..100.", "gauge", v->score);
		metric(b, "ksense_band", "Score band: 1 low, 2 medium, 3 high.", "gauge", v->band);
		metric(b, "ksense_decision_deny", "1 when the node's decision is deny.", "gauge",
		       v->verdict == KSENSE_VERDICT_DENY);
		metric(b, "ksense_baseline_frozen", "1 once the baseline warm-up is over.", "gauge",
		       v->baseline_state == KSENSE_BASELINE_FROZEN);
		if (v->friction_valid) {
			metric(b, "ksense_friction", "Friction, 0..100.", "gauge", v->friction_permille / 10.0);
			metric(b, "ksense_energy", "Energy, 0..100.", "gauge", v->energy_permille / 10.0);
			metric(b, "ksense_direction", "Direction of friction: -1, 0, 1.", "gauge", v->direction);
		}
		metric(b, "ksense_cpu_util_ratio", "CPU busy share of the window.", "gauge", w.cpu_busy_permille / 1e3);
		metric(b, "ksense_runq_latency_p95_seconds", "Run-queue latency p95.", "gauge", w.runq.p95_ns / 1e9);
		metric(b, "ksense_runq_latency_p99_seconds", "Run-queue latency p99.", "gauge", w.runq.p99_ns / 1e9);
		metric(b, "ksense_runq_latency_avg_seconds", "Run-queue latency average.", "gauge", w.runq.avg_ns / 1e9);
		metric(b, "ksense_runq_events", "Run-queue latency samples in the window.", "gauge", w.runq.count);
		metric(b, "ksense_dstate_seconds_per_second", "Task time in D state per second.", "gauge", w.dstate_us_per_s / 1e6);
		metric(b, "ksense_dstate_p99_seconds", "D-state episode p99.", "gauge", w.dstate.p99_ns / 1e9);
		metric(b, "ksense_netrx_seconds_per_second", "NET_RX softirq time per second.", "gauge", w.netrx_us_per_s / 1e6);
		metric(b, "ksense_netrx_p99_seconds", "NET_RX softirq run p99.", "gauge", w.netrx.p99_ns / 1e9);
		ks_buf_printf(b, "# HELP ksense_psi_stall_ratio Stall share of the kernel's last PSI period.\n"
			      "# TYPE ksense_psi_stall_ratio gauge\n");
		ks_buf_printf(b, "ksense_psi_stall_ratio{resource=\"cpu\",kind=\"some\"} %.3f\n", w.psi_cpu.some_permille / 1e3);
		ks_buf_printf(b, "ksense_psi_stall_ratio{resource=\"cpu\",kind=\"full\"} %.3f\n", w.psi_cpu.full_permille / 1e3);
		ks_buf_printf(b, "ksense_psi_stall_ratio{resource=\"io\",kind=\"some\"} %.3f\n", w.psi_io.some_permille / 1e3);
		ks_buf_printf(b, "ksense_psi_stall_ratio{resource=\"io\",kind=\"full\"} %.3f\n", w.psi_io.full_permille / 1e3);
		ks_buf_printf(b, "ksense_psi_stall_ratio{resource=\"memory\",kind=\"some\"} %.3f\n", w.psi_mem.some_permille / 1e3);
		ks_buf_printf(b, "ksense_psi_stall_ratio{resource=\"memory\",kind=\"full\"} %.3f\n", w.psi_mem.full_permille / 1e3);
	}
	metric(b, "ksense_webhook_admissions_recorded_total", "Pod CREATE admissions recorded.", "counter",
	       a->admissions_recorded);
	metric(b, "ksense_webhook_admissions_warned_total", "Recorded admissions warned (node in deny).",
	       "counter", a->admissions_denied_warned);
	ks_buf_printf(b, "# HELP ksense_webhook_requests_total Requests served, by path and status class.\n"
		      "# TYPE ksense_webhook_requests_total counter\n");
	for (i = 0; i < R_NR; i++)
		for (k = 1; k <= 5; k++)
			if (a->requests[i][k])
				ks_buf_printf(b, "ksense_webhook_requests_total{path=\"%s\",code=\"%dxx\"} %llu\n",
					      route_names[i], k, a->requests[i][k]);
	ks_buf_printf(b, "# HELP ksense_webhook_request_duration_seconds Time from a request's first byte to its response.\n"
		      "# TYPE ksense_webhook_request_duration_seconds histogram\n");
	for (i = 0; i < R_NR; i++) {
		unsigned long long cum = 0, total = 0;

		for (k = 0; k <= KS_LAT_BUCKETS; k++)
			total += a->latency_bucket[i][k];
		if (!total)
			continue;
		for (k = 0; k < KS_LAT_BUCKETS; k++) {
			cum += a->latency_bucket[i][k];
			ks_buf_printf(b, "ksense_webhook_request_duration_seconds_bucket{path=\"%s\",le=\"%g\"} %llu\n",
				      route_names[i], lat_bounds_s[k], cum);
		}
		ks_buf_printf(b, "ksense_webhook_request_duration_seconds_bucket{path=\"%s\",le=\"+Inf\"} %llu\n"
			      "ksense_webhook_request_duration_seconds_sum{path=\"%s\"} %.9f\n"
			      "ksense_webhook_request_duration_seconds_count{path=\"%s\"} %llu\n",
			      route_names[i], total, route_names[i], a->latency_sum_s[i], route_names[i], total);
	}
}

static void pods(struct ks_app *a, struct ks_response *r)
{
	struct ks_pods_opts o = {
		.node = a->node_name, .meta = a->meta,
		.exclude = (const char (*)[64])a->pods_exclude, .nr_exclude = a->nr_pods_exclude,
	};

	if (!a->pods && !(a->pods = ks_pods_new())) {
		ks_response_error(r, 500, "out of memory");
		return;
	}
	ks_pods_render(a->pods, &o, r);
}

void ks_app_handle(void *app, const struct ks_http_request *req, bool tls, struct ks_response *r)
{
	struct ks_app *a = app;
	enum ks_route route = route_of(req->path);
	bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

	(void)tls;
	switch (route) {
	case R_HEALTHZ:
	case R_SCORE:
	case R_METRICS:
	case R_PODS:
		if (!get) {
			ks_response_error(r, 405, "method not allowed");
			snprintf(r->extra_headers, sizeof(r->extra_headers), "Allow: GET, HEAD\r\n");
			return;
		}
		if (route == R_HEALTHZ)
			healthz(r);
		else if (route == R_SCORE && a->test_score_file[0])
			test_score(a, r);
		else if (route == R_SCORE)
			score(a, r);
		else if (route == R_PODS)
			pods(a, r);
		else
			metrics(a, r);
		return;
	case R_VALIDATE:
		if (strcmp(req->method, "POST")) {
			ks_response_error(r, 405, "method not allowed");
			snprintf(r->extra_headers, sizeof(r->extra_headers), "Allow: POST\r\n");
			return;
		}
		validate(a, req, r);
		return;
	default:
		ks_response_error(r, 404, "not found");
	}
}

void ks_app_tick(void *app)
{
	struct ks_app *a = app;

	ks_pin_cache_refresh(); /* follows `ksense load --replace` within a tick */
	ks_self_exclude_register(); /* and registers in the new tree's self pin */
	ks_csvlog_poll(&a->csv);
}

void ks_app_observe(void *app, const struct ks_http_request *req, int status,
		    unsigned long long latency_ns)
{
	struct ks_app *a = app;
	enum ks_route route = route_of(req->path);
	double s = latency_ns / 1e9;
	int k, cls = status / 100;

	a->requests[route][cls >= 1 && cls <= 5 ? cls : 0]++;
	for (k = 0; k < KS_LAT_BUCKETS && s > lat_bounds_s[k]; k++)
		;
	a->latency_bucket[route][k]++;
	a->latency_sum_s[route] += s;
}
