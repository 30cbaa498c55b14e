// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-scheduler --extender, kube-scheduler's HTTP extender
 * (k8s.io/kube-scheduler/extender/v1):
 *  extender_wire  the parser and writers on documents shaped like
 *                 kube-scheduler's (a full Pod; a NodeList of full Nodes, or
 *                 nodenames), and on bad ones
 *  extender       the daemon against the fake API server and three agents
 *                 (calm, deny, down) and a node with no agent: filter in both
 *                 nodeCacheCapable modes, prioritize, a score that changes,
 *                 bad payloads (400 with the error in "error"), wrong paths
 *                 and methods, HTTPS; its status port (/metrics counts
 *                 the calls, promtool accepts it; /healthz)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fakeapi.h"
#include "fixture.h"
#include "json.h"
#include "loopback.h"
#include "promfx.h"
#include "scheduler/kube_extender.h"
#include "schedfx.h"
#include "test_progs.h"

/* What kube-scheduler v1.30 sends: the Pod as the API has it. */
#define POD_JSON                                                                                                    \
	"{\"metadata\":{\"name\":\"web-7c9f\",\"generateName\":\"web-\",\"namespace\":\"shop\",\"uid\":"              \
	"\"8a2f4b1e-0c3d-4e5f-9a8b-7c6d5e4f3a2b\",\"resourceVersion\":\"48213\",\"creationTimestamp\":"             \
	"\"2024-05-01T10:00:00Z\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7c9f\"},\"ownerReferences\":"  \
	"[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7c9f\",\"uid\":\"x\",\"controller\":true," \
	"\"blockOwnerDeletion\":true}]},\"spec\":{\"volumes\":[{\"name\":\"kube-api-access\",\"projected\":"          \
	"{\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}}],\"defaultMode\":420}}]," \
	"\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":80,\"protocol\":"    \
	"\"TCP\"}],\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}},\"terminationMessagePath\":"    \
	"\"/dev/termination-log\",\"imagePullPolicy\":\"IfNotPresent\"}],\"restartPolicy\":\"Always\","               \
	"\"schedulerName\":\"ksense-extended\",\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\","           \
	"\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"priority\":0,"                \
	"\"enableServiceLinks\":true,\"preemptionPolicy\":\"PreemptLowerPriority\"},\"status\":{\"phase\":"          \
	"\"Pending\",\"qosClass\":\"Burstable\"}}"

/* A Node as the API has it, with the bulk real ones carry. */
static int node_json(char *out, size_t len, const char *name)
{
	return snprintf(out, len,
			"{\"metadata\":{\"name\":\"%s\",\"uid\":\"u-%s\",\"resourceVersion\":\"47001\",\"labels\":"
			"{\"beta.kubernetes.io/arch\":\"amd64\",\"kubernetes.io/hostname\":\"%s\",\"kubernetes.io/os\":"
			"\"linux\",\"topology.kubernetes.io/zone\":\"eu-1a\"},\"annotations\":{\"node.alpha.kubernetes.io/ttl\":"
			"\"0\",\"volumes.kubernetes.io/controller-managed-attach-detach\":\"true\"}},\"spec\":{\"podCIDR\":"
			"\"10.244.1.0/24\",\"podCIDRs\":[\"10.244.1.0/24\"],\"providerID\":\"kind://docker/kind/%s\"},"
			"\"status\":{\"capacity\":{\"cpu\":\"8\",\"ephemeral-storage\":\"102Gi\",\"memory\":\"32Gi\",\"pods\":"
			"\"110\"},\"allocatable\":{\"cpu\":\"8\",\"memory\":\"31Gi\",\"pods\":\"110\"},\"conditions\":[{\"type\":"
			"\"MemoryPressure\",\"status\":\"False\",\"lastHeartbeatTime\":\"2024-05-01T10:00:00Z\",\"reason\":"
			"\"KubeletHasSufficientMemory\",\"message\":\"kubelet has sufficient memory available\"},{\"type\":"
			"\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting ready "
			"status\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"172.18.0.3\"},{\"type\":\"Hostname\","
			"\"address\":\"%s\"}],\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10250}},\"nodeInfo\":"
			"{\"kernelVersion\":\"6.1.0\",\"osImage\":\"Debian GNU/Linux 12\",\"containerRuntimeVersion\":"
			"\"containerd://1.7.1\",\"kubeletVersion\":\"v1.30.0\",\"architecture\":\"amd64\"},\"images\":"
			"[{\"names\":[\"registry.k8s.io/pause@sha256:7031c1b2\",\"registry.k8s.io/pause:3.9\"],\"sizeBytes\":"
			"321520}]}}",
			name, name, name, name, name);
}

