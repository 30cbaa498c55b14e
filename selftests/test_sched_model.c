// SPDX-License-Identifier: GPL-2.0
/* The scheduler's node filter: quantities, parsing, and every predicate. */
#include <stdio.h>
#include <string.h>
#include "test_progs.h"
#include "scheduler/sched_model.h"

KS_TEST_F(sched_quantity, KS_SAN | KS_HOST)
{
	static const struct { const char *q; long long milli; int ok; } cpu[] = {
		{ "250m", 250, 0 }, { "1", 1000, 0 }, { "1.5", 1500, 0 }, { "0.1", 100, 0 },
		{ "2k", 2000000, 0 }, { "1e3", 1000000, 0 }, { "0.0001", 1, 0 }, /* rounds up */
		{ "", 0, -1 }, { "abc", 0, -1 }, { "1 m", 0, -1 }, { "-1", 0, -1 }, { "5x", 0, -1 },
	};
	static const struct { const char *q; long long units; } mem[] = {
		{ "64Mi", 67108864 }, { "1Gi", 1073741824 }, { "1G", 1000000000 }, { "128974848", 128974848 },
		{ "129e6", 129000000 }, { "123Ki", 125952 }, { "1.5Gi", 1610612736 },
	};
	unsigned int i;
	__s64 v;

	for (i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++) {
		int rc = sched_quantity_milli(cpu[i].q, &v);

		if (cpu[i].ok) {
			ASSERT_NEQ(rc, 0, cpu[i].q);
		} else if (ASSERT_OK(rc, cpu[i].q)) {
			ASSERT_EQ(v, cpu[i].milli, cpu[i].q);
		}
	}
	for (i = 0; i < sizeof(mem) / sizeof(mem[0]); i++)
		if (ASSERT_OK(sched_quantity_units(mem[i].q, &v), mem[i].q))
			ASSERT_EQ(v, mem[i].units, mem[i].q);
}

static const char node_json[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"42\","
	"\"labels\":{\"kubernetes.io/hostname\":\"n1\",\"zone\":\"a\",\"gpu\":\"yes\",\"rank\":\"5\"}},"
	"\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"},"
	"{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]},"
	"\"status\":{\"allocatable\":{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"110\"},"
	"\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},{\"type\":\"InternalIP\",\"address\":\"10.0.0.7\"}],"
	"\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}";

static int pod(struct sched_pod *p, const char *spec)
{
	char json[4096], err[256];
	int rc;

	sched_pod_free(p); /* the previous one */
	snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\","
		 "\"resourceVersion\":\"7\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",%s},"
		 "\"status\":{\"phase\":\"Pending\"}}", spec);
	rc = sched_parse_pod(json, strlen(json), p, err, sizeof(err));
	if (rc)
		printf("    parse: %s\n", err);
	return rc;
}

