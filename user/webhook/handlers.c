// SPDX-License-Identifier: GPL-2.0
/*
 * The endpoints.  Nothing here computes a score: every number is read from
 * the pins (one history slot for a whole window's view, so the fields of a
 * response always belong to the same window).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "names.h"
#include "admission.h"
#include "app.h"
#include "log.h"
#include "pins.h"
#include "self_exclude.h"
#include "snapshot.h"
#include "metrics.h"
#include "pods.h"
#include "test_score.h"

/* What the pins say, read at most every LATEST_TTL_NS: /score, /healthz
 * and admissions at tens of thousands a second would otherwise cost five
 * map reads (syscalls) each, for numbers that change once a window
 * (100 ms at the least).  Shared by the loop and the worker. */
#define LATEST_TTL_NS (10ull * 1000000)

static struct {
	pthread_mutex_t mu;
	__u64 at_ns;
	int err;
	struct ksense_config cfg;
	struct ks_snapshot snap;
} pinned = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The latest window with its decision and baseline (either may be NULL),
 * and how old the window is; 0 or a negative errno. */
static int latest_all(struct ksense_window *w, struct ksense_config *cfg, struct ksense_decision *d,
		      struct ksense_baseline *b, __u64 *age_ms)
{
	__u64 now = ks_now_ns();
	int err;

	pthread_mutex_lock(&pinned.mu);
	if (!pinned.at_ns || now - pinned.at_ns >= LATEST_TTL_NS) {
		pinned.err = ks_read_config(&pinned.cfg);
		if (!pinned.err)
			pinned.err = ks_snapshot_read(&pinned.snap, KS_SNAP_ALL);
		pinned.at_ns = now;
	}
	err = pinned.err;
	*w = pinned.snap.w;
	*cfg = pinned.cfg;
	if (d)
		*d = pinned.snap.d;
	if (b)
		*b = pinned.snap.b;
	pthread_mutex_unlock(&pinned.mu);
	if (err)
		return err;
	if (!w->seq)
		return -EAGAIN;
	*age_ms = now > w->end_ns ? (now - w->end_ns) / 1000000 : 0;
	return 0;
}

static int latest(struct ksense_window *w, struct ksense_config *cfg, __u64 *age_ms)
{
	return latest_all(w, cfg, NULL, NULL, age_ms);
}

/* The event loop's own health: a loop that lags answers late everything,
 * probes included, so both probes report it. */
static bool loop_lagging(const struct ks_app *a, struct ks_response *r,
			 struct ks_server_stats *st)
{
	char msg[160];

	ks_server_stats(st);
	if (st->loop_lag_ms <= a->max_loop_lag_ms)
		return false;
	snprintf(msg, sizeof(msg), "event loop lagging: %llu ms (limit %u ms)", st->loop_lag_ms,
		 a->max_loop_lag_ms);
	ks_response_error(r, 503, msg);
	return true;
}

static void livez(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r)
{
	struct ks_server_stats st;

	(void)req;
	if (loop_lagging(a, r, &st))
		return;
	ks_buf_printf(&r->body, "{\"status\":\"ok\",\"loop_lag_ms\":%llu,\"loop_turn_max_ms\":%llu}\n",
		      st.loop_lag_ms, st.loop_turn_max_ms);
}

static void healthz(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r)
{
	struct ks_server_stats st;
	struct ksense_window w;
	struct ksense_config cfg;
	__u64 age_ms = 0;
	char msg[256];
	int err;

	(void)req;
	if (loop_lagging(a, r, &st))
		return;
	err = latest(&w, &cfg, &age_ms);
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
	ks_buf_printf(&r->body, "{\"status\":\"ok\",\"seq\":%llu,\"window_age_ms\":%llu,"
		      "\"loop_lag_ms\":%llu,\"loop_turn_max_ms\":%llu}\n", (unsigned long long)w.seq,
		      (unsigned long long)age_ms, st.loop_lag_ms, st.loop_turn_max_ms);
}

static void num_or_null(struct ks_buf *b, const char *key, bool valid, double v)
{
	if (valid)
		ks_buf_printf(b, "\"%s\":%.1f,", key, v);
	else
		ks_buf_printf(b, "\"%s\":null,", key);
}

static void test_score(struct ks_app *a, struct ks_response *r)
{
	struct ksense_config cfg;
	unsigned int score = 0;
	bool deny = false;

	if (!ks_test_score_read(a->test_score_file, &score, &deny)) {
		ks_response_error(r, 503, "test score file unreadable or not '<0..100> <allow|deny>'");
		return;
	}
	ks_buf_printf(&r->body, "{\"node\":");
	ks_buf_json_str(&r->body, a->node_name);
	/* the bands of the config pin when there is one, the defaults else */
	if (ks_read_config(&cfg) || !cfg.band_high_from) {
		cfg.band_low_below = 45;
		cfg.band_high_from = 70;
	}
	ks_buf_printf(&r->body, ",\"seq\":1,\"window_age_ms\":0,\"score\":%u,\"band\":\"%s\",\"decision\":\"%s\","
		      "\"score_from\":\"test-score-file\"}\n", score,
		      score >= cfg.band_high_from ? "high" : score >= cfg.band_low_below ? "medium" : "low",
		      deny ? "deny" : "allow");
}

