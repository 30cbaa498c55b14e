// SPDX-License-Identifier: GPL-2.0
/* The pod-name table behind /pods, fed Pod objects as the list and the
 * watch deliver them: container IDs of every status list, a static pod
 * found by the kubelet's UID, updates, deletes, and no kube config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_progs.h"
#include "json.h"
#include "webhook/podmeta.h"

static int apply(struct ks_podmeta *m, const char *json, bool deleted)
{
	struct ks_json j;
	char err[256];
	int rc = ks_json_parse(&j, json, strlen(json), err, sizeof(err));

	if (rc)
		return rc;
	rc = ks_podmeta_apply(m, &j, deleted);
	ks_json_free(&j);
	return rc;
}

#define POD_A "{\"metadata\":{\"uid\":\"aaaa\",\"namespace\":\"shop\",\"name\":\"api-1\"},\"status\":{" \
	"\"initContainerStatuses\":[{\"name\":\"init\",\"containerID\":\"containerd://1111\"}]," \
	"\"containerStatuses\":[{\"name\":\"api\",\"containerID\":\"containerd://2222\"}," \
	"{\"name\":\"sidecar\",\"containerID\":\"cri-o://3333\"},{\"name\":\"starting\",\"containerID\":\"\"}]}}"
#define POD_STATIC "{\"metadata\":{\"uid\":\"bbbb\",\"namespace\":\"kube-system\",\"name\":\"etcd-n1\"," \
	"\"annotations\":{\"kubernetes.io/config.mirror\":\"8fd1a7b9e0e24c8a6b7ac1e4f8c3f2d1\"}}," \
	"\"status\":{\"containerStatuses\":[{\"name\":\"etcd\",\"containerID\":\"containerd://4444\"}]}}"

KS_TEST_F(podmeta, KS_SAN | KS_HOST)
{
	struct ks_podmeta *m = ks_podmeta_new();
	char ns[64], name[254], err[256];

	if (!ASSERT_OK_PTR(m, "new"))
		return;
	ASSERT_FALSE(ks_podmeta_pod(m, "aaaa", ns, sizeof(ns), name, sizeof(name)), "empty table");
	ASSERT_FALSE(ks_podmeta_synced(m), "not synced without a list");
	ASSERT_OK(apply(m, POD_A, false), "add pod");
	ASSERT_OK(apply(m, POD_STATIC, false), "add static pod");
	ASSERT_TRUE(ks_podmeta_pod(m, "aaaa", ns, sizeof(ns), name, sizeof(name)), "pod by uid");
	ASSERT_TRUE(!strcmp(ns, "shop") && !strcmp(name, "api-1"), "namespace and name");
	ASSERT_TRUE(ks_podmeta_container(m, "aaaa", "2222", name, sizeof(name)) && !strcmp(name, "api"), "container");
	ASSERT_TRUE(ks_podmeta_container(m, "aaaa", "3333", name, sizeof(name)) && !strcmp(name, "sidecar"),
		    "cri-o id");
	ASSERT_TRUE(ks_podmeta_container(m, "aaaa", "1111", name, sizeof(name)) && !strcmp(name, "init"),
		    "init container");
	ASSERT_FALSE(ks_podmeta_container(m, "aaaa", "", name, sizeof(name)), "no id yet: not listed");
	ASSERT_FALSE(ks_podmeta_container(m, "bbbb", "2222", name, sizeof(name)), "container of another pod");
	/* the static pod's cgroup carries the kubelet's uid, not the mirror pod's */
	ASSERT_TRUE(ks_podmeta_pod(m, "8fd1a7b9e0e24c8a6b7ac1e4f8c3f2d1", ns, sizeof(ns), name, sizeof(name)),
		    "static pod by its mirror annotation");
	ASSERT_TRUE(!strcmp(name, "etcd-n1"), "static pod name");
	/* MODIFIED replaces; DELETED removes */
	ASSERT_OK(apply(m, "{\"metadata\":{\"uid\":\"aaaa\",\"namespace\":\"shop\",\"name\":\"api-1\"},\"status\":{"
			   "\"containerStatuses\":[{\"name\":\"api\",\"containerID\":\"containerd://5555\"}]}}", false),
		  "restarted container");
	ASSERT_FALSE(ks_podmeta_container(m, "aaaa", "2222", name, sizeof(name)), "old id gone");
	ASSERT_TRUE(ks_podmeta_container(m, "aaaa", "5555", name, sizeof(name)), "new id");
	ASSERT_OK(apply(m, "{\"metadata\":{\"uid\":\"aaaa\"}}", true), "delete");
	ASSERT_FALSE(ks_podmeta_pod(m, "aaaa", ns, sizeof(ns), name, sizeof(name)), "deleted");
	ASSERT_TRUE(ns[0] == '\0' && name[0] == '\0', "outputs empty on a miss");
	ASSERT_TRUE(ks_podmeta_pod(m, "bbbb", ns, sizeof(ns), name, sizeof(name)), "the other pod stays");
	ASSERT_EQ(apply(m, "{\"metadata\":{\"name\":\"x\"}}", false), -EINVAL, "no uid");
	ASSERT_EQ(apply(m, "[]", false), -EINVAL, "not an object");
	ks_podmeta_clear(m);
	ASSERT_FALSE(ks_podmeta_pod(m, "bbbb", ns, sizeof(ns), name, sizeof(name)), "cleared");
	ASSERT_FALSE(ks_podmeta_pod(NULL, "bbbb", ns, sizeof(ns), name, sizeof(name)), "no table");

	/* no kube config anywhere: -ENOENT, not an error */
	{
		char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
		char *kc = getenv("KUBECONFIG") ? strdup(getenv("KUBECONFIG")) : NULL;
		char *svc = getenv("KUBERNETES_SERVICE_HOST") ? strdup(getenv("KUBERNETES_SERVICE_HOST")) : NULL;

		setenv("HOME", "/nonexistent-ksense-home", 1);
		unsetenv("KUBECONFIG");
		unsetenv("KUBERNETES_SERVICE_HOST");
		ASSERT_EQ(ks_podmeta_start(m, NULL, "node-1", err, sizeof(err)), -ENOENT, "no config");
		ASSERT_STRHAS(err, "no kube config", "says so");
		ASSERT_EQ(ks_podmeta_start(m, "/nonexistent/kc", "node-1", err, sizeof(err)), -EINVAL,
			  "a named config that is missing is an error");
		ASSERT_EQ(ks_podmeta_start(m, "/nonexistent/kc", "bad node!", err, sizeof(err)), -EINVAL,
			  "node name checked");
		if (home)
			setenv("HOME", home, 1);
		if (kc)
			setenv("KUBECONFIG", kc, 1);
		if (svc)
			setenv("KUBERNETES_SERVICE_HOST", svc, 1);
		free(home);
		free(kc);
		free(svc);
	}
	ks_podmeta_free(m);
}

