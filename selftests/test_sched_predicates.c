// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-scheduler's predicates beyond CPU and memory, end to end against
 * the fake API server: the node's pod capacity (its ksense agent counts
 * too), extended resources, host ports, required pod anti-affinity on
 * kubernetes.io/hostname both ways (also a bound pod's hostname term after
 * a term the model cannot evaluate), a pending pod that a bound pod's
 * unevaluable term may select, and every constraint it does not
 * evaluate: such a pod stays Pending with a FailedScheduling Event that
 * names the constraint and points to the extender; a gated pod waits
 * silently.
 *
 * Nodes: n1 (best score, 4 pods: its agent and 3 more), n2 (one GPU),
 * n3; the subtests run in order on the same cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fakeapi.h"
#include "schedfx.h"
#include "test_progs.h"

static int seed_node(struct fakeapi *f, const char *name, const char *alloc, const struct fake_agent *a)
{
	char json[4096];

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":"
		 "{\"kubernetes.io/hostname\":\"%s\"}},\"status\":{\"allocatable\":{%s},\"conditions\":[{\"type\":"
		 "\"Ready\",\"status\":\"True\"}]}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-%s\","
		 "\"namespace\":\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"},"
		 "\"annotations\":{\"ksense.io/agent-port\":\"%d\"}},\"spec\":{\"nodeName\":\"%s\","
		 "\"containers\":[{\"name\":\"webhook\",\"image\":\"ksense/node\"}]},"
		 "\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.1\"}}",
		 name, name, alloc, name, a->port, name);
	return fakeapi_seed(f, json);
}

/* Pod default/name asking for the fuzzy-scheduler: labels (JSON members or
 * ""), spec members before "containers", the container's extra members. */
static int seed_pod(struct fakeapi *f, const char *name, const char *labels, const char *spec, const char *container)
{
	char json[4096];

	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\","
		 "\"labels\":{%s}},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",%s%s\"containers\":[{\"name\":\"c\","
		 "\"image\":\"pause\",\"resources\":{\"requests\":{\"cpu\":\"10m\"}}%s%s}]}}",
		 name, labels, spec, spec[0] ? "," : "", container[0] ? "," : "", container);
	return fakeapi_seed(f, json);
}

static int on_node(struct fakeapi *f, const char *prefix, const char *node)
{
	struct sfx_pod *p;
	int n = sfx_list_pods(f, prefix, &p), i, c = 0;

	for (i = 0; i < n; i++)
		c += !strcmp(p[i].node, node);
	free(p);
	return c;
}

static void pending_with(struct fakeapi *f, const char *pod, const char *needle)
{
	char msg[4096], node[254];

	if (ASSERT_TRUE(wait_event(f, pod, "FailedScheduling", needle, msg, sizeof(msg), 10000), needle))
		ASSERT_STRHAS(msg, "0/3 nodes are available", "counts the nodes");
	else
		printf("  %s: last FailedScheduling: %s\n", pod, msg);
	node_of(f, pod, node, sizeof(node));
	ASSERT_STREQ(node, "", "still Pending");
}

