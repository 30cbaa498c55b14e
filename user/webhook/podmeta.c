// SPDX-License-Identifier: GPL-2.0
/* Pod and container names of this node from the Kubernetes API (podmeta.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "log.h"
#include "podmeta.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

struct cmeta {
	char id[72];                 /* runtime's id, without "containerd://" */
	char name[64];               /* a DNS label: at most 63 */
};

struct pmeta {
	char uid[40];
	char mirror_uid[40];         /* static pod: the kubelet's uid (the cgroup's) */
	char ns[64];
	char name[254];
	struct cmeta *c;
	int nc;
};

struct ks_podmeta {
	pthread_mutex_t mu;          /* the table below; the thread writes, handlers read */
	struct pmeta *pods;
	size_t n, cap;
	bool synced;
};

struct ks_podmeta *ks_podmeta_new(void)
{
	struct ks_podmeta *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void pods_clear(struct ks_podmeta *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->pods[i].c);
	m->n = 0;
}

void ks_podmeta_clear(struct ks_podmeta *m)
{
	pthread_mutex_lock(&m->mu);
	pods_clear(m);
	m->synced = false;
	pthread_mutex_unlock(&m->mu);
}

static void table_free(struct ks_podmeta *m)
{
	pods_clear(m);
	free(m->pods);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* Under mu.  A uid matches the API's uid or, for a static pod, the
 * kubelet's own (the mirror annotation), which is what its cgroup carries. */
static struct pmeta *find(struct ks_podmeta *m, const char *uid)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->pods[i].uid, uid) || (m->pods[i].mirror_uid[0] && !strcmp(m->pods[i].mirror_uid, uid)))
			return &m->pods[i];
	return NULL;
}

bool ks_podmeta_pod(struct ks_podmeta *m, const char *uid, char *ns, size_t nslen, char *name, size_t namelen)
{
	struct pmeta *p;

	ns[0] = name[0] = '\0';
	if (!m)
		return false;
	pthread_mutex_lock(&m->mu);
	p = find(m, uid);
	if (p) {
		snprintf(ns, nslen, "%s", p->ns);
		snprintf(name, namelen, "%s", p->name);
	}
	pthread_mutex_unlock(&m->mu);
	return p != NULL;
}

bool ks_podmeta_container(struct ks_podmeta *m, const char *uid, const char *container_id, char *name,
			  size_t namelen)
{
	struct pmeta *p;
	bool found = false;
	int i;

	name[0] = '\0';
	if (!m)
		return false;
	pthread_mutex_lock(&m->mu);
	p = find(m, uid);
	for (i = 0; p && i < p->nc; i++)
		if (!strcmp(p->c[i].id, container_id)) {
			snprintf(name, namelen, "%s", p->c[i].name);
			found = true;
			break;
		}
	pthread_mutex_unlock(&m->mu);
	return found;
}

bool ks_podmeta_synced(struct ks_podmeta *m)
{
	bool s;

	if (!m)
		return false;
	pthread_mutex_lock(&m->mu);
	s = m->synced;
	pthread_mutex_unlock(&m->mu);
	return s;
}

/* status.<field>[] -> (id, name) pairs appended to p->c. */
static int add_statuses(const struct ks_json *j, int status, const char *field, struct pmeta *p)
{
	int arr = ks_json_member(j, status, field), k, e;
	char id[128], name[64];

	if (!ks_json_is_array(j, arr))
		return 0;
	for (k = 0; (e = ks_json_index(j, arr, k)) >= 0; k++) {
		const char *sep;
		struct cmeta *g;

		/* "containerd://<id>", "cri-o://<id>", "docker://<id>"; empty
		 * while the container is being created */
		if (ks_json_string(j, ks_json_member(j, e, "containerID"), id, sizeof(id)) ||
		    ks_json_string(j, ks_json_member(j, e, "name"), name, sizeof(name)))
			continue;
		sep = strstr(id, "://");
		sep = sep ? sep + 3 : id;
		if (!*sep || strlen(sep) >= sizeof(p->c[0].id))
			continue;
		g = realloc(p->c, (size_t)(p->nc + 1) * sizeof(*g));
		if (!g)
			return -ENOMEM;
		p->c = g;
		snprintf(g[p->nc].id, sizeof(g[p->nc].id), "%s", sep);
		snprintf(g[p->nc].name, sizeof(g[p->nc].name), "%s", name);
		p->nc++;
	}
	return 0;
}

int ks_podmeta_apply(struct ks_podmeta *m, const struct ks_json *j, bool deleted)
{
	struct pmeta np = {}, *old;
	int md = ks_json_member(j, 0, "metadata"), st = ks_json_member(j, 0, "status"), err = 0;

	if (ks_json_string(j, ks_json_member(j, md, "uid"), np.uid, sizeof(np.uid)) || !np.uid[0])
		return -EINVAL;
	if (!deleted) {
		ks_json_string(j, ks_json_member(j, md, "namespace"), np.ns, sizeof(np.ns));
		ks_json_string(j, ks_json_member(j, md, "name"), np.name, sizeof(np.name));
		ks_json_string(j, ks_json_member(j, ks_json_member(j, md, "annotations"), MIRROR_ANNOTATION),
			       np.mirror_uid, sizeof(np.mirror_uid));
		err = add_statuses(j, st, "initContainerStatuses", &np);
		if (!err)
			err = add_statuses(j, st, "containerStatuses", &np);
		if (!err)
			err = add_statuses(j, st, "ephemeralContainerStatuses", &np);
		if (err) {
			free(np.c);
			return err;
		}
	}
	pthread_mutex_lock(&m->mu);
	old = find(m, np.uid);
	if (deleted) {
		if (old) {
			free(old->c);
			*old = m->pods[--m->n];
		}
	} else if (old) {
		free(old->c);
		*old = np;
	} else {
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 64;
			struct pmeta *g = realloc(m->pods, cap * sizeof(*g));

			if (!g) {
				err = -ENOMEM;
				free(np.c);
				goto out;
			}
			m->pods = g;
			m->cap = cap;
		}
		m->pods[m->n++] = np;
	}
out:
	pthread_mutex_unlock(&m->mu);
	return err;
}

void ks_podmeta_free(struct ks_podmeta *m)
{
	if (!m)
		return;
	table_free(m);
}
