// SPDX-License-Identifier: GPL-2.0
/* The k8s/ kustomize base renders offline and says what the design needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "fixture.h"

static char out[1 << 17];

#define run(cmd) fx_sh(out, sizeof(out), "%s", cmd)

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

KS_TEST_F(k8s_manifests, KS_HOST)
{
	if (system("command -v kubectl >/dev/null 2>&1")) {
		test__skip("kubectl not installed");
		return;
	}
	if (!ASSERT_EQ(run("kubectl kustomize k8s/ 2>&1"), 0, "kubectl kustomize k8s/")) {
		printf("%s\n", out);
		return;
	}
	ASSERT_STRHAS(out, "kind: Namespace", "namespace");
	ASSERT_STRHAS(out, "name: ksense-system", "ksense-system");
	ASSERT_STRHAS(out, "kind: DaemonSet", "daemonset");
	ASSERT_STRHAS(out, "- ksense\n        - load", "init step ksense load");
	/* no container is privileged: least capabilities, no escalation
	 * (selftests/test_deploy.c runs them with exactly these) */
	ASSERT_FALSE(strstr(out, "privileged: true"), "nothing privileged");
	/* load, webhook, collect, scheduler, scaler, and the extender
	 * component's extender and kube-scheduler */
	ASSERT_EQ(count(out, "allowPrivilegeEscalation: false"), 7, "no escalation in any container");
	ASSERT_STRHAS(out, "type: RuntimeDefault", "seccomp RuntimeDefault");
	ASSERT_STRHAS(out, "- BPF\n            - PERFMON", "load: BPF, PERFMON");
	ASSERT_STRHAS(out, "- BPF\n            - SYS_PTRACE\n            - CHECKPOINT_RESTORE",
		      "webhook: BPF, SYS_PTRACE, CHECKPOINT_RESTORE");
	ASSERT_STRHAS(out, "path: /sys/fs/bpf", "bpffs hostPath");
	ASSERT_STRHAS(out, "path: /sys/kernel/btf", "btf hostPath");
	ASSERT_STRHAS(out, "path: /sys/fs/cgroup", "host cgroup tree");
	ASSERT_STRHAS(out, "- collect", "collector container");
	ASSERT_STRHAS(out, "kind: ValidatingWebhookConfiguration", "webhook config");
	ASSERT_STRHAS(out, "failurePolicy: Ignore", "failurePolicy Ignore");
	ASSERT_STRHAS(out, "timeoutSeconds: 2", "timeout 2 s");
	ASSERT_STRHAS(out, "sideEffects: None", "no side effects");
	ASSERT_STRHAS(out, "- v1", "admissionReviewVersions v1");
	ASSERT_STRHAS(out, "namespaceSelector:", "namespace allowlist");
	ASSERT_STRHAS(out, "- CREATE", "pod create");
	ASSERT_STRHAS(out, "pods/binding", "binding RBAC");
	ASSERT_STRHAS(out, "  - nodes/status\n  verbs:\n  - patch\n", "node condition RBAC: patch only");
	/* the taint is off by default, and so is the right to write it */
	ASSERT_FALSE(strstr(out, "  - nodes\n  verbs:\n  - patch\n"), "no node patch RBAC by default");
	ASSERT_STRHAS(out, "name: KSENSE_NODE_TAINT\n          value: \"false\"", "no taint by default");
	/* probes the event loop answers itself, never a bare TCP accept */
	ASSERT_STRHAS(out, "path: /livez", "liveness probe of /livez");
	ASSERT_STRHAS(out, "path: /healthz", "readiness probe of /healthz");
	ASSERT_EQ(count(out, "tcpSocket"), 0, "no tcpSocket probe");
	/* the scheduler's, the scaler's and the extender's status ports,
	 * probed and scraped */
	ASSERT_EQ(count(out, "- containerPort: 8080\n          name: metrics"), 3,
		  "a metrics port on the scheduler, the scaler and the extender");
	ASSERT_EQ(count(out, "port: metrics"), 5, "their probes use it (the extender's liveness)");
	ASSERT_STRHAS(out, "resource: limits.memory", "the webhook learns its memory limit");
	ASSERT_STRHAS(out, "resources:\n  - deployments\n  verbs:\n  - get\n  - list\n  - watch\n  - patch",
		      "the scaler patches Deployments (replicas and last-scale together)");
	ASSERT_STRHAS(out, "horizontalpodautoscalers", "the scaler sees HPAs");
	ASSERT_STRHAS(out, "coordination.k8s.io", "lease RBAC");
	ASSERT_STRHAS(out, "name: ksense-scaler-leader", "the scaler's own Lease");
	ASSERT_EQ(count(out, "kind: ServiceAccount\nmetadata"), 5, "one service account per component");
	ASSERT_EQ(count(out, "kind: Deployment\nmetadata"), 4,
		  "scheduler, scaler, and the extender component's extender and kube-scheduler");
	ASSERT_STRHAS(out, "- --extender", "the extender runs ksense-scheduler --extender");
	ASSERT_STRHAS(out, "name: ksense-scheduler-extender", "its Service");
	ASSERT_STRHAS(out, "image: registry.k8s.io/kube-scheduler:v1.30.0", "a stock kube-scheduler");
	/* the KubeSchedulerConfiguration inside the ConfigMap, read as YAML */
	if (ASSERT_EQ(run("kubectl kustomize k8s/ | python3 -c '"
			  "import sys, yaml\n"
			  "docs = list(yaml.safe_load_all(sys.stdin))\n"
			  "cm = [d for d in docs if d[\"kind\"] == \"ConfigMap\" and "
			  "d[\"metadata\"][\"name\"].startswith(\"ksense-kube-scheduler-config\")][0]\n"
			  "c = yaml.safe_load(cm[\"data\"][\"config.yaml\"])\n"
			  "e = c[\"extenders\"][0]\n"
			  "dep = [d for d in docs if d[\"kind\"] == \"Deployment\" and "
			  "d[\"metadata\"][\"name\"] == \"ksense-kube-scheduler\"][0]\n"
			  "vol = dep[\"spec\"][\"template\"][\"spec\"][\"volumes\"][0][\"configMap\"][\"name\"]\n"
			  "print(c[\"apiVersion\"], c[\"kind\"], [p[\"schedulerName\"] for p in c[\"profiles\"]],"
			  " e[\"filterVerb\"], e[\"prioritizeVerb\"], \"weight\", e[\"weight\"], \"ignorable\","
			  " e[\"ignorable\"], \"nodeCacheCapable\", e[\"nodeCacheCapable\"], \"timeout\","
			  " e[\"httpTimeout\"], \"mounted\", vol == cm[\"metadata\"][\"name\"])' 2>&1"),
		      0, "the KubeSchedulerConfiguration parses")) {
		ASSERT_STRHAS(out, "kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration ['ksense-extended']",
			      "a profile of its own");
		ASSERT_STRHAS(out, "filter prioritize weight 5 ignorable True nodeCacheCapable True timeout 5s",
			      "the extender: both verbs, a weight, ignorable, names, a timeout");
		ASSERT_STRHAS(out, "mounted True", "the kube-scheduler mounts the generated ConfigMap");
	} else {
		printf("%s\n", out);
	}
	/* the opt-in taint component, in an overlay as README says */
	if (ASSERT_EQ(run("d=build/k8s-node-taint-test && rm -rf $d && mkdir -p $d && "
			  "printf 'apiVersion: kustomize.config.k8s.io/v1beta1\\nkind: Kustomization\\n"
			  "resources:\\n  - ../../k8s\\ncomponents:\\n  - ../../k8s/node-taint\\n' > $d/kustomization.yaml && "
			  "kubectl kustomize $d 2>&1"), 0, "an overlay with k8s/node-taint")) {
		ASSERT_STRHAS(out, "  name: ksense-node-taint\nrules:\n- apiGroups:\n  - \"\"\n  resources:\n  - nodes\n"
			      "  verbs:\n  - patch\n", "node patch RBAC with the component");
		ASSERT_STRHAS(out, "  name: ksense-node-taint\nsubjects:\n- kind: ServiceAccount\n  name: ksense-node\n"
			      "  namespace: ksense-system", "bound to the node agent");
		ASSERT_STRHAS(out, "name: KSENSE_NODE_TAINT\n          value: \"true\"", "the taint on");
		ASSERT_EQ(count(out, "name: KSENSE_NODE_TAINT\n"), 1, "set once");
	} else {
		printf("%s\n", out);
	}
	/* the README's install section names every workload the base renders,
	 * with its replicas, and every Lease */
	if (!ASSERT_EQ(run("kubectl kustomize k8s/ | python3 -c '"
			   "import sys, yaml\n"
			   "readme = open(\"README.md\").read()\n"
			   "sec = readme[readme.index(\"## Installing into a cluster\"):]\n"
			   "sec = sec[:sec.index(\"\\n## \", 3)]\n"
			   "docs = list(yaml.safe_load_all(sys.stdin))\n"
			   "bad = []\n"
			   "for d in docs:\n"
			   "    k, n = d[\"kind\"], d[\"metadata\"][\"name\"]\n"
			   "    if k == \"Deployment\":\n"
			   "        row = [l for l in sec.splitlines() if l.strip().startswith(\"| Deployment `\" + n + \"`\")]\n"
			   "        if not row or not row[0].strip().split(\"|\")[2].strip().startswith(str(d[\"spec\"][\"replicas\"])):\n"
			   "            bad.append(n)\n"
			   "    elif k in (\"DaemonSet\", \"Service\", \"ValidatingWebhookConfiguration\") and \"`\" + n + \"`\" not in sec:\n"
			   "        bad.append(n)\n"
			   "    if k == \"Deployment\":\n"
			   "        c = d[\"spec\"][\"template\"][\"spec\"][\"containers\"][0]\n"
			   "        if \"--extender\" not in c.get(\"command\", []) and \"kube-scheduler\" not in c[\"image\"] "
			   "and \"Lease `\" + n + \"`\" not in sec:\n"
			   "            bad.append(\"lease \" + n)\n"
			   "print(\"missing:\", bad)' 2>&1"), 0, "the install section read") ||
	    !ASSERT_STRHAS(out, "missing: []", "README's install section lists what k8s/ renders"))
		printf("%s\n", out);
	if (!ASSERT_EQ(run("kubectl kustomize k8s/ 2>&1"), 0, "kubectl kustomize k8s/ again"))
		return;
	if (ASSERT_EQ(run("cat k8s/test-pods.yaml"), 0, "test pods")) {
		ASSERT_EQ(count(out, "kind: Pod\n"), 9, "nine pods");
		ASSERT_EQ(count(out, "schedulerName: fuzzy-scheduler"), 9, "all for the fuzzy-scheduler");
	}
}