/* A pod's owner, and its Deployment when the ReplicaSet's name is the
 * Deployment's plus the pod's pod-template-hash (what the Deployment
 * controller does); anything else names no Deployment. */
KS_TEST_F(podmeta_owner, KS_SAN | KS_HOST)
{
	static const struct {
		const char *json, *kind, *owner, *deployment;
	} pods[] = {
		{ "{\"metadata\":{\"uid\":\"u1\",\"namespace\":\"shop\",\"name\":\"db-7c9f4-x2\",\"labels\":"
		  "{\"pod-template-hash\":\"7c9f4\"},\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"db-7c9f4\","
		  "\"controller\":true}]}}", "ReplicaSet", "db-7c9f4", "db" },
		/* a hash that does not end the name: a hand-made ReplicaSet */
		{ "{\"metadata\":{\"uid\":\"u2\",\"name\":\"p\",\"labels\":{\"pod-template-hash\":\"aaa\"},"
		  "\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"web-bbb\",\"controller\":true}]}}",
		  "ReplicaSet", "web-bbb", "" },
		{ "{\"metadata\":{\"uid\":\"u3\",\"name\":\"q\",\"ownerReferences\":[{\"kind\":\"StatefulSet\","
		  "\"name\":\"pg\",\"controller\":true}]}}", "StatefulSet", "pg", "" },
		/* only the controller reference counts */
		{ "{\"metadata\":{\"uid\":\"u4\",\"name\":\"r\",\"ownerReferences\":[{\"kind\":\"ReplicaSet\","
		  "\"name\":\"x-1\"},{\"kind\":\"Job\",\"name\":\"j\",\"controller\":true}]}}", "Job", "j", "" },
		{ "{\"metadata\":{\"uid\":\"u5\",\"name\":\"bare\"}}", "", "", "" },
		/* the hash alone is no Deployment name */
		{ "{\"metadata\":{\"uid\":\"u6\",\"name\":\"s\",\"labels\":{\"pod-template-hash\":\"abc\"},"
		  "\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"-abc\",\"controller\":true}]}}",
		  "ReplicaSet", "-abc", "" },
	};
	struct ks_podmeta *m = ks_podmeta_new();
	struct ks_pod_owner_ref o;
	char uid[8];
	size_t i;

	if (!ASSERT_OK_PTR(m, "new"))
		return;
	for (i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		if (!ASSERT_OK(apply(m, pods[i].json, false), "apply"))
			continue;
		snprintf(uid, sizeof(uid), "u%zu", i + 1);
		ASSERT_TRUE(ks_podmeta_owner(m, uid, &o), "found");
		ASSERT_STREQ(o.kind, pods[i].kind, "owner kind");
		ASSERT_STREQ(o.owner, pods[i].owner, "owner name");
		ASSERT_STREQ(o.deployment, pods[i].deployment, "deployment");
	}
	ASSERT_FALSE(ks_podmeta_owner(m, "nope", &o), "unknown pod");
	ASSERT_STREQ(o.deployment, "", "outputs empty on a miss");
	ASSERT_FALSE(ks_podmeta_owner(NULL, "u1", &o), "no table");
	ks_podmeta_free(m);
}