/* {"pod":..., "nodes": NodeList of names} or {"pod":..., "nodenames": [...]} */
static void args_json(struct ks_buf *b, bool by_name, const char *const *names, int n)
{
	char node[4096];
	int i;

	ks_buf_reset(b);
	ks_buf_printf(b, "{\"pod\":%s,", POD_JSON);
	if (by_name) {
		ks_buf_printf(b, "\"nodes\":null,\"nodenames\":[");
		for (i = 0; i < n; i++)
			ks_buf_printf(b, "%s\"%s\"", i ? "," : "", names[i]);
		ks_buf_printf(b, "]}");
		return;
	}
	ks_buf_printf(b, "\"nodes\":{\"metadata\":{\"resourceVersion\":\"48300\"},\"items\":[");
	for (i = 0; i < n; i++) {
		node_json(node, sizeof(node), names[i]);
		ks_buf_printf(b, "%s%s", i ? "," : "", node);
	}
	ks_buf_printf(b, "]},\"nodenames\":null}");
}

KS_TEST_F(extender_wire, KS_SAN)
{
	const char *names[] = { "kind-worker", "kind-worker2", "kind-worker3" };
	struct ks_ext_verdict v[3] = { { .pass = true }, { .unresolvable = true }, { .pass = false } };
	const int score[3] = { 10, 0, 42 };
	struct ks_ext_args a;
	struct ks_json j;
	struct ks_buf b, out;
	char err[256], s[4096];
	int el;

	ks_buf_init(&b, 8u << 20);
	ks_buf_init(&out, 8u << 20);
	snprintf(v[1].reason, sizeof(v[1].reason), "ksense: deny");
	snprintf(v[2].reason, sizeof(v[2].reason), "quoted \"reason\"");
	if (test__start_subtest("node_names")) {
		args_json(&b, true, names, 3);
		if (ASSERT_OK(ks_ext_args_parse(b.data, b.len, &a, err, sizeof(err)), "parse")) {
			ASSERT_TRUE(a.by_name, "nodeCacheCapable");
			ASSERT_EQ(a.n, 3, "three candidates");
			ASSERT_STREQ(a.pod_ns, "shop", "pod namespace");
			ASSERT_STREQ(a.pod_name, "web-7c9f", "pod name");
			ks_buf_reset(&out);
			ASSERT_OK(ks_ext_filter_result(&a, v, &out), "filter result");
			ASSERT_STREQ(out.data, "{\"nodenames\":[\"kind-worker\"],\"failedNodes\":{\"kind-worker3\":"
				     "\"quoted \\\"reason\\\"\"},\"failedAndUnresolvableNodes\":{\"kind-worker2\":"
				     "\"ksense: deny\"},\"error\":\"\"}", "ExtenderFilterResult");
			ks_buf_reset(&out);
			ASSERT_OK(ks_ext_priorities(&a, score, &out), "priorities");
			ASSERT_STREQ(out.data, "[{\"host\":\"kind-worker\",\"score\":10},{\"host\":\"kind-worker2\",\"score\":0},"
				     "{\"host\":\"kind-worker3\",\"score\":10}]", "HostPriorityList, clamped to 10");
		}
		ks_ext_args_free(&a);
	}
	if (test__start_subtest("node_objects")) {
		args_json(&b, false, names, 3);
		if (ASSERT_OK(ks_ext_args_parse(b.data, b.len, &a, err, sizeof(err)), "parse")) {
			ASSERT_FALSE(a.by_name, "Node objects");
			ASSERT_EQ(a.n, 3, "three candidates");
			ASSERT_STREQ(a.names[2], "kind-worker3", "names from metadata.name");
			ks_buf_reset(&out);
			ASSERT_OK(ks_ext_filter_result(&a, v, &out), "filter result");
			/* the passing Node comes back byte for byte */
			node_json(s, sizeof(s), "kind-worker");
			ASSERT_STRHAS(out.data, s, "the Node object echoed");
			if (ASSERT_OK(ks_json_parse(&j, out.data, out.len, err, sizeof(err)), "valid JSON")) {
				el = ks_json_path(&j, "nodes.items");
				ASSERT_EQ(el >= 0 ? j.tok[el].size : -1, 1, "one item");
				ASSERT_STREQ(ks_json_string(&j, ks_json_path(&j, "nodes.kind"), s, sizeof(s)) ? "" : s,
					     "NodeList", "a NodeList");
				ks_json_free(&j);
			}
		}
		ks_ext_args_free(&a);
	}
	if (test__start_subtest("priority_scale")) {
		ASSERT_EQ(ks_ext_priority_of(0), 10, "calm: 10");
		ASSERT_EQ(ks_ext_priority_of(100), 0, "stressed: 0");
		ASSERT_EQ(ks_ext_priority_of(44), 6, "44 -> 5.6 -> 6");
		ASSERT_EQ(ks_ext_priority_of(1000), 0, "clamped");
	}
	if (test__start_subtest("bad_payloads")) {
		static const struct { const char *body, *says; } bad[] = {
			{ "", "empty" },
			{ "{\"pod\":{}", "truncated" },
			{ "[]", "want an object" },
			{ "{\"nodenames\":[\"a\"]}", "ExtenderArgs.pod is missing" },
			{ "{\"pod\":null,\"nodenames\":[\"a\"]}", "ExtenderArgs.pod is a null" },
			{ "{\"pod\":{}}", "neither nodenames nor nodes" },
			{ "{\"pod\":{},\"nodenames\":null,\"nodes\":null}", "neither nodenames nor nodes" },
			{ "{\"pod\":{},\"nodenames\":\"a\"}", "nodenames is a string" },
			{ "{\"pod\":{},\"nodenames\":[\"a\",7]}", "nodenames[1]" },
			{ "{\"pod\":{},\"nodenames\":[\"\"]}", "nodenames[0]" },
			{ "{\"pod\":{},\"nodes\":[]}", "not a NodeList" },
			{ "{\"pod\":{},\"nodes\":{\"items\":[{\"metadata\":{}}]}}", "items[0] has no metadata.name" },
			{ "{\"pod\":{},\"nodes\":{\"items\":[7]}}", "items[0] has no metadata.name" },
		};
		unsigned int k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			err[0] = '\0';
			ASSERT_NEQ(ks_ext_args_parse(bad[k].body, strlen(bad[k].body), &a, err, sizeof(err)), 0, bad[k].says);
			ASSERT_STRHAS(err, bad[k].says, bad[k].says);
			ks_ext_args_free(&a);
		}
		snprintf(s, sizeof(s), "{\"pod\":{},\"nodes\":{\"items\":null}}");
		ASSERT_OK(ks_ext_args_parse(s, strlen(s), &a, err, sizeof(err)),
			  "a NodeList without items: no candidates");
		ASSERT_EQ(a.n, 0, "none");
		ks_ext_args_free(&a);
	}
	ks_buf_free(&b);
	ks_buf_free(&out);
}

