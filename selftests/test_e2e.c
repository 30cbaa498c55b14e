// SPDX-License-Identifier: GPL-2.0
/*
 * The whole chain with nothing faked but the API server: the kernel's
 * per-cgroup sensors see ksense-workloads' pods (kubelet-style cgroups),
 * ksense-webhook's /pods names them (pod UIDs from the cgroup paths,
 * namespace/name from the fake API server's pods on this node), and
 * ksense-scaler scales the CPU-bound Deployment and refuses the
 * disk-bound one.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "fakeapi.h"
#include "fixture.h"
#include "json.h"
#include "test_progs.h"

struct wl_pod {
	const char *name;        /* workload and Deployment name */
	char uid[64];
	char cid[80];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The --json lines of ksense-workloads: uid and container id by name. */
static bool read_workloads(const char *log, struct wl_pod *p, int n, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	char line[2048];

	do {
		FILE *f = fopen(log, "r");
		bool ready = false;
		int i;

		while (f && fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "ready", 5))
				ready = true;
			for (i = 0; i < n; i++) {
				char want[64];

				snprintf(want, sizeof(want), "{\"name\":\"%s\",", p[i].name);
				if (strncmp(line, want, strlen(want)) || !strstr(line, "\"uid\":\"") ||
				    !strstr(line, "\"container_id\":\""))
					continue;
				sscanf(strstr(line, "\"uid\":\"") + 7, "%63[^\"]", p[i].uid);
				sscanf(strstr(line, "\"container_id\":\"") + 16, "%79[^\"]", p[i].cid);
			}
		}
		if (f)
			fclose(f);
		if (ready)
			return true;
		usleep(100 * 1000);
	} while (mono_ms() < end);
	return false;
}

/* A Deployment, its ReplicaSet and one pod with the workload's UID, bound
 * to node n1, as the controllers and the kubelet would have made them. */
static int seed_app(struct fakeapi *f, const struct wl_pod *p, int i, const char *annotations)
{
	char body[4096];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\",\"namespace\":"
		 "\"default\",\"uid\":\"d0000000-0000-4000-8000-00000000000%d\",\"annotations\":{%s}},\"spec\":"
		 "{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":{\"metadata\":"
		 "{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"x\"}]}}}},"
		 "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"%s-5d8f\",\"namespace\":"
		 "\"default\",\"uid\":\"r0000000-0000-4000-8000-00000000000%d\",\"ownerReferences\":[{\"apiVersion\":"
		 "\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"%s\",\"uid\":\"d0000000-0000-4000-8000-00000000000%d\","
		 "\"controller\":true}]},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}}}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s-5d8f-x1\",\"namespace\":\"default\","
		 "\"uid\":\"%s\",\"labels\":{\"app\":\"%s\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
		 "\"ReplicaSet\",\"name\":\"%s-5d8f\",\"uid\":\"r0000000-0000-4000-8000-00000000000%d\",\"controller\":"
		 "true}]},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"main\",\"image\":\"x\"}]},\"status\":"
		 "{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"main\",\"containerID\":\"containerd://%s\"}]}}",
		 p->name, i, annotations, p->name, p->name, p->name, i, p->name, i, p->name, p->name, p->uid, p->name,
		 p->name, i, p->cid);
	return fakeapi_seed(f, body);
}

static bool has_event(struct fakeapi *f, const char *object, const char *reason)
{
	char needle[256];
	struct ks_buf b;
	bool found = false;

	ks_buf_init(&b, 8 << 20);
	snprintf(needle, sizeof(needle), "\"reason\":\"%s\"", reason);
	if (fakeapi_call(f, "GET", "/api/v1/namespaces/default/events", NULL, &b) == 200 && b.data)
		found = strstr(b.data, needle) && strstr(b.data, object);
	ks_buf_free(&b);
	return found;
}

static void dump(const char *path)
{
	char cmd[700];

	printf("  --- %s (tail) ---\n", path);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "tail -n 30 %s", path);
	if (system(cmd)) {
	}
}

