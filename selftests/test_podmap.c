// SPDX-License-Identifier: GPL-2.0
/* cgroup path -> pod and container: one row per layout the kubelet and the
 * runtimes produce, and the near misses that must not map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "test_progs.h"
#include "webhook/podmap.h"

#define UID_D "1234abcd-5678-4abc-9def-0123456789ab"
#define UID_U "1234abcd_5678_4abc_9def_0123456789ab"
#define HASH "8fd1a7b9e0e24c8a6b7ac1e4f8c3f2d1"
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct row {
	const char *path;
	int rc;
	const char *uid, *cid, *runtime;
	enum ks_pod_qos qos;
};

#define NOPOD(p) { p, -ENOENT, "", "", "", KS_QOS_UNKNOWN }

static const struct row rows[] = {
	/* systemd driver, cgroup v2 */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  0, UID_D, CID, "containerd", KS_QOS_BURSTABLE },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_U ".slice/crio-" CID ".scope",
	  0, UID_D, CID, "crio", KS_QOS_BESTEFFORT },
	{ "/kubepods.slice/kubepods-pod" UID_U ".slice/docker-" CID ".scope",
	  0, UID_D, CID, "docker", KS_QOS_GUARANTEED },
	/* pod-level cgroup, with and without a trailing slash */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice",
	  0, UID_D, "", "", KS_QOS_BURSTABLE },
	{ "/kubepods.slice/kubepods-pod" UID_U ".slice/", 0, UID_D, "", "", KS_QOS_GUARANTEED },
	/* hybrid machine: the cgroup2 mount in front */
	{ "/sys/fs/cgroup/unified/kubepods.slice/kubepods-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  0, UID_D, CID, "containerd", KS_QOS_GUARANTEED },
	/* kind: --cgroup-root=/kubelet inside a docker container's scope */
	{ "/system.slice/docker-" CID ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	  "kubelet-kubepods-besteffort-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  0, UID_D, CID, "containerd", KS_QOS_BESTEFFORT },
	/* static pod: a 32-digit hash */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" HASH ".slice/cri-containerd-" CID ".scope",
	  0, HASH, CID, "containerd", KS_QOS_BURSTABLE },
	/* cgroupfs driver */
	{ "/kubepods/burstable/pod" UID_D "/" CID, 0, UID_D, CID, "", KS_QOS_BURSTABLE },
	{ "/kubepods/besteffort/pod" UID_D "/" CID, 0, UID_D, CID, "", KS_QOS_BESTEFFORT },
	{ "/kubepods/pod" UID_D "/" CID, 0, UID_D, CID, "", KS_QOS_GUARANTEED },
	{ "/kubepods/pod" UID_D, 0, UID_D, "", "", KS_QOS_GUARANTEED },
	{ "/kubepods/burstable/pod" UID_D "/crio-" CID, 0, UID_D, CID, "crio", KS_QOS_BURSTABLE },
	/* cgroup v1 controller directory, and a /proc/PID/cgroup line */
	{ "/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod" UID_D "/" CID, 0, UID_D, CID, "", KS_QOS_BURSTABLE },
	{ "0::/kubepods/burstable/pod" UID_D "/" CID, 0, UID_D, CID, "", KS_QOS_BURSTABLE },
	{ "4:cpu,cpuacct:/kubepods/pod" UID_D "/" CID, 0, UID_D, CID, "", KS_QOS_GUARANTEED },
	/* upper case is folded; a nested prefix of kubepods is skipped */
	{ "/kubepods/pod" "1234ABCD-5678-4ABC-9DEF-0123456789AB/" "ABCDEF012345", 0, UID_D, "abcdef012345", "",
	  KS_QOS_GUARANTEED },
	{ "/kubepods/burstable/pod" HASH "/" CID "/kubepods/pod" UID_D "/" CID, 0, UID_D, CID, "",
	  KS_QOS_GUARANTEED },
	/* a container's own sub-cgroup belongs to it */
	{ "/kubepods.slice/kubepods-pod" UID_U ".slice/cri-containerd-" CID ".scope/init", 0, UID_D, CID,
	  "containerd", KS_QOS_GUARANTEED },
	/* not pods */
	NOPOD("/"),
	NOPOD(""),
	NOPOD("/system.slice/docker-" CID ".scope"),
	NOPOD("/kubepods.slice"),
	NOPOD("/kubepods.slice/kubepods-burstable.slice"),
	NOPOD("/kubepods/burstable"),
	NOPOD("/kubepods/pod1234"),                                        /* short uid */
	NOPOD("/kubepods/pod" UID_D "x"),                                  /* long uid */
	NOPOD("/kubepods/pod1234abcd-5678-4abc-9def-0123456789ag"),        /* not hex */
	NOPOD("/kubepods/pod1234abcd-56784-abc-9def-0123456789ab"),        /* dash misplaced */
	NOPOD("/kubepods/guaranteed/pod" UID_D),                           /* no such QoS dir */
	NOPOD("/other/pod" UID_D "/" CID),                                 /* not under kubepods */
	NOPOD("/pod" UID_D),
	NOPOD("/kubepods.slice/kubepods-burstable-pod" UID_U ".slice"),    /* parent disagrees */
	NOPOD("/kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" UID_U ".slice"),
	NOPOD("/kubepods.slice/kubepods-pod" UID_U ".scope"),
	NOPOD("/kubepods.slice/xkubepods-pod" UID_U ".slice"),
	NOPOD("/kubepods.slice/kubepods-pod" UID_U ".slice/crio-conmon-" CID ".scope"),
	NOPOD("/kubepods.slice/kubepods-pod" UID_U ".slice/cri-containerd-0123.scope"), /* short id */
	NOPOD("/kubepods.slice/kubepods-pod" UID_U ".slice/" CID ".scope"), /* scope needs a runtime */
	NOPOD("/kubepods/pod" UID_D "/" CID "0"),                          /* 65 digits */
	NOPOD("/kubepods/pod" UID_D "/not-a-container"),
};

