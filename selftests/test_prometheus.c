// SPDX-License-Identifier: GPL-2.0
/*
 * The node's /metrics as Prometheus reads it: `promtool check metrics`
 * passes; between two scrapes each counter grew by exactly the windows the
 * history ring holds in between; and histogram_quantile(0.99) over one
 * window's bucket increase, evaluated by Prometheus' own PromQL engine
 * (`promtool test rules`), agrees with the kernel's p99 of that window
 * within the stated bound (a factor 1.5: the le-bucket's two ends).
 *
 * promtool comes from Debian's prometheus package, fetched into build/ by
 * make test (tools/fetch-deb); $KSENSE_PROMTOOL names another.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "buf.h"
#include "fixture.h"
#include "loopback.h"
#include "pins.h"
#include "promfx.h"

static char out[1 << 16];
static char dir[128];
static char expo[2][1 << 17];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static bool scrape(int port, int k)
{
	return lb_request(port, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", expo[k],
			  sizeof(expo[k]), 3000) > 0 && strstr(expo[k], "HTTP/1.1 200");
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static void lint(void)
{
	char path[256];
	const char *body = strstr(expo[0], "\r\n\r\n");

	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	if (!ASSERT_OK_PTR(body, "a body") || !ASSERT_OK(write_file(path, body + 4), "write"))
		return;
	if (!ASSERT_EQ(sh("%s check metrics < %s 2>&1", fx_promtool(), path), 0, "promtool check metrics"))
		printf("%s\n", out);
	ASSERT_STRHAS(expo[0], "# TYPE ksense_runqueue_latency_seconds histogram", "run-queue histogram");
	ASSERT_STRHAS(expo[0], "# TYPE ksense_windows_total counter", "windows counter");
	ASSERT_STRHAS(expo[0], "ksense_decision{decision=\"allow\"}", "decision as a label");
	ASSERT_STRHAS(expo[0], "ksense_band{band=\"high\"}", "band as a label");
	ASSERT_EQ(lb_metric(expo[0], "ksense_pins_up"), 1, "pins up");
}

/* a - b of one series in the two scrapes */
static double grew(const char *series)
{
	return lb_metric(expo[1], series) - lb_metric(expo[0], series);
}

static bool close_to(double got, double want)
{
	return fabs(got - want) <= 1e-6 * fabs(want) + 2e-9;
}

static void rates(int port)
{
	struct ksense_window w;
	double dstate_s = 0, busy_s = 0, rq_n = 0, rq_s = 0, d_n = 0, nx_n = 0, nx_s = 0, rc_n = 0, rc_s = 0;
	__u64 a, b, seq;
	int hist, i;

	if (!ASSERT_TRUE(scrape(port, 0), "first scrape"))
		return;
	a = (__u64)lb_metric(expo[0], "ksense_windows_total");
	for (i = 0; i < 50 && (!scrape(port, 1) || (__u64)lb_metric(expo[1], "ksense_windows_total") < a + 8); i++)
		usleep(FIXTURE_WINDOW_MS * 1000);
	b = (__u64)lb_metric(expo[1], "ksense_windows_total");
	if (!ASSERT_GE(b, a + 8, "windows between the scrapes"))
		return;
	hist = ks_pin_open(KSENSE_PIN_HISTORY);
	for (seq = a + 1; seq <= b; seq++) {
		if (!ASSERT_OK(ks_read_history(hist, seq, &w), "window in the ring"))
			break;
		dstate_s += w.dstate_ns / 1e9;
		busy_s += w.cpu_busy_ns / 1e9;
		rq_n += w.runq.count;
		rq_s += w.runq.sum_ns / 1e9;
		d_n += w.dstate.count;
		nx_n += w.netrx.count;
		nx_s += w.netrx.sum_ns / 1e9;
		rc_n += w.reclaim.count;
		rc_s += w.reclaim.sum_ns / 1e9;
	}
	ks_close(hist);
	printf("    scrapes at windows %llu and %llu: run-queue +%.0f events, CPU +%.3f s\n",
	       (unsigned long long)a, (unsigned long long)b, rq_n, busy_s);
	/* counters grow by the windows' own sums, to the printed precision */
	ASSERT_TRUE(close_to(grew("ksense_cpu_busy_seconds_total"), busy_s), "CPU busy = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_dstate_seconds_total"), dstate_s), "D time = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_runqueue_latency_seconds_count"), rq_n), "run-queue count = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_runqueue_latency_seconds_sum"), rq_s), "run-queue sum = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_dstate_episode_seconds_count"), d_n), "D episodes = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_netrx_softirq_seconds_count"), nx_n), "NET_RX runs = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_netrx_softirq_seconds_sum"), nx_s), "NET_RX time = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_direct_reclaim_seconds_count"), rc_n), "reclaim stalls = windows' sum");
	ASSERT_TRUE(close_to(grew("ksense_direct_reclaim_seconds_sum"), rc_s), "reclaim time = windows' sum");
	ASSERT_GT(rq_n, 0, "something ran");
}

