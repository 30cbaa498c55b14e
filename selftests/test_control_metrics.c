// SPDX-License-Identifier: GPL-2.0
/*
 * The control-plane daemons observed as an operator would: ksense-scheduler
 * and ksense-scaler against the fake API server answer /healthz and
 * /metrics on their status ports, promtool accepts the expositions, the
 * counters follow what the daemons did; and every metric the Grafana
 * dashboard (k8s/monitoring) queries is exported by one of the three
 * daemons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "fakeapi.h"
#include "fixture.h"
#include "json.h"
#include "loopback.h"
#include "schedfx.h"
#include "promfx.h"

static char expo[3][1 << 17];   /* node, scheduler, scaler */

/* GET /metrics into expo[k], check it with promtool and find its build. */
static bool scrape_lint(int port, int k, const char *dir, const char *what)
{
	char path[512];

	if (!ASSERT_TRUE(lb_get_ok(port, "/metrics", expo[k], sizeof(expo[k]), 3000), what))
		return false;
	snprintf(path, sizeof(path), "%s/metrics-%d.txt", dir, k);
	prom_lint(expo[k], path, what);
	prom_build_info(expo[k], what);
	return true;
}

static double pending(const char *e)
{
	static const char *const q[] = { "active", "backoff", "scoring", "verify" };
	double sum = 0;
	char series[96];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(series, sizeof(series), "ksense_scheduler_pending_pods{queue=\"%s\"}", q[i]);
		sum += lb_metric(e, series);
	}
	return sum;
}

/* Pods that fit no node wait with the leader (lead_port); a second replica,
 * standby with the same pods in its cache, reports none of them pending:
 * sum() over the two replicas, as the alert and the dashboard take it,
 * counts each pod once. */
static void standby(struct fakeapi *f, int lead_port)
{
	char log[600], buf[2048];
	double lead_pending = -1, standby_pending = -1;
	pid_t sp;
	int port, i;

	/* 100 CPUs each: no node (4 CPUs) fits them */
	if (!ASSERT_OK(seed_pods(f, "huge", 0, 3, "100"), "pods that fit nowhere"))
		return;
	snprintf(log, sizeof(log), "%s", fakeapi_path(f, "sched-standby.log"));
	sp = start_sched(f, log, "metrics-b", NULL, NULL);
	port = lb_log_number(log, "status_port");
	if (!ASSERT_GT(port, 0, "standby's status port logged"))
		goto out;
	for (i = 0; i < 100; i++) {
		if (lb_get_ok(lead_port, "/metrics", expo[1], sizeof(expo[1]), 3000))
			lead_pending = pending(expo[1]);
		if (lead_pending >= 3 && lb_get_ok(port, "/healthz", buf, sizeof(buf), 3000) &&
		    strstr(buf, "\"synced\":true"))
			break;
		usleep(100 * 1000);
	}
	ASSERT_GE(lead_pending, 3, "the leader has the three pending");
	ASSERT_GE(lb_metric(expo[1], "ksense_scheduler_schedule_attempts_total{result=\"unschedulable\"}"), 1,
		  "attempts that found no node counted as unschedulable");
	ASSERT_STRHAS(buf, "\"synced\":true", "the standby's watches are synced");
	ASSERT_STRHAS(buf, "\"leader\":false", "the standby does not lead");
	/* its loop publishes within a turn of syncing */
	usleep(1500 * 1000);
	if (scrape_lint(port, 1, f->dir, "standby /metrics")) {
		standby_pending = pending(expo[1]);
		ASSERT_EQ(lb_metric(expo[1], "ksense_scheduler_leader"), 0, "standby");
		ASSERT_EQ(standby_pending, 0, "a standby reports nothing pending");
	}
out:
	if (test__failed())
		dump_log(log);
	fx_stop(sp);
}

