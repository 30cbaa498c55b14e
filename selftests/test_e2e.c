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

/* The chain around the fake API server: ksense-workloads (its pods' UIDs
 * read back), ksense-webhook as node n1's agent (its agent pod seeded),
 * ksense-scaler; each a process, logs in the fake server's directory. */
struct chain {
	struct fakeapi f;
	char prefix[64], wl_log[600], wh_log[600], sc_log[600];
	pid_t wl, wh, sc;
	int agent_port;
};

static bool chain_skip(void)
{
	if (!fx_is_root()) {
		test__skip("needs root");
		return true;
	}
	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return true;
	}
	if (access("build/ksense-workloads", X_OK) || access("build/ksense-scaler", X_OK)) {
		test__skip("build/ksense-workloads and build/ksense-scaler are not built (make)");
		return true;
	}
	return false;
}

/* Only the workloads in p: the others would only load the machine. */
static bool chain_start_workloads(struct chain *c, const char *tag, struct wl_pod *p, int n)
{
	char only[256] = "";
	char *argv[] = { "build/ksense-workloads", "--json", "--seconds", "90", "--prefix", c->prefix, "--go", "/none",
			 "--only", only, NULL };
	int i;

	for (i = 0; i < n; i++)
		snprintf(only + strlen(only), sizeof(only) - strlen(only), "%s%s", i ? "," : "", p[i].name);
	c->wl = c->wh = c->sc = -1;
	if (!ASSERT_OK(fx_load(), "fx_load") || !ASSERT_OK(fakeapi_start(&c->f, tag), "fake API server"))
		return false;
	snprintf(c->wl_log, sizeof(c->wl_log), "%s", fakeapi_path(&c->f, "workloads.log"));
	snprintf(c->wh_log, sizeof(c->wh_log), "%s", fakeapi_path(&c->f, "webhook.log"));
	snprintf(c->sc_log, sizeof(c->sc_log), "%s", fakeapi_path(&c->f, "scaler.log"));
	snprintf(c->prefix, sizeof(c->prefix), "ksense-%s-%d", tag, getpid());
	c->wl = fx_spawn(c->wl_log, argv, NULL);
	if (!ASSERT_TRUE(read_workloads(c->wl_log, p, n, 10000), "workloads running")) {
		dump(c->wl_log);
		return false;
	}
	for (i = 0; i < n; i++)
		if (!ASSERT_TRUE(p[i].uid[0] && p[i].cid[0], p[i].name)) {
			dump(c->wl_log);
			return false;
		}
	return true;
}

/* ksense-webhook as node n1's agent, and its agent pod in the API. */
static bool chain_start_agent(struct chain *c)
{
	char *argv[] = { getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook", "--no-tls", "--agent-addr",
			 "127.0.0.1", "--agent-port", "0", "--node", "n1", "--kubeconfig", c->f.kubeconfig,
			 "--data-dir", (char *)fakeapi_path(&c->f, "data"), NULL };
	char body[2048];
	int i;

	c->wh = fx_spawn(c->wh_log, argv, NULL); /* KSENSE_PIN_ROOT: fx_load's tree */
	for (i = 0; i < 100 && !c->agent_port; i++) {
		FILE *lf = fopen(c->wh_log, "r");
		char line[1024], *q;

		while (lf && fgets(line, sizeof(line), lf))
			if ((q = strstr(line, "agent_port=")))
				c->agent_port = atoi(q + 11);
		if (lf)
			fclose(lf);
		usleep(50 * 1000);
	}
	if (!ASSERT_GT(c->agent_port, 0, "webhook listening")) {
		dump(c->wh_log);
		return false;
	}
	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-n1\",\"namespace\":"
		 "\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"},\"annotations\":"
		 "{\"ksense.io/agent-port\":\"%d\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"w\","
		 "\"image\":\"ksense/node\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.1\"}}",
		 c->agent_port);
	return ASSERT_OK(fakeapi_seed(&c->f, body), "agent pod");
}

/* A low CPU bar: the CPU-bound pods share two CPUs with whatever else
 * this machine runs; what is tested is the chain, not the bar. */