KS_TEST(e2e_kernel_to_scale)
{
	struct wl_pod p[2] = { { .name = "burner" }, { .name = "writer" } };
	char prefix[64], wl_log[600], wh_log[600], sc_log[600], body[2048], port_s[16] = "", out[1 << 14];
	struct fakeapi f = {};
	long long t0, t_scaled = -1;
	pid_t wl = -1, wh = -1, sc = -1;
	int agent_port = 0, i;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (access("build/ksense-workloads", X_OK) || access("build/ksense-scaler", X_OK)) {
		test__skip("build/ksense-workloads and build/ksense-scaler are not built (make)");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load") || !ASSERT_OK(fakeapi_start(&f, "e2e"), "fake API server"))
		return;
	snprintf(wl_log, sizeof(wl_log), "%s", fakeapi_path(&f, "workloads.log"));
	snprintf(wh_log, sizeof(wh_log), "%s", fakeapi_path(&f, "webhook.log"));
	snprintf(sc_log, sizeof(sc_log), "%s", fakeapi_path(&f, "scaler.log"));
	snprintf(prefix, sizeof(prefix), "ksense-e2e-%d", getpid());
	t0 = mono_ms();
	{
		char *argv[] = { "build/ksense-workloads", "--json", "--seconds", "90", "--prefix", prefix, "--go", "/none",
				 NULL };

		wl = fx_spawn(wl_log, argv, NULL);
	}
	if (!ASSERT_TRUE(read_workloads(wl_log, p, 2, 10000), "workloads running") ||
	    !ASSERT_TRUE(p[0].uid[0] && p[1].uid[0] && p[0].cid[0], "their pod UIDs")) {
		dump(wl_log);
		goto out;
	}
	ASSERT_OK(seed_app(&f, &p[0], 1, "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"3\""),
		  "burner's Deployment");
	ASSERT_OK(seed_app(&f, &p[1], 2, "\"ksense.io/autoscale\":\"true\""), "writer's Deployment");
	{
		char *argv[] = { getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook", "--no-tls", "--agent-addr",
				 "127.0.0.1", "--agent-port", "0", "--node", "n1", "--kubeconfig", f.kubeconfig,
				 "--data-dir", (char *)fakeapi_path(&f, "data"), NULL };

		wh = fx_spawn(wh_log, argv, NULL); /* KSENSE_PIN_ROOT: fx_load's tree */
	}
	for (i = 0; i < 100 && !agent_port; i++) {
		FILE *lf = fopen(wh_log, "r");
		char line[1024], *q;

		while (lf && fgets(line, sizeof(line), lf))
			if ((q = strstr(line, "agent_port=")))
				agent_port = atoi(q + 11);
		if (lf)
			fclose(lf);
		usleep(50 * 1000);
	}
	if (!ASSERT_GT(agent_port, 0, "webhook listening")) {
		dump(wh_log);
		goto out;
	}
	snprintf(port_s, sizeof(port_s), "%d", agent_port);
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-n1\",\"namespace\":"
		 "\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"},\"annotations\":"
		 "{\"ksense.io/agent-port\":\"%s\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"w\","
		 "\"image\":\"ksense/node\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.1\"}}",
		 port_s);
	ASSERT_OK(fakeapi_seed(&f, body), "agent pod");
	{
		/* a low CPU bar: the burner shares two CPUs with whatever else
		 * this machine runs; what is tested is the chain, not the bar */
		char *argv[] = { getenv("KSENSE_SCALER_BIN") ?: "build/ksense-scaler", "--kubeconfig", f.kubeconfig,
				 "--interval-s", "1", "--up-windows", "2", "--cpu-threshold-permille", "250",
				 "--up-cooldown-s", "600", "--max-polls", "60", "-v", NULL };

		sc = fx_spawn(sc_log, argv, NULL);
	}
	for (i = 0; i < 450 && t_scaled < 0; i++) {
		if (fx_deploy_replicas(f.kc, "default", "burner") >= 2)
			t_scaled = mono_ms();
		else
			usleep(100 * 1000);
	}
	if (ASSERT_GE(t_scaled, 0, "the burner's Deployment scaled up"))
		printf("    burner start -> scale PATCH: %.1f s (%d ms windows, class hysteresis 3; 1 s polls, 2 to scale)\n",
		       (t_scaled - t0) / 1000.0, FIXTURE_WINDOW_MS);
	ASSERT_EQ(fx_deploy_replicas(f.kc, "default", "burner"), 2, "one step (cooldown holds the next)");
	for (i = 0; i < 100 && !has_event(&f, "writer", "ScaleUpRefused"); i++)
		usleep(100 * 1000);
	ASSERT_TRUE(has_event(&f, "writer", "ScaleUpRefused"), "the writer's Deployment got ScaleUpRefused");
	ASSERT_EQ(fx_deploy_replicas(f.kc, "default", "writer"), 1, "the writer was not scaled");
	/* /pods as a person would read it: names from the API, classes, hot function */
	if (fx_sh(out, sizeof(out), "curl -s http://127.0.0.1:%d/pods", agent_port) == 0) {
		ASSERT_STRHAS(out, "\"name\":\"burner-5d8f-x1\"", "burner's pod named from the API");
		ASSERT_STRHAS(out, "ksense_burn_cycles", "burner's hot function");
		ASSERT_STRHAS(out, "\"class\":\"BLOCK\"", "the writer classed BLOCK");
	}
out:
	if (sc > 0)
		fx_stop(sc);
	if (wh > 0)
		fx_stop(wh);
	if (wl > 0)
		ASSERT_EQ(fx_stop(wl), 0, "workloads stop cleanly");
	if (test__failed()) {
		dump(sc_log);
		dump(wh_log);
	}
	fakeapi_stop(&f);
}