struct ext_fixture {
	struct fakeapi f;
	struct fake_agent ag[3];
	pid_t pid;
	int port;
	char log[600];
	struct kube_client *kc;
};

/* The extender's port, from its "listening" log line. */
static int wait_port(const char *log)
{
	int i;

	for (i = 0; i < 100; i++) {
		FILE *f = fopen(log, "r");
		char line[2048], *p;
		int port = 0;

		while (f && fgets(line, sizeof(line), f)) {
			if (!strstr(line, "msg=\"listening\""))
				continue;
			/* one listener: plain (agent_port) or HTTPS (tls_port) */
			if ((p = strstr(line, "agent_port=")) && atoi(p + 11))
				port = atoi(p + 11);
			if ((p = strstr(line, "tls_port=")) && atoi(p + 9))
				port = atoi(p + 9);
		}
		if (f)
			fclose(f);
		if (port > 0)
			return port;
		usleep(50 * 1000);
	}
	return -1;
}

static struct kube_client *client_for(const char *dir, const char *scheme, int port, const char *ca)
{
	char path[512], err[512];
	struct kube_config c;
	struct kube_client *k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/extender-%s.kubeconfig", dir, scheme);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster:\n    server: %s://127.0.0.1:%d\n"
		   "%s%s%s"
		   "contexts:\n- name: x\n  context:\n    cluster: x\n    user: u\nusers:\n- name: u\n  user: {}\n"
		   "current-context: x\n", scheme, port, ca ? "    certificate-authority: " : "", ca ? ca : "",
		ca ? "\n" : "");
	fclose(f);
	if (kube_config_load(&c, path, NULL, err, sizeof(err))) {
		printf("  %s\n", err);
		return NULL;
	}
	k = kube_client_new(&c, 0, 1, err, sizeof(err));
	kube_config_free(&c);
	return k;
}