static void chain_start_scaler(struct chain *c)
{
	char *argv[] = { getenv("KSENSE_SCALER_BIN") ?: "build/ksense-scaler", "--kubeconfig", c->f.kubeconfig,
			 "--interval-s", "1", "--up-windows", "2", "--cpu-threshold-permille", "250",
			 "--up-cooldown-s", "600", "--max-polls", "60", "-v", NULL };

	c->sc = fx_spawn(c->sc_log, argv, NULL);
}

static void chain_stop(struct chain *c)
{
	if (c->sc > 0)
		fx_stop(c->sc);
	if (c->wh > 0)
		fx_stop(c->wh);
	if (c->wl > 0)
		ASSERT_EQ(fx_stop(c->wl), 0, "workloads stop cleanly");
	if (test__failed()) {
		dump(c->sc_log);
		dump(c->wh_log);
	}
	fakeapi_stop(&c->f);
}

KS_TEST_F(e2e_kernel_to_scale, KS_LIVE | KS_SAN)
{
	struct wl_pod p[2] = { { .name = "burner" }, { .name = "writer" } };
	char out[1 << 14];
	struct chain c = {};
	long long t0, t_scaled = -1;
	int i;

	if (chain_skip())
		return;
	t0 = mono_ms();
	if (!chain_start_workloads(&c, "e2e", p, 2))
		goto out;
	ASSERT_OK(seed_app(&c.f, &p[0], 1, "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"3\""),
		  "burner's Deployment");
	ASSERT_OK(seed_app(&c.f, &p[1], 2, "\"ksense.io/autoscale\":\"true\""), "writer's Deployment");
	if (!chain_start_agent(&c))
		goto out;
	chain_start_scaler(&c);
	for (i = 0; i < 450 && t_scaled < 0; i++) {
		if (fx_deploy_replicas(c.f.kc, "default", "burner") >= 2)
			t_scaled = mono_ms();
		else
			usleep(100 * 1000);
	}
	if (ASSERT_GE(t_scaled, 0, "the burner's Deployment scaled up"))
		printf("    burner start -> scale PATCH: %.1f s (%d ms windows, class hysteresis 3; 1 s polls, 2 to scale)\n",
		       (t_scaled - t0) / 1000.0, FIXTURE_WINDOW_MS);
	ASSERT_EQ(fx_deploy_replicas(c.f.kc, "default", "burner"), 2, "one step (cooldown holds the next)");
	for (i = 0; i < 100 && !has_event(&c.f, "writer", "ScaleUpRefused"); i++)
		usleep(100 * 1000);
	ASSERT_TRUE(has_event(&c.f, "writer", "ScaleUpRefused"), "the writer's Deployment got ScaleUpRefused");
	ASSERT_EQ(fx_deploy_replicas(c.f.kc, "default", "writer"), 1, "the writer was not scaled");
	/* /pods as a person would read it: names from the API, classes, hot
	 * function (a few tries: a class may flap for a window on a busy
	 * machine, and the scaler saw it already) */
	for (i = 0; i < 20; i++) {
		if (!fx_sh(out, sizeof(out), "curl -s http://127.0.0.1:%d/pods", c.agent_port) &&
		    strstr(out, "\"name\":\"burner-5d8f-x1\"") && strstr(out, "ksense_burn_cycles") &&
		    strstr(out, "\"class\":\"BLOCK\""))
			break;
		usleep(250 * 1000);
	}
	ASSERT_STRHAS(out, "\"name\":\"burner-5d8f-x1\"", "burner's pod named from the API");
	ASSERT_STRHAS(out, "ksense_burn_cycles", "burner's hot function");
	ASSERT_STRHAS(out, "\"class\":\"BLOCK\"", "the writer classed BLOCK");
out:
	chain_stop(&c);
}

struct ev_find {
	const char *object, *reason;
	char *msg;
	size_t len;
};

static int ev_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct ev_find *e = arg;
	char name[256] = "", reason[64] = "";

	(void)len;
	if (!json)
		return 0;
	ks_json_string(j, ks_json_path(j, "involvedObject.name"), name, sizeof(name));
	ks_json_string(j, ks_json_path(j, "reason"), reason, sizeof(reason));
	if (!strcmp(name, e->object) && !strcmp(reason, e->reason) &&
	    ks_json_string(j, ks_json_path(j, "message"), e->msg, e->len))
		e->msg[0] = '\0';
	return 0;
}