static void score(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r)
{
	struct ksense_decision d = {};
	struct ksense_baseline b = {};
	struct ksense_window w;
	struct ksense_config cfg;
	const struct ksense_verdict_rec *v = &w.verdict;
	__u64 age_ms = 0;
	char msg[256];
	int err;

	(void)req;
	if (a->test_score_file[0]) {
		test_score(a, r);
		return;
	}
	err = latest_all(&w, &cfg, &d, &b, &age_ms);
	if (err) {
		snprintf(msg, sizeof(msg), "%s", err == -EAGAIN ? "no window closed yet" : strerror(-err));
		ks_response_error(r, 503, msg);
		return;
	}
	ks_buf_printf(&r->body, "{\"node\":");
	ks_buf_json_str(&r->body, a->node_name);
	ks_buf_printf(&r->body,
		      ",\"seq\":%llu,\"window_age_ms\":%llu,\"window_ms\":%u,\"score\":%u,\"band\":\"%s\","
		      "\"decision\":\"%s\",\"reason\":\"%s\",\"bad_windows\":%u,\"latched\":%s,",
		      (unsigned long long)w.seq, (unsigned long long)age_ms, cfg.window_ms, v->score,
		      ks_band_name(v->band), ks_verdict_name(v->verdict), ks_reason_name(v->reason),
		      d.seq ? d.bad_streak : 0, d.seq && d.latched ? "true" : "false");
	ks_buf_printf(&r->body, "\"baseline\":{\"state\":\"%s\",",
		      ks_baseline_name(v->baseline_state));
	if (b.seq)
		ks_buf_printf(&r->body, "\"warmup_remaining_s\":%u},", b.warmup_remaining_s);
	else
		ks_buf_printf(&r->body, "\"warmup_remaining_s\":null},");
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

	if (!ks_http_media_type_is(req->content_type, "application/json")) {
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

		/* sideEffects: None promises a dry run changes nothing: answered
		 * the same, not recorded */
		if (ar.dry_run) {
			a->admissions_dry_run++;
		} else {
			if (ks_csvlog_admission(&a->csv, ar.namespace_, pod, ar.uid, &w))
				ks_warn("cannot write fuzzy_score.csv", "uid=%s", ar.uid);
			a->admissions_recorded++;
		}
		snprintf(score_s, sizeof(score_s), "%u", w.verdict.score);
		/* the API server makes these "<webhook name>/score" */
		audit[na * 2] = "score";
		audit[na * 2 + 1] = score_s;
		na++;
		audit[na * 2] = "decision";
		audit[na * 2 + 1] = ks_verdict_name(w.verdict.verdict);
		na++;
		if (w.verdict.verdict == KSENSE_VERDICT_DENY) {
			snprintf(warn, sizeof(warn), "ksense: node %s is under pressure (score %u, %s band); "
				 "fuzzy-scheduler pods will not be placed here", a->node_name, w.verdict.score,
				 ks_band_name(w.verdict.band));
			warnings[nw++] = warn;
			a->admissions_denied_warned++;
		}
		ks_info(ar.dry_run ? "admission answered (dry run, not recorded)" : "admission recorded",
			"ns=%s pod=%s uid=%s score=%u decision=%s", ar.namespace_, pod, ar.uid, w.verdict.score,
			ks_verdict_name(w.verdict.verdict));
	}
	if (ks_admission_format_response(&r->body, ar.uid, true, 0, NULL, warnings, nw, audit, na))
		ks_response_error(r, 500, "response too large");
}

static const char *const *route_names(void);

/* On the worker: it walks every pod's cgroups, as /pods does. */
static void metrics(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r)
{
	(void)req;
	ks_metrics_render(a, route_names(), r);
}

static void pods(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r)
{
	struct ks_pods_opts o = {
		.node = a->node_name, .meta = a->meta,
		.exclude = (const char (*)[64])a->pods_exclude, .nr_exclude = a->nr_pods_exclude,
	};

	(void)req;
	if (!a->pods && !(a->pods = ks_pods_new())) {
		ks_response_error(r, 500, "out of memory");
		return;
	}
	ks_pods_render(a->pods, &o, r);
}

enum { ON_TLS = 1, ON_AGENT = 2, ON_BOTH = 3 };

/* An AdmissionReview up to this size is checked and parsed on the loop:
 * at most ~1 ms even for brackets 126 deep, measured (a real Pod's review
 * is 2-10 KiB and takes tens of microseconds); a bigger one (up to 1 MiB:
 * 68 ms of brackets here) goes to the worker. */