/* The bucket lines of one histogram in scrape k, "series value" each. */
static int buckets(int k, const char *name, char series[][128], double *v, int max)
{
	char prefix[160], *p;
	int n = 0;

	snprintf(prefix, sizeof(prefix), "\n%s_bucket{le=\"", name);
	for (p = strstr(expo[k], prefix); p && n < max; p = strstr(p + 1, prefix)) {
		char *end = strchr(p + 1, ' ');

		if (!end)
			break;
		snprintf(series[n], sizeof(series[n]), "%.*s", (int)(end - p - 1), p + 1);
		v[n++] = strtod(end + 1, NULL);
	}
	return n;
}

static void quantile(int port)
{
	static char series[2][128][128];
	double v[2][128];
	struct ksense_window w = {};
	char path[256], *text = NULL;
	size_t len = 0;
	FILE *f;
	int n0 = 0, n1, i, hist;
	__u64 a = 0;

	/* two scrapes exactly one window apart, a window with events in it */
	for (i = 0; i < 40; i++) {
		if (!scrape(port, 0))
			continue;
		a = (__u64)lb_metric(expo[0], "ksense_windows_total");
		if (fx_wait_window(a, &w, 3000) || !scrape(port, 1))
			continue;
		if ((__u64)lb_metric(expo[1], "ksense_windows_total") == a + 1 && w.seq == a + 1 && w.runq.count >= 50)
			break;
	}
	if (!ASSERT_EQ((__u64)lb_metric(expo[1], "ksense_windows_total"), a + 1, "scrapes one window apart"))
		return;
	hist = ks_pin_open(KSENSE_PIN_HISTORY);
	ASSERT_OK(ks_read_history(hist, a + 1, &w), "that window");
	ks_close(hist);
	n0 = buckets(0, "ksense_runqueue_latency_seconds", series[0], v[0], 128);
	n1 = buckets(1, "ksense_runqueue_latency_seconds", series[1], v[1], 128);
	if (!ASSERT_EQ(n0, n1, "the same buckets") || !ASSERT_GT(n0, 10, "buckets"))
		return;
	f = open_memstream(&text, &len);
	if (!ASSERT_OK_PTR(f, "memstream"))
		return;
	/* Prometheus' own engine: the window's increase over one minute */
	fprintf(f, "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n");
	for (i = 0; i < n0; i++)
		fprintf(f, "      - series: '%s'\n        values: '%.0f %.0f'\n", series[0][i], v[0][i], v[1][i]);
	fprintf(f, "    promql_expr_test:\n");
	fprintf(f, "      - expr: histogram_quantile(0.99, rate(ksense_runqueue_latency_seconds_bucket[2m])) / %.9g "
		   "<= bool 1.5\n        eval_time: 1m\n        exp_samples:\n          - labels: '{}'\n            value: 1\n",
		w.runq.p99_ns / 1e9);
	fprintf(f, "      - expr: histogram_quantile(0.99, rate(ksense_runqueue_latency_seconds_bucket[2m])) / %.9g "
		   ">= bool 0.6666\n        eval_time: 1m\n        exp_samples:\n          - labels: '{}'\n            value: 1\n",
		w.runq.p99_ns / 1e9);
	fclose(f);
	snprintf(path, sizeof(path), "%s/quantile_test.yaml", dir);
	if (ASSERT_OK(write_file(path, text), "write the rule test")) {
		printf("    window %llu: %llu run-queue events, kernel p99 %.1f us\n", (unsigned long long)w.seq,
		       (unsigned long long)w.runq.count, w.runq.p99_ns / 1e3);
		if (!ASSERT_EQ(sh("%s test rules %s 2>&1", fx_promtool(), path), 0,
			       "histogram_quantile(0.99) within x1.5 of the kernel's p99")) {
			printf("%s\n", out);
			sh("%s test rules %s 2>&1 | head -5; grep -c series %s", fx_promtool(), path, path);
		}
	}
	free(text);
}