static int post(struct kube_client *k, const char *path, const char *body, struct ks_buf *out)
{
	char err[512];
	int status = 0;

	if (kube_request(k, "POST", path, NULL, body, strlen(body), &status, out, err, sizeof(err))) {
		printf("  POST %s: %s\n", path, err);
		return -1;
	}
	return status;
}

/* The extender answers --status-addr as standalone mode does: /metrics
 * counts the calls it just took, by verb, the bad one, the agent that does
 * not answer, and says its build; promtool accepts it; /healthz is 200. */
static void status_port(struct ext_fixture *x, struct ks_buf *b, const char **names)
{
	static char expo[1 << 16], file[700];
	struct ks_buf resp;
	int port = lb_log_number(x->log, "status_port");

	if (!ASSERT_GT(port, 0, "status port logged"))
		return;
	ks_buf_init(&resp, 1u << 20);
	args_json(b, true, names, 4);
	ASSERT_EQ(post(x->kc, "/filter", b->data, &resp), 200, "a filter");
	ASSERT_EQ(post(x->kc, "/prioritize", b->data, &resp), 200, "a prioritize");
	ASSERT_EQ(post(x->kc, "/filter", "not json", &resp), 400, "a bad one");
	ks_buf_free(&resp);
	if (!ASSERT_TRUE(lb_get_ok(port, "/metrics", expo, sizeof(expo), 3000), "GET /metrics"))
		return;
	ASSERT_GE(lb_metric(expo, "ksense_scheduler_extender_requests_total{verb=\"filter\"}"), 2, "filters counted");
	ASSERT_GE(lb_metric(expo, "ksense_scheduler_extender_requests_total{verb=\"prioritize\"}"), 1,
		  "prioritizes counted");
	ASSERT_GE(lb_metric(expo, "ksense_scheduler_extender_bad_requests_total"), 1, "the bad one counted");
	ASSERT_GE(lb_metric(expo, "ksense_scheduler_agent_score_requests_total"), 3, "agents asked");
	ASSERT_GE(lb_metric(expo, "ksense_scheduler_agent_score_failures_total"), 1, "the down agent's failure");
	ASSERT_EQ(lb_metric(expo, "ksense_scheduler_extender_agents_synced"), 1, "agents listed");
	prom_build_info(expo, "the extender's status port");
	snprintf(file, sizeof(file), "%s/extender-metrics.txt", x->f.dir);
	prom_lint(expo, file, "the extender's status port");
	ASSERT_TRUE(lb_get_ok(port, "/healthz", expo, sizeof(expo), 3000), "/healthz 200");
	ASSERT_STRHAS(expo, "\"synced\":true", "says the agents are listed");
}

