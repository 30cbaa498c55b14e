/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler tests' fixture: ksense-scheduler started against the fake
 * API server with test timings, pods seeded in bulk, and what the fake
 * server recorded (bindings, lease writes, pods, Events) read back.
 */
#ifndef KSENSE_SELFTEST_SCHEDFX_H
#define KSENSE_SELFTEST_SCHEDFX_H

#include <stdbool.h>
#include <sys/types.h>
#include "fakeapi.h"
#include "scheduler/sched_model.h"

const char *sched_bin(void);
long long sfx_now_ms(void);
/* The scheduler with test-friendly timings (lease 3/2/1 s, backoff 200..1000
 * ms, score TTL 200 ms) plus extra args, logging to log. */
pid_t start_sched(struct fakeapi *f, const char *log, const char *identity, const char *const *extra,
		  const char *const *env);
/* Pods prefix-from..prefix-(to-1) in default asking for the fuzzy-scheduler. */
int seed_pods(struct fakeapi *f, const char *prefix, int from, int to, const char *cpu);
/* spec.nodeName of default/name into node ("" pending); 0 or -1. */
int node_of(struct fakeapi *f, const char *name, char *node, size_t len);

/* Counts pods named prefix-* bound (per node into counts by node index "nK"). */
struct bound_count {
	int bound, pending;
	int on[8];         /* by node number n1..n7 */
};
/* The bindings the fake server recorded: 201s and other codes for pods
 * whose name starts with prefix; max 201s for any one pod. */
struct bind_log {
	int ok, failed, max_ok_per_pod;
	double t[64];      /* times of the first 64 successful bindings */
	int nt;
};

int count_bound(struct fakeapi *f, const char *prefix, int from, int to, struct bound_count *bc);
bool wait_bound(struct fakeapi *f, const char *prefix, int from, int to, int timeout_ms, struct bound_count *bc);
int read_bindings(struct fakeapi *f, const char *prefix, struct bind_log *bl);
/* The message of the newest Event with reason about default/pod; how many. */
int event_of(struct fakeapi *f, const char *pod, const char *reason, char *msg, size_t len);
bool wait_event(struct fakeapi *f, const char *pod, const char *reason, const char *needle, char *msg,
		size_t len, int timeout_ms);
/* A log line holding both a and b appears within timeout_ms. */
bool wait_log(const char *path, const char *a, const char *b, int timeout_ms);
int control(struct fakeapi *f, const char *body);
void dump_log(const char *path);
/* A peer that accepts connections and never answers: a slow agent. */
int silent_listener(int *port);

/* What the fake server logged: every binding attempt (identity: the
 * part of the User-Agent in parentheses) and every Lease write. */
struct sfx_binding {
	char pod[64], node[64], who[64];
	int code;
	double t;            /* the server's time.time() */
};
struct sfx_lease_write {
	char name[64], holder[64];
	double t;
};
struct sfx_log {
	struct sfx_binding *b;
	int nb;
	struct sfx_lease_write *l;
	int nl;
};
int sfx_read_log(struct fakeapi *f, struct sfx_log *log);
void sfx_log_free(struct sfx_log *log);
/* Who held Lease `lease` at time t by the log ("" before any write). */
const char *sfx_holder_at(const struct sfx_log *log, const char *lease, double t);

/* Pods in default whose name starts with prefix (one list): name, node,
 * the first container's cpu request.  The count, *out to free; -1. */
struct sfx_pod {
	char name[64], node[64];
	long long cpu_milli;
};
int sfx_list_pods(struct fakeapi *f, const char *prefix, struct sfx_pod **out);
int sfx_count_bound(struct fakeapi *f, const char *prefix);
bool sfx_wait_bound(struct fakeapi *f, const char *prefix, int want, int timeout_ms);
/* CLOCK_REALTIME in seconds: the fake server's clock for its logs. */
double sfx_wall_s(void);

#endif
