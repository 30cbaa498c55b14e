// SPDX-License-Identifier: GPL-2.0
/* Pod and container names of this node from the Kubernetes API (podmeta.h). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "json.h"
#include "kube.h"
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
	char owner_kind[64];         /* its controller ownerReference, "" none */
	char owner_name[254];
	char deployment[254];        /* the ReplicaSet's Deployment, when its name says so */
	struct cmeta *c;
	int nc;
	unsigned long gen;           /* list generation that last saw it */
};

/* Why a thread and not the server's epoll loop: kube_list and the
 * connect + TLS handshake of a watch block for up to their timeouts
 * (seconds against a slow or unreachable API server), and the loop also
 * answers the API server's admission calls, which must not wait behind
 * them.  The thread only touches the table under mu. */
struct ks_podmeta {
	pthread_mutex_t mu;          /* the table below and `stop` */
	pthread_cond_t wake;         /* signalled on stop */
	struct pmeta *pods;
	size_t n, cap;
	unsigned long gen;
	bool synced;
	bool stop;
	bool running;
	pthread_t th;
	struct kube_client *k;
	char path[512];              /* /api/v1/pods?fieldSelector=spec.nodeName%3D<node> */
	char node[254];
};

struct ks_podmeta *ks_podmeta_new(void)
{
	struct ks_podmeta *m = calloc(1, sizeof(*m));

	if (m) {
		pthread_mutex_init(&m->mu, NULL);
		pthread_cond_init(&m->wake, NULL);
	}
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
	pthread_cond_destroy(&m->wake);
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

bool ks_podmeta_owner(struct ks_podmeta *m, const char *uid, struct ks_pod_owner_ref *out)
{
	struct pmeta *p;

	memset(out, 0, sizeof(*out));
	if (!m)
		return false;
	pthread_mutex_lock(&m->mu);
	p = find(m, uid);
	if (p) {
		snprintf(out->ns, sizeof(out->ns), "%s", p->ns);
		snprintf(out->name, sizeof(out->name), "%s", p->name);
		snprintf(out->kind, sizeof(out->kind), "%s", p->owner_kind);
		snprintf(out->owner, sizeof(out->owner), "%s", p->owner_name);
		snprintf(out->deployment, sizeof(out->deployment), "%s", p->deployment);
	}
	pthread_mutex_unlock(&m->mu);
	return p != NULL;
}

/* The controller ownerReference of the pod at md, and the Deployment its
 * ReplicaSet belongs to: the Deployment controller names a ReplicaSet
 * "<deployment>-<pod-template-hash>" and labels its pods with that hash,
 * so the name alone tells it (the API would take a ReplicaSet watch). */
static void read_owner(const struct ks_json *j, int md, struct pmeta *p)
{
	int refs = ks_json_member(j, md, "ownerReferences"), k, e;
	char hash[64] = "";
	size_t nl, hl;

	for (k = 0; (e = ks_json_index(j, refs, k)) >= 0; k++) {
		bool ctl = false;

		ks_json_bool(j, ks_json_member(j, e, "controller"), &ctl);
		if (!ctl)
			continue;
		if (ks_json_string(j, ks_json_member(j, e, "kind"), p->owner_kind, sizeof(p->owner_kind)) ||
		    ks_json_string(j, ks_json_member(j, e, "name"), p->owner_name, sizeof(p->owner_name)))
			p->owner_kind[0] = p->owner_name[0] = '\0';
		break;
	}
	if (strcmp(p->owner_kind, "ReplicaSet") ||
	    ks_json_string(j, ks_json_member(j, ks_json_member(j, md, "labels"), "pod-template-hash"), hash,
			   sizeof(hash)) || !hash[0])
		return;
	nl = strlen(p->owner_name);
	hl = strlen(hash);
	if (nl > hl + 1 && p->owner_name[nl - hl - 1] == '-' && !strcmp(p->owner_name + nl - hl, hash))
		snprintf(p->deployment, sizeof(p->deployment), "%.*s", (int)(nl - hl - 1), p->owner_name);
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
		read_owner(j, md, &np);
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
		np.gen = m->gen;
		*old = np;
	} else {
		np.gen = m->gen;
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

/* ---- the list+watch thread ---- */

#define STOP_WATCH 100               /* callback result: above every KUBE_WATCH_* */
#define WATCH_TIMEOUT_S 300
#define BACKOFF_BASE_MS 500u
#define BACKOFF_CAP_MS 30000u

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

static bool stopping(struct ks_podmeta *m)
{
	bool s;

	pthread_mutex_lock(&m->mu);
	s = m->stop;
	pthread_mutex_unlock(&m->mu);
	return s;
}

/* Sleep ms unless told to stop; true when stopping. */
static bool nap(struct ks_podmeta *m, unsigned int ms)
{
	struct timespec until;
	bool s;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->mu);
	while (!m->stop && pthread_cond_timedwait(&m->wake, &m->mu, &until) == 0)
		;
	s = m->stop;
	pthread_mutex_unlock(&m->mu);
	return s;
}

static int on_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct ks_podmeta *m = arg;

