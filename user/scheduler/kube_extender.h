/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kube-scheduler's HTTP extender protocol (k8s.io/kube-scheduler/extender/v1),
 * the wire side only, independent of sockets: parse ExtenderArgs
 *   {"pod": Pod, "nodes": NodeList | absent, "nodenames": [string] | absent}
 * (nodenames when the extender is configured nodeCacheCapable: true, the
 * full Node objects otherwise), and write
 *   ExtenderFilterResult {"nodes" | "nodenames", "failedNodes",
 *                         "failedAndUnresolvableNodes", "error"}
 *   HostPriorityList     [{"host": name, "score": 0..MaxExtenderPriority}]
 * A filter result echoes the form it was asked in: the passing Node
 * objects' own bytes, or their names.
 */
#ifndef KSENSE_KUBE_EXTENDER_H
#define KSENSE_KUBE_EXTENDER_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "json.h"

#define KS_EXT_MAX_PRIORITY 10          /* extenderv1.MaxExtenderPriority */
#define KS_EXT_MAX_NODES    100000
#define KS_EXT_NAME_LEN     254
#define KS_EXT_MAX_BYTES    (128u << 20) /* 5,000 full Node objects fit */
#define KS_EXT_MAX_TOKENS   20000000

struct ks_ext_args {
	struct ks_json j;
	bool by_name;                    /* nodenames, not nodes */
	int n;                           /* candidate nodes */
	char (*names)[KS_EXT_NAME_LEN];  /* their names */
	int *item;                       /* nodes mode: the token of each Node */
	char pod_ns[254], pod_name[254];
};

/* 0, or -EINVAL/-E2BIG/-ENOMEM with why in err (a 400 for the caller,
 * -ENOMEM a 500).  Free with ks_ext_args_free either way. */
int ks_ext_args_parse(const char *body, size_t len, struct ks_ext_args *a, char *err, size_t errlen);
void ks_ext_args_free(struct ks_ext_args *a);

/* What the filter decided for candidate i: pass, or failed with a reason
 * (unresolvable: preemption on that node cannot help). */
struct ks_ext_verdict {
	bool pass;
	bool unresolvable;
	char reason[256];
};

/* ExtenderFilterResult for a's candidates (v[i] for each) into out. */
int ks_ext_filter_result(const struct ks_ext_args *a, const struct ks_ext_verdict *v, struct ks_buf *out);
/* HostPriorityList: score[i] (clamped to 0..KS_EXT_MAX_PRIORITY). */
int ks_ext_priorities(const struct ks_ext_args *a, const int *score, struct ks_buf *out);
/* A ksense score (0 calm .. 100 stressed) on kube-scheduler's scale:
 * 10 for 0, 0 for 100, rounded. */
int ks_ext_priority_of(unsigned int ksense_score);

#endif