KS_TEST(prometheus_node)
{
	const char *bin = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
	char log[256], data[200];
	char *argv[] = { (char *)bin, "--no-tls", "--agent-addr=127.0.0.1", "--agent-port=0", "--data-dir", data,
			 NULL };
	struct lb_webhook wh = {};

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_EQ(access(fx_promtool(), X_OK), 0, "promtool (make test fetches it: tools/fetch-deb prometheus)"))
		return;
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	snprintf(dir, sizeof(dir), "/tmp/ksense-prom-%d", getpid());
	sh("rm -rf %s && mkdir -p %s", dir, dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(log, sizeof(log), "%s/webhook.log", dir);
	if (!ASSERT_OK(lb_webhook_start(&wh, log, 0, argv), "webhook")) {
		sh("tail -n 20 %s", log);
		printf("%s\n", out);
		goto out;
	}
	if (test__start_subtest("exposition_lint") && ASSERT_TRUE(scrape(wh.agent_port, 0), "scrape"))
		lint();
	if (test__start_subtest("counters_add_windows"))
		rates(wh.agent_port);
	if (test__start_subtest("histogram_quantile"))
		quantile(wh.agent_port);
out:
	lb_webhook_stop(&wh);
	if (!test__failed())
		sh("rm -rf %s", dir);
}

/* With no pins (ksense not loaded, or unloaded under the daemon) the node
 * daemon still answers /metrics: ksense_pins_up 0, its build and its own
 * counters, and no node series (a stale score would look live). */
KS_TEST_F(prometheus_no_pins, KS_SAN | KS_HOST)
{
	const char *bin = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
	const char *was = getenv("KSENSE_PIN_ROOT");
	char log[300], data[300], root[300], saved[4096] = "", file[300];
	char *argv[] = { (char *)bin, "--no-tls", "--agent-addr=127.0.0.1", "--agent-port=0", "--data-dir", data,
			 NULL };
	struct lb_webhook wh = {};
	const char *tmp = fx_tmpdir("prom-no-pins");

	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(log, sizeof(log), "%s/webhook.log", tmp);
	snprintf(root, sizeof(root), "%s/no-pins-here", tmp);
	if (was)
		snprintf(saved, sizeof(saved), "%s", was);
	setenv("KSENSE_PIN_ROOT", root, 1);
	/* it waits for /healthz 200, which without pins never comes: the
	 * listening port is enough here */
	lb_webhook_start(&wh, log, 0, argv);
	if (!ASSERT_GT(wh.agent_port, 0, "webhook without pins listening"))
		goto out;
	ASSERT_FALSE(lb_get_ok(wh.agent_port, "/healthz", expo[0], sizeof(expo[0]), 3000), "/healthz not 200");
	if (!ASSERT_TRUE(lb_get_ok(wh.agent_port, "/metrics", expo[0], sizeof(expo[0]), 3000), "GET /metrics"))
		goto out;
	ASSERT_EQ(lb_metric(expo[0], "ksense_pins_up"), 0, "ksense_pins_up 0");
	ASSERT_FALSE(strstr(expo[0], "\nksense_score "), "no score");
	ASSERT_FALSE(strstr(expo[0], "\nksense_windows_total "), "no kernel totals");
	ASSERT_FALSE(strstr(expo[0], "\nksense_pod_"), "no pod series");
	prom_build_info(expo[0], "the node daemon without pins");
	snprintf(file, sizeof(file), "%s/metrics.txt", tmp);
	prom_lint(expo[0], file, "the node daemon without pins");
out:
	lb_webhook_stop(&wh);
	if (was)
		setenv("KSENSE_PIN_ROOT", saved, 1);
	else
		unsetenv("KSENSE_PIN_ROOT");
	if (test__failed()) {
		sh("tail -n 20 %s", log);
		printf("%s\n", out);
	}
}

/* Label values from the API are escaped as the exposition format says:
 * a name with a quote, a backslash or a newline cannot break a line. */
KS_TEST_F(prometheus_label_escape, KS_SAN | KS_HOST)
{
	struct ks_buf b;

	ks_buf_init(&b, 4096);
	ASSERT_OK(ks_buf_prom_label(&b, "plain-name.1"), "plain");
	ASSERT_OK(ks_buf_prom_label(&b, "|a\"b\\c\nd"), "hostile");
	ASSERT_OK(ks_buf_append(&b, "", 1), "terminate");
	ASSERT_STREQ(b.data, "plain-name.1|a\\\"b\\\\c\\nd", "escaped");
	ks_buf_free(&b);
}
