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

/* ---- the /pods report (pods_report.c) ---- */

enum ks_class { KS_CLASS_IDLE, KS_CLASS_CPU, KS_CLASS_BLOCK, KS_CLASS_OFFCPU, KS_CLASS__N };

#define KS_PODS_MAX      8192  /* pods kept from one report; more is a broken agent */
#define KS_PODS_TOP      3     /* top functions kept per pod */
#define KS_PODS_BODY_MAX (4u << 20)

struct ks_pod_top {
	char function[160];
	char module[160];
	unsigned int share_permille;
};

struct ks_pod_report {
	char uid[64];
	char namespace_[64];
	char name[254];
	enum ks_class cls;
	double oncpu_permille;     /* of one CPU: a multi-threaded pod may pass 1000 */
	double d_ms_per_s, s_ms_per_s;
	double block_ios_per_s, block_bytes_per_s, block_ms_per_s, block_lat_avg_us;
	unsigned long long samples;
	int ntop;
	struct ks_pod_top top[KS_PODS_TOP];
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

/* 0 and out filled (free with ks_pods_free), or a negative errno with the
 * reason in err and out empty.  The body must be an object with a "pods"
 * array; unknown fields are ignored; a malformed pod entry (no name or
 * namespace, unknown class, a negative or non-numeric number) is skipped
 * and counted, never fatal. */
int ks_pods_parse(const char *body, size_t len, struct ks_pods_report *out, char *err, size_t errlen);
void ks_pods_free(struct ks_pods_report *r);
const char *ks_class_name(enum ks_class c);
/* -1 when s names no class. */
int ks_class_parse(const char *s);

#endif
