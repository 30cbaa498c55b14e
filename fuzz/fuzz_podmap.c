// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: cgroup path -> pod (user/webhook/podmap.c) on arbitrary bytes.
 * Only 0, -ENOENT and -ENAMETOOLONG may come back; a result must be well
 * formed (a dashed lowercase UUID or a 32-digit hash, a lowercase hex
 * container id of 12..64 digits or "", a known runtime and QoS), and the
 * canonical paths of both cgroup drivers written from it must parse back
 * to the same result: the parser and the layouts it claims to read agree.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "webhook/podmap.h"

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "fuzz_podmap: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                       \
			abort();                                                 \
		}                                                                \
	} while (0)

static void check_ref(const struct ks_pod_ref *r)
{
	size_t i, n = strlen(r->uid), m = strlen(r->container_id);

	CHECK(n == 32 || n == 36);
	for (i = 0; i < n; i++) {
		if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23))
			CHECK(r->uid[i] == '-');
		else
			CHECK(isxdigit((unsigned char)r->uid[i]) && !isupper((unsigned char)r->uid[i]));
	}
	CHECK(m == 0 || (m >= 12 && m <= 64));
	for (i = 0; i < m; i++)
		CHECK(isxdigit((unsigned char)r->container_id[i]) && !isupper((unsigned char)r->container_id[i]));
	CHECK(!strcmp(r->runtime, "") || !strcmp(r->runtime, "containerd") || !strcmp(r->runtime, "crio") ||
	      !strcmp(r->runtime, "docker"));
	CHECK(m || !r->runtime[0]);
	CHECK(r->qos >= KS_QOS_GUARANTEED && r->qos <= KS_QOS_BESTEFFORT);
	CHECK(ks_qos_name(r->qos)[0]);
}

static void check_same(const char *path, const struct ks_pod_ref *want)
{
	struct ks_pod_ref got;

	CHECK(ks_podmap_parse(path, &got) == 0);
	CHECK(!strcmp(got.uid, want->uid) && !strcmp(got.container_id, want->container_id) &&
	      got.qos == want->qos);
}

static void round_trip(const struct ks_pod_ref *r)
{
	static const char *const qdir[] = { "", "", "burstable", "besteffort" };
	static const char *const scope_prefix[] = { "cri-containerd-", "crio-", "docker-" };
	char uid_u[KS_POD_UID_LEN], path[512], ctr[128], qslice[64];
	size_t i;

	for (i = 0; i <= strlen(r->uid); i++)
		uid_u[i] = r->uid[i] == '-' ? '_' : r->uid[i];
	/* cgroupfs */
	snprintf(ctr, sizeof(ctr), "%s%s", r->container_id[0] ? "/" : "", r->container_id);
	if (r->qos == KS_QOS_GUARANTEED)
		snprintf(path, sizeof(path), "/kubepods/pod%s%s", r->uid, ctr);
	else
		snprintf(path, sizeof(path), "/kubepods/%s/pod%s%s", qdir[r->qos], r->uid, ctr);
	check_same(path, r);
	/* systemd, with each runtime's scope name */
	snprintf(qslice, sizeof(qslice), "kubepods%s%s", r->qos == KS_QOS_GUARANTEED ? "" : "-",
		 qdir[r->qos]);
	for (i = 0; i < 3; i++) {
		if (r->container_id[0])
			snprintf(ctr, sizeof(ctr), "/%s%s.scope", scope_prefix[i], r->container_id);
		snprintf(path, sizeof(path), "/sys/fs/cgroup/kubepods.slice%s%s%s/%s-pod%s.slice%s",
			 r->qos == KS_QOS_GUARANTEED ? "" : "/", r->qos == KS_QOS_GUARANTEED ? "" : qslice,
			 r->qos == KS_QOS_GUARANTEED ? "" : ".slice", qslice, uid_u, ctr);
		check_same(path, r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_pod_ref r;
	char *s = malloc(size + 1);
	int rc;

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	rc = ks_podmap_parse(s, &r);
	CHECK(rc == 0 || rc == -ENOENT || rc == -ENAMETOOLONG);
	if (rc == -ENAMETOOLONG)
		CHECK(strlen(s) > KS_PODMAP_MAX_PATH);
	if (rc) {
		CHECK(!r.uid[0] && !r.container_id[0]);
	} else {
		check_ref(&r);
		round_trip(&r);
	}
	free(s);
	return 0;
}