KS_TEST_F(sched_filter, KS_SAN | KS_HOST)
{
	static const char tol[] = "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\",\"effect\":\"NoSchedule\"}],";
	static const char ctr[] = "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}]";
	struct sched_node n = { 0 };
	struct sched_pod p = { 0 };
	char err[256], why[256], spec[2048];

	if (!ASSERT_OK(sched_parse_node(node_json, sizeof(node_json) - 1, &n, err, sizeof(err)), "node"))
		return;
	ASSERT_TRUE(n.ready, "ready");
	ASSERT_EQ(n.alloc_cpu_milli, 2000, "allocatable cpu");
	ASSERT_EQ(n.alloc_mem_bytes, 4294967296LL, "allocatable memory");
	ASSERT_OK(strcmp(n.internal_ip, "10.0.0.7"), "InternalIP");
	ASSERT_EQ(n.nr_taints, 2, "taints");

	if (test__start_subtest("taints")) {
		pod(&p, ctr);
		ASSERT_FALSE(sched_fits(&p, &n, NULL, why, sizeof(why)), "untolerated NoSchedule");
		ASSERT_STRHAS(why, "taint dedicated=db:NoSchedule not tolerated", "reason");
		snprintf(spec, sizeof(spec), "%s%s", tol, ctr);
		pod(&p, spec);
		ASSERT_TRUE(sched_fits(&p, &n, NULL, why, sizeof(why)), "tolerated; PreferNoSchedule ignored");
		pod(&p, "\"tolerations\":[{\"operator\":\"Exists\"}]," "\"containers\":[]");
		ASSERT_TRUE(sched_fits(&p, &n, NULL, why, sizeof(why)), "Exists without key tolerates all");
	}
	if (test__start_subtest("node_selector")) {
		snprintf(spec, sizeof(spec), "%s\"nodeSelector\":{\"zone\":\"a\"},%s", tol, ctr);
		pod(&p, spec);
		ASSERT_TRUE(sched_fits(&p, &n, NULL, why, sizeof(why)), "selector matches");
		snprintf(spec, sizeof(spec), "%s\"nodeSelector\":{\"zone\":\"b\"},%s", tol, ctr);
		pod(&p, spec);
		ASSERT_FALSE(sched_fits(&p, &n, NULL, why, sizeof(why)), "selector mismatch");
		ASSERT_STRHAS(why, "nodeSelector zone=b", "reason");
	}
	if (test__start_subtest("affinity")) {
		static const struct { const char *exprs; bool fits; } cases[] = {
			{ "{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\",\"a\"]}", true },
			{ "{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}", false },
			{ "{\"key\":\"gpu\",\"operator\":\"Exists\"}", true },
			{ "{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}", false },
			{ "{\"key\":\"rank\",\"operator\":\"Gt\",\"values\":[\"3\"]}", true },
			{ "{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]},{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}", false },
		};
		unsigned int i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(spec, sizeof(spec), "%s\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
				 "{\"nodeSelectorTerms\":[{\"matchExpressions\":[%s]}]}}},%s", tol, cases[i].exprs, ctr);
			if (!ASSERT_OK(pod(&p, spec), "parse"))
				continue;
			ASSERT_EQ(sched_fits(&p, &n, NULL, why, sizeof(why)), cases[i].fits, cases[i].exprs);
		}
		/* terms are ORed */
		snprintf(spec, sizeof(spec), "%s\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			 "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"z\"]}]},"
			 "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]}}},%s", tol, ctr);
		pod(&p, spec);
		ASSERT_TRUE(sched_fits(&p, &n, NULL, why, sizeof(why)), "second term matches");
	}
	if (test__start_subtest("resources")) {
		snprintf(spec, sizeof(spec), "%s\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1500m\"}}}],%s",
			 tol, ctr);
		pod(&p, spec);
		ASSERT_EQ(p.req_cpu_milli, 1500, "init container max wins");
		ASSERT_EQ(p.req_mem_bytes, 1073741824LL, "memory summed");
		ASSERT_TRUE(sched_fits(&p, &n, &(struct sched_use){ .cpu_milli = 500 }, why, sizeof(why)), "fits exactly");
		ASSERT_FALSE(sched_fits(&p, &n, &(struct sched_use){ .cpu_milli = 501 }, why, sizeof(why)), "one milli-CPU short");
		ASSERT_STRHAS(why, "insufficient cpu", "cpu reason");
		ASSERT_FALSE(sched_fits(&p, &n, &(struct sched_use){ .mem_bytes = 3500LL << 20 }, why, sizeof(why)), "memory short");
		ASSERT_STRHAS(why, "insufficient memory", "memory reason");
	}
	if (test__start_subtest("node_state")) {
		struct sched_node m = n;

		pod(&p, "\"tolerations\":[{\"operator\":\"Exists\"}],\"containers\":[]");
		m.ready = false;
		ASSERT_FALSE(sched_fits(&p, &m, NULL, why, sizeof(why)), "not ready");
		ASSERT_STRHAS(why, "not Ready", "reason");
		m.ready = true;
		m.unschedulable = true;
		ASSERT_FALSE(sched_fits(&p, &m, NULL, why, sizeof(why)), "cordoned");
		ASSERT_STRHAS(why, "cordoned", "reason");
	}
	if (test__start_subtest("bad_input")) {
		sched_node_free(&n);
		ASSERT_NEQ(sched_parse_node("{\"metadata\":{}}", 15, &n, err, sizeof(err)), 0, "nameless node");
		sched_node_free(&n);
		ASSERT_NEQ(sched_parse_node("{\"metadata\":{\"name\":\"x\",\"labels\":[1]}}", 38, &n, err, sizeof(err)), 0,
			   "labels not an object");
		ASSERT_STRHAS(err, "metadata.labels", "names the field");
		ASSERT_NEQ(pod(&p, "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			       "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}]}}}"), 0,
			   "unknown operator");
	}
	sched_pod_free(&p);
	sched_node_free(&n);
}