static void scheduler(struct fakeapi *f)
{
	struct fake_agent ag = {};
	struct bound_count bc;
	char nodes[4096], log[600], buf[2048];
	pid_t sp = -1;
	int port, i;

	if (!ASSERT_OK(fake_agent_start(f, &ag, "n1", "30 allow"), "agent"))
		return;
	fake_node_json(nodes, sizeof(nodes), "n1", 4000, &ag);
	if (!ASSERT_OK(fakeapi_seed(f, nodes), "seed node"))
		goto out;
	snprintf(log, sizeof(log), "%s", fakeapi_path(f, "sched-metrics.log"));
	sp = start_sched(f, log, "metrics-a", NULL, NULL);
	port = lb_log_number(log, "status_port");
	if (!ASSERT_GT(port, 0, "status port logged"))
		goto out;
	ASSERT_OK(seed_pods(f, "obs", 0, 4, "100m"), "pods");
	ASSERT_TRUE(wait_bound(f, "obs", 0, 4, 15000, &bc), "bound");
	/* the loop publishes what it did at its next turn (within ~1 s) */
	for (i = 0; i < 50; i++) {
		if (lb_get_ok(port, "/metrics", expo[1], sizeof(expo[1]), 3000) &&
		    lb_metric(expo[1], "ksense_scheduler_schedule_attempts_total{result=\"scheduled\"}") >= 4)
			break;
		usleep(100 * 1000);
	}
	ASSERT_TRUE(lb_get_ok(port, "/healthz", buf, sizeof(buf), 3000), "/healthz 200");
	ASSERT_STRHAS(buf, "\"synced\":true", "informers synced");
	if (scrape_lint(port, 1, f->dir, "scheduler /metrics")) {
		ASSERT_GE(lb_metric(expo[1], "ksense_scheduler_schedule_attempts_total{result=\"scheduled\"}"), 4,
			  "scheduled attempts counted");
		ASSERT_GE(lb_metric(expo[1], "ksense_scheduler_pod_scheduling_duration_seconds_count"), 4,
			  "pending-to-bound observed");
		ASSERT_EQ(lb_metric(expo[1], "ksense_scheduler_leader"), 1, "leads");
		ASSERT_EQ(lb_metric(expo[1], "ksense_scheduler_pending_pods{queue=\"active\"}"), 0, "nothing left due");
		ASSERT_GE(lb_metric(expo[1], "ksense_scheduler_agent_score_requests_total"), 1, "asked the agent");
	}
	lb_request(port, "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", buf, sizeof(buf), 3000);
	ASSERT_STRHAS(buf, "HTTP/1.1 405", "read-only");
	standby(f, port);
out:
	if (test__failed())
		dump_log(log);
	if (sp > 0)
		fx_stop(sp);
	fake_agent_stop(&ag);
}

static void scaler(struct fakeapi *f)
{
	const char *bin = getenv("KSENSE_SCALER_BIN") ?: "build/ksense-scaler";
	char log[600], buf[2048];
	char *argv[] = { (char *)bin, "--kubeconfig", f->kubeconfig, "--interval-s", "0.2", NULL };
	pid_t pid;
	int port, i;

	snprintf(log, sizeof(log), "%s", fakeapi_path(f, "scaler-metrics.log"));
	pid = fx_spawn(log, argv, NULL);
	port = lb_log_number(log, "status_port");
	if (!ASSERT_GT(port, 0, "status port logged"))
		goto out;
	for (i = 0; i < 50; i++) {
		if (lb_get_ok(port, "/metrics", expo[2], sizeof(expo[2]), 3000) &&
		    lb_metric(expo[2], "ksense_scaler_polls_total") >= 2)
			break;
		usleep(200 * 1000);
	}
	ASSERT_TRUE(lb_get_ok(port, "/healthz", buf, sizeof(buf), 3000), "/healthz 200");
	if (scrape_lint(port, 2, f->dir, "scaler /metrics")) {
		ASSERT_GE(lb_metric(expo[2], "ksense_scaler_polls_total"), 2, "polls counted");
		ASSERT_EQ(lb_metric(expo[2], "ksense_scaler_leader"), 1, "leads");
	}
out:
	if (test__failed())
		dump_log(log);
	fx_stop(pid);
}