#define VALIDATE_INLINE_MAX_BYTES (16u << 10)

/*
 * Every route: the agent port is read-only (GET and HEAD only); /validate
 * records admissions and is served on the TLS listener alone.  offload:
 * answered on the worker thread (worker.h), since it may take long
 * (/pods and /metrics walk every pod's cgroups, their cost grows with
 * the node's pods; /validate: when its body is over
 * VALIDATE_INLINE_MAX_BYTES); such a handler touches only what is safe
 * from another thread (pins, its own state, atomics, the server's
 * published stats).  HEAD is GET without the body (server.c).
 */
static const struct route {
	const char *path;
	enum ks_route id;
	bool post;          /* POST; else GET and HEAD */
	int listeners;
	bool offload;
	const char *metric;
	void (*fn)(struct ks_app *a, const struct ks_http_request *req, struct ks_response *r);
} routes[] = {
	{ "/healthz", R_HEALTHZ, false, ON_BOTH, false, "healthz", healthz },
	{ "/livez", R_LIVEZ, false, ON_BOTH, false, "livez", livez },
	{ "/score", R_SCORE, false, ON_BOTH, false, "score", score },
	{ "/metrics", R_METRICS, false, ON_BOTH, true, "metrics", metrics },
	{ "/pods", R_PODS, false, ON_BOTH, true, "pods", pods },
	{ "/validate", R_VALIDATE, true, ON_TLS, true, "validate", validate },
};
#define NR_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const struct route *route_find(const char *path, bool tls)
{
	size_t i;

	for (i = 0; i < NR_ROUTES; i++)
		if (!strcmp(path, routes[i].path) && (routes[i].listeners & (tls ? ON_TLS : ON_AGENT)))
			return &routes[i];
	return NULL;
}

static const char *route_name_table[R_NR];
static pthread_once_t route_names_once = PTHREAD_ONCE_INIT;

static void route_names_fill(void)
{
	size_t i;

	for (i = 0; i < R_NR; i++)
		route_name_table[i] = "other";
	for (i = 0; i < NR_ROUTES; i++)
		route_name_table[routes[i].id] = routes[i].metric;
}

/* Each route's label value for /metrics, by id, from the table above. */
static const char *const *route_names(void)
{
	pthread_once(&route_names_once, route_names_fill);
	return route_name_table;
}

static bool method_ok(const struct route *rt, const char *method)
{
	return rt->post ? !strcmp(method, "POST") : !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

bool ks_app_offload(void *app, const struct ks_http_request *req, bool tls)
{
	const struct route *rt = route_find(req->path, tls);

	(void)app;
	if (!rt || !rt->offload || !method_ok(rt, req->method))
		return false;
	return rt->id != R_VALIDATE || req->body_len > VALIDATE_INLINE_MAX_BYTES;
}

/* The route serving req on this listener, or NULL with r filled with
 * the 404 or 405 (a head is enough: the body plays no part). */
static const struct route *route_or_error(const struct ks_http_request *req, bool tls, struct ks_response *r)
{
	const struct route *rt = route_find(req->path, tls);

	if (!rt) {
		ks_response_error(r, 404, !tls && !strcmp(req->path, "/validate")
				  ? "not found: /validate is served on the HTTPS port only"
				  : "not found");
		return NULL;
	}
	if (!method_ok(rt, req->method)) {
		ks_response_error(r, 405, "method not allowed");
		snprintf(r->extra_headers, sizeof(r->extra_headers), "Allow: %s\r\n",
			 rt->post ? "POST" : "GET, HEAD");
		return NULL;
	}
	return rt;
}

/* A body for a route that refuses it is never read (a POST to the
 * read-only agent port would otherwise hold up to 1 MiB first). */
bool ks_app_refuse_early(void *app, const struct ks_http_request *head, bool tls, struct ks_response *r)
{
	(void)app;
	return !route_or_error(head, tls, r);
}

void ks_app_handle(void *app, const struct ks_http_request *req, bool tls, struct ks_response *r)
{
	const struct route *rt = route_or_error(req, tls, r);

	if (rt)
		rt->fn(app, req, r);
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
	const struct route *rt = route_find(req->path, true);
	enum ks_route route = rt ? rt->id : R_OTHER;
	double s = latency_ns / 1e9;
	int k, cls = status / 100;

	/* one writer (the loop): relaxed adds, whole values for the reader */
	atomic_fetch_add_explicit(&a->requests[route][cls >= 1 && cls <= 5 ? cls : 0], 1, memory_order_relaxed);
	for (k = 0; k < KS_LAT_BUCKETS && s > ks_lat_bounds_s[k]; k++)
		;
	atomic_fetch_add_explicit(&a->latency_bucket[route][k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->latency_sum_ns[route], latency_ns, memory_order_relaxed);
}
