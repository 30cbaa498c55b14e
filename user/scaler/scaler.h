/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense-scaler's shared types.  One job per file:
 *   pods_report.c  parse a node agent's GET /pods body (defensively)
 *   cluster.c      what the API says: agents, Deployments, ReplicaSets, pod owners
 *   rules.c        annotations, per-Deployment aggregation, the decisions
 *   actions.c      the scale PATCH and rate-limited Events
 *   poll.c         one poll: agents -> pods -> Deployments -> decisions -> actions
 */
#ifndef KSENSE_SCALER_H
#define KSENSE_SCALER_H

#include <stdbool.h>
#include <stddef.h>
#include "json.h"

/* ---- the /pods report (pods_report.c) ---- */

enum ks_class { KS_CLASS_IDLE, KS_CLASS_CPU, KS_CLASS_BLOCK, KS_CLASS_OFFCPU, KS_CLASS_THROTTLED, KS_CLASS__N };
/* What an OFFCPU pod waits for, as the kernel saw its wakeups. */
enum ks_cause { KS_CAUSE_NONE, KS_CAUSE_LOCK, KS_CAUSE_DEPENDENCY, KS_CAUSE_NETWORK, KS_CAUSE_DEVICE,
		KS_CAUSE_KERNEL, KS_CAUSE__N };

#define KS_PODS_MAX      8192  /* pods kept from one report; more is a broken agent */
#define KS_PODS_TOP      3     /* top functions kept per pod */
#define KS_PODS_DEPS     2     /* dependencies kept per pod */
#define KS_PODS_BODY_MAX (4u << 20)

struct ks_pod_top {
	char function[160];
	char module[160];
	unsigned int share_permille;
};

/* A pod whose tasks ended this pod's waits (the agent's "dependencies"). */
struct ks_pod_dep {
	char uid[64];
	char namespace_[64];
	char name[254];
	unsigned int share_permille;   /* of the pod's waits */
};

struct ks_pod_report {
	char uid[64];
	char namespace_[64];
	char name[254];
	enum ks_class cls;
	double oncpu_permille;     /* of one CPU: a multi-threaded pod may pass 1000 */
	double d_ms_per_s, s_ms_per_s;
	double block_ios_per_s, block_bytes_per_s, block_ms_per_s, block_lat_avg_us;
	double throttled_permille;   /* waits for the CFS quota, of the window (of one CPU) */
	double throttled_ms_per_s;
	double runq_wait_permille;   /* waiting in the run queue, of the window (of one CPU) */
	double cpu_limit_millicores; /* 0: no limit reported */
	unsigned long long samples;
	int ntop;
	struct ks_pod_top top[KS_PODS_TOP];
	enum ks_cause cause;         /* of an OFFCPU pod; NONE when absent */
	int ndeps;                   /* named dependencies that are pods */
	struct ks_pod_dep deps[KS_PODS_DEPS];
};

struct ks_pods_report {
	char node[254];
	unsigned long long seq;
	unsigned long long window_ms;
	int npods;
	struct ks_pod_report *pods;
	int skipped;               /* malformed pod entries left out */
	char first_skip[160];      /* why the first one was left out */
};

/* 0 and out filled (free with ks_pods_report_free), or a negative errno with the
 * reason in err and out empty.  The body must be an object with a "pods"
 * array; unknown fields are ignored; a malformed pod entry (no name or
 * namespace, unknown class, a negative or non-numeric number) is skipped
 * and counted, never fatal. */
int ks_pods_parse(const char *body, size_t len, struct ks_pods_report *out, char *err, size_t errlen);
void ks_pods_report_free(struct ks_pods_report *r);
const char *ks_class_name(enum ks_class c);
const char *ks_report_cause_name(enum ks_cause c);
/* -1 when s names no class. */
int ks_class_parse(const char *s);

/* ---- configuration (ksense-scaler.c) ---- */