/* The message of the Event `reason` on Deployment `object` into msg ("" none). */
static void event_message(struct fakeapi *f, const char *object, const char *reason, char *msg, size_t len)
{
	struct ev_find e = { object, reason, msg, len };
	char err[256], rv[KUBE_RV_MAX];

	msg[0] = '\0';
	kube_list(f->kc, "/api/v1/namespaces/default/events", 500, ev_item, &e, rv, sizeof(rv), err, sizeof(err));
}

/* A client pod waiting on a CPU-bound server pod over loopback TCP, and a
 * pod whose four threads wait for one mutex: the kernel names the server
 * as the client's dependency (its Deployment found through the API), and
 * the scaler scales the server, not the client, saying why in the
 * client's Event; the lock convoy is not scaled. */
KS_TEST_F(e2e_dependency, KS_LIVE | KS_SAN)
{
	struct wl_pod p[3] = { { .name = "server" }, { .name = "client" }, { .name = "locker" } };
	char out[1 << 15], msg[2048];
	struct chain c = {};
	int i;

	if (chain_skip())
		return;
	if (!chain_start_workloads(&c, "e2edep", p, 3))
		goto out;
	ASSERT_OK(seed_app(&c.f, &p[0], 3, "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"3\""),
		  "server's Deployment");
	ASSERT_OK(seed_app(&c.f, &p[1], 4, "\"ksense.io/autoscale\":\"true\""), "client's Deployment");
	ASSERT_OK(seed_app(&c.f, &p[2], 5, "\"ksense.io/autoscale\":\"true\""), "locker's Deployment");
	if (!chain_start_agent(&c))
		goto out;
	chain_start_scaler(&c);
	for (i = 0; i < 450 && !(fx_deploy_replicas(c.f.kc, "default", "server") >= 2 &&
				 has_event(&c.f, "client", "DependencyScaled")); i++)
		usleep(100 * 1000);
	ASSERT_GE(fx_deploy_replicas(c.f.kc, "default", "server"), 2, "the server's Deployment scaled up");
	ASSERT_EQ(fx_deploy_replicas(c.f.kc, "default", "client"), 1, "the waiting client was not scaled");
	event_message(&c.f, "client", "DependencyScaled", msg, sizeof(msg));
	ASSERT_STRHAS(msg, "default/server (pod default/server-5d8f-x1", "the client's Event names the dependency");
	ASSERT_STRHAS(msg, "named by the kernel", "... as the kernel named it");
	for (i = 0; i < 100 && !has_event(&c.f, "locker", "OffCpuWait"); i++)
		usleep(100 * 1000);
	event_message(&c.f, "locker", "OffCpuWait", msg, sizeof(msg));
	ASSERT_STRHAS(msg, "serialized on a lock", "the lock convoy: not scaled, and why");
	ASSERT_EQ(fx_deploy_replicas(c.f.kc, "default", "locker"), 1, "the locker was not scaled");
	for (i = 0; i < 20; i++) {
		if (!fx_sh(out, sizeof(out), "curl -s http://127.0.0.1:%d/pods", c.agent_port) &&
		    strstr(out, "\"cause\":\"DEPENDENCY\"") && strstr(out, "\"cause\":\"LOCK\"") &&
		    strstr(out, "\"name\":\"server-5d8f-x1\",\"owner_kind\":\"ReplicaSet\""))
			break;
		usleep(250 * 1000);
	}
	ASSERT_STRHAS(out, "\"cause\":\"DEPENDENCY\"", "/pods: OFFCPU/DEPENDENCY");
	ASSERT_STRHAS(out, "\"name\":\"server-5d8f-x1\",\"owner_kind\":\"ReplicaSet\"", "/pods names the server's pod");
	ASSERT_STRHAS(out, "\"cause\":\"LOCK\"", "/pods: OFFCPU/LOCK");
out:
	chain_stop(&c);
}