KS_TEST_F(podmap, KS_SAN | KS_HOST)
{
	struct ks_pod_ref r;
	char *huge;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		char name[64];
		int rc = ks_podmap_parse(w->path, &r);

		snprintf(name, sizeof(name), "row %zu rc", i);
		if (!ASSERT_EQ(rc, w->rc, name)) {
			printf("    path: %s\n", w->path);
			continue;
		}
		if (rc) {
			ASSERT_EQ(r.uid[0], 0, "zeroed on error");
			continue;
		}
		snprintf(name, sizeof(name), "row %zu uid", i);
		ASSERT_TRUE(!strcmp(r.uid, w->uid), name);
		snprintf(name, sizeof(name), "row %zu container id", i);
		ASSERT_TRUE(!strcmp(r.container_id, w->cid), name);
		snprintf(name, sizeof(name), "row %zu runtime", i);
		ASSERT_TRUE(!strcmp(r.runtime, w->runtime), name);
		snprintf(name, sizeof(name), "row %zu qos", i);
		ASSERT_EQ(r.qos, w->qos, name);
	}
	ASSERT_EQ(ks_podmap_parse(NULL, &r), -EINVAL, "NULL path");
	ASSERT_EQ(ks_podmap_parse("/", NULL), -EINVAL, "NULL out");
	huge = malloc(KS_PODMAP_MAX_PATH + 2);
	if (ASSERT_OK_PTR(huge, "malloc")) {
		memset(huge, '/', KS_PODMAP_MAX_PATH + 1);
		huge[KS_PODMAP_MAX_PATH + 1] = '\0';
		ASSERT_EQ(ks_podmap_parse(huge, &r), -ENAMETOOLONG, "too long");
		huge[KS_PODMAP_MAX_PATH] = '\0';
		ASSERT_EQ(ks_podmap_parse(huge, &r), -ENOENT, "longest allowed, all slashes");
		for (i = 0; i < KS_PODMAP_MAX_PATH; i++)
			huge[i] = i % 2 ? '/' : 'a';
		ASSERT_EQ(ks_podmap_parse(huge, &r), -ENOENT, "most components");
		free(huge);
	}
	ASSERT_TRUE(!strcmp(ks_qos_name(KS_QOS_BURSTABLE), "Burstable"), "qos name");
	ASSERT_TRUE(!strcmp(ks_qos_name(KS_QOS_UNKNOWN), ""), "unknown qos name");
}
