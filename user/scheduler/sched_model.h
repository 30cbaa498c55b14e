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
#define SCHED_MAX_EXT      16     /* resources besides cpu, memory, pods */
#define SCHED_RES_NAME     128
#define SCHED_MAX_PORTS    16     /* host ports of one pod */
#define SCHED_MAX_ANTI     4      /* required anti-affinity terms */
#define SCHED_MAX_SEL      8      /* matchLabels of one selector */
#define SCHED_MAX_NS       4      /* namespaces of one term */
#define SCHED_LABELS_LEN   4096   /* a pod's labels, "k=v\n" each */
#define SCHED_UNSUPPORTED  256

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
 * expressions of a term ANDed, with matchFields on metadata.name. */
struct sched_term {
	int nr_exprs;
	struct sched_expr exprs[SCHED_MAX_EXPRS];
	bool has_name_field;
	struct sched_expr name_field;       /* metadata.name In/NotIn */
};

/* A resource other than cpu and memory (ephemeral-storage, hugepages-2Mi,
 * nvidia.com/gpu, ...), in whole units. */
struct sched_res {
	char name[SCHED_RES_NAME];
	__s64 value;
};

/* A hostPort a container asks for; ip "" is every address. */
struct sched_port {
	int port;
	char proto[8];          /* TCP, UDP, SCTP */
	char ip[64];
};

/* A label selector: matchLabels and matchExpressions (In, NotIn, Exists,
 * DoesNotExist), all ANDed.  A null selector matches nothing. */
struct sched_selector {
	bool null;
	bool truncated;         /* more than the bounds: not all of it is held */
	int nr_match;
	struct sched_kv match[SCHED_MAX_SEL];
	int nr_exprs;
	struct sched_expr exprs[SCHED_MAX_EXPRS];
};

/* One required pod anti-affinity term.  With topologyKey
 * kubernetes.io/hostname and a plain selector no pod it selects may share
 * the node, and the model evaluates it.  Any other term (another
 * topologyKey, matchLabelKeys, a namespaceSelector with labels, more than
 * the bounds) is kept too, with what the model cannot evaluate in
 * unevaluable: a pod already bound that carries one keeps every pending
 * pod the term may select Pending (sched_anti_may_match). */
struct sched_anti {
	struct sched_selector sel;
	bool all_namespaces;    /* namespaceSelector: {} */
	bool any_namespace;     /* a namespaceSelector with labels, or namespaces
				 * past the bound: which namespaces is not known */
	int nr_ns;              /* namespaces; none: the pod's own */
	char ns[SCHED_MAX_NS][SCHED_NAME_LEN];
	char unevaluable[128];  /* "": evaluated; else what is not */
};

struct sched_node {
	char name[SCHED_NAME_LEN];
	char resource_version[32];
	bool ready;
	bool unschedulable;
	/* labels and taints are heap arrays of exactly their count (a node
	 * is kept for as long as it exists: 5,000 of them must be cheap);
	 * sched_node_free releases them */
	int nr_labels;
	struct sched_kv *labels;
	int nr_taints;
	struct sched_taint *taints;
	bool too_many_taints;   /* more than SCHED_MAX_TAINTS: nothing fits */
	__s64 alloc_cpu_milli;
	__s64 alloc_mem_bytes;
	__s64 alloc_pods;       /* -1: not stated (no limit) */
	int nr_ext;
	struct sched_res ext[SCHED_MAX_EXT];
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
	/* the arrays are heap, exactly their count (a pending pod is kept
	 * until bound: thousands of them must be cheap); sched_pod_free
	 * releases them */
	int nr_node_selector;
	struct sched_kv *node_selector;
	int nr_tolerations;
	struct sched_toleration *tolerations;
	int nr_terms;
	struct sched_term *terms;
	__s64 req_cpu_milli;                /* containers summed, init max'ed, + overhead */
	__s64 req_mem_bytes;
	int nr_req_ext;
	struct sched_res *req_ext;
	int nr_ports;
	struct sched_port *ports;
	char *labels;                       /* "k=v\n"..., never NULL after a parse */
	int nr_anti;
	struct sched_anti *anti;
	bool gated;                         /* schedulingGates: not to be scheduled yet */
	/* the first constraint the standalone scheduler cannot evaluate ("" if
	 * none): such a pod is never bound, it waits with an Event */
	char unsupported[SCHED_UNSUPPORTED];
};

