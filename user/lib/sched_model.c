// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "sched_model.h"

/* etcd keeps objects up to 1.5 MiB (its request limit); a watch event can
 * carry one whole, so the model reads at least that much. */
#define SCHED_OBJECT_MAX (3u << 20)

/* Quantities: [+-]digits[.digits][e[+-]digits] or a suffix: decimal m k M G
 * T P E, binary Ki Mi Gi Ti Pi Ei.  Result scaled by `scale` (1000 for
 * milli units); fractions below the unit round up, as the API server's
 * scheduler does for requests. */
static int quantity(const char *s, __s64 scale, __s64 *out)
{
	static const struct { const char *sfx; long double mul; } sfx[] = {
		{ "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L },
		{ "Ti", 1099511627776.0L }, { "Pi", 1125899906842624.0L }, { "Ei", 1152921504606846976.0L },
		{ "m", 1e-3L }, { "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L }, { "P", 1e15L },
		{ "E", 1e18L }, { "", 1.0L },
	};
	long double v, r;
	char *end;
	size_t i;

	if (!s || !*s || strchr(s, ' '))
		return -EINVAL;
	errno = 0;
	v = strtold(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (!strcmp(end, sfx[i].sfx))
			break;
	if (i == sizeof(sfx) / sizeof(sfx[0]))
		return -EINVAL;
	r = v * sfx[i].mul * scale;
	if (r > 9.0e18L)
		return -ERANGE;
	*out = (__s64)r;
	if ((long double)*out < r)
		(*out)++;
	return 0;
}

int sched_quantity_milli(const char *s, __s64 *out)
{
	return quantity(s, 1000, out);
}

int sched_quantity_units(const char *s, __s64 *out)
{
	return quantity(s, 1, out);
}

static void str_at(const struct ks_json *j, int i, char *out, size_t len)
{
	if (ks_json_string(j, i, out, len))
		out[0] = '\0';
}

static enum sched_effect effect_of(const char *s)
{
	if (!strcmp(s, "NoSchedule"))
		return EFFECT_NO_SCHEDULE;
	if (!strcmp(s, "PreferNoSchedule"))
		return EFFECT_PREFER_NO_SCHEDULE;
	if (!strcmp(s, "NoExecute"))
		return EFFECT_NO_EXECUTE;
	return EFFECT_NONE;
}

/* Members of the object at i as key/value strings (labels, nodeSelector). */
static int read_map(const struct ks_json *j, int i, struct sched_kv *kv, int max, const char *what,
		    char *err, size_t errlen)
{
	int k, n, at, count = 0;

	if (i < 0 || ks_json_is_literal(j, i, "null"))
		return 0;
	if (!ks_json_is_object(j, i)) {
		snprintf(err, errlen, "%s is a %s, want an object", what, ks_json_type_name(j, i));
		return -EINVAL;
	}
	n = j->tok[i].size;
	for (k = 0, at = i + 1; k < n; k++) {
		if (count == max) {
			snprintf(err, errlen, "%s has more than %d entries", what, max);
			return -E2BIG;
		}
		if (ks_json_string(j, at, kv[count].key, sizeof(kv[count].key)) ||
		    ks_json_string(j, at + 1, kv[count].value, sizeof(kv[count].value))) {
			snprintf(err, errlen, "%s has an entry that is not a short string", what);
			return -EINVAL;
		}
		count++;
		at = ks_json_next(j, at + 1);
	}
	return count;
}

/* Elements of the array at i, calling fn(element index) for each. */
#define FOR_EACH_ELEM(j, arr, el, k)                                            \
	for (k = 0, el = (arr) + 1; (arr) >= 0 && (j)->tok[arr].type == JSMN_ARRAY && \
	     k < (j)->tok[arr].size; k++, el = ks_json_next(j, el))

/* The containers' requests of res ("cpu" in milli units, else units),
 * summed, or the largest one (init containers run one at a time). */
static __s64 requests_of(const struct ks_json *j, int containers, const char *res, bool largest)
{
	__s64 total = 0, v;
	int k, el;
	char q[64];

	FOR_EACH_ELEM(j, containers, el, k) {
		int r = ks_json_member(j, ks_json_member(j, ks_json_member(j, el, "resources"), "requests"), res);

		if (r < 0)
			continue;
		str_at(j, r, q, sizeof(q));
		if (strcmp(res, "cpu") ? sched_quantity_units(q, &v) : sched_quantity_milli(q, &v))
			continue;
		if (!largest)
			total += v;
		else if (v > total)
			total = v;
	}
	return total;
}

int sched_node_from_json(const struct ks_json *j, struct sched_node *n, char *err, size_t errlen)
{
	int rc, i, k, el;
	char q[64];

	memset(n, 0, sizeof(*n));
	rc = -EINVAL;
	str_at(j, ks_json_path(j, "metadata.name"), n->name, sizeof(n->name));
	if (!n->name[0]) {
		snprintf(err, errlen, "node without metadata.name");
		goto out;
	}
	str_at(j, ks_json_path(j, "metadata.resourceVersion"), n->resource_version, sizeof(n->resource_version));
	n->nr_labels = read_map(j, ks_json_path(j, "metadata.labels"), n->labels, SCHED_MAX_LABELS,
				"metadata.labels", err, errlen);
	if (n->nr_labels < 0) {
		rc = n->nr_labels;
		n->nr_labels = 0;
		goto out;
	}
	n->unschedulable = ks_json_is_literal(j, ks_json_path(j, "spec.unschedulable"), "true");
	i = ks_json_path(j, "spec.taints");
	FOR_EACH_ELEM(j, i, el, k) {
		struct sched_taint *t;
		char eff[32];

		if (n->nr_taints == SCHED_MAX_TAINTS)
			break;
		t = &n->taints[n->nr_taints++];
		str_at(j, ks_json_member(j, el, "key"), t->key, sizeof(t->key));
		str_at(j, ks_json_member(j, el, "value"), t->value, sizeof(t->value));
		str_at(j, ks_json_member(j, el, "effect"), eff, sizeof(eff));
		t->effect = effect_of(eff);
	}
	i = ks_json_path(j, "status.conditions");
	FOR_EACH_ELEM(j, i, el, k) {
		char type[32], status[16];

		str_at(j, ks_json_member(j, el, "type"), type, sizeof(type));
		str_at(j, ks_json_member(j, el, "status"), status, sizeof(status));
		if (!strcmp(type, "Ready"))
			n->ready = !strcmp(status, "True");
	}
	str_at(j, ks_json_path(j, "status.allocatable.cpu"), q, sizeof(q));
	if (sched_quantity_milli(q, &n->alloc_cpu_milli))
		n->alloc_cpu_milli = 0;
	str_at(j, ks_json_path(j, "status.allocatable.memory"), q, sizeof(q));
	if (sched_quantity_units(q, &n->alloc_mem_bytes))
		n->alloc_mem_bytes = 0;
	i = ks_json_path(j, "status.addresses");
	FOR_EACH_ELEM(j, i, el, k) {
		char type[32];

		str_at(j, ks_json_member(j, el, "type"), type, sizeof(type));
		if (!strcmp(type, "InternalIP"))
			str_at(j, ks_json_member(j, el, "address"), n->internal_ip, sizeof(n->internal_ip));
	}
	rc = 0;
out:
	return rc;
}

int sched_parse_node(const char *json, size_t len, struct sched_node *n, char *err, size_t errlen)
{
	struct ks_json j;
	int rc;

	memset(n, 0, sizeof(*n));
	rc = ks_json_parse_limits(&j, json, len, SCHED_OBJECT_MAX, KS_JSON_MAX_TOKENS, err, errlen);
	if (rc)
		return rc;
	rc = sched_node_from_json(&j, n, err, errlen);
	ks_json_free(&j);
	return rc;
}

static enum sched_op op_of(const char *s, bool *ok)
{
	*ok = true;
	if (!strcmp(s, "In"))
		return OP_IN;
	if (!strcmp(s, "NotIn"))
		return OP_NOT_IN;
	if (!strcmp(s, "Exists"))
		return OP_EXISTS;
	if (!strcmp(s, "DoesNotExist"))
		return OP_DOES_NOT_EXIST;
	if (!strcmp(s, "Gt"))
		return OP_GT;
	if (!strcmp(s, "Lt"))
		return OP_LT;
	*ok = false;
	return OP_IN;
}

static int parse_affinity(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen)
{
	int terms = ks_json_path(j, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
	int k, el, kk, ex, v, vv, kv;

	FOR_EACH_ELEM(j, terms, el, k) {
		struct sched_term *t;
		int exprs = ks_json_member(j, el, "matchExpressions");

		if (p->nr_terms == SCHED_MAX_TERMS) {
			snprintf(err, errlen, "more than %d nodeSelectorTerms", SCHED_MAX_TERMS);
			return -E2BIG;
		}
		t = &p->terms[p->nr_terms++];
		FOR_EACH_ELEM(j, exprs, ex, kk) {
			struct sched_expr *e;
			char op[32];
			bool ok;

			if (t->nr_exprs == SCHED_MAX_EXPRS) {
				snprintf(err, errlen, "more than %d matchExpressions in a term", SCHED_MAX_EXPRS);
				return -E2BIG;
			}
			e = &t->exprs[t->nr_exprs++];
			str_at(j, ks_json_member(j, ex, "key"), e->key, sizeof(e->key));
			str_at(j, ks_json_member(j, ex, "operator"), op, sizeof(op));
			e->op = op_of(op, &ok);
			if (!ok) {
				snprintf(err, errlen, "node affinity operator '%s' unknown", op);
				return -EINVAL;
			}
			v = ks_json_member(j, ex, "values");
			FOR_EACH_ELEM(j, v, vv, kv) {
				if (e->nr_values == SCHED_MAX_VALUES)
					break;
				str_at(j, vv, e->values[e->nr_values], sizeof(e->values[0]));
				e->nr_values++;
			}
		}
	}
	return 0;
}

int sched_pod_from_json(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen)
{
	int rc, i, k, el;
	__s64 init_cpu, init_mem;

	memset(p, 0, sizeof(*p));
	rc = -EINVAL;
	str_at(j, ks_json_path(j, "metadata.name"), p->name, sizeof(p->name));
	str_at(j, ks_json_path(j, "metadata.namespace"), p->ns, sizeof(p->ns));
	if (!p->name[0] || !p->ns[0]) {
		snprintf(err, errlen, "pod without metadata.name or metadata.namespace");
		goto out;
	}
	str_at(j, ks_json_path(j, "metadata.uid"), p->uid, sizeof(p->uid));
	str_at(j, ks_json_path(j, "metadata.resourceVersion"), p->resource_version, sizeof(p->resource_version));
	p->terminating = ks_json_path(j, "metadata.deletionTimestamp") >= 0 &&
			 !ks_json_is_literal(j, ks_json_path(j, "metadata.deletionTimestamp"), "null");
	str_at(j, ks_json_path(j, "spec.nodeName"), p->node_name, sizeof(p->node_name));
	str_at(j, ks_json_path(j, "spec.schedulerName"), p->scheduler_name, sizeof(p->scheduler_name));
	str_at(j, ks_json_path(j, "status.phase"), p->phase, sizeof(p->phase));
	p->nr_node_selector = read_map(j, ks_json_path(j, "spec.nodeSelector"), p->node_selector,
				       SCHED_MAX_SELECTOR, "spec.nodeSelector", err, errlen);
	if (p->nr_node_selector < 0) {
		rc = p->nr_node_selector;
		p->nr_node_selector = 0;
		goto out;
	}
	i = ks_json_path(j, "spec.tolerations");
	FOR_EACH_ELEM(j, i, el, k) {
		struct sched_toleration *t;
		char op[16], eff[32];

		if (p->nr_tolerations == SCHED_MAX_TOLS)
			break;
		t = &p->tolerations[p->nr_tolerations++];
		str_at(j, ks_json_member(j, el, "key"), t->key, sizeof(t->key));
		str_at(j, ks_json_member(j, el, "value"), t->value, sizeof(t->value));
		str_at(j, ks_json_member(j, el, "operator"), op, sizeof(op));
		str_at(j, ks_json_member(j, el, "effect"), eff, sizeof(eff));
		t->exists = !strcmp(op, "Exists");
		t->effect = effect_of(eff);
	}
	rc = parse_affinity(j, p, err, errlen);
	if (rc)
		goto out;
	/* effective request: the larger of the summed containers and the
	 * largest init container, as the kube-scheduler computes it */
	p->req_cpu_milli = requests_of(j, ks_json_path(j, "spec.containers"), "cpu", false);
	p->req_mem_bytes = requests_of(j, ks_json_path(j, "spec.containers"), "memory", false);
	init_cpu = requests_of(j, ks_json_path(j, "spec.initContainers"), "cpu", true);
	init_mem = requests_of(j, ks_json_path(j, "spec.initContainers"), "memory", true);
	if (init_cpu > p->req_cpu_milli)
		p->req_cpu_milli = init_cpu;
	if (init_mem > p->req_mem_bytes)
		p->req_mem_bytes = init_mem;
	rc = 0;
out:
	return rc;
}

int sched_parse_pod(const char *json, size_t len, struct sched_pod *p, char *err, size_t errlen)
{
	struct ks_json j;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = ks_json_parse_limits(&j, json, len, SCHED_OBJECT_MAX, KS_JSON_MAX_TOKENS, err, errlen);
	if (rc)
		return rc;
	rc = sched_pod_from_json(&j, p, err, errlen);
	ks_json_free(&j);
	return rc;
}

static const char *label(const struct sched_node *n, const char *key)
{
	int i;

	for (i = 0; i < n->nr_labels; i++)
		if (!strcmp(n->labels[i].key, key))
			return n->labels[i].value;
	return NULL;
}

static bool tolerated(const struct sched_pod *p, const struct sched_taint *t)
{
	int i;

	for (i = 0; i < p->nr_tolerations; i++) {
		const struct sched_toleration *o = &p->tolerations[i];

		if (o->effect != EFFECT_NONE && o->effect != t->effect)
			continue;
		if (o->exists && (!o->key[0] || !strcmp(o->key, t->key)))
			return true;
		if (!o->exists && !strcmp(o->key, t->key) && !strcmp(o->value, t->value))
			return true;
	}
	return false;
}

static bool expr_matches(const struct sched_expr *e, const struct sched_node *n)
{
	const char *v = label(n, e->key);
	long long lv, ev;
	int i;

	switch (e->op) {
	case OP_EXISTS: return v != NULL;
	case OP_DOES_NOT_EXIST: return v == NULL;
	case OP_IN:
	case OP_NOT_IN:
		for (i = 0; v && i < e->nr_values; i++)
			if (!strcmp(v, e->values[i]))
				return e->op == OP_IN;
		return e->op == OP_NOT_IN;
	case OP_GT:
	case OP_LT:
		if (!v || e->nr_values != 1)
			return false;
		lv = strtoll(v, NULL, 10);
		ev = strtoll(e->values[0], NULL, 10);
		return e->op == OP_GT ? lv > ev : lv < ev;
	}
	return false;
}

static const char *effect_name(enum sched_effect e)
{
	switch (e) {
	case EFFECT_NO_SCHEDULE: return "NoSchedule";
	case EFFECT_PREFER_NO_SCHEDULE: return "PreferNoSchedule";
	case EFFECT_NO_EXECUTE: return "NoExecute";
	default: return "";
	}
}

bool sched_fits(const struct sched_pod *p, const struct sched_node *n, __s64 used_cpu_milli,
		__s64 used_mem_bytes, char *why, size_t whylen)
{
	int i, t, e;

	why[0] = '\0';
	if (!n->ready) {
		snprintf(why, whylen, "node is not Ready");
		return false;
	}
	if (n->unschedulable) {
		snprintf(why, whylen, "node is cordoned (unschedulable)");
		return false;
	}
	for (i = 0; i < n->nr_taints; i++) {
		const struct sched_taint *tt = &n->taints[i];

		if (tt->effect == EFFECT_PREFER_NO_SCHEDULE || tt->effect == EFFECT_NONE)
			continue; /* a preference, not a filter */
		if (!tolerated(p, tt)) {
			snprintf(why, whylen, "taint %s%s%s:%s not tolerated", tt->key, tt->value[0] ? "=" : "",
				 tt->value, effect_name(tt->effect));
			return false;
		}
	}
	for (i = 0; i < p->nr_node_selector; i++) {
		const char *v = label(n, p->node_selector[i].key);

		if (!v || strcmp(v, p->node_selector[i].value)) {
			snprintf(why, whylen, "nodeSelector %s=%s does not match", p->node_selector[i].key,
				 p->node_selector[i].value);
			return false;
		}
	}
	if (p->nr_terms) {
		bool any = false;

		for (t = 0; t < p->nr_terms && !any; t++) {
			bool all = true;

			for (e = 0; e < p->terms[t].nr_exprs && all; e++)
				all = expr_matches(&p->terms[t].exprs[e], n);
			any = all;
		}
		if (!any) {
			snprintf(why, whylen, "required node affinity does not match");
			return false;
		}
	}
	if (p->req_cpu_milli > n->alloc_cpu_milli - used_cpu_milli) {
		snprintf(why, whylen, "insufficient cpu: requests %lldm, free %lldm of %lldm",
			 (long long)p->req_cpu_milli, (long long)(n->alloc_cpu_milli - used_cpu_milli),
			 (long long)n->alloc_cpu_milli);
		return false;
	}
	if (p->req_mem_bytes > n->alloc_mem_bytes - used_mem_bytes) {
		snprintf(why, whylen, "insufficient memory: requests %lld, free %lld of %lld bytes",
			 (long long)p->req_mem_bytes, (long long)(n->alloc_mem_bytes - used_mem_bytes),
			 (long long)n->alloc_mem_bytes);
		return false;
	}
	return true;
}

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n < len - *off ? (size_t)n : len - *off;
}

int sched_pick(const struct sched_pod *p, const struct sched_candidate *c, int n, char *why,
	       size_t whylen)
{
	int i, best = -1;
	size_t off = 0;
	char r[256];

	why[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct sched_candidate *x = &c[i];
		__s64 free_cpu = x->node->alloc_cpu_milli - x->used_cpu_milli;

		if (!sched_fits(p, x->node, x->used_cpu_milli, x->used_mem_bytes, r, sizeof(r))) {
			append(why, whylen, &off, "%s%s: %s", off ? "; " : "", x->node->name, r);
			continue;
		}
		if (!x->have_score) {
			append(why, whylen, &off, "%s%s: no score (%s)", off ? "; " : "", x->node->name,
			       x->score_err[0] ? x->score_err : "agent unreachable");
			continue;
		}
		if (x->deny) {
			append(why, whylen, &off, "%s%s: denied by ksense (score %u)", off ? "; " : "",
			       x->node->name, x->score);
			continue;
		}
		if (best < 0 || x->score < c[best].score ||
		    (x->score == c[best].score &&
		     (free_cpu > c[best].node->alloc_cpu_milli - c[best].used_cpu_milli ||
		      (free_cpu == c[best].node->alloc_cpu_milli - c[best].used_cpu_milli &&
		       strcmp(x->node->name, c[best].node->name) < 0))))
			best = i;
	}
	if (best >= 0)
		why[0] = '\0';
	else if (!n)
		snprintf(why, whylen, "no nodes");
	return best;
}
