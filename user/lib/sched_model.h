/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler's view of nodes and pods: parsed once from the API's JSON
 * into bounded structs, so filtering is plain C over fields.
 */
#ifndef KSENSE_SCHED_MODEL_H
#define KSENSE_SCHED_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "json.h"

#define SCHED_NAME_LEN     254
#define SCHED_MAX_LABELS   64
#define SCHED_MAX_SELECTOR 16
#define SCHED_MAX_TAINTS   32
#define SCHED_MAX_TOLS     16
#define SCHED_MAX_TERMS    4
#define SCHED_MAX_EXPRS    4
#define SCHED_MAX_VALUES   8
#define SCHED_KEY_LEN      254
#define SCHED_VAL_LEN      64

struct sched_kv {
	char key[SCHED_KEY_LEN];
	char value[SCHED_VAL_LEN];
};

enum sched_effect { EFFECT_NONE, EFFECT_NO_SCHEDULE, EFFECT_PREFER_NO_SCHEDULE, EFFECT_NO_EXECUTE };

struct sched_taint {
	char key[SCHED_KEY_LEN];
	char value[SCHED_VAL_LEN];
	enum sched_effect effect;
};

struct sched_toleration {
	char key[SCHED_KEY_LEN];        /* "" with Exists: tolerates everything */
	char value[SCHED_VAL_LEN];
	bool exists;                    /* operator Exists (else Equal) */
	enum sched_effect effect;       /* EFFECT_NONE: every effect */
};

enum sched_op { OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST, OP_GT, OP_LT };

struct sched_expr {
	char key[SCHED_KEY_LEN];
	enum sched_op op;
	int nr_values;
	char values[SCHED_MAX_VALUES][SCHED_VAL_LEN];
};

/* requiredDuringSchedulingIgnoredDuringExecution: terms are ORed, the
 * expressions of a term ANDed. */
struct sched_term {
	int nr_exprs;
	struct sched_expr exprs[SCHED_MAX_EXPRS];
};

struct sched_node {
	char name[SCHED_NAME_LEN];
	char resource_version[32];
	bool ready;
	bool unschedulable;
	int nr_labels;
	struct sched_kv labels[SCHED_MAX_LABELS];
	int nr_taints;
	struct sched_taint taints[SCHED_MAX_TAINTS];
	__s64 alloc_cpu_milli;
	__s64 alloc_mem_bytes;
	char internal_ip[64];
};

struct sched_pod {
	char ns[SCHED_NAME_LEN];
	char name[SCHED_NAME_LEN];
	char uid[64];
	char resource_version[32];
	char node_name[SCHED_NAME_LEN];     /* "" while pending */
	char scheduler_name[SCHED_NAME_LEN];
	char phase[16];
	bool terminating;
	int nr_node_selector;
	struct sched_kv node_selector[SCHED_MAX_SELECTOR];
	int nr_tolerations;
	struct sched_toleration tolerations[SCHED_MAX_TOLS];
	int nr_terms;
	struct sched_term terms[SCHED_MAX_TERMS];
	__s64 req_cpu_milli;                /* containers summed, init max'ed */
	__s64 req_mem_bytes;
};

/* Kubernetes quantity ("250m", "1.5", "2Gi", "1e3", "128974848") as milli
 * units (cpu) or whole units (memory); 0 or -EINVAL. */
int sched_quantity_milli(const char *s, __s64 *out);
int sched_quantity_units(const char *s, __s64 *out);

/* 0, or negative errno with the field named in err. */
int sched_parse_node(const char *json, size_t len, struct sched_node *n, char *err, size_t errlen);
int sched_parse_pod(const char *json, size_t len, struct sched_pod *p, char *err, size_t errlen);
/* The same from JSON already parsed, the object at token 0 (a watch event
 * or a list item as the kube client hands them over). */
int sched_node_from_json(const struct ks_json *j, struct sched_node *n, char *err, size_t errlen);
int sched_pod_from_json(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen);

/* Why pod cannot go to node ("node is not Ready", "taint x=y:NoSchedule not
 * tolerated", "insufficient cpu: requests 500m, free 200m", ...) into why,
 * or "" when it fits.  used_* are the requests of pods already there. */
bool sched_fits(const struct sched_pod *p, const struct sched_node *n, __s64 used_cpu_milli,
		__s64 used_mem_bytes, char *why, size_t whylen);


/* One candidate node as the scheduler sees it for one pod. */
struct sched_candidate {
	const struct sched_node *node;
	__s64 used_cpu_milli;          /* requests of pods already bound there */
	__s64 used_mem_bytes;
	bool have_score;               /* false: the agent did not answer */
	unsigned int score;
	bool deny;
	char score_err[128];           /* why there is no score */
};

/* Pick the node for p: filtered by sched_fits, nodes without a score or in
 * deny dropped, then the lowest score, ties to the most free CPU, then the
 * name (stable).  Returns the index in c, or -1 with the reason for every
 * node in `why` ("n1: insufficient cpu ...; n2: denied (score 81)"). */
int sched_pick(const struct sched_pod *p, const struct sched_candidate *c, int n, char *why,
	       size_t whylen);

#endif
