// SPDX-License-Identifier: GPL-2.0
/* The scheduler tests' fixture (see schedfx.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "json.h"
#include "schedfx.h"

const char *sched_bin(void)
{
	return getenv("KSENSE_SCHEDULER_BIN") ?: "build/ksense-scheduler";
}

long long sfx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Starts the scheduler with test-friendly timings plus extra args. */
pid_t start_sched(struct fakeapi *f, const char *log, const char *identity, const char *const *extra,
			 const char *const *env)
{
	char *argv[40] = { (char *)sched_bin(), "--kubeconfig", f->kubeconfig, "--identity", (char *)identity,
			   "--backoff-initial-ms", "200", "--backoff-max-ms", "1000", "--score-ttl-ms", "200",
			   "--lease-duration-s", "3", "--renew-deadline-s", "2", "--retry-period-s", "1", "-v" };
	int n = 18;

	for (; extra && *extra && n < 38; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	return fx_spawn(log, argv, env);
}

int seed_pods(struct fakeapi *f, const char *prefix, int from, int to, const char *cpu)
{
	struct ks_buf b;
	int i, rc;

	ks_buf_init(&b, 16u << 20);
	for (i = from; i < to; i++)
		ks_buf_printf(&b, "%s{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s-%d\","
			      "\"namespace\":\"default\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\","
			      "\"containers\":[{\"name\":\"pause\",\"image\":\"registry.k8s.io/pause:3.9\","
			      "\"resources\":{\"requests\":{\"cpu\":\"%s\",\"memory\":\"16Mi\"}}}]}}",
			      i > from ? "," : "", prefix, i, cpu);
	rc = fakeapi_seed(f, b.data);
	ks_buf_free(&b);
	return rc;
}

/* spec.nodeName of default/name into node ("" pending); 0 or -1. */
int node_of(struct fakeapi *f, const char *name, char *node, size_t len)
{
	char path[300], err[256];
	struct ks_json j;
	struct ks_buf b;
	int rc = -1;

	node[0] = '\0';
	ks_buf_init(&b, 8u << 20);
	snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/%s", name);
	if (fakeapi_call(f, "GET", path, NULL, &b) == 200 &&
	    !ks_json_parse_limits(&j, b.data, b.len, 8u << 20, 1000000, err, sizeof(err))) {
		ks_json_string(&j, ks_json_path(&j, "spec.nodeName"), node, len);
		ks_json_free(&j);
		rc = 0;
	}
	ks_buf_free(&b);
	return rc;
}


int count_bound(struct fakeapi *f, const char *prefix, int from, int to, struct bound_count *bc)
{
	char name[128], node[254];
	int i;

	memset(bc, 0, sizeof(*bc));
	for (i = from; i < to; i++) {
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		if (node_of(f, name, node, sizeof(node)))
			return -1;
		if (!node[0]) {
			bc->pending++;
			continue;
		}
		bc->bound++;
		if (node[0] == 'n' && node[1] >= '1' && node[1] <= '7' && !node[2])
			bc->on[node[1] - '0']++;
	}
	return 0;
}

bool wait_bound(struct fakeapi *f, const char *prefix, int from, int to, int timeout_ms,
		       struct bound_count *bc)
{
	long long end = sfx_now_ms() + timeout_ms;

	do {
		if (!count_bound(f, prefix, from, to, bc) && bc->bound == to - from)
			return true;
		usleep(100 * 1000);
	} while (sfx_now_ms() < end);
	return false;
}


int read_bindings(struct fakeapi *f, const char *prefix, struct bind_log *bl)
{
	char err[256], pod[254], seen[512][64];
	int nseen = 0, okc[512] = { 0 }, arr, i, el, code;
	struct ks_json j;
	struct ks_buf b;

	memset(bl, 0, sizeof(*bl));
	ks_buf_init(&b, 256u << 20);
	if (fakeapi_call(f, "GET", "/fake/state?resource=nodes", NULL, &b) != 200 ||
	    ks_json_parse_limits(&j, b.data, b.len, 256u << 20, 4000000, err, sizeof(err))) {
		ks_buf_free(&b);
		return -1;
	}
	arr = ks_json_path(&j, "bindings");
	for (i = 0; (el = ks_json_index(&j, arr, i)) >= 0; i++) {
		int k;

		ks_json_string(&j, ks_json_member(&j, el, "pod"), pod, sizeof(pod));
		if (strncmp(pod, prefix, strlen(prefix)))
			continue;
		k = ks_json_member(&j, el, "code");
		code = k >= 0 ? atoi(j.src + j.tok[k].start) : 0;
		if (code != 201) {
			bl->failed++;
			continue;
		}
		bl->ok++;
		k = ks_json_member(&j, el, "time");
		if (k >= 0 && bl->nt < 64)
			bl->t[bl->nt++] = strtod(j.src + j.tok[k].start, NULL);
		for (k = 0; k < nseen && strcmp(seen[k], pod); k++)
			;
		if (k == nseen && nseen < 512)
			snprintf(seen[nseen++], sizeof(seen[0]), "%.63s", pod);
		if (k < 512 && ++okc[k] > bl->max_ok_per_pod)
			bl->max_ok_per_pod = okc[k];
	}
	ks_json_free(&j);
	ks_buf_free(&b);
	return 0;
}

/* The message of the newest Event with reason about default/pod, "" if none. */
int event_of(struct fakeapi *f, const char *pod, const char *reason, char *msg, size_t len)
{
	char err[256], name[254], why[64];
	int items, i, el, found = 0;
	struct ks_json j;
	struct ks_buf b;

	msg[0] = '\0';
	ks_buf_init(&b, 64u << 20);
	if (fakeapi_call(f, "GET", "/api/v1/namespaces/default/events", NULL, &b) != 200 ||
	    ks_json_parse_limits(&j, b.data, b.len, 64u << 20, 2000000, err, sizeof(err))) {
		ks_buf_free(&b);
		return 0;
	}
	items = ks_json_path(&j, "items");
	for (i = 0; (el = ks_json_index(&j, items, i)) >= 0; i++) {
		ks_json_string(&j, ks_json_path_at(&j, el, "involvedObject.name"), name, sizeof(name));
		ks_json_string(&j, ks_json_member(&j, el, "reason"), why, sizeof(why));
		if (strcmp(name, pod) || strcmp(why, reason))
			continue;
		ks_json_string(&j, ks_json_member(&j, el, "message"), msg, len);
		found++;
	}
	ks_json_free(&j);
	ks_buf_free(&b);
	return found;
}

bool wait_event(struct fakeapi *f, const char *pod, const char *reason, const char *needle, char *msg,
		       size_t len, int timeout_ms)
{
	long long end = sfx_now_ms() + timeout_ms;

	do {
		if (event_of(f, pod, reason, msg, len) && (!needle || strstr(msg, needle)))
			return true;
		usleep(100 * 1000);
	} while (sfx_now_ms() < end);
	return false;
}

/* A log line holding both a and b appears within timeout_ms. */
bool wait_log(const char *path, const char *a, const char *b, int timeout_ms)
{
	long long end = sfx_now_ms() + timeout_ms;
	char line[8192];

	do {
		FILE *f = fopen(path, "r");
		bool found = false;

		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, a) && strstr(line, b);
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(100 * 1000);
	} while (sfx_now_ms() < end);
	return false;
}

