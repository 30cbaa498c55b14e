// SPDX-License-Identifier: GPL-2.0
/* The scheduler's node filter: quantities, parsing, and every predicate. */
#include <stdio.h>
#include <string.h>
#include "test_progs.h"
#include "sched_model.h"

KS_TEST(sched_quantity)
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

	snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\","
		 "\"resourceVersion\":\"7\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",%s},"
		 "\"status\":{\"phase\":\"Pending\"}}", spec);
	rc = sched_parse_pod(json, strlen(json), p, err, sizeof(err));
	if (rc)
		printf("    parse: %s\n", err);
	return rc;
}

KS_TEST(sched_filter)
{
	static const char tol[] = "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\",\"effect\":\"NoSchedule\"}],";
	static const char ctr[] = "\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}]";
	struct sched_node n;
	struct sched_pod p;
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
		ASSERT_FALSE(sched_fits(&p, &n, 0, 0, why, sizeof(why)), "untolerated NoSchedule");
		ASSERT_STRHAS(why, "taint dedicated=db:NoSchedule not tolerated", "reason");
		snprintf(spec, sizeof(spec), "%s%s", tol, ctr);
		pod(&p, spec);
		ASSERT_TRUE(sched_fits(&p, &n, 0, 0, why, sizeof(why)), "tolerated; PreferNoSchedule ignored");
		pod(&p, "\"tolerations\":[{\"operator\":\"Exists\"}]," "\"containers\":[]");
		ASSERT_TRUE(sched_fits(&p, &n, 0, 0, why, sizeof(why)), "Exists without key tolerates all");
	}
	if (test__start_subtest("node_selector")) {
		snprintf(spec, sizeof(spec), "%s\"nodeSelector\":{\"zone\":\"a\"},%s", tol, ctr);
		pod(&p, spec);
		ASSERT_TRUE(sched_fits(&p, &n, 0, 0, why, sizeof(why)), "selector matches");
		snprintf(spec, sizeof(spec), "%s\"nodeSelector\":{\"zone\":\"b\"},%s", tol, ctr);
		pod(&p, spec);
		ASSERT_FALSE(sched_fits(&p, &n, 0, 0, why, sizeof(why)), "selector mismatch");
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
			ASSERT_EQ(sched_fits(&p, &n, 0, 0, why, sizeof(why)), cases[i].fits, cases[i].exprs);
		}
		/* terms are ORed */
		snprintf(spec, sizeof(spec), "%s\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			 "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"z\"]}]},"
			 "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]}}},%s", tol, ctr);
		pod(&p, spec);
		ASSERT_TRUE(sched_fits(&p, &n, 0, 0, why, sizeof(why)), "second term matches");
	}
	if (test__start_subtest("resources")) {
		snprintf(spec, sizeof(spec), "%s\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1500m\"}}}],%s",
			 tol, ctr);
		pod(&p, spec);
		ASSERT_EQ(p.req_cpu_milli, 1500, "init container max wins");
		ASSERT_EQ(p.req_mem_bytes, 1073741824LL, "memory summed");
		ASSERT_TRUE(sched_fits(&p, &n, 500, 0, why, sizeof(why)), "fits exactly");
		ASSERT_FALSE(sched_fits(&p, &n, 501, 0, why, sizeof(why)), "one milli-CPU short");
		ASSERT_STRHAS(why, "insufficient cpu", "cpu reason");
		ASSERT_FALSE(sched_fits(&p, &n, 0, 3500LL << 20, why, sizeof(why)), "memory short");
		ASSERT_STRHAS(why, "insufficient memory", "memory reason");
	}
	if (test__start_subtest("node_state")) {
		struct sched_node m = n;

		pod(&p, "\"tolerations\":[{\"operator\":\"Exists\"}],\"containers\":[]");
		m.ready = false;
		ASSERT_FALSE(sched_fits(&p, &m, 0, 0, why, sizeof(why)), "not ready");
		ASSERT_STRHAS(why, "not Ready", "reason");
		m.ready = true;
		m.unschedulable = true;
		ASSERT_FALSE(sched_fits(&p, &m, 0, 0, why, sizeof(why)), "cordoned");
		ASSERT_STRHAS(why, "cordoned", "reason");
	}
	if (test__start_subtest("bad_input")) {
		ASSERT_NEQ(sched_parse_node("{\"metadata\":{}}", 15, &n, err, sizeof(err)), 0, "nameless node");
		ASSERT_NEQ(sched_parse_node("{\"metadata\":{\"name\":\"x\",\"labels\":[1]}}", 38, &n, err, sizeof(err)), 0,
			   "labels not an object");
		ASSERT_STRHAS(err, "metadata.labels", "names the field");
		ASSERT_NEQ(pod(&p, "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			       "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}]}}}"), 0,
			   "unknown operator");
	}
}

KS_TEST(sched_pick)
{
	struct sched_node nodes[4];
	struct sched_candidate c[4];
	struct sched_pod p;
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
	c[1].used_cpu_milli = 1000;
	ASSERT_EQ(sched_pick(&p, c, 4, why, sizeof(why)), 2, "lowest score not in deny, tie to most free CPU");
	c[2].have_score = false;
	snprintf(c[2].score_err, sizeof(c[2].score_err), "timed out");
	ASSERT_EQ(sched_pick(&p, c, 4, why, sizeof(why)), 1, "unscored node skipped");
	nodes[0].ready = false;
	c[1].used_cpu_milli = 1800;
	ASSERT_EQ(sched_pick(&p, c, 4, why, sizeof(why)), -1, "nothing fits");
	ASSERT_STRHAS(why, "n0: node is not Ready", "filtered reason");
	ASSERT_STRHAS(why, "n1: insufficient cpu", "resource reason");
	ASSERT_STRHAS(why, "n2: no score (timed out)", "score reason");
	ASSERT_STRHAS(why, "n3: denied by ksense (score 10)", "deny reason");
	ASSERT_EQ(sched_pick(&p, c, 0, why, sizeof(why)), -1, "no nodes");
	ASSERT_STRHAS(why, "no nodes", "says so");
}
