/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup path -> Kubernetes pod and container, from the names the kubelet
 * and the container runtimes give their cgroups.  No API access: this is
 * what the path alone says.
 *
 * Recognised (anywhere in the path, so mount points such as
 * /sys/fs/cgroup/unified, a v1 controller directory, or a nested kind or
 * docker prefix in front do not matter; the innermost pod wins):
 *
 *   systemd driver  .../[P-]kubepods.slice/[P-]kubepods-pod<uid>.slice        Guaranteed
 *                   .../[P-]kubepods-burstable.slice/[P-]kubepods-burstable-pod<uid>.slice
 *                   .../[P-]kubepods-besteffort.slice/[P-]kubepods-besteffort-pod<uid>.slice
 *                   <uid> with '_' for '-' (systemd reserves '-'); P is a
 *                   --cgroup-root such as kind's "kubelet"
 *   cgroupfs driver .../kubepods/pod<uid>, .../kubepods/burstable/pod<uid>,
 *                   .../kubepods/besteffort/pod<uid>
 *   container       the pod's child: cri-containerd-<id>.scope,
 *                   crio-<id>.scope, docker-<id>.scope (also without
 *                   .scope under cgroupfs), or a bare <id>; <id> is 12..64
 *                   hex digits.  Cgroups a container makes below its own
 *                   belong to that container.
 *
 * <uid> is a UUID (8-4-4-4-12 hex) or 32 hex digits (static pods: the
 * kubelet names them by a hash of the manifest).  A /proc/PID/cgroup line
 * ("0::/kubepods/...") is accepted as well.
 */
#ifndef KSENSE_PODMAP_H
#define KSENSE_PODMAP_H

#include <stddef.h>

enum ks_pod_qos {
	KS_QOS_UNKNOWN = 0,
	KS_QOS_GUARANTEED = 1,
	KS_QOS_BURSTABLE = 2,
	KS_QOS_BESTEFFORT = 3,
};

#define KS_POD_UID_LEN 40       /* 36 + NUL, rounded */
#define KS_CONTAINER_ID_LEN 72  /* 64 hex + NUL, rounded */

struct ks_pod_ref {
	char uid[KS_POD_UID_LEN];           /* dashed form, as the API spells it */
	char container_id[KS_CONTAINER_ID_LEN]; /* "" for the pod-level cgroup */
	char runtime[16];                   /* "containerd", "crio", "docker", "" */
	enum ks_pod_qos qos;
};

/* Longest path ks_podmap_parse looks at; longer is -ENAMETOOLONG. */
#define KS_PODMAP_MAX_PATH 4096

/* 0 with *out filled, -ENOENT when the path is not a pod's (or its
 * container's) cgroup, -ENAMETOOLONG, -EINVAL for NULL.  out is zeroed on
 * every error. */
int ks_podmap_parse(const char *path, struct ks_pod_ref *out);
/* "Guaranteed", "Burstable", "BestEffort", "" */
const char *ks_qos_name(enum ks_pod_qos q);

#endif