int control(struct fakeapi *f, const char *body)
{
	return fakeapi_call(f, "POST", "/fake/control", body, NULL);
}

void dump_log(const char *path)
{
	char cmd[700];

	printf("  --- %s (tail) ---\n", path);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "tail -n 25 %s", path);
	if (system(cmd)) {
	}
}

/* A peer that accepts connections and never answers: a slow agent. */
int silent_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}


/* "ksense-scheduler/1 (ID)" -> ID; else the whole agent. */
static void identity_of(const char *ua, char *out, size_t len)
{
	const char *o = strchr(ua, '('), *c = o ? strchr(o, ')') : NULL;

	if (o && c)
		snprintf(out, len, "%.*s", (int)(c - o - 1), o + 1);
	else
		snprintf(out, len, "%s", ua);
}

static double num_member(const struct ks_json *j, int el, const char *key)
{
	int k = ks_json_member(j, el, key);

	return k >= 0 ? strtod(j->src + j->tok[k].start, NULL) : 0;
}

int sfx_read_log(struct fakeapi *f, struct sfx_log *log)
{
	char err[256], ua[256];
	int arr, el, i, rc = -1;
	struct ks_json j;
	struct ks_buf b;

	memset(log, 0, sizeof(*log));
	ks_buf_init(&b, 256u << 20);
	if (fakeapi_call(f, "GET", "/fake/state?resource=none", NULL, &b) != 200 ||
	    ks_json_parse_limits(&j, b.data, b.len, 256u << 20, 8000000, err, sizeof(err)))
		goto out;
	arr = ks_json_path(&j, "bindings");
	log->nb = arr >= 0 ? j.tok[arr].size : 0;
	log->b = calloc((size_t)log->nb + 1, sizeof(*log->b));
	for (i = 0, el = arr + 1; log->b && i < log->nb; i++, el = ks_json_next(&j, el)) {
		struct sfx_binding *x = &log->b[i];

		ks_json_string(&j, ks_json_member(&j, el, "pod"), x->pod, sizeof(x->pod));
		ks_json_string(&j, ks_json_member(&j, el, "node"), x->node, sizeof(x->node));
		x->code = (int)num_member(&j, el, "code");
		x->t = num_member(&j, el, "time");
		ua[0] = '\0';
		ks_json_string(&j, ks_json_member(&j, el, "userAgent"), ua, sizeof(ua));
		identity_of(ua, x->who, sizeof(x->who));
	}
	arr = ks_json_path(&j, "leaseWrites");
	log->nl = arr >= 0 ? j.tok[arr].size : 0;
	log->l = calloc((size_t)log->nl + 1, sizeof(*log->l));
	for (i = 0, el = arr + 1; log->l && i < log->nl; i++, el = ks_json_next(&j, el)) {
		ks_json_string(&j, ks_json_member(&j, el, "name"), log->l[i].name, sizeof(log->l[i].name));
		ks_json_string(&j, ks_json_member(&j, el, "holder"), log->l[i].holder, sizeof(log->l[i].holder));
		log->l[i].t = num_member(&j, el, "time");
	}
	rc = log->b && log->l ? 0 : -1;
	ks_json_free(&j);
out:
	ks_buf_free(&b);
	return rc;
}