	(void)len;
	/* a restarted list (expired continue token) sends everything again;
	 * the generation sweep after the list drops what it no longer has */
	if (!json)
		return 0;
	if (ks_podmeta_apply(m, j, false) == -ENOMEM)
		return -ENOMEM;
	return 0;
}

static int on_event(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j)
{
	struct ks_podmeta *m = arg;

	(void)json;
	(void)len;
	if (stopping(m))
		return STOP_WATCH;
	if (ks_podmeta_apply(m, j, !strcmp(type, "DELETED")) == -ENOMEM)
		ks_warn("pod names: out of memory applying a watch event", "type=%s", type);
	return 0;
}

/* List the node's pods into the table: a new generation, and pods the
 * list no longer has are dropped.  0 or negative errno (logged). */
static int relist(struct ks_podmeta *m, char *rv, size_t rvlen)
{
	char err[1024];
	size_t i;
	int rc;

	pthread_mutex_lock(&m->mu);
	m->gen++;
	pthread_mutex_unlock(&m->mu);
	rc = kube_list(m->k, m->path, 500, on_item, m, rv, rvlen, err, sizeof(err));
	if (rc) {
		ks_warn("pod names: list failed", "node=%s err=\"%s\"", m->node, err);
		return rc < 0 ? rc : -EIO;
	}
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n;) {
		if (m->pods[i].gen != m->gen) {
			free(m->pods[i].c);
			m->pods[i] = m->pods[--m->n];
		} else {
			i++;
		}
	}
	m->synced = true;
	i = m->n;
	pthread_mutex_unlock(&m->mu);
	ks_info("pod names: listed", "node=%s pods=%zu rv=%s", m->node, i, rv);
	return 0;
}

/* One watch from rv, driven in slices of 500 ms so a stop is seen soon:
 * KUBE_WATCH_CLOSED, KUBE_WATCH_GONE, STOP_WATCH or negative errno. */
static int watch_once(struct ks_podmeta *m, char *rv, size_t rvlen)
{
	struct kube_watch *w = NULL;
	char err[1024] = "";
	int rc;

	rc = kube_watch_open(m->k, m->path, rv, true, WATCH_TIMEOUT_S, &w, err, sizeof(err));
	while (rc == 0) {
		rc = kube_watch_next(w, 500, on_event, m, err, sizeof(err));
		snprintf(rv, rvlen, "%s", kube_watch_rv(w));
		if (!rc && stopping(m))
			rc = STOP_WATCH;
	}
	if (rc < 0)
		ks_warn("pod names: watch failed", "node=%s err=\"%s\"", m->node, err);
	else if (rc == KUBE_WATCH_CLOSED && err[0])
		ks_info("pod names: watch ended", "node=%s why=\"%s\"", m->node, err);
	if (w)
		kube_watch_close(w);
	return rc;
}