#define KS_ANN_AUTOSCALE  "ksense.io/autoscale"
#define KS_ANN_MIN        "ksense.io/min-replicas"
#define KS_ANN_MAX        "ksense.io/max-replicas"
#define KS_ANN_DEPENDENCY "ksense.io/dependency"
/* Written by the scaler in the same PATCH as the replica count: when and
 * which way it scaled last, so a cooldown survives restarts and replicas
 * ({"time":"RFC 3339","direction":"up"|"down","from":N,"to":N,"by":ID}). */
#define KS_ANN_LAST_SCALE "ksense.io/last-scale"
#define KS_DEFAULT_MIN_REPLICAS 1
#define KS_DEFAULT_MAX_REPLICAS 10
#define KS_REPLICAS_LIMIT 100000  /* annotations above are taken for typos */

struct ks_scaler_cfg {
	double interval_s;
	int agent_timeout_ms;
	char agent_namespace[64];
	char agent_selector[256];
	int agent_port;
	const char *kubeconfig;
	const char *context;
	char namespace_[64];          /* "" = all namespaces */
	unsigned int cpu_threshold_permille;
	unsigned int up_windows;
	double up_cooldown_s;
	double down_stabilization_s;
	double event_interval_s;
	bool dry_run;
	unsigned long long max_polls; /* 0 = until SIGTERM; --once is 1 */
	/* leader election: one replica acts */
	bool no_leader_elect;
	char lease_namespace[64];
	char lease_name[254];
	char identity[128];
	int lease_duration_s, renew_deadline_s, retry_period_s;
	char status_addr[160];        /* the status port: HOST:PORT, :PORT, none */
};

/* ---- the cluster's view, rebuilt every poll (cluster.c) ---- */

struct ks_deploy_state;

struct ks_deploy {
	char ns[64];
	char name[254];
	char uid[64];
	char rv[64];
	int replicas;
	bool autoscale;
	bool invalid;               /* bad min/max/dependency annotation: never scaled */
	char invalid_why[256];
	int min, max;
	char dep_ns[64], dep_name[254]; /* ksense.io/dependency, dep_name "" = none */
	/* ksense.io/last-scale, as we wrote it */
	bool have_last_scale;
	double last_scale_wall_s;       /* CLOCK_REALTIME seconds */
	int last_scale_dir;             /* +1 up, -1 down */
	char hpa[320];                  /* "ns/name" of an HPA that targets it, "" = none */
	/* the dependencies the kernel names for its pods (pods whose tasks
	 * woke them), as Deployments where the API knows one */
	int ncause[KS_CAUSE__N];
	enum ks_cause cause;        /* majority of its OFFCPU pods */
	struct ks_kdep {
		struct ks_deploy *d;    /* NULL: the pod is no Deployment's (or unknown) */
		char ns[64], pod[254];  /* a pod that named it, for Events */
		double share_sum;       /* share_permille summed over our pods */
	} kdeps[4];
	int nkdeps;
	/* this poll's pods, aggregated (rules.c) */
	int npods;
	int nclass[KS_CLASS__N];
	enum ks_class cls;          /* majority */
	double oncpu_permille, d_ms_per_s, s_ms_per_s, block_ms_per_s, block_lat_avg_us; /* means */
	double throttled_permille, throttled_ms_per_s; /* means */
	double runq_wait_permille;                      /* mean */
	double cpu_limit_millicores; /* the largest limit its pods report, 0 none */
	struct ks_pod_top top;      /* the top function of the pod with the most samples */
	unsigned long long top_samples;
	bool cpu_hot;               /* CPU and over the threshold this poll */
	bool scaled;                /* a scale was decided for it this poll */
	struct ks_deploy_state *st;
};

struct ks_rs {
	char ns[64];
	char name[254];
	char deploy[254];           /* controller Deployment, "" = none */
};

/* What a pod is owned by, cached by uid: a pod's controller never changes. */
struct ks_pod_owner {
	char ns[64];
	char name[254];
	char uid[64];
	char rs[254];               /* "" = no ReplicaSet controller */
	unsigned long long seen_poll;
};

/* Kept across polls, keyed by the Deployment's uid (a recreated Deployment
 * of the same name starts afresh). */
