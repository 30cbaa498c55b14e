// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-scaler end to end: the fake API server (selftests/fake_apiserver.py,
 * whose controllers give Deployments ReplicaSets and pods with
 * ownerReferences) and two fake agents (selftests/fake_agent.py), one
 * serving a /pods report written here, one serving garbage.  The scaler
 * runs as a process for a bounded number of polls; the replica counts and
 * Events are then read back from the API.  No root needed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fakeapi.h"
#include "test_progs.h"
#include "fixture.h"
#include "kube.h"
#include "loopback.h"
#include "promfx.h"
#include "scaler/scaler.h"

static char tdir[128];

static const char *tpath(const char *name)
{
	static char bufs[8][512];
	static int n;
	char *p = bufs[n++ % 8];

	snprintf(p, 512, "%s/%s", tdir, name);
	return p;
}

static const char *scaler_bin(void)
{
	const char *b = getenv("KSENSE_SCALER_BIN");

	return b && *b ? b : "build/ksense-scaler";
}

static int write_text(const char *path, const char *text)
{
	char tmp[600];
	FILE *f;

	/* renamed into place: the agent never serves half a file */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	return rename(tmp, path) ? -errno : 0;
}

static char *read_text(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static bool wait_log_file(const char *path, const char *needle, int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms / 50; i++) {
		if (fx_count_in_file(path, needle))
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* A python3 helper with --port 0 --port-file; its pid and port. */
static pid_t start_py(const char *name, int *port, ...)
{
	char portfile[512], log[600];
	char *argv[24];
	va_list ap;
	int n = 0;

	snprintf(portfile, sizeof(portfile), "%s.port", tpath(name));
	snprintf(log, sizeof(log), "%s.log", portfile);
	argv[n++] = "python3";
	va_start(ap, port);
	while (n < 18 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n] = NULL;
	return fx_spawn_port(log, portfile, argv, port);
}

static struct kube_client *kc;

/* HTTP status of a request to the fake server (body into out when given). */
static int api(const char *method, const char *path, const char *body, struct ks_buf *out)
{
	char err[512];
	int status = 0, rc;

	rc = kube_request(kc, method, path, NULL, body, body ? strlen(body) : 0, &status, out, err, sizeof(err));
	if (rc) {
		printf("  %s %s: %s\n", method, path, err);
		return rc;
	}
	return status;
}

static int replicas_of(const char *name)
{
	return fx_deploy_replicas(kc, "default", name);
}

struct ev_count {
	const char *name, *reason;
	int n;
	unsigned int count;  /* the Events' count fields summed */
	char message[1024];
};

static int ev_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct ev_count *c = arg;
	char name[256] = "", reason[64] = "", comp[64] = "";
	int i;

	(void)len;
	if (!json) {
		c->n = 0;
		return 0;
	}
	ks_json_string(j, ks_json_path(j, "involvedObject.name"), name, sizeof(name));
	ks_json_string(j, ks_json_path(j, "reason"), reason, sizeof(reason));
	ks_json_string(j, ks_json_path(j, "source.component"), comp, sizeof(comp));
	if (strcmp(name, c->name) || strcmp(reason, c->reason) || strcmp(comp, "ksense-scaler"))
		return 0;
	c->n++;
	i = ks_json_path(j, "count");
	c->count += ks_json_is_number(j, i) ? (unsigned int)atoi(j->src + j->tok[i].start) : 0;
	ks_json_string(j, ks_json_path(j, "message"), c->message, sizeof(c->message));
	return 0;
}

/* Events of the scaler on Deployment `name` with `reason`: how many objects
 * (the last one's message into msg). */
static int events_of(const char *name, const char *reason, char *msg, size_t msglen)
{
	struct ev_count c = { .name = name, .reason = reason };
	char err[256], rv[KUBE_RV_MAX];

	if (kube_list(kc, "/api/v1/namespaces/default/events", 500, ev_item, &c, rv, sizeof(rv), err, sizeof(err)))
		return -1;
	if (msg)
		snprintf(msg, msglen, "%s", c.message);
	return c.n;
}

/* 1 when any Event in default came from the scaler. */
static int total_events(void)
{
	struct ks_buf b;
	int n = -1;

	ks_buf_init(&b, 4 << 20);
	if (api("GET", "/api/v1/namespaces/default/events", NULL, &b) == 200)
		n = b.data && strstr(b.data, "ksense-scaler") ? 1 : 0;
	ks_buf_free(&b);
	return n;
}

struct workload {
	const char *name;
	const char *annotations; /* JSON members, may be "" */
	int replicas;
	const char *report;      /* the pod entry's class and numbers */
	const char *waits_on;    /* its pods name the first pod of this Deployment as their dependency */
};

/* Every Deployment the rules are tried on, and what its pods report. */
static const struct workload workloads[] = {
	{ "burner", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"3\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":950,\"s_ms_per_s\":3.1,\"samples\":99,\"top\":[{\"function\":"
	  "\"main.burnCycles\",\"module\":\"/app/burner\",\"share_permille\":870}]", NULL },
	{ "writer", "\"ksense.io/autoscale\":\"true\"", 1,
	  "\"class\":\"BLOCK\",\"oncpu_permille\":40,\"d_ms_per_s\":610,\"block_ios_per_s\":800,\"block_ms_per_s\":"
	  "420.5,\"block_lat_avg_us\":5300,\"top\":[{\"function\":\"fdatasync\",\"module\":\"/lib/libc.so.6\","
	  "\"share_permille\":300}]", NULL },
	{ "waiter", "\"ksense.io/autoscale\":\"true\",\"ksense.io/dependency\":\"db\"", 1,
	  "\"class\":\"OFFCPU\",\"oncpu_permille\":10,\"s_ms_per_s\":870,\"top\":[{\"function\":\"recv\","
	  "\"share_permille\":500}]", NULL },
	{ "db", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"2\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":990,\"top\":[{\"function\":\"query_exec\",\"share_permille\":700}]", NULL },
	{ "lonely", "\"ksense.io/autoscale\":\"true\"", 1,
	  "\"class\":\"OFFCPU\",\"oncpu_permille\":5,\"s_ms_per_s\":900.5,\"top\":[{\"function\":\"epoll_wait\","
	  "\"share_permille\":640}]", NULL },
	{ "idle", "\"ksense.io/autoscale\":\"true\",\"ksense.io/min-replicas\":\"2\"", 3,
	  "\"class\":\"IDLE\",\"oncpu_permille\":1", NULL },
	{ "badmin", "\"ksense.io/autoscale\":\"true\",\"ksense.io/min-replicas\":\"abc\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":950", NULL },
	{ "minmax", "\"ksense.io/autoscale\":\"true\",\"ksense.io/min-replicas\":\"5\",\"ksense.io/max-replicas\":\"2\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":950", NULL },
	{ "negmax", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"-4\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":950", NULL },
	{ "plain", "", 1, "\"class\":\"CPU\",\"oncpu_permille\":950", NULL },
	{ "over", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"2\"", 4,
	  "\"class\":\"CPU\",\"oncpu_permille\":950", NULL },
	/* held to 200m by its limit: on-CPU far below the threshold, still
	 * CPU-bound for scaling */
	{ "capped", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"2\"", 1,
	  "\"class\":\"THROTTLED\",\"oncpu_permille\":201,\"throttled_permille\":784,\"throttled_ms_per_s\":"
	  "784.2,\"cpu_limit\":{\"millicores\":200,\"quota_us\":20000,\"period_us\":100000},\"top\":[{"
	  "\"function\":\"ksense_burn_cycles\",\"share_permille\":990}]", NULL },
	/* waits the kernel attributes to other pods: no annotation needed */
	{ "web", "\"ksense.io/autoscale\":\"true\"", 1,
	  "\"class\":\"OFFCPU\",\"cause\":\"DEPENDENCY\",\"oncpu_permille\":12,\"s_ms_per_s\":880.5", "api" },
	{ "api", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"2\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":990", NULL },
	{ "front", "\"ksense.io/autoscale\":\"true\"", 1,
	  "\"class\":\"OFFCPU\",\"cause\":\"DEPENDENCY\",\"oncpu_permille\":8,\"s_ms_per_s\":870", "cache" },
	{ "cache", "", 1, "\"class\":\"CPU\",\"oncpu_permille\":990", NULL },
	{ "locky", "\"ksense.io/autoscale\":\"true\"", 1,
	  "\"class\":\"OFFCPU\",\"cause\":\"LOCK\",\"oncpu_permille\":990,\"s_ms_per_s\":2900", NULL },
	/* kept off a busy node's CPU: a quarter on it, the rest in the run
	 * queue; CPU demand is both */
	{ "starved", "\"ksense.io/autoscale\":\"true\",\"ksense.io/max-replicas\":\"2\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":250,\"runq_wait_permille\":700", NULL },
	/* as little on CPU, and hardly waiting for it: below the threshold */
	{ "light", "\"ksense.io/autoscale\":\"true\"", 1,
	  "\"class\":\"CPU\",\"oncpu_permille\":250,\"runq_wait_permille\":100", NULL },
};
#define NWORK (int)(sizeof(workloads) / sizeof(workloads[0]))

struct report_ctx {
	struct ks_buf *out;
	int n;
	/* every pod listed: its name, uid and workload */
	struct { char name[256], uid[64]; int w; } pods[64];
	int npods;
};

/* "<deploy>-<hash>-<suffix>": the workload whose pod this is, or -1. */
static int workload_of(const char *name)
{
	int w;

	for (w = 0; w < NWORK; w++) {
		size_t l = strlen(workloads[w].name);

		if (!strncmp(name, workloads[w].name, l) && name[l] == '-' && strchr(name + l + 1, '-'))
			return w;
	}
	return -1;
}

static int list_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct report_ctx *c = arg;

	(void)len;
	if (!json || c->npods == (int)(sizeof(c->pods) / sizeof(c->pods[0])))
		return 0;
	ks_json_string(j, ks_json_path(j, "metadata.name"), c->pods[c->npods].name, sizeof(c->pods[0].name));
	ks_json_string(j, ks_json_path(j, "metadata.uid"), c->pods[c->npods].uid, sizeof(c->pods[0].uid));
	c->pods[c->npods].w = workload_of(c->pods[c->npods].name);
	if (c->pods[c->npods].w >= 0)
		c->npods++;
	return 0;
}

/* One /pods entry per existing pod, classed by its Deployment; a waiter's
 * entry names the first pod of what it waits on, as the agent does. */
static void report_pods(struct report_ctx *c)
{
	int i, k;

	for (i = 0; i < c->npods; i++) {
		const struct workload *wl = &workloads[c->pods[i].w];

		ks_buf_printf(c->out, "%s{\"uid\":\"%s\",\"namespace\":\"default\",\"name\":\"%s\",%s,"
			      "\"containers\":[{\"name\":\"c\"}],\"future_field\":{\"x\":[1]}", c->n++ ? "," : "",
			      c->pods[i].uid, c->pods[i].name, wl->report);
		for (k = 0; wl->waits_on && k < c->npods; k++) {
			if (strcmp(workloads[c->pods[k].w].name, wl->waits_on))
				continue;
			/* a host cgroup first (no name: not a pod), then the pod */
			ks_buf_printf(c->out, ",\"dependencies\":[{\"cgroup_id\":7,\"cgroup\":\"/system.slice/x\","
				      "\"share_permille\":10},{\"cgroup_id\":99,\"uid\":\"%s\",\"namespace\":"
				      "\"default\",\"name\":\"%s\",\"deployment\":\"%s\",\"share_permille\":960}]",
				      c->pods[k].uid, c->pods[k].name, wl->waits_on);
			break;
		}
		ks_buf_printf(c->out, "}");
	}
}

static int agent1_port, agent2_port;

/* A fresh cluster: the two agents' pods, every workload's Deployment (its
 * pods made by the fake controllers), and agent 1's report of them. */
static int setup_cluster(void)
{
	char body[2048], err[256], rv[KUBE_RV_MAX];
	struct report_ctx rc;
	struct ks_buf b, rep;
	int w, st, ret = -1;

	ks_buf_init(&b, 4 << 20);
	ks_buf_init(&rep, 1 << 20);
	if (api("POST", "/fake/reset", "{}", &b) != 200)
		goto out;
	snprintf(body, sizeof(body),
		 "{\"objects\":["
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-a\",\"namespace\":"
		 "\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"},\"annotations\":"
		 "{\"ksense.io/agent-port\":\"%d\"}},\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":\"a\","
		 "\"image\":\"ksense/node\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.1\"}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-b\",\"namespace\":"
		 "\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"},\"annotations\":"
		 "{\"ksense.io/agent-port\":\"%d\"}},\"spec\":{\"nodeName\":\"node-b\",\"containers\":[{\"name\":\"a\","
		 "\"image\":\"ksense/node\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.1\"}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-c\",\"namespace\":"
		 "\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"}},\"spec\":{\"nodeName\":"
		 "\"node-c\",\"containers\":[{\"name\":\"a\",\"image\":\"ksense/node\"}]},\"status\":{\"phase\":\"Pending\"}}"
		 "]}", agent1_port, agent2_port);
	if ((st = api("POST", "/fake/objects", body, &b)) != 200) {
		printf("  seed agents: %d %s\n", st, b.data ? b.data : "");
		goto out;
	}
	for (w = 0; w < NWORK; w++) {
		const struct workload *wl = &workloads[w];

		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\","
			 "\"annotations\":{%s}},\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
			 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":"
			 "\"c\",\"image\":\"x\"}]}}}}", wl->name, wl->annotations, wl->replicas, wl->name, wl->name);
		if ((st = api("POST", "/apis/apps/v1/namespaces/default/deployments", body, &b)) != 201) {
			printf("  create %s: %d %s\n", wl->name, st, b.data ? b.data : "");
			goto out;
		}
	}
	/* the agent also reports a pod whose owner is gone and one of another namespace */
	ks_buf_printf(&rep, "{\"node\":\"node-a\",\"seq\":7,\"window_ms\":1000,\"pods\":["
		      "{\"uid\":\"gone\",\"namespace\":\"default\",\"name\":\"vanished-5d8f-xyz12\",\"class\":\"CPU\","
		      "\"oncpu_permille\":999},{\"namespace\":\"default\",\"name\":\"broken\",\"class\":\"???\"}");
	memset(&rc, 0, sizeof(rc));
	rc.out = &rep;
	rc.n = 2;
	if (kube_list(kc, "/api/v1/namespaces/default/pods", 500, list_item, &rc, rv, sizeof(rv), err, sizeof(err))) {
		printf("  list pods: %s\n", err);
		goto out;
	}
	report_pods(&rc);
	ks_buf_printf(&rep, "]}");
	if (write_text(tpath("agent1.json"), rep.data) || write_text(tpath("agent2.json"), "{\"pods\":[{\"name\":"))
		goto out;
	ret = 0;