KS_TEST_F(scheduler_predicates, KS_SAN | KS_HOST)
{
	struct fake_agent ag[3] = {};
	struct fakeapi f;
	char log[600], msg[4096], node[254];
	pid_t sp = -1;
	int i;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "predicates"), "fake API server"))
		return;
	if (!ASSERT_OK(fake_agent_start(&f, &ag[0], "n1", "10 allow"), "agent n1") ||
	    !ASSERT_OK(fake_agent_start(&f, &ag[1], "n2", "20 allow"), "agent n2") ||
	    !ASSERT_OK(fake_agent_start(&f, &ag[2], "n3", "30 allow"), "agent n3"))
		goto out;
	ASSERT_OK(seed_node(&f, "n1", "\"cpu\":\"64\",\"memory\":\"64Gi\",\"pods\":\"4\"", &ag[0]), "n1");
	ASSERT_OK(seed_node(&f, "n2", "\"cpu\":\"64\",\"memory\":\"64Gi\",\"pods\":\"110\",\"nvidia.com/gpu\":\"1\"", &ag[1]),
		  "n2");
	ASSERT_OK(seed_node(&f, "n3", "\"cpu\":\"64\",\"memory\":\"64Gi\",\"pods\":\"110\"", &ag[2]), "n3");
	snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "sched.log"));
	sp = start_sched(&f, log, "predicates", NULL, NULL);

	if (test__start_subtest("pod_capacity")) {
		for (i = 0; i < 5; i++) {
			char name[16];

			snprintf(name, sizeof(name), "cap-%d", i);
			ASSERT_OK(seed_pod(&f, name, "", "", ""), "pod");
		}
		ASSERT_TRUE(sfx_wait_bound(&f, "cap-", 5, 15000), "all bound");
		ASSERT_EQ(on_node(&f, "cap-", "n1"), 3, "n1 takes 3: its pod capacity is 4, its agent is one");
		ASSERT_EQ(on_node(&f, "cap-", "n2"), 2, "the rest on n2, the next best");
	}
	if (test__start_subtest("extended_resources")) {
		ASSERT_OK(fakeapi_seed(&f, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"gpu-0\","
				       "\"namespace\":\"default\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\","
				       "\"containers\":[{\"name\":\"c\",\"image\":\"cuda\",\"resources\":{\"requests\":"
				       "{\"nvidia.com/gpu\":\"1\"}}}]}}"), "gpu-0");
		ASSERT_TRUE(sfx_wait_bound(&f, "gpu-0", 1, 10000), "one GPU pod bound");
		node_of(&f, "gpu-0", node, sizeof(node));
		ASSERT_STREQ(node, "n2", "on the only node with a GPU");
		ASSERT_OK(fakeapi_seed(&f, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"gpu-1\","
				       "\"namespace\":\"default\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\","
				       "\"containers\":[{\"name\":\"c\",\"image\":\"cuda\",\"resources\":{\"requests\":"
				       "{\"nvidia.com/gpu\":\"1\"}}}]}}"), "gpu-1");
		pending_with(&f, "gpu-1", "n2: insufficient nvidia.com/gpu: requests 1, free 0 of 1");
		ASSERT_TRUE(wait_event(&f, "gpu-1", "FailedScheduling", "n3: insufficient nvidia.com/gpu", msg,
				       sizeof(msg), 1000), "n3 has none");
	}
	if (test__start_subtest("host_ports")) {
		for (i = 0; i < 3; i++) {
			char name[16];

			snprintf(name, sizeof(name), "hp-%d", i);
			ASSERT_OK(seed_pod(&f, name, "", "", "\"ports\":[{\"containerPort\":80,\"hostPort\":8080}]"),
				  "pod");
			if (i < 2)
				ASSERT_TRUE(sfx_wait_bound(&f, name, 1, 10000), "bound");
		}
		ASSERT_EQ(on_node(&f, "hp-", "n2") + on_node(&f, "hp-", "n3"), 2, "one on n2, one on n3 (n1 is full)");
		pending_with(&f, "hp-2", "host port 8080/TCP is taken by pod default/hp-");
	}
	if (test__start_subtest("anti_affinity")) {
		const char *anti = "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
				   "[{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":"
				   "\"kubernetes.io/hostname\"}]}}";

		ASSERT_OK(seed_pod(&f, "web-0", "\"app\":\"web\"", anti, ""), "web-0");
		ASSERT_TRUE(sfx_wait_bound(&f, "web-0", 1, 10000), "web-0 bound");
		ASSERT_OK(seed_pod(&f, "web-1", "\"app\":\"web\"", anti, ""), "web-1");
		ASSERT_TRUE(sfx_wait_bound(&f, "web-1", 1, 10000), "web-1 bound");
		ASSERT_EQ(on_node(&f, "web-", "n2") + on_node(&f, "web-", "n3"), 2, "one per node");
		ASSERT_OK(seed_pod(&f, "web-2", "\"app\":\"web\"", anti, ""), "web-2");
		pending_with(&f, "web-2", "pod anti-affinity: pod default/web-");
		/* without a term of its own, a web pod is still kept away by theirs */
		ASSERT_OK(seed_pod(&f, "webish-0", "\"app\":\"web\"", "", ""), "webish-0");
		pending_with(&f, "webish-0", "there has anti-affinity against this pod");
	}
	if (test__start_subtest("bound_anti_affinity")) {
		/* a pod already bound on n2 (the best node with room) whose
		 * zone term comes before a hostname term: the hostname term is
		 * still checked, and a pod the zone term may select waits */
		ASSERT_OK(seed_pod(&f, "guard-0", "\"app\":\"guard\"",
				   "\"nodeName\":\"n2\",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
				   "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},"
				   "\"topologyKey\":\"topology.kubernetes.io/zone\"},{\"labelSelector\":{\"matchLabels\":"
				   "{\"app\":\"api\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}", ""), "guard-0");
		usleep(500 * 1000); /* the watch shows it */
		ASSERT_OK(seed_pod(&f, "api-0", "\"app\":\"api\"", "", ""), "api-0");
		ASSERT_TRUE(sfx_wait_bound(&f, "api-0", 1, 10000), "api-0 bound");
		node_of(&f, "api-0", node, sizeof(node));
		ASSERT_STREQ(node, "n3", "not next to guard-0 (its hostname term), though n2 scores better");
		ASSERT_OK(seed_pod(&f, "db-0", "\"app\":\"db\"", "", ""), "db-0");
		if (ASSERT_TRUE(wait_event(&f, "db-0", "FailedScheduling", "pod default/guard-0 has required pod "
					   "anti-affinity with topologyKey \"topology.kubernetes.io/zone\"", msg,
					   sizeof(msg), 10000), "held back by guard-0's zone term"))
			ASSERT_STRHAS(msg, "ksense-scheduler --extender", "points to the extender");
		else
			printf("  db-0: last FailedScheduling: %s\n", msg);
		node_of(&f, "db-0", node, sizeof(node));
		ASSERT_STREQ(node, "", "db-0 never bound");
		/* a pod neither term selects is placed as usual */
		ASSERT_OK(seed_pod(&f, "other-0", "\"app\":\"other\"", "", ""), "other-0");
		ASSERT_TRUE(sfx_wait_bound(&f, "other-0", 1, 10000), "other-0 bound");
		node_of(&f, "other-0", node, sizeof(node));
		ASSERT_STREQ(node, "n2", "the best node");
	}
	if (test__start_subtest("unsupported_constraints")) {
		static const struct { const char *name, *spec, *says; } cases[] = {
			{ "un-affinity", "\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			  "[{\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}",
			  "required pod affinity" },
			{ "un-zone", "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
			  "[{\"labelSelector\":{\"matchLabels\":{\"app\":\"x\"}},\"topologyKey\":\"topology.kubernetes.io/zone\"}]}}",
			  "topologyKey \"topology.kubernetes.io/zone\"" },
			{ "un-spread", "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"kubernetes.io/hostname\","
			  "\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{\"app\":\"s\"}}}]",
			  "topologySpreadConstraints" },
			{ "un-pvc", "\"volumes\":[{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"data\"}}]",
			  "PersistentVolumeClaim" },
		};
		unsigned int k;

		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
			ASSERT_OK(seed_pod(&f, cases[k].name, "", cases[k].spec, ""), cases[k].name);
		for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			if (!ASSERT_TRUE(wait_event(&f, cases[k].name, "FailedScheduling", cases[k].says, msg, sizeof(msg),
						    10000), cases[k].says))
				continue;
			ASSERT_STRHAS(msg, "ksense-scheduler --extender", "points to the extender");
			node_of(&f, cases[k].name, node, sizeof(node));
			ASSERT_STREQ(node, "", "never bound");
		}
	}
	if (test__start_subtest("scheduling_gates")) {
		ASSERT_OK(seed_pod(&f, "gated-0", "", "\"schedulingGates\":[{\"name\":\"example.com/wait\"}]", ""), "pod");
		usleep(1500 * 1000);
		node_of(&f, "gated-0", node, sizeof(node));
		ASSERT_STREQ(node, "", "a gated pod waits");
		ASSERT_EQ(event_of(&f, "gated-0", "FailedScheduling", msg, sizeof(msg)), 0, "silently");
	}
	ASSERT_EQ(fx_stop(sp), 0, "stops cleanly");
	sp = -1;
out:
	if (sp > 0)
		fx_stop(sp);
	for (i = 0; i < 3; i++)
		fake_agent_stop(&ag[i]);
	if (test__failed())
		dump_log(log);
	fakeapi_stop(&f);
}