struct ks_deploy_state {
	char uid[64];
	unsigned int cpu_streak;    /* consecutive polls CPU-bound over the threshold */
	bool idle;
	double idle_since_s;        /* monotonic: a restart starts the window again */
	unsigned long long seen_poll;
};

struct ks_event_state {
	char ns[64];
	char key[400];              /* deployment/reason */
	char event_name[320];       /* "" until posted */
	double last_post_s;
	unsigned int count;         /* occurrences, posted or folded */
	unsigned long long seen_poll;
};

struct kube_client;

struct kube_lease;

struct ks_scaler {
	struct ks_scaler_cfg cfg;
	struct kube_client *kube;
	struct kube_lease *lease;   /* NULL: --no-leader-elect */
	int io_timeout_ms;          /* a write lands within this, or never */
	char instance[128];         /* hostname, for Events' reportingInstance */
	unsigned long long poll;
	/* rebuilt every poll */
	struct ks_deploy *deps; int ndeps, capdeps;
	struct ks_rs *rss; int nrss, caprss;
	/* kept */
	struct ks_pod_owner *owners; int nowners, capowners;
	struct ks_deploy_state *states; int nstates, capstates;
	struct ks_event_state *events; int nevents, capevents;
	/* counters for the poll's log line */
	unsigned int agents, agents_ok, pods_seen, pods_mapped, actions;
	struct ks_scaler_metrics *metrics; /* the status port's (metrics.h) */
};

/* cluster.c */
int ks_cluster_list(struct ks_scaler *s, char *err, size_t errlen);
struct ks_deploy *ks_cluster_find(struct ks_scaler *s, const char *ns, const char *name);
/* The Deployment of a reported pod, or NULL (not found, not RS-owned, the
 * Deployment gone; said at debug level).  May GET the pod. */
struct ks_deploy *ks_cluster_pod_deploy(struct ks_scaler *s, const struct ks_pod_report *p);
/* Drop owners, states and Events no longer needed. */
void ks_cluster_forget(struct ks_scaler *s, double now_s);
void ks_cluster_free(struct ks_scaler *s);
/* Agents: the endpoints of the DaemonSet's serving pods. */
struct ks_agent_ep;
int ks_cluster_agents(struct ks_scaler *s, struct ks_agent_ep **eps, int *n, char *err, size_t errlen);

/* annotations.c: d's ksense.io/ annotations from its object at root
 * (invalid, with the reason, when one is bad). */
void ks_deploy_annotations(struct ks_deploy *d, const struct ks_json *j, int root);

/* rules.c */
void ks_rules_add_pod(struct ks_deploy *d, const struct ks_pod_report *p);
/* A dependency one of d's pods named, resolved to its Deployment (or NULL). */
void ks_rules_add_dep(struct ks_deploy *d, struct ks_deploy *dep, const struct ks_pod_dep *pd);
/* Close the poll's aggregates and run the rules: scales and Events. */
void ks_rules_run(struct ks_scaler *s, double now_s);

/* actions.c */
/* Scale d by one step to `to`; 0, or negative errno (409: retried next poll). */
int ks_act_scale(struct ks_scaler *s, struct ks_deploy *d, int to, const char *reason, const char *msg,
		 const char *evidence_kv, double now_s);
/* An Event on d, at most once per event_interval_s per deployment and
 * reason (later occurrences are counted into the next one). */
void ks_act_event(struct ks_scaler *s, const struct ks_deploy *d, const char *type, const char *reason,
		  const char *msg, const char *evidence_kv, double now_s);

/* poll.c: one poll; 0, or negative errno when the API could not be read. */
int ks_poll(struct ks_scaler *s, double now_s, char *err, size_t errlen);

/* clock.c */
double ks_now_s(void);
/* CLOCK_REALTIME seconds: what ksense.io/last-scale is compared with. */
double ks_wall_s(void);
/* RFC 3339 ("2024-05-01T10:00:00Z", optional fraction) to seconds; -1. */
double ks_parse_time(const char *s);

#endif