KS_TEST_F(extender, KS_SAN)
{
	const char *names[] = { "calm", "stressed", "down", "agentless" };
	struct ext_fixture x = { .pid = -1 };
	struct ks_buf b, out;
	char json[4096], err[512];
	struct ks_json j;
	int st, i;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	ks_buf_init(&b, 8u << 20);
	ks_buf_init(&out, 8u << 20);
	if (!ASSERT_OK(fakeapi_start(&x.f, "extender"), "fake API server"))
		goto out;
	if (!ASSERT_OK(fake_agent_start(&x.f, &x.ag[0], "calm", "12 allow"), "calm agent") ||
	    !ASSERT_OK(fake_agent_start(&x.f, &x.ag[1], "stressed", "88 deny"), "stressed agent") ||
	    !ASSERT_OK(fake_agent_start(&x.f, &x.ag[2], "down", "50 allow"), "down agent"))
		goto out;
	for (i = 0; i < 3; i++) {
		fake_node_json(json, sizeof(json), names[i], 8000, &x.ag[i]);
		ASSERT_OK(fakeapi_seed(&x.f, json), "node and agent");
	}
	fake_agent_stop(&x.ag[2]); /* its pod says Running, nobody answers */
	snprintf(x.log, sizeof(x.log), "%s", fakeapi_path(&x.f, "extender.log"));
	{
		char *argv[] = { (char *)sched_bin(), "--extender", "--extender-addr", "127.0.0.1", "--extender-port", "0",
				 "--kubeconfig", x.f.kubeconfig, "--score-ttl-ms", "200", "-v", NULL };

		x.pid = fx_spawn(x.log, argv, NULL);
	}
	x.port = wait_port(x.log);
	if (!ASSERT_GT(x.port, 0, "listening"))
		goto out;
	x.kc = client_for(x.f.dir, "http", x.port, NULL);
	if (!ASSERT_OK_PTR(x.kc, "client"))
		goto out;
	/* the agents are known once the informer listed them */
	for (i = 0; i < 50; i++) {
		if (kube_request(x.kc, "GET", "/healthz", NULL, NULL, 0, &st, &out, err, sizeof(err)) == 0 && st == 200)
			break;
		usleep(100 * 1000);
	}
	ASSERT_EQ(st, 200, "healthy once the agents are listed");
	if (test__start_subtest("filter_node_names")) {
		args_json(&b, true, names, 4);
		ASSERT_EQ(post(x.kc, "/filter", b.data, &out), 200, "200");
		ASSERT_STRHAS(out.data, "\"nodenames\":[\"calm\",\"down\",\"agentless\"]",
			      "deny filtered; no answer or no agent: passes");
		ASSERT_STRHAS(out.data, "\"failedAndUnresolvableNodes\":{\"stressed\":\"ksense: the node's kernel signals "
			      "say deny (score 88", "the deny node with its reason");
		ASSERT_STRHAS(out.data, "\"error\":\"\"", "no error");
	}
	if (test__start_subtest("filter_node_objects")) {
		args_json(&b, false, names, 4);
		ASSERT_EQ(post(x.kc, "/scheduler/filter", b.data, &out), 200, "200 under a URL prefix");
		if (ASSERT_OK(ks_json_parse_limits(&j, out.data, out.len, out.len + 1, 1000000, err, sizeof(err)),
			      "valid JSON")) {
			i = ks_json_path(&j, "nodes.items");
			ASSERT_EQ(i >= 0 ? j.tok[i].size : -1, 3, "three Nodes back");
			ASSERT_EQ(ks_json_path(&j, "nodenames"), -1, "no nodenames in this mode");
			ks_json_free(&j);
		}
		node_json(json, sizeof(json), "calm");
		ASSERT_STRHAS(out.data, json, "a passing Node as it was sent");
	}
	if (test__start_subtest("prioritize")) {
		args_json(&b, true, names, 4);
		ASSERT_EQ(post(x.kc, "/prioritize", b.data, &out), 200, "200");
		ASSERT_STREQ(out.data, "[{\"host\":\"calm\",\"score\":9},{\"host\":\"stressed\",\"score\":0},{\"host\":"
			     "\"down\",\"score\":0},{\"host\":\"agentless\",\"score\":0}]", "ksense 12 -> 9; none -> 0");
		fake_agent_set(&x.ag[0], "60 allow");
		usleep(300 * 1000); /* past the score TTL */
		ASSERT_EQ(post(x.kc, "/prioritize", b.data, &out), 200, "200");
		ASSERT_STRHAS(out.data, "{\"host\":\"calm\",\"score\":4}", "the new score: 60 -> 4");
		fake_agent_set(&x.ag[0], "95 deny");
		usleep(300 * 1000);
		ASSERT_EQ(post(x.kc, "/filter", b.data, &out), 200, "200");
		ASSERT_STRHAS(out.data, "\"calm\":\"ksense: the node's kernel signals say deny (score 95",
			      "a node turned deny is filtered at once");
		fake_agent_set(&x.ag[0], "12 allow");
	}
	if (test__start_subtest("bad_payloads")) {
		static const struct { const char *body, *says; } bad[] = {
			{ "not json", "invalid JSON" },
			{ "{\"pod\":{},\"nodenames\":[1]}", "nodenames[0]" },
			{ "{\"nodenames\":[\"calm\"]}", "ExtenderArgs.pod is missing" },
			{ "{\"pod\":{}}", "neither nodenames nor nodes" },
		};
		unsigned int k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			ASSERT_EQ(post(x.kc, "/filter", bad[k].body, &out), 400, bad[k].says);
			if (ASSERT_OK(ks_json_parse(&j, out.data, out.len, err, sizeof(err)), "a JSON error body")) {
				ASSERT_STREQ(ks_json_string(&j, ks_json_path(&j, "error"), json, sizeof(json)) ? "" : json,
					     json, "an error field");
				ASSERT_STRHAS(json, bad[k].says, bad[k].says);
				ks_json_free(&j);
			}
			ASSERT_EQ(post(x.kc, "/prioritize", bad[k].body, &out), 400, bad[k].says);
		}
		ASSERT_EQ(post(x.kc, "/bind", "{}", &out), 404, "no bind verb");
		ASSERT_STRHAS(out.data, "\"error\"", "says why");
		ASSERT_EQ(kube_request(x.kc, "GET", "/filter", NULL, NULL, 0, &st, &out, err, sizeof(err)), 0, "GET");
		ASSERT_EQ(st, 405, "GET /filter: 405");
		/* still serving after all that */
		args_json(&b, true, names, 1);
		ASSERT_EQ(post(x.kc, "/filter", b.data, &out), 200, "alive");
	}
	if (test__start_subtest("status_port"))
		status_port(&x, &b, names);
	if (test__start_subtest("many_nodes")) {
		/* 3,000 names, most without an agent: one answer, in time */
		ks_buf_reset(&b);
		ks_buf_printf(&b, "{\"pod\":%s,\"nodenames\":[\"calm\"", POD_JSON);
		for (i = 0; i < 3000; i++)
			ks_buf_printf(&b, ",\"node-%05d\"", i);
		ks_buf_printf(&b, "]}");
		ASSERT_EQ(post(x.kc, "/filter", b.data, &out), 200, "200");
		ASSERT_STRHAS(out.data, "\"node-02999\"", "every name back");
	}
	ASSERT_EQ(fx_stop(x.pid), 0, "SIGTERM: exit 0");
	x.pid = -1;
	ASSERT_EQ(fx_count_in_file(x.log, "level=error"), 0, "no errors logged");