KS_TEST_F(sched_pick, KS_SAN | KS_HOST)
{
	struct sched_node nodes[4] = { 0 };
	struct sched_candidate c[4];
	struct sched_pod p = { 0 };
	char err[256], why[1024];
	int i;

	for (i = 0; i < 4; i++) {
		if (!ASSERT_OK(sched_parse_node(node_json, sizeof(node_json) - 1, &nodes[i], err, sizeof(err)), "node"))
			return;
		snprintf(nodes[i].name, sizeof(nodes[i].name), "n%d", i);
		nodes[i].nr_taints = 0;
		memset(&c[i], 0, sizeof(c[i]));
		c[i].node = &nodes[i];
		c[i].have_score = true;
	}
	pod(&p, "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]");
	c[0].score = 40;
	c[1].score = 20;
	c[2].score = 20;
	c[3].score = 10;
	c[3].deny = true;
	c[1].use.cpu_milli = 1000;
	ASSERT_EQ(sched_pick(&p, c, 4, why, sizeof(why)), 2, "lowest score not in deny, tie to most free CPU");
	c[2].have_score = false;
	snprintf(c[2].score_err, sizeof(c[2].score_err), "timed out");
	ASSERT_EQ(sched_pick(&p, c, 4, why, sizeof(why)), 1, "unscored node skipped");
	nodes[0].ready = false;
	c[1].use.cpu_milli = 1800;
	ASSERT_EQ(sched_pick(&p, c, 4, why, sizeof(why)), -1, "nothing fits");
	ASSERT_STRHAS(why, "n0: node is not Ready", "filtered reason");
	ASSERT_STRHAS(why, "n1: insufficient cpu", "resource reason");
	ASSERT_STRHAS(why, "n2: no score (timed out)", "score reason");
	ASSERT_STRHAS(why, "n3: denied by ksense (score 10)", "deny reason");
	ASSERT_EQ(sched_pick(&p, c, 0, why, sizeof(why)), -1, "no nodes");
	ASSERT_STRHAS(why, "no nodes", "says so");
	sched_pod_free(&p);
	for (i = 0; i < 4; i++)
		sched_node_free(&nodes[i]);
}

static int node_of_json(struct sched_node *n, const char *alloc)
{
	char json[2048], err[256];

	sched_node_free(n);
	snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"kubernetes.io/hostname\":\"n1\"}},"
		 "\"status\":{\"allocatable\":{%s},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", alloc);
	return sched_parse_node(json, strlen(json), n, err, sizeof(err));
}