static void *run(void *arg)
{
	struct ks_podmeta *m = arg;
	char rv[KUBE_RV_MAX] = "";
	unsigned int attempt = 0;
	bool need_list = true;

	while (!stopping(m)) {
		unsigned long long started = mono_ms();
		int rc;

		if (need_list) {
			if (relist(m, rv, sizeof(rv))) {
				if (nap(m, kube_backoff_ms(attempt++, BACKOFF_BASE_MS, BACKOFF_CAP_MS)))
					break;
				continue;
			}
			need_list = false;
			attempt = 0;
		}
		rc = watch_once(m, rv, sizeof(rv));
		if (rc == STOP_WATCH)
			break;
		if (rc == KUBE_WATCH_GONE) {
			/* 410: our resourceVersion is older than the server keeps */
			ks_info("pod names: resourceVersion expired, listing again", "node=%s rv=%s", m->node, rv);
			need_list = true;
			continue;
		}
		/* a watch that ran for a while ended normally (server timeout):
		 * reconnect at once; one that failed or dropped soon backs off */
		if (rc == KUBE_WATCH_CLOSED && mono_ms() - started > 10000)
			attempt = 0;
		else if (nap(m, kube_backoff_ms(attempt++, BACKOFF_BASE_MS, BACKOFF_CAP_MS)))
			break;
	}
	return NULL;
}

static bool have_kube_config(const char *kubeconfig)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char path[4096];

	if ((kubeconfig && *kubeconfig) || (env && *env) || getenv("KUBERNETES_SERVICE_HOST"))
		return true;
	if (!home || (size_t)snprintf(path, sizeof(path), "%s/.kube/config", home) >= sizeof(path))
		return false;
	return access(path, R_OK) == 0;
}

int ks_podmeta_start(struct ks_podmeta *m, const char *kubeconfig, const char *node, char *err, size_t errlen)
{
	struct kube_config c;
	sigset_t all, old;
	size_t i;
	int rc;

	if (!have_kube_config(kubeconfig)) {
		snprintf(err, errlen, "no kube config (--kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster)");
		return -ENOENT;
	}
	/* the kubelet registers a hostname lowercased; the name also goes
	 * into a URL unescaped, so it must be a DNS subdomain */
	for (i = 0; node[i] && i < sizeof(m->node) - 1; i++)
		m->node[i] = (char)tolower((unsigned char)node[i]);
	m->node[i] = '\0';
	if (!m->node[0] || node[i] || strspn(m->node, "abcdefghijklmnopqrstuvwxyz0123456789.-") != i) {
		snprintf(err, errlen, "node name '%s' is not a Kubernetes node name (DNS subdomain)", node);
		return -EINVAL;
	}
	snprintf(m->path, sizeof(m->path), "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", m->node);
	rc = kube_config_load(&c, kubeconfig, NULL, err, errlen);
	/* a config was named (or is in the environment) but cannot be
	 * used: that is a configuration error, not "no config" */
	if (rc)
		return rc == -ENOENT ? -EINVAL : rc;
	/* a node's agent is one of many clients of the API server: a modest
	 * limit; list + watch needs a request every few minutes */
	m->k = kube_client_new(&c, 5.0, 10, err, errlen);
	kube_config_free(&c);
	if (!m->k)
		return -EINVAL;
	/* short I/O waits keep a stop (SIGTERM) from waiting behind a list */
	kube_client_set_timeouts(m->k, 5000, 10000);
	/* the server takes SIGTERM/SIGINT/SIGHUP through a signalfd, which
	 * needs them blocked in every thread: the thread starts with every
	 * signal blocked, or a SIGTERM could land here and kill the process */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&m->th, NULL, run, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the pod watch thread: %s", strerror(rc));
		kube_client_free(m->k);
		m->k = NULL;
		return -rc;
	}
	m->running = true;
	return 0;
}

void ks_podmeta_free(struct ks_podmeta *m)
{
	if (!m)
		return;
	if (m->running) {
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_broadcast(&m->wake);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->th, NULL);
	}
	kube_client_free(m->k);
	table_free(m);
}