out:
	if (x.pid > 0)
		fx_stop(x.pid);
	if (test__failed())
		dump_log(x.log);
	kube_client_free(x.kc);
	for (i = 0; i < 3; i++)
		fake_agent_stop(&x.ag[i]);
	fakeapi_stop(&x.f);
	ks_buf_free(&b);
	ks_buf_free(&out);
}

KS_TEST_F(extender_https, KS_SAN)
{
	char dir[128], cmd[1024], log[256], ca[300];
	struct kube_client *k = NULL;
	struct ks_buf out;
	pid_t pid = -1;
	int port;

	if (system("command -v openssl >/dev/null 2>&1")) {
		test__skip("openssl not installed");
		return;
	}
	ks_buf_init(&out, 1 << 20);
	snprintf(dir, sizeof(dir), "/tmp/ksense-ext-tls-%d", getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
		 "-nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s/tls.key -out "
		 "%s/tls.crt >/dev/null 2>&1", dir, dir, dir);
	if (!ASSERT_OK(system(cmd), "certificate"))
		goto out;
	snprintf(log, sizeof(log), "%s/extender.log", dir);
	snprintf(ca, sizeof(ca), "%s/tls.crt", dir);
	{
		char key[300], kcfg[300];
		char *argv[] = { (char *)sched_bin(), "--extender", "--extender-addr", "127.0.0.1", "--extender-port", "0",
				 "--tls-cert", ca, "--tls-key", key, "--kubeconfig", kcfg, NULL };
		FILE *f;

		snprintf(key, sizeof(key), "%s/tls.key", dir);
		snprintf(kcfg, sizeof(kcfg), "%s/none.kubeconfig", dir);
		f = fopen(kcfg, "w");
		if (f) {
			/* no API server: the extender still answers, every node without an agent */
			fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: "
				   "http://127.0.0.1:1\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\nusers:\n"
				   "- name: u\n  user: {}\ncurrent-context: x\n");
			fclose(f);
		}
		pid = fx_spawn(log, argv, NULL);
	}
	port = wait_port(log);
	if (!ASSERT_GT(port, 0, "listening over TLS"))
		goto out;
	k = client_for(dir, "https", port, ca);
	if (!ASSERT_OK_PTR(k, "client"))
		goto out;
	ASSERT_EQ(post(k, "/filter", "{\"pod\":{},\"nodenames\":[\"a\"]}", &out), 200, "a request over TLS");
	ASSERT_STRHAS(out.data ? out.data : "", "\"nodenames\":[\"a\"]", "answered");
	ASSERT_EQ(fx_stop(pid), 0, "SIGTERM: exit 0");
	pid = -1;
out:
	if (pid > 0)
		fx_stop(pid);
	if (test__failed())
		dump_log(log);
	kube_client_free(k);
	ks_buf_free(&out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {
	}
}
