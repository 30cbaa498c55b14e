// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: what the scheduler reads from the network, on arbitrary
 * bytes: Pods and Nodes from the API (sched_parse_pod/node), an agent pod's
 * endpoint (ks_agent_from_pod) and a node agent's /score body.  A refusal
 * must say why; what parses must hold the model's invariants, and the
 * filter and the pick must run on it without reading out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent_client.h"
#include "json.h"
#include "pieces.h"
#include "scheduler/sched_model.h"

static void check_pod(const char *s, size_t n, struct sched_pod *p, struct sched_node *node)
{
	char err[256] = "", why[4096];
	struct sched_candidate c = { .node = node, .have_score = true, .score = 10 };

	sched_pod_free(p);
	if (sched_parse_pod(s, n, p, err, sizeof(err))) {
		FUZZ_CHECK(err[0]);
		sched_pod_free(p);
		return;
	}
	FUZZ_CHECK(p->name[0] && p->ns[0]);
	FUZZ_CHECK(p->nr_node_selector >= 0 && p->nr_node_selector <= SCHED_MAX_SELECTOR);
	FUZZ_CHECK(p->nr_tolerations >= 0 && p->nr_tolerations <= SCHED_MAX_TOLS);
	FUZZ_CHECK(p->nr_terms >= 0 && p->nr_terms <= SCHED_MAX_TERMS);
	FUZZ_CHECK(p->req_cpu_milli >= 0 && p->req_mem_bytes >= 0);
	FUZZ_CHECK(p->nr_req_ext >= 0 && p->nr_req_ext <= SCHED_MAX_EXT);
	FUZZ_CHECK(p->nr_ports >= 0 && p->nr_ports <= SCHED_MAX_PORTS);
	FUZZ_CHECK(p->nr_anti >= 0 && p->nr_anti <= SCHED_MAX_ANTI);
	FUZZ_CHECK(p->labels && strlen(p->labels) < SCHED_LABELS_LEN && strlen(p->unsupported) < sizeof(p->unsupported));
	for (int i = 0; i < p->nr_anti; i++)
		sched_anti_matches(&p->anti[i], p->ns, p->ns, p->labels);
	for (int i = 0; i < p->nr_ports; i++)
		FUZZ_CHECK(p->ports[i].port > 0 && p->ports[i].port <= 65535 &&
			   !sched_ports_conflict(&p->ports[i], &(struct sched_port){ .port = 0 }));
	/* the pod against the node the same bytes may also have made */
	sched_fits(p, node, NULL, why, sizeof(why));
	FUZZ_CHECK(strlen(why) < sizeof(why));
	sched_pick(p, &c, 1, why, sizeof(why));
	sched_pod_free(p);
}

static void check_node(const char *s, size_t n, struct sched_node *node)
{
	char err[256] = "";

	sched_node_free(node);
	if (sched_parse_node(s, n, node, err, sizeof(err))) {
		FUZZ_CHECK(err[0]);
		sched_node_free(node);
		strcpy(node->name, "fallback");
		node->ready = true;
		return;
	}
	FUZZ_CHECK(node->name[0]);
	FUZZ_CHECK(node->nr_labels >= 0 && node->nr_labels <= SCHED_MAX_LABELS);
	FUZZ_CHECK(node->nr_taints >= 0 && node->nr_taints <= SCHED_MAX_TAINTS);
	FUZZ_CHECK(node->nr_ext >= 0 && node->nr_ext <= SCHED_MAX_EXT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sched_pod pod;
	static struct sched_node node;
	const char *s = (const char *)data;
	struct ks_agent_score sc;
	struct ks_agent_ep ep;
	struct ks_json j;
	char err[256] = "";

	check_node(s, size, &node);
	check_pod(s, size, &pod, &node);
	if (!ks_agent_score_parse(s, size, &sc, err, sizeof(err)))
		FUZZ_CHECK(sc.score <= 100 && (sc.deny == !strcmp(sc.decision, "deny")));
	else
		FUZZ_CHECK(err[0]);
	if (!ks_json_parse(&j, s, size, err, sizeof(err))) {
		if (!ks_agent_from_pod(&j, 0, 5000, &ep, err, sizeof(err)))
			FUZZ_CHECK(ep.port >= 1 && ep.port <= 65535 && ep.host[0] && ep.node[0]);
		ks_json_free(&j);
	}
	return 0;
}