out:
	ks_buf_free(&b);
	ks_buf_free(&rep);
	return ret;
}

/* Run the scaler to its end; its exit status, its log in log_out (static). */
static int run_scaler(char **log_out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_scaler(char **log_out, const char *fmt, ...)
{
	char args[2048], out[256];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	st = fx_sh(out, sizeof(out), "timeout 60 %s --kubeconfig %s %s >%s 2>&1", scaler_bin(), tpath("kubeconfig"),
		   args, tpath("scaler.log"));
	*log_out = read_text(tpath("scaler.log"));
	if (test__verbose())
		printf("%s", *log_out);
	return st;
}

#define FAST "--interval-s 0.2 --up-cooldown-s 0 --down-stabilization-s 0.5 --agent-timeout-ms 500"

static void test_rules(void)
{
	char *log, msg[1024];
	int st;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	st = run_scaler(&log, FAST " --max-polls 12");
	ASSERT_EQ(st, 0, "exit status");
	/* CPU: one step per --up-windows (1) poll, never past max 3 */
	ASSERT_EQ(replicas_of("burner"), 3, "burner scaled up to its max");
	ASSERT_EQ(events_of("burner", "ScaledUp", msg, sizeof(msg)), 2, "two ScaledUp Events");
	ASSERT_STRHAS(msg, "main.burnCycles", "ScaledUp names the hot function");
	ASSERT_EQ(events_of("burner", "ScaleUpLimited", NULL, 0), 1, "one ScaleUpLimited Event at max");
	/* BLOCK: never scaled, one Event (rate-limited) that says why */
	ASSERT_EQ(replicas_of("writer"), 1, "writer not scaled");
	ASSERT_EQ(events_of("writer", "ScaleUpRefused", msg, sizeof(msg)), 1, "one ScaleUpRefused Event");
	ASSERT_STRHAS(msg, "wait on disk", "refusal says disk");
	ASSERT_STRHAS(msg, "420.5 ms/s", "refusal has block ms/s");
	ASSERT_STRHAS(msg, "5300 us", "refusal has the latency");
	/* OFFCPU: the CPU-bound dependency scales, the waiter does not */
	ASSERT_EQ(replicas_of("waiter"), 1, "waiter not scaled");
	ASSERT_EQ(replicas_of("db"), 2, "dependency scaled to its max");
	ASSERT_EQ(events_of("waiter", "DependencyScaled", msg, sizeof(msg)), 1, "waiter's DependencyScaled Event");
	ASSERT_STRHAS(msg, "default/db", "names the dependency");
	ASSERT_EQ(replicas_of("lonely"), 1, "waiter without dependency not scaled");
	ASSERT_EQ(events_of("lonely", "OffCpuWait", msg, sizeof(msg)), 1, "OffCpuWait Event");
	ASSERT_STRHAS(msg, "epoll_wait", "names the wait's top function");
	ASSERT_STRHAS(msg, "S 900.5 ms/s", "has S ms/s");
	/* THROTTLED: scaled like CPU, and the Event says the limit binds */
	ASSERT_EQ(replicas_of("capped"), 2, "throttled Deployment scaled up to its max");
	ASSERT_EQ(events_of("capped", "ScaledUp", msg, sizeof(msg)), 1, "capped: one ScaledUp Event");
	ASSERT_STRHAS(msg, "held back by their CPU limit of 200m", "says the CPU limit holds the pods back");
	ASSERT_STRHAS(msg, "the limit is what binds", "says the limit binds");
	ASSERT_STRHAS(msg, "raising resources.limits.cpu is the alternative", "names the alternative");
	ASSERT_STRHAS(msg, "784.2 ms/s", "has the throttled time");
	ASSERT_EQ(events_of("capped", "ScaleUpLimited", msg, sizeof(msg)), 1, "capped: ScaleUpLimited at max");
	ASSERT_STRHAS(msg, "CPU limit", "the limited Event says the limit binds too");
	/* OFFCPU on a dependency the kernel names: that Deployment scales
	 * (it opted in and is CPU-bound), the waiter does not */
	ASSERT_EQ(replicas_of("web"), 1, "web (waiting on api) not scaled");
	ASSERT_EQ(replicas_of("api"), 2, "api, named by the kernel, scaled to its max");
	ASSERT_EQ(events_of("web", "DependencyScaled", msg, sizeof(msg)), 1, "web's DependencyScaled Event");
	ASSERT_STRHAS(msg, "default/api (pod default/api-", "names the dependency's Deployment and pod");
	ASSERT_STRHAS(msg, "named by the kernel", "says the kernel named it");
	ASSERT_STRHAS(msg, "960‰ of the wait", "and its share");
	ASSERT_EQ(events_of("api", "ScaledUp", msg, sizeof(msg)), 1, "api's ScaledUp Event");
	/* a dependency that did not opt in is named, not touched */
	ASSERT_EQ(replicas_of("cache"), 1, "cache not annotated: not scaled");
	ASSERT_EQ(replicas_of("front"), 1, "front not scaled");
	ASSERT_EQ(events_of("front", "OffCpuWait", msg, sizeof(msg)), 1, "front's OffCpuWait Event");
	ASSERT_STRHAS(msg, "default/cache (pod default/cache-", "names the dependency");
	ASSERT_STRHAS(msg, "is not annotated ksense.io/autoscale", "says why it was not scaled");
	/* threads waiting for each other: serialized, never scaled */
	ASSERT_EQ(replicas_of("locky"), 1, "OFFCPU/LOCK not scaled");
	ASSERT_EQ(events_of("locky", "OffCpuWait", msg, sizeof(msg)), 1, "locky's OffCpuWait Event");
	ASSERT_STRHAS(msg, "serialized on a lock", "says the threads are serialized");
	/* CPU demand: on-CPU plus run-queue wait */
	ASSERT_EQ(replicas_of("starved"), 2, "starved (250‰ on CPU + 700‰ waiting for it) scaled up");
	ASSERT_EQ(events_of("starved", "ScaledUp", msg, sizeof(msg)), 1, "starved: one ScaledUp Event");
	ASSERT_STRHAS(msg, "250‰ + 700‰ waiting in the run queue", "says the pods wait for the CPU");
	ASSERT_STRHAS(msg, "other work on the node keeps them off the CPU", "and why");
	ASSERT_EQ(replicas_of("light"), 1, "light (250‰ + 100‰) not scaled");
	/* IDLE: down after the stabilization window, not below min 2 */
	ASSERT_EQ(replicas_of("idle"), 2, "idle scaled down to min");
	ASSERT_EQ(events_of("idle", "ScaledDown", NULL, 0), 1, "one ScaledDown Event");
	/* bad annotations: an Event, no scaling */
	ASSERT_EQ(replicas_of("badmin"), 1, "non-numeric min: not scaled");
	ASSERT_EQ(events_of("badmin", "InvalidAnnotation", msg, sizeof(msg)), 1, "InvalidAnnotation (abc)");
	ASSERT_STRHAS(msg, "min-replicas=\"abc\"", "names the annotation");
	ASSERT_EQ(replicas_of("minmax"), 1, "min > max: not scaled");
	ASSERT_EQ(events_of("minmax", "InvalidAnnotation", msg, sizeof(msg)), 1, "InvalidAnnotation (min > max)");
	ASSERT_STRHAS(msg, "is above", "says min is above max");
	ASSERT_EQ(replicas_of("negmax"), 1, "negative max: not scaled");
	ASSERT_EQ(events_of("negmax", "InvalidAnnotation", NULL, 0), 1, "InvalidAnnotation (negative)");
	/* not opted in: untouched, no Event; beyond max: never further up, not clamped */
	ASSERT_EQ(replicas_of("plain"), 1, "not annotated: untouched");
	ASSERT_EQ(events_of("plain", "ScaledUp", NULL, 0), 0, "not annotated: no Event");
	ASSERT_EQ(replicas_of("over"), 4, "above max: left alone");
	ASSERT_EQ(events_of("over", "ScaleUpLimited", NULL, 0), 1, "above max: ScaleUpLimited");
	/* the garbage agent and the broken entries were skipped, not fatal */
	ASSERT_STRHAS(log, "agent skipped: malformed /pods", "garbage agent logged");
	ASSERT_STRHAS(log, "pod entries skipped", "bad entry logged");
	ASSERT_STRHAS(log, "level=info prog=ksense-scaler msg=\"scaled\" deployment=default/burner from=1 to=2",
		      "logfmt line of the action");
	ASSERT_STRHAS(log, "top_function=\"main.burnCycles\"", "logfmt evidence has the top function");
	if (!ASSERT_FALSE(strstr(log, "node-c"), "a non-serving agent pod is no error"))
		printf("%s", log);
}

/* What the scaler did, as its /metrics says it while it runs: the burner's
 * two steps up by class and reason, the writer's refusal, when it last
 * scaled the burner (wall clock, within this run), a poll counter; and
 * promtool accepts the labelled series. */
static void test_metrics(void)
{
	static char m[1 << 16];
	char *argv[] = { (char *)scaler_bin(), "--kubeconfig", (char *)tpath("kubeconfig"), "--interval-s", "0.2",
			 "--up-cooldown-s", "0", "--down-stabilization-s", "0.5", "--agent-timeout-ms", "500", NULL };
	const char *up = "ksense_scaler_actions_total{namespace=\"default\",deployment=\"burner\",class=\"CPU\","
			 "action=\"scale_up\",reason=\"ScaledUp\"}";
	const char *last = "ksense_scaler_last_scale_timestamp_seconds{namespace=\"default\",deployment=\"burner\","
			   "direction=\"up\"}";
	char log[300];
	double t0 = (double)time(NULL), ts;
	pid_t pid;
	int port, i;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	snprintf(log, sizeof(log), "%s", tpath("scaler-metrics.log"));
	pid = fx_spawn(log, argv, NULL);
	port = lb_log_number(log, "status_port");
	if (!ASSERT_GT(port, 0, "status port logged"))
		goto out;
	for (i = 0; i < 100; i++) {
		if (lb_get_ok(port, "/metrics", m, sizeof(m), 3000) && lb_metric(m, up) >= 2 &&
		    strstr(m, "deployment=\"writer\",class=\"BLOCK\",action=\"refused\""))
			break;
		usleep(100 * 1000);
	}
	ASSERT_EQ(replicas_of("burner"), 3, "burner scaled to its max");
	ASSERT_EQ(lb_metric(m, up), 2, "two steps up counted, by class and Event reason");
	ASSERT_STRHAS(m, "deployment=\"writer\",class=\"BLOCK\",action=\"refused\",reason=\"ScaleUpRefused\"}",
		      "the writer's refusal counted");
	ts = lb_metric(m, last);
	ASSERT_TRUE(ts >= t0 - 1 && ts <= (double)time(NULL) + 1, "last scale up: a Unix time within this run");
	ASSERT_GE(lb_metric(m, "ksense_scaler_polls_total"), 2, "polls counted");
	prom_lint(m, tpath("scaler-metrics.txt"), "the scaler's labelled series");
out:
	fx_stop(pid);
	if (test__failed())
		printf("%s", read_text(log));
}

static void test_dry_run(void)
{
	char *log;
	int st;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	st = run_scaler(&log, FAST " --max-polls 8 --dry-run");
	ASSERT_EQ(st, 0, "exit status");
	ASSERT_EQ(replicas_of("burner"), 1, "burner unchanged");
	ASSERT_EQ(replicas_of("db"), 1, "db unchanged");
	ASSERT_EQ(replicas_of("idle"), 3, "idle unchanged");
	ASSERT_EQ(total_events(), 0, "no Event posted");
	ASSERT_STRHAS(log, "msg=\"would scale\" dry_run=1 deployment=default/burner from=1 to=2", "would scale up");
	ASSERT_STRHAS(log, "msg=\"would scale\" dry_run=1 deployment=default/idle from=3 to=2", "would scale down");
	ASSERT_STRHAS(log, "would post event", "would post Events");
}

static void test_once_and_conflict(void)
{
	char *log, body[512];
	struct ks_buf b;
	int st;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	st = run_scaler(&log, "--once --up-windows 1");
	ASSERT_EQ(st, 0, "--once exit status");
	ASSERT_EQ(replicas_of("burner"), 2, "--once: one step");
	/* a 409 on the scale: logged, retried on the next poll */
	ks_buf_init(&b, 1 << 20);
	snprintf(body, sizeof(body), "{\"fail_next\":{\"method\":\"PATCH\",\"path_regex\":\"deployments/burner$\","
		 "\"code\":409,\"count\":1}}");
	ASSERT_EQ(api("POST", "/fake/control", body, &b), 200, "inject 409");
	ks_buf_free(&b);
	st = run_scaler(&log, FAST " --up-windows 1 --max-polls 3");
	ASSERT_EQ(st, 0, "exit status");
	ASSERT_STRHAS(log, "scale conflict", "409 logged");
	ASSERT_EQ(replicas_of("burner"), 3, "scaled on the next poll");
}

/* The scaler in the background with the cluster's kubeconfig, a short
 * Lease (3/2/1 s), identity id and cooldown 30 s; its pid. */
static pid_t bg_scaler(const char *id, const char *logname)
{
	char *argv[] = { (char *)scaler_bin(), "--kubeconfig", (char *)tpath("kubeconfig"), "--interval-s", "0.2",
			 "--up-cooldown-s", "30", "--down-stabilization-s", "0.5", "--agent-timeout-ms", "500",
			 "--identity", (char *)id, "--lease-duration-s", "3", "--renew-deadline-s", "2",
			 "--retry-period-s", "1", NULL };

	return fx_spawn(tpath(logname), argv, NULL);
}

static void kill9(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool wait_replicas(const char *name, int want, int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms / 50; i++) {
		if (replicas_of(name) == want)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* ksense.io/last-scale of a Deployment into out ("" when none). */
static void last_scale_of(const char *name, char *out, size_t len)
{
	char path[256], err[256];
	struct ks_json j;
	struct ks_buf b;
	int ann;

	out[0] = '\0';
	ks_buf_init(&b, 1 << 20);
	snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/default/deployments/%s", name);
	if (api("GET", path, NULL, &b) == 200 && !ks_json_parse(&j, b.data, b.len, err, sizeof(err))) {
		ann = ks_json_path(&j, "metadata.annotations");
		ks_json_string(&j, ks_json_member(&j, ann, KS_ANN_LAST_SCALE), out, len);
		ks_json_free(&j);
	}
	ks_buf_free(&b);
}

static void test_restart_cooldown(void)
{
	char ann[512];
	pid_t pid;
	int round;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	pid = bg_scaler("s1", "restart.log");
	if (!ASSERT_TRUE(wait_replicas("burner", 2, 10000), "the first step up")) {
		kill9(pid);
		printf("%s", read_text(tpath("restart.log")));
		return;
	}
	last_scale_of("burner", ann, sizeof(ann));
	ASSERT_STRHAS(ann, "\"direction\":\"up\",\"from\":1,\"to\":2", "the scale is recorded in the Deployment");
	/* killed and restarted twice inside the 30 s cooldown: no other step.
	 * Each restart logs to a log of its own, so that only its own
	 * "leading: polling" says it took the Lease and polled (the first
	 * run's line would say nothing about the restarts) */
	for (round = 0; round < 2; round++) {
		char logname[32];
		int waited;

		kill9(pid);
		snprintf(logname, sizeof(logname), "restart-%d.log", round + 1);
		pid = bg_scaler("s1", logname);
		for (waited = 0; waited < 10000 && !fx_count_in_file(tpath(logname), "leading: polling"); waited += 50)
			usleep(50 * 1000);
		if (!ASSERT_GE(fx_count_in_file(tpath(logname), "leading: polling"), 1, "the restarted scaler leads")) {
			printf("%s", read_text(tpath(logname)));
			break;
		}
		usleep(1500 * 1000); /* several polls (0.2 s apart) while leading */
		ASSERT_EQ(replicas_of("burner"), 2, "no extra step after a kill -9 and a restart");
	}
	ASSERT_EQ(fx_stop(pid), 0, "SIGTERM: exit 0");
}

static void test_hpa_conflict(void)
{
	char *log, msg[1024];
	int st;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	ASSERT_EQ(api("POST", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
		      "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":"
		      "{\"name\":\"burner-hpa\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":"
		      "\"Deployment\",\"name\":\"burner\"},\"minReplicas\":1,\"maxReplicas\":5}}", NULL),
		  201, "an HPA on burner");
	st = run_scaler(&log, FAST " --max-polls 8");
	ASSERT_EQ(st, 0, "exit status");
	ASSERT_EQ(replicas_of("burner"), 1, "burner left to its HPA");
	ASSERT_EQ(events_of("burner", "HPAConflict", msg, sizeof(msg)), 1, "one HPAConflict Event");
	ASSERT_STRHAS(msg, "default/burner-hpa", "names the HPA");
	ASSERT_EQ(replicas_of("db"), 2, "the others are still scaled");
}

static void test_two_replicas(void)
{
	pid_t a, b;
	int la, lb;

	if (!ASSERT_OK(setup_cluster(), "setup"))
		return;
	a = bg_scaler("r1", "r1.log");
	b = bg_scaler("r2", "r2.log");
	ASSERT_TRUE(wait_replicas("burner", 2, 10000), "one step up");
	usleep(1500 * 1000);
	ASSERT_EQ(replicas_of("burner"), 2, "one step only: one replica acts, the cooldown holds");
	la = fx_count_in_file(tpath("r1.log"), "leading: polling");
	lb = fx_count_in_file(tpath("r2.log"), "leading: polling");
	ASSERT_EQ(la + lb, 1, "exactly one leads");
	/* the leader goes (and releases the Lease); the other takes over and
	 * honours the cooldown the first one wrote */
	ASSERT_EQ(fx_stop(la ? a : b), 0, "the leader stops");
	ASSERT_TRUE(wait_log_file(tpath(la ? "r2.log" : "r1.log"), "leading: polling", 5000), "the other takes over");
	usleep(1000 * 1000);
	ASSERT_EQ(replicas_of("burner"), 2, "still one step: the new leader reads the last scale");
	ASSERT_EQ(fx_stop(la ? b : a), 0, "the other stops");
}

static void test_api_down(void)
{
	char *log, kc2[512];
	pid_t pid;
	int st, i;

	snprintf(kc2, sizeof(kc2), "%s", tpath("kubeconfig-down"));
	/* port 1 on loopback: nothing listens there, the connect is refused */
	write_text(kc2, "apiVersion: v1\nkind: Config\ncurrent-context: d\nclusters: [{name: d, cluster: {server: "
		   "'http://127.0.0.1:1'}}]\ncontexts: [{name: d, context: {cluster: d}}]\n");
	st = run_scaler(&log, "--once --no-leader-elect --kubeconfig %s", kc2);
	ASSERT_EQ(st, 1, "--once with the API down: exit 1");
	ASSERT_STRHAS(log, "poll failed", "says the poll failed");
	ASSERT_STRHAS(log, "127.0.0.1", "names the server");
	/* electing, it cannot even hold the Lease: it gives up after one
	 * lease duration and a retry */
	st = run_scaler(&log, "--once --lease-duration-s 3 --renew-deadline-s 2 --retry-period-s 1 --kubeconfig %s", kc2);
	ASSERT_EQ(st, 1, "--once electing with the API down: exit 1");
	ASSERT_STRHAS(log, "lease: cannot acquire or renew", "says why");
	ASSERT_STRHAS(log, "could not become leader", "gives up");
	/* looping: keeps retrying with backoff, SIGTERM ends it cleanly */
	pid = fork();
	if (pid == 0) {
		if (!freopen(tpath("down.log"), "w", stderr))
			_exit(127);
		execl(scaler_bin(), scaler_bin(), "--kubeconfig", kc2, "--interval-s", "0.1", "--no-leader-elect",
		      (char *)NULL);
		_exit(127);
	}
	if (!ASSERT_GT(pid, 0, "fork"))
		return;
	usleep(1500 * 1000);
	ASSERT_EQ(waitpid(pid, &st, WNOHANG), 0, "still running after 1.5 s");
	kill(pid, SIGTERM);
	for (i = 0; i < 50 && waitpid(pid, &st, WNOHANG) != pid; i++)
		usleep(100 * 1000);
	if (!ASSERT_LT(i, 50, "stopped on SIGTERM")) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
	log = read_text(tpath("down.log"));
	ASSERT_STRHAS(log, "retry_in_s=", "backs off");
	ASSERT_STRHAS(log, "attempt=2", "retried");
}

static void test_cli(void)
{
	static const char *const flags[] = {
		"--interval-s", "KSENSE_SCALER_INTERVAL_S", "--agent-timeout-ms", "--agent-namespace", "--agent-selector",
		"--agent-port", "--kubeconfig", "--context", "--namespace", "--cpu-threshold-permille", "--up-windows",
		"--up-cooldown-s", "--down-stabilization-s", "--event-interval-s", "--dry-run", "--once", "--max-polls",
		"--verbose", "--help", "ksense.io/autoscale", "ksense.io/min-replicas", "ksense.io/max-replicas",
		"ksense.io/dependency", "ksense.io/agent-port", "KUBECONFIG", "SIGTERM",
	};
	char out[16384];
	size_t i;
	int st;

	st = fx_sh(out, sizeof(out), "%s --help 2>&1", scaler_bin());
	ASSERT_EQ(st, 0, "--help exit 0");
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!ASSERT_STRHAS(out, flags[i], "help lists it"))
			printf("  missing: %s\n", flags[i]);
	st = fx_sh(out, sizeof(out), "%s --no-such-flag 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "bad flag: exit 2");
	ASSERT_STRHAS(out, "unknown option '--no-such-flag'", "names the flag");
	st = fx_sh(out, sizeof(out), "%s --interval-s abc 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "bad interval: exit 2");
	ASSERT_STRHAS(out, "--interval-s: 'abc' is not a number", "says why");
	ASSERT_EQ(strchr(out, '\n'), strrchr(out, '\n'), "one line");
	st = fx_sh(out, sizeof(out), "KSENSE_SCALER_INTERVAL_S=-1 %s 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "bad env: exit 2");
	ASSERT_STRHAS(out, "KSENSE_SCALER_INTERVAL_S: '-1'", "names the variable");
	st = fx_sh(out, sizeof(out), "%s --cpu-threshold-permille 0 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "zero threshold: exit 2");
	st = fx_sh(out, sizeof(out), "%s --up-windows 2.5 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "fractional windows: exit 2");
	st = fx_sh(out, sizeof(out), "%s --once=1 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "flag with a value: exit 2");
	st = fx_sh(out, sizeof(out), "%s --namespace 2>&1", scaler_bin());
	ASSERT_EQ(st, 2, "missing value: exit 2");
}

static void test_parse(void)
{
	static const char ok[] =
		"{\"node\":\"n1\",\"seq\":123,\"window_ms\":1000,\"new\":{\"a\":[]},\"pods\":["
		"{\"uid\":\"u\",\"namespace\":\"default\",\"name\":\"b-1\",\"class\":\"CPU\",\"oncpu_permille\":950,"
		"\"runq_wait_permille\":42,\"d_ms_per_s\":0.0,\"s_ms_per_s\":3.1,\"samples\":99,\"top\":[{\"function\":\"main.burnCycles\","
		"\"module\":\"/app/burner\",\"share_permille\":870},{\"module\":\"/lib/x.so\"},{\"function\":\"f3\"},"
		"{\"function\":\"f4\"}],\"containers\":[]},"
		"{\"namespace\":\"default\",\"name\":\"neg\",\"class\":\"CPU\",\"oncpu_permille\":-5},"
		"{\"namespace\":\"default\",\"name\":\"str\",\"class\":\"IDLE\",\"s_ms_per_s\":\"3\"},"
		"{\"namespace\":\"default\",\"class\":\"IDLE\"},"
		"{\"namespace\":\"default\",\"name\":\"null-ok\",\"class\":\"IDLE\",\"d_ms_per_s\":null,"
		"\"cpu_limit\":null},"
		"{\"namespace\":\"default\",\"name\":\"capped\",\"class\":\"THROTTLED\",\"throttled_permille\":780,"
		"\"throttled_ms_per_s\":780.5,\"cpu_limit\":{\"millicores\":250,\"quota_us\":25000}},"
		"{\"namespace\":\"default\",\"name\":\"badlim\",\"class\":\"THROTTLED\",\"cpu_limit\":{\"millicores\":-1}},"
		"{\"namespace\":\"default\",\"name\":\"web-1\",\"class\":\"OFFCPU\",\"cause\":\"DEPENDENCY\","
		"\"dependencies\":[{\"cgroup_id\":7,\"cgroup\":\"/system.slice/x\",\"share_permille\":30},"
		"{\"cgroup_id\":8,\"uid\":\"u8\",\"namespace\":\"shop\",\"name\":\"db-1\",\"share_permille\":955},"
		"{\"cgroup_id\":9,\"namespace\":\"shop\",\"name\":\"db-2\",\"share_permille\":5000},"
		"{\"namespace\":\"shop\",\"name\":\"db-3\"}]},"
		"{\"namespace\":\"default\",\"name\":\"new\",\"class\":\"OFFCPU\",\"cause\":\"QUANTUM\"},"
		"7]}";
	struct ks_pods_report r;
	char err[256];

	if (ASSERT_OK(ks_pods_parse(ok, strlen(ok), &r, err, sizeof(err)), "parse")) {
		ASSERT_EQ(strcmp(r.node, "n1"), 0, "node");
		ASSERT_EQ(r.seq, 123, "seq");
		ASSERT_EQ(r.npods, 5, "five usable pods");
		ASSERT_EQ(r.skipped, 5, "five skipped");
		ASSERT_STRHAS(r.first_skip, "pods[1]: bad or missing oncpu_permille", "first skip reason");
		ASSERT_EQ(r.pods[0].cls, KS_CLASS_CPU, "class");
		ASSERT_EQ((int)r.pods[0].oncpu_permille, 950, "oncpu");
		ASSERT_EQ((int)r.pods[0].runq_wait_permille, 42, "run-queue wait");
		ASSERT_EQ((int)r.pods[1].runq_wait_permille, 0, "run-queue wait absent (an older agent): 0");
		ASSERT_EQ(r.pods[0].ntop, KS_PODS_TOP, "top capped");
		ASSERT_EQ(strcmp(r.pods[0].top[0].function, "main.burnCycles"), 0, "top function");
		ASSERT_EQ(r.pods[0].top[0].share_permille, 870, "share");
		ASSERT_EQ(strcmp(r.pods[1].name, "null-ok"), 0, "null number is absent");
		ASSERT_EQ((int)r.pods[1].cpu_limit_millicores, 0, "cpu_limit null: no limit");
		ASSERT_EQ(r.pods[2].cls, KS_CLASS_THROTTLED, "THROTTLED parsed");
		ASSERT_EQ((int)r.pods[2].throttled_permille, 780, "throttled share");
		ASSERT_EQ((int)(r.pods[2].throttled_ms_per_s * 10), 7805, "throttled ms/s");
		ASSERT_EQ((int)r.pods[2].cpu_limit_millicores, 250, "the limit");
		ASSERT_EQ(r.pods[3].cause, KS_CAUSE_DEPENDENCY, "cause");
		ASSERT_EQ(r.pods[3].ndeps, KS_PODS_DEPS, "named pods only, capped");
		ASSERT_STREQ(r.pods[3].deps[0].name, "db-1", "the host cgroup is passed over");
		ASSERT_STREQ(r.pods[3].deps[0].uid, "u8", "its uid");
		ASSERT_EQ(r.pods[3].deps[0].share_permille, 955, "its share");
		ASSERT_EQ(r.pods[3].deps[1].share_permille, 0, "a share over 1000 is none");
		ASSERT_EQ(r.pods[4].cause, KS_CAUSE_NONE, "an unknown cause is none, the pod kept");
		ks_pods_report_free(&r);
	}
	ASSERT_EQ(ks_pods_parse("[]", 2, &r, err, sizeof(err)), -EINVAL, "array body");
	ASSERT_STRHAS(err, "not an object", "says so");
	ASSERT_EQ(ks_pods_parse("{\"pods\":{}}", 11, &r, err, sizeof(err)), -EINVAL, "pods not an array");
	ASSERT_EQ(ks_pods_parse("{\"pods\":[", 9, &r, err, sizeof(err)), -EINVAL, "truncated");
	ASSERT_EQ(ks_pods_parse("", 0, &r, err, sizeof(err)), -EINVAL, "empty");
	ASSERT_OK(ks_pods_parse("{\"pods\":[]}", 11, &r, err, sizeof(err)), "no pods is fine");
	ks_pods_report_free(&r);
}

KS_TEST_F(scaler, KS_SAN | KS_HOST)
{
	pid_t api_pid = -1, ag1 = -1, ag2 = -1;
	struct kube_config c = { 0 };
	char err[512], text[512];
	int api_port = 0;

	if (test__start_subtest("scaler_parse"))
		test_parse();
	if (access(scaler_bin(), X_OK)) {
		test__skip("%s not built", scaler_bin());
		return;
	}
	if (test__start_subtest("scaler_cli"))
		test_cli();
	snprintf(tdir, sizeof(tdir), "/tmp/ksense-scaler-XXXXXX");
	if (!mkdtemp(tdir)) {
		test__fail();
		return;
	}
	api_pid = start_py("api", &api_port, "selftests/fake_apiserver.py", NULL);
	ag1 = start_py("agent1", &agent1_port, "selftests/fake_agent.py", "--pods-file", tpath("agent1.json"), NULL);
	ag2 = start_py("agent2", &agent2_port, "selftests/fake_agent.py", "--pods-file", tpath("agent2.json"), NULL);
	if (api_pid <= 0 || ag1 <= 0 || ag2 <= 0) {
		test__skip("python3 fake servers did not start");
		goto out;
	}
	snprintf(text, sizeof(text), "apiVersion: v1\nkind: Config\ncurrent-context: f\nclusters: [{name: f, cluster: "
		 "{server: 'http://127.0.0.1:%d'}}]\ncontexts: [{name: f, context: {cluster: f}}]\n", api_port);
	write_text(tpath("kubeconfig"), text);
	if (!ASSERT_OK(kube_config_load(&c, tpath("kubeconfig"), NULL, err, sizeof(err)), "kubeconfig"))
		goto out;
	kc = kube_client_new(&c, 0, 1, err, sizeof(err));
	if (!ASSERT_OK_PTR(kc, "client"))
		goto out;
	if (test__start_subtest("scaler_rules"))
		test_rules();
	if (test__start_subtest("scaler_metrics"))
		test_metrics();
	if (test__start_subtest("scaler_dry_run"))
		test_dry_run();
	if (test__start_subtest("scaler_once_conflict"))
		test_once_and_conflict();
	if (test__start_subtest("scaler_api_down"))
		test_api_down();
	if (test__start_subtest("scaler_restart_cooldown"))
		test_restart_cooldown();
	if (test__start_subtest("scaler_hpa_conflict"))
		test_hpa_conflict();
	if (test__start_subtest("scaler_two_replicas"))
		test_two_replicas();
out:
	kube_client_free(kc);
	kc = NULL;
	kube_config_free(&c);
	fx_stop(ag2);
	fx_stop(ag1);
	fx_stop(api_pid);
	if (tdir[0] && !getenv("KSENSE_KEEP_TMP")) {
		snprintf(text, sizeof(text), "rm -rf '%s'", tdir);
		if (system(text))
			printf("  could not remove %s\n", tdir);
	}
}