static bool exported(const char *name)
{
	char type[200];
	int k;

	snprintf(type, sizeof(type), "# TYPE %s ", name);
	for (k = 0; k < 3; k++)
		if (strstr(expo[k], type))
			return true;
	return false;
}

/* Every ksense_* metric name in every expr of the dashboard is exported
 * (a histogram's _bucket/_sum/_count by its family). */
static void dashboard(void)
{
	static char text[1 << 18];
	struct ks_json j;
	char err[256];
	FILE *f = fopen("k8s/monitoring/dashboards/ksense.json", "r");
	size_t n;
	int i, names = 0, missing = 0;

	if (!ASSERT_OK_PTR(f, "dashboard file"))
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	if (!ASSERT_OK(ks_json_parse(&j, text, n, err, sizeof(err)), "the dashboard is JSON")) {
		printf("    %s\n", err);
		return;
	}
	for (i = 0; i < j.ntok; i++) {
		char expr[2048];
		const char *p;

		if (!ks_json_is_string(&j, i) || j.tok[i].end - j.tok[i].start != 4 ||
		    strncmp(j.src + j.tok[i].start, "expr", 4) || ks_json_string(&j, i + 1, expr, sizeof(expr)))
			continue;
		for (p = strstr(expr, "ksense_"); p; p = strstr(p + 1, "ksense_")) {
			char name[128];
			size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_"), cut;

			if (p > expr && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			names++;
			if (exported(name))
				continue;
			/* a histogram's series by their family */
			for (cut = 0; cut < 3; cut++) {
				static const char *const sfx[] = { "_bucket", "_sum", "_count" };
				size_t sl = strlen(sfx[cut]);

				if (len > sl && !strcmp(name + len - sl, sfx[cut])) {
					name[len - sl] = '\0';
					break;
				}
			}
			if (!exported(name)) {
				printf("    the dashboard queries %s, which no daemon exports\n", name);
				missing++;
			}
		}
	}
	ks_json_free(&j);
	printf("    %d metric references in the dashboard's queries\n", names);
	ASSERT_GE(names, 17, "the dashboard queries metrics");
	ASSERT_EQ(missing, 0, "every one exported");
}

KS_TEST_F(control_plane_metrics, KS_SAN | KS_HOST)
{
	const char *wh = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
	char data[300], log[300];
	char *argv[] = { (char *)wh, "--no-tls", "--agent-addr=127.0.0.1", "--agent-port=0", "--data-dir", data, NULL };
	struct lb_webhook node = {};
	struct fakeapi f;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_EQ(access(fx_promtool(), X_OK), 0, "promtool (make test fetches it: tools/fetch-deb prometheus)"))
		return;
	if (!ASSERT_OK(fakeapi_start(&f, "cpmetrics"), "fake API server"))
		return;
	if (test__start_subtest("scheduler"))
		scheduler(&f);
	if (test__start_subtest("scaler"))
		scaler(&f);
	if (test__start_subtest("dashboard_queries_exist")) {
		/* the node's metrics need the pins: root loads them */
		if (!fx_is_root())
			test__skip("needs root (to load the BPF programs for the node daemon's /metrics)");
		else if (ASSERT_OK(fx_load(), "ksense load")) {
			snprintf(data, sizeof(data), "%s", fakeapi_path(&f, "node-data"));
			snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "node.log"));
			if (ASSERT_OK(lb_webhook_start(&node, log, 0, argv), "node daemon") &&
			    ASSERT_TRUE(lb_get_ok(node.agent_port, "/metrics", expo[0], sizeof(expo[0]), 3000),
					"node /metrics")) {
				prom_build_info(expo[0], "node /metrics");
				dashboard();
			}
			lb_webhook_stop(&node);
		}
	}
	fakeapi_stop(&f);
}