/* What the pods already on a node hold there. */
struct sched_use {
	__s64 cpu_milli, mem_bytes, pods;
	__s64 ext[SCHED_MAX_EXT];           /* by the node's ext[] index */
};

/* Kubernetes quantity ("250m", "1.5", "2Gi", "1e3", "128974848") as milli
 * units (cpu) or whole units (memory); 0 or -EINVAL. */
int sched_quantity_milli(const char *s, __s64 *out);
int sched_quantity_units(const char *s, __s64 *out);

/* 0, or negative errno with the field named in err.  n/p must be zeroed
 * or freed; free them with sched_node_free/sched_pod_free afterwards,
 * whatever the result (they are zeroed again). */
int sched_parse_node(const char *json, size_t len, struct sched_node *n, char *err, size_t errlen);
int sched_parse_pod(const char *json, size_t len, struct sched_pod *p, char *err, size_t errlen);
void sched_node_free(struct sched_node *n);
void sched_pod_free(struct sched_pod *p);
/* The same from JSON already parsed, the object at token 0 (a watch event
 * or a list item as the kube client hands them over). */
int sched_node_from_json(const struct ks_json *j, struct sched_node *n, char *err, size_t errlen);
int sched_pod_from_json(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen);

/* Why pod cannot go to node ("node is not Ready", "taint x=y:NoSchedule not
 * tolerated", "insufficient cpu: requests 500m, free 200m", "too many pods",
 * "insufficient nvidia.com/gpu", ...) into why, or "" when it fits.  u holds
 * the requests of the pods already there (NULL: none).  Host ports and
 * anti-affinity need the other pods themselves: sched_ports_conflict and
 * sched_anti_matches. */
bool sched_fits(const struct sched_pod *p, const struct sched_node *n, const struct sched_use *u, char *why,
		size_t whylen);
/* Index of resource name in n->ext, or -1. */
int sched_node_ext(const struct sched_node *n, const char *name);

/* Whether two host ports collide (same port and protocol, and an address
 * in common: "" and 0.0.0.0 are every address). */
bool sched_ports_conflict(const struct sched_port *a, const struct sched_port *b);
/* labels is "k=v\n"...; whether sel selects them. */
bool sched_selector_matches(const struct sched_selector *sel, const char *labels);
/* Whether anti-affinity term t of a pod in owner_ns excludes a pod in ns
 * with labels (an evaluable term, t->unevaluable ""). */
bool sched_anti_matches(const struct sched_anti *t, const char *owner_ns, const char *ns, const char *labels);
/* Whether term t, evaluable or not, may select a pod in ns with labels:
 * what is not known is taken as matching (a namespaceSelector with labels
 * selects every namespace, a truncated selector every pod; matchLabelKeys
 * only narrow the selector). */
bool sched_anti_may_match(const struct sched_anti *t, const char *owner_ns, const char *ns, const char *labels);

/* One candidate node as the scheduler sees it for one pod. */
struct sched_candidate {
	const struct sched_node *node;
	struct sched_use use;          /* requests of pods already there */
	bool have_score;               /* false: the agent did not answer */
	unsigned int score;
	bool deny;
	char score_err[128];           /* why there is no score */
};

/* Whether a is a better choice than b: the lower ksense score, then the
 * more free CPU, then the name. */
bool sched_better(const struct sched_node *a, unsigned int a_score, __s64 a_used_cpu_milli,
		  const struct sched_node *b, unsigned int b_score, __s64 b_used_cpu_milli);

/* Pick the node for p: filtered by sched_fits, nodes without a score or in
 * deny dropped, then the lowest score, ties to the most free CPU, then the
 * name (stable).  Returns the index in c, or -1 with the reason for every
 * node in `why` ("n1: insufficient cpu ...; n2: denied (score 81)"). */
int sched_pick(const struct sched_pod *p, const struct sched_candidate *c, int n, char *why,
	       size_t whylen);

#endif