KS_TEST_F(sched_predicates, KS_SAN | KS_HOST)
{
	struct sched_node n = { 0 };
	struct sched_pod p = { 0 };
	struct sched_use u;
	char why[512];
	int x;

	if (test__start_subtest("pod_capacity")) {
		ASSERT_OK(node_of_json(&n, "\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"3\""), "node");
		ASSERT_EQ(n.alloc_pods, 3, "pods allocatable");
		ASSERT_OK(pod(&p, "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]"), "pod");
		memset(&u, 0, sizeof(u));
		u.pods = 2;
		ASSERT_TRUE(sched_fits(&p, &n, &u, why, sizeof(why)), "a third pod fits");
		u.pods = 3;
		ASSERT_FALSE(sched_fits(&p, &n, &u, why, sizeof(why)), "a fourth does not");
		ASSERT_STRHAS(why, "too many pods: 3 of 3", "says so");
		ASSERT_OK(node_of_json(&n, "\"cpu\":\"4\",\"memory\":\"8Gi\""), "node without pods");
		ASSERT_EQ(n.alloc_pods, -1, "no limit stated");
		u.pods = 1000;
		ASSERT_TRUE(sched_fits(&p, &n, &u, why, sizeof(why)), "no limit");
	}
	if (test__start_subtest("extended_resources")) {
		ASSERT_OK(node_of_json(&n, "\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\",\"nvidia.com/gpu\":\"2\","
				       "\"ephemeral-storage\":\"100Gi\",\"hugepages-2Mi\":\"0\""), "node");
		ASSERT_EQ(n.nr_ext, 3, "three other resources");
		x = sched_node_ext(&n, "nvidia.com/gpu");
		ASSERT_GE(x, 0, "gpu known");
		/* containers summed, the largest init container if more, plus overhead */
		ASSERT_OK(pod(&p, "\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"resources\":{\"requests\":"
			       "{\"cpu\":\"100m\",\"nvidia.com/gpu\":\"1\"}}},{\"name\":\"b\",\"image\":\"x\",\"resources\":"
			       "{\"requests\":{\"ephemeral-storage\":\"1Gi\"}}}],\"initContainers\":[{\"name\":\"i\",\"image\":\"x\","
			       "\"resources\":{\"requests\":{\"cpu\":\"500m\",\"nvidia.com/gpu\":\"1\"}}}],"
			       "\"overhead\":{\"cpu\":\"50m\"}"), "pod");
		ASSERT_EQ(p.req_cpu_milli, 550, "init's 500m beats 100m, plus 50m overhead");
		ASSERT_EQ(p.nr_req_ext, 2, "gpu and ephemeral-storage");
		memset(&u, 0, sizeof(u));
		ASSERT_TRUE(sched_fits(&p, &n, &u, why, sizeof(why)), "fits");
		u.ext[x] = 2;
		ASSERT_FALSE(sched_fits(&p, &n, &u, why, sizeof(why)), "both GPUs taken");
		ASSERT_STRHAS(why, "insufficient nvidia.com/gpu: requests 1, free 0 of 2", "names the resource");
		ASSERT_OK(node_of_json(&n, "\"cpu\":\"4\",\"memory\":\"8Gi\""), "node without GPUs");
		ASSERT_FALSE(sched_fits(&p, &n, NULL, why, sizeof(why)), "a node without the resource");
		ASSERT_STRHAS(why, "insufficient nvidia.com/gpu: requests 1, free 0 of 0", "says so");
	}
	if (test__start_subtest("host_ports")) {
		struct sched_port a = { .port = 80, .proto = "TCP" }, b = a;

		ASSERT_TRUE(sched_ports_conflict(&a, &b), "same port, every address");
		snprintf(b.proto, sizeof(b.proto), "UDP");
		ASSERT_FALSE(sched_ports_conflict(&a, &b), "another protocol");
		b = a;
		snprintf(b.ip, sizeof(b.ip), "10.0.0.1");
		ASSERT_TRUE(sched_ports_conflict(&a, &b), "every address includes 10.0.0.1");
		snprintf(a.ip, sizeof(a.ip), "10.0.0.2");
		ASSERT_FALSE(sched_ports_conflict(&a, &b), "two addresses");
		ASSERT_OK(pod(&p, "\"hostNetwork\":true,\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"ports\":["
			       "{\"containerPort\":9100},{\"containerPort\":53,\"protocol\":\"UDP\",\"hostIP\":\"10.0.0.1\"}]}]"),
			  "pod");
		ASSERT_EQ(p.nr_ports, 2, "hostNetwork: container ports are host ports");
		ASSERT_EQ(p.ports[0].port, 9100, "port");
		ASSERT_STREQ(p.ports[0].proto, "TCP", "TCP by default");
		ASSERT_STREQ(p.ports[1].ip, "10.0.0.1", "hostIP");
		ASSERT_OK(pod(&p, "\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"ports\":[{\"containerPort\":80}]}]"),
			  "pod");
		ASSERT_EQ(p.nr_ports, 0, "a container port alone takes no host port");
	}
	if (test__start_subtest("anti_affinity")) {
		ASSERT_OK(pod(&p, "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
			       "{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\","
			       "\"operator\":\"NotIn\",\"values\":[\"canary\"]}]},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchExpressions\":[{\"key\":\"db\",\"operator\":\"Exists\"}]},"
			       "\"namespaces\":[\"data\"],\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"noisy\":\"yes\"}},\"namespaceSelector\":{},"
			       "\"topologyKey\":\"kubernetes.io/hostname\"}]}},"
			       "\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"), "pod");
		ASSERT_STREQ(p.unsupported, "", "all evaluated");
		ASSERT_EQ(p.nr_anti, 3, "three terms");
		ASSERT_TRUE(sched_anti_matches(&p.anti[0], "default", "default", "app=web\n"), "same namespace, selected");
		ASSERT_FALSE(sched_anti_matches(&p.anti[0], "default", "other", "app=web\n"), "own namespace only");
		ASSERT_FALSE(sched_anti_matches(&p.anti[0], "default", "default", "app=web\ntier=canary\n"), "NotIn");
		ASSERT_FALSE(sched_anti_matches(&p.anti[0], "default", "default", "app=webx\n"), "whole values");
		ASSERT_TRUE(sched_anti_matches(&p.anti[1], "default", "data", "db=pg\n"), "named namespace, Exists");
		ASSERT_FALSE(sched_anti_matches(&p.anti[1], "default", "default", "db=pg\n"), "not that namespace");
		ASSERT_TRUE(sched_anti_matches(&p.anti[2], "default", "anywhere", "x=1\nnoisy=yes\n"), "every namespace");
		ASSERT_OK(pod(&p, "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
			       "{\"topologyKey\":\"kubernetes.io/hostname\"}]}},\"containers\":[{\"name\":\"a\",\"image\":\"x\"}],"
			       "\"nodeName\":\"\""), "pod");
		ASSERT_FALSE(sched_anti_matches(&p.anti[0], "default", "default", "app=web\n"), "a null selector: nothing");
	}
	if (test__start_subtest("anti_affinity_every_term")) {
		/* a zone term first: the hostname term after it is still read
		 * (a bound pod carries it for the pods after it) */
		ASSERT_OK(pod(&p, "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
			       "{\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"topologyKey\":"
			       "\"topology.kubernetes.io/zone\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"app\":\"cache\"}},\"namespaceSelector\":{\"matchLabels\":"
			       "{\"team\":\"a\"}},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"app\":\"q\"}},\"matchLabelKeys\":[\"pod-template-hash\"],"
			       "\"topologyKey\":\"kubernetes.io/hostname\"}]}},"
			       "\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"), "pod");
		ASSERT_STRHAS(p.unsupported, "topology.kubernetes.io/zone", "unsupported as a pending pod: the first");
		ASSERT_EQ(p.nr_anti, 4, "every term kept");
		ASSERT_STRHAS(p.anti[0].unevaluable, "topologyKey", "zone: unevaluable");
		ASSERT_STREQ(p.anti[1].unevaluable, "", "hostname: evaluated");
		ASSERT_TRUE(sched_anti_matches(&p.anti[1], "default", "default", "app=web\n"), "the hostname term after it");
		ASSERT_STRHAS(p.anti[2].unevaluable, "namespaceSelector", "namespaceSelector: unevaluable");
		ASSERT_STRHAS(p.anti[3].unevaluable, "matchLabelKeys", "matchLabelKeys: unevaluable");
		ASSERT_TRUE(sched_anti_may_match(&p.anti[0], "default", "default", "app=db\n"), "zone term may select db");
		ASSERT_FALSE(sched_anti_may_match(&p.anti[0], "default", "other", "app=db\n"), "own namespace only");
		ASSERT_FALSE(sched_anti_may_match(&p.anti[0], "default", "default", "app=web\n"), "not web");
		ASSERT_TRUE(sched_anti_may_match(&p.anti[2], "default", "other", "app=cache\n"),
			    "a namespaceSelector with labels: any namespace may be selected");
		ASSERT_FALSE(sched_anti_may_match(&p.anti[2], "default", "other", "app=web\n"), "its selector still holds");
		ASSERT_TRUE(sched_anti_may_match(&p.anti[3], "default", "default", "app=q\npod-template-hash=1\n"),
			    "matchLabelKeys only narrow it");
		/* past the bounds: the last term held stands for any pod */
		ASSERT_OK(pod(&p, "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
			       "{\"labelSelector\":{\"matchLabels\":{\"a\":\"1\"}},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"a\":\"2\"}},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"a\":\"3\"}},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"a\":\"4\"}},\"topologyKey\":\"kubernetes.io/hostname\"},"
			       "{\"labelSelector\":{\"matchLabels\":{\"a\":\"5\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}},"
			       "\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"), "pod");
		ASSERT_EQ(p.nr_anti, 4, "bounded");
		ASSERT_STREQ(p.anti[0].unevaluable, "", "the first ones evaluated");
		ASSERT_STRHAS(p.anti[3].unevaluable, "more than 4 terms", "the last stands for the rest");
		ASSERT_TRUE(sched_anti_may_match(&p.anti[3], "default", "elsewhere", "z=9\n"), "and may select any pod");
	}
	if (test__start_subtest("node_name_field")) {
		ASSERT_OK(node_of_json(&n, "\"cpu\":\"4\",\"memory\":\"8Gi\""), "node n1");
		ASSERT_OK(pod(&p, "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			       "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
			       "\"values\":[\"n2\"]}]}]}}},\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"), "pod");
		ASSERT_FALSE(sched_fits(&p, &n, NULL, why, sizeof(why)), "matchFields metadata.name In [n2]");
		ASSERT_OK(pod(&p, "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			       "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"NotIn\","
			       "\"values\":[\"n2\"]}]}]}}},\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"), "pod");
		ASSERT_TRUE(sched_fits(&p, &n, NULL, why, sizeof(why)), "NotIn [n2] on n1");
	}
	if (test__start_subtest("unsupported")) {
		static const struct { const char *spec, *says; } cases[] = {
			{ "\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
			  "{},\"topologyKey\":\"kubernetes.io/hostname\"}]}}", "required pod affinity" },
			{ "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
			  "{},\"topologyKey\":\"topology.kubernetes.io/zone\"}]}}", "topologyKey \"topology.kubernetes.io/zone\"" },
			{ "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
			  "{},\"namespaceSelector\":{\"matchLabels\":{\"team\":\"a\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}",
			  "namespaceSelector" },
			{ "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
			  "{},\"matchLabelKeys\":[\"pod-template-hash\"],\"topologyKey\":\"kubernetes.io/hostname\"}]}}",
			  "matchLabelKeys" },
			{ "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\",\"whenUnsatisfiable\":"
			  "\"DoNotSchedule\",\"labelSelector\":{}}]", "topologySpreadConstraints" },
			{ "\"volumes\":[{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"pvc\"}}]",
			  "volume \"data\" from a PersistentVolumeClaim" },
			{ "\"volumes\":[{\"name\":\"scratch\",\"ephemeral\":{\"volumeClaimTemplate\":{}}}]",
			  "generic ephemeral volume \"scratch\"" },
			{ "\"resourceClaims\":[{\"name\":\"gpu\"}]", "dynamic resource claims" },
			{ "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":"
			  "[{\"matchFields\":[{\"key\":\"metadata.uid\",\"operator\":\"In\",\"values\":[\"x\"]}]}]}}}",
			  "matchFields other than metadata.name" },
			{ "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":"
			  "[{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"NotIn\",\"values\":[\"1\",\"2\",\"3\",\"4\",\"5\","
			  "\"6\",\"7\",\"8\",\"9\"]}]}]}}}", "more than 8 values" },
		};
		char spec[2048];
		unsigned int i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			snprintf(spec, sizeof(spec), "%s,\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]", cases[i].spec);
			if (ASSERT_OK(pod(&p, spec), cases[i].says))
				ASSERT_STRHAS(p.unsupported, cases[i].says, cases[i].says);
		}
		/* preferences only score: the standalone scheduler may ignore them */
		ASSERT_OK(pod(&p, "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\",\"whenUnsatisfiable\":"
			       "\"ScheduleAnyway\",\"labelSelector\":{}}],\"affinity\":{\"podAffinity\":{"
			       "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,\"podAffinityTerm\":"
			       "{\"topologyKey\":\"zone\"}}]}},\"volumes\":[{\"name\":\"c\",\"configMap\":{\"name\":\"x\"}}],"
			       "\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"), "preferences");
		ASSERT_STREQ(p.unsupported, "", "preferences, ScheduleAnyway and a configMap volume are fine");
		ASSERT_OK(pod(&p, "\"schedulingGates\":[{\"name\":\"wait\"}],\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]"),
			  "gated");
		ASSERT_TRUE(p.gated, "schedulingGates: not yet");
	}
	sched_pod_free(&p);
	sched_node_free(&n);
}
