/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names of this node's pods from the Kubernetes API: pod UID -> namespace
 * and name, container ID -> container name.  A thread lists and watches
 * pods with spec.nodeName=<node> and keeps a table the request handlers
 * read under a mutex.  Without a kube config there is no table and every
 * lookup misses: /pods then reports empty names.
 */
#ifndef KSENSE_PODMETA_H
#define KSENSE_PODMETA_H

#include <stdbool.h>
#include <stddef.h>

struct ks_podmeta;

/* An empty table (no thread); ks_podmeta_start fills it from the API. */
struct ks_podmeta *ks_podmeta_new(void);
/* Start the list+watch thread for pods on `node`.  kubeconfig NULL or "":
 * $KUBECONFIG, ~/.kube/config, or in-cluster (see kube_config_load).
 * 0; -ENOENT when there is no kube config at all (not an error: the
 * caller goes on without names); another negative errno with the reason
 * in err for a config that exists but is unusable. */
int ks_podmeta_start(struct ks_podmeta *m, const char *kubeconfig, const char *node, char *err,
		     size_t errlen);
/* Stop the thread (if any) and free everything. */
void ks_podmeta_free(struct ks_podmeta *m);

/* The table as of now; each false (outputs "") when unknown. */
bool ks_podmeta_pod(struct ks_podmeta *m, const char *uid, char *ns, size_t nslen, char *name,
		    size_t namelen);
/* A pod's names and owner: its controller (ownerReferences) and, for a
 * ReplicaSet named "<deployment>-<pod-template-hash>" by the Deployment
 * controller, that Deployment.  Fields "" when unknown. */
struct ks_pod_owner_ref {
	char ns[64];
	char name[254];
	char kind[64];
	char owner[254];
	char deployment[254];
};
bool ks_podmeta_owner(struct ks_podmeta *m, const char *uid, struct ks_pod_owner_ref *out);
bool ks_podmeta_container(struct ks_podmeta *m, const char *uid, const char *container_id, char *name,
			  size_t namelen);
/* True once the first list has completed (names are then authoritative). */
bool ks_podmeta_synced(struct ks_podmeta *m);

/* Replace the pod whose JSON object is j's root (ADDED/MODIFIED), or drop
 * it (deleted); exposed for the thread and for tests.  0 or -EINVAL for an
 * object without metadata.uid. */
struct ks_json;
int ks_podmeta_apply(struct ks_podmeta *m, const struct ks_json *j, bool deleted);
/* Forget every pod (a relist starts). */
void ks_podmeta_clear(struct ks_podmeta *m);

#endif