void sfx_log_free(struct sfx_log *log)
{
	free(log->b);
	free(log->l);
	memset(log, 0, sizeof(*log));
}

struct pods_ctx {
	const char *prefix;
	struct sfx_pod *p;
	int n, cap;
};

static int pod_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct pods_ctx *c = arg;
	struct sfx_pod *x;
	char name[64] = "", q[32] = "";

	(void)len;
	if (!json) {
		c->n = 0;
		return 0;
	}
	ks_json_string(j, ks_json_path(j, "metadata.name"), name, sizeof(name));
	if (strncmp(name, c->prefix, strlen(c->prefix)))
		return 0;
	if (c->n == c->cap) {
		int cap = c->cap ? 2 * c->cap : 256;
		struct sfx_pod *np = realloc(c->p, (size_t)cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		c->p = np;
		c->cap = cap;
	}
	x = &c->p[c->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	ks_json_string(j, ks_json_path(j, "spec.nodeName"), x->node, sizeof(x->node));
	ks_json_string(j, ks_json_index(j, ks_json_path(j, "spec.containers"), 0) >= 0 ?
			       ks_json_path_at(j, ks_json_index(j, ks_json_path(j, "spec.containers"), 0),
					       "resources.requests.cpu") : -1, q, sizeof(q));
	if (sched_quantity_milli(q, &x->cpu_milli))
		x->cpu_milli = 0;
	return 0;
}

int sfx_list_pods(struct fakeapi *f, const char *prefix, struct sfx_pod **out)
{
	struct pods_ctx c = { .prefix = prefix };
	char err[512], rv[KUBE_RV_MAX];

	*out = NULL;
	if (kube_list(f->kc, "/api/v1/namespaces/default/pods", 500, pod_item, &c, rv, sizeof(rv), err, sizeof(err))) {
		printf("  list pods: %s\n", err);
		free(c.p);
		return -1;
	}
	*out = c.p;
	return c.n;
}

int sfx_count_bound(struct fakeapi *f, const char *prefix)
{
	struct sfx_pod *p;
	int n = sfx_list_pods(f, prefix, &p), i, bound = 0;

	for (i = 0; i < n; i++)
		bound += p[i].node[0] != '\0';
	free(p);
	return n < 0 ? -1 : bound;
}

bool sfx_wait_bound(struct fakeapi *f, const char *prefix, int want, int timeout_ms)
{
	long long end = sfx_now_ms() + timeout_ms;

	do {
		if (sfx_count_bound(f, prefix) >= want)
			return true;
		usleep(200 * 1000);
	} while (sfx_now_ms() < end);
	return false;
}

const char *sfx_holder_at(const struct sfx_log *log, const char *lease, double t)
{
	const char *h = "";
	int i;

	/* the log is in commit order */
	for (i = 0; i < log->nl && log->l[i].t <= t; i++)
		if (!strcmp(log->l[i].name, lease))
			h = log->l[i].holder;
	return h;
}

double sfx_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
