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

/* An array for min(n, max) elements (at least one, so that NULL means
 * only "out of memory"). */
static void *alloc_for(const struct ks_json *j, int i, int max, size_t size)
{
	int n = i >= 0 && (j->tok[i].type == JSMN_ARRAY || j->tok[i].type == JSMN_OBJECT) ? j->tok[i].size : 0;

	return calloc((size_t)(n < max ? n : max) + 1, size);
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

/* Requests of one kind (containers, init containers, overhead), resource
 * by resource: cpu in milli units, the others in units. */
struct req_acc {
	__s64 cpu_milli, mem_bytes;
	int n;
	struct sched_res r[SCHED_MAX_EXT];
	bool overflow;
};

static void acc_put(struct req_acc *a, const char *name, __s64 v, bool largest)
{
	__s64 *slot = NULL;
	int i;

	if (!strcmp(name, "cpu")) {
		slot = &a->cpu_milli;
	} else if (!strcmp(name, "memory")) {
		slot = &a->mem_bytes;
	} else {
		for (i = 0; i < a->n && strcmp(a->r[i].name, name); i++)
			;
		if (i == a->n) {
			if (a->n == SCHED_MAX_EXT || strlen(name) >= SCHED_RES_NAME) {
				a->overflow = true;
				return;
			}
			snprintf(a->r[a->n].name, SCHED_RES_NAME, "%s", name);
			a->r[a->n++].value = 0;
		}
		slot = &a->r[i].value;
	}
	if (!largest)
		*slot += v;
	else if (v > *slot)
		*slot = v;
}

/* A resource map ({"cpu": "250m", "nvidia.com/gpu": "1"}) into a. */
static void acc_map(const struct ks_json *j, int map, struct req_acc *a, bool largest)
{
	char name[SCHED_RES_NAME + 1], q[64];
	int k, at;
	__s64 v;

	if (map < 0 || !ks_json_is_object(j, map))
		return;
	for (k = 0, at = map + 1; k < j->tok[map].size; k++, at = ks_json_next(j, at + 1)) {
		if (ks_json_string(j, at, name, sizeof(name)) || ks_json_string(j, at + 1, q, sizeof(q)))
			continue;
		if (strcmp(name, "cpu") ? sched_quantity_units(q, &v) : sched_quantity_milli(q, &v))
			continue; /* the API server refuses such a pod */
		acc_put(a, name, v, largest);
	}
}

/* Elements of the array at i, calling fn(element index) for each. */
#define FOR_EACH_ELEM(j, arr, el, k)                                            \
	for (k = 0, el = (arr) + 1; (arr) >= 0 && (j)->tok[arr].type == JSMN_ARRAY && \
	     k < (j)->tok[arr].size; k++, el = ks_json_next(j, el))

/* The pod's effective requests, as kube-scheduler computes them: the
 * containers summed, or the largest init container if that is more, per
 * resource; plus the pod overhead. */
static int pod_requests(const struct ks_json *j, struct sched_pod *p)
{
	struct req_acc sum = { 0 }, init = { 0 };
	int k, el, i;

	FOR_EACH_ELEM(j, ks_json_path(j, "spec.containers"), el, k)
		acc_map(j, ks_json_path_at(j, el, "resources.requests"), &sum, false);
	FOR_EACH_ELEM(j, ks_json_path(j, "spec.initContainers"), el, k)
		acc_map(j, ks_json_path_at(j, el, "resources.requests"), &init, true);
	acc_put(&sum, "cpu", init.cpu_milli, true);
	acc_put(&sum, "memory", init.mem_bytes, true);
	for (i = 0; i < init.n; i++)
		acc_put(&sum, init.r[i].name, init.r[i].value, true);
	acc_map(j, ks_json_path(j, "spec.overhead"), &sum, false);
	p->req_cpu_milli = sum.cpu_milli;
	p->req_mem_bytes = sum.mem_bytes;
	p->nr_req_ext = 0;
	p->req_ext = calloc((size_t)sum.n + 1, sizeof(*p->req_ext));
	for (i = 0; p->req_ext && i < sum.n; i++)
		if (sum.r[i].value > 0)
			p->req_ext[p->nr_req_ext++] = sum.r[i];
	if (!p->req_ext)
		return -ENOMEM;
	if ((sum.overflow || init.overflow) && !p->unsupported[0])
		snprintf(p->unsupported, sizeof(p->unsupported), "requests of more than %d resources besides cpu and memory",
			 SCHED_MAX_EXT);
	return 0;
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
	i = ks_json_path(j, "metadata.labels");
	n->labels = alloc_for(j, i, SCHED_MAX_LABELS, sizeof(*n->labels));
	if (!n->labels) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	n->nr_labels = read_map(j, i, n->labels, SCHED_MAX_LABELS, "metadata.labels", err, errlen);
	if (n->nr_labels < 0) {
		rc = n->nr_labels;
		n->nr_labels = 0;
		goto out;
	}
	n->unschedulable = ks_json_is_literal(j, ks_json_path(j, "spec.unschedulable"), "true");
	i = ks_json_path(j, "spec.taints");
	n->taints = alloc_for(j, i, SCHED_MAX_TAINTS, sizeof(*n->taints));
	if (!n->taints) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	FOR_EACH_ELEM(j, i, el, k) {
		struct sched_taint *t;
		char eff[32];

		/* a taint dropped would let pods in that should not be: a
		 * node with more is not a place for anyone */
		if (n->nr_taints == SCHED_MAX_TAINTS) {
			n->too_many_taints = true;
			break;
		}
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
	n->alloc_pods = -1;
	i = ks_json_path(j, "status.allocatable");
	if (i >= 0 && ks_json_is_object(j, i)) {
		char name[SCHED_RES_NAME + 1];
		int at;
		__s64 v;

		/* everything else a node offers (a node with more than
		 * SCHED_MAX_EXT kinds loses the rest: pods asking for those
		 * find no node, never a wrong one) */
		for (k = 0, at = i + 1; k < j->tok[i].size; k++, at = ks_json_next(j, at + 1)) {
			if (ks_json_string(j, at, name, sizeof(name)) || ks_json_string(j, at + 1, q, sizeof(q)) ||
			    !strcmp(name, "cpu") || !strcmp(name, "memory") || sched_quantity_units(q, &v))
				continue;
			if (!strcmp(name, "pods"))
				n->alloc_pods = v;
			else if (n->nr_ext < SCHED_MAX_EXT && strlen(name) < SCHED_RES_NAME) {
				snprintf(n->ext[n->nr_ext].name, SCHED_RES_NAME, "%s", name);
				n->ext[n->nr_ext++].value = v;
			}
		}
	}
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

/* The first reason into buf: later ones do not replace it. */
static void first_reason(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (!buf[0])
		vsnprintf(buf, len, fmt, ap);
}

/* The first constraint the model cannot evaluate, kept for the Event. */
static void unsupported(struct sched_pod *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void unsupported(struct sched_pod *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	first_reason(p->unsupported, sizeof(p->unsupported), fmt, ap);
	va_end(ap);
}

static bool present(const struct ks_json *j, int i)
{
	return i >= 0 && !ks_json_is_null(j, i) && !((j->tok[i].type == JSMN_ARRAY || j->tok[i].type == JSMN_OBJECT) &&
						      j->tok[i].size == 0);
}

/* One matchExpressions element into e: 0, or -EINVAL for an unknown
 * operator (the API server refuses those), or -E2BIG past the bounds. */
static int parse_expr(const struct ks_json *j, int ex, struct sched_expr *e, char *err, size_t errlen)
{
	int v, vv, kv;
	char op[32];
	bool ok;

	memset(e, 0, sizeof(*e));
	str_at(j, ks_json_member(j, ex, "key"), e->key, sizeof(e->key));
	str_at(j, ks_json_member(j, ex, "operator"), op, sizeof(op));
	e->op = op_of(op, &ok);
	if (!ok) {
		snprintf(err, errlen, "affinity operator '%s' unknown", op);
		return -EINVAL;
	}
	v = ks_json_member(j, ex, "values");
	FOR_EACH_ELEM(j, v, vv, kv) {
		/* dropping a value of In would be stricter, of NotIn laxer:
		 * neither is what was asked */
		if (e->nr_values == SCHED_MAX_VALUES)
			return -E2BIG;
		str_at(j, vv, e->values[e->nr_values], sizeof(e->values[0]));
		e->nr_values++;
	}
	return 0;
}

static int parse_node_affinity(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen)
{
	int terms = ks_json_path(j, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
	int k, el, kk, ex, rc;

	FOR_EACH_ELEM(j, terms, el, k) {
		struct sched_term *t;
		int exprs = ks_json_member(j, el, "matchExpressions"), fields = ks_json_member(j, el, "matchFields");

		if (p->nr_terms == SCHED_MAX_TERMS) {
			unsupported(p, "required node affinity with more than %d nodeSelectorTerms", SCHED_MAX_TERMS);
			return 0;
		}
		t = &p->terms[p->nr_terms++];
		FOR_EACH_ELEM(j, exprs, ex, kk) {
			if (t->nr_exprs == SCHED_MAX_EXPRS) {
				unsupported(p, "required node affinity with more than %d matchExpressions in a term",
					    SCHED_MAX_EXPRS);
				return 0;
			}
			rc = parse_expr(j, ex, &t->exprs[t->nr_exprs++], err, errlen);
			if (rc == -E2BIG) {
				unsupported(p, "required node affinity with more than %d values in an expression",
					    SCHED_MAX_VALUES);
				return 0;
			}
			if (rc) {
				snprintf(err + strlen(err), errlen - strlen(err), " (node affinity)");
				return rc;
			}
		}
		/* matchFields: the API allows metadata.name only, In or NotIn */
		FOR_EACH_ELEM(j, fields, ex, kk) {
			struct sched_expr *e = &t->name_field;

			if (t->has_name_field || kk > 0) {
				unsupported(p, "required node affinity with more than one matchFields expression in a term");
				return 0;
			}
			rc = parse_expr(j, ex, e, err, errlen);
			if (rc == -E2BIG || (!rc && (strcmp(e->key, "metadata.name") ||
						     (e->op != OP_IN && e->op != OP_NOT_IN)))) {
				unsupported(p, "required node affinity matchFields other than metadata.name In/NotIn");
				return 0;
			}
			if (rc)
				return rc;
			t->has_name_field = true;
		}
	}
	return 0;
}

static int parse_selector(const struct ks_json *j, int sel, struct sched_selector *out, struct sched_pod *p,
			  char *err, size_t errlen)
{
	int ml = ks_json_member(j, sel, "matchLabels"), me = ks_json_member(j, sel, "matchExpressions");
	int k, ex, rc;

	memset(out, 0, sizeof(*out));
	if (sel < 0 || ks_json_is_null(j, sel)) {
		out->null = true; /* selects nothing */
		return 0;
	}
	out->nr_match = read_map(j, ml, out->match, SCHED_MAX_SEL, "labelSelector.matchLabels", err, errlen);
	if (out->nr_match == -E2BIG) {
		out->nr_match = 0;
		out->truncated = true;
		unsupported(p, "a label selector with more than %d matchLabels", SCHED_MAX_SEL);
		return 0;
	}
	if (out->nr_match < 0)
		return out->nr_match;
	FOR_EACH_ELEM(j, me, ex, k) {
		struct sched_expr *e;

		if (out->nr_exprs == SCHED_MAX_EXPRS) {
			out->truncated = true;
			unsupported(p, "a label selector with more than %d matchExpressions", SCHED_MAX_EXPRS);
			return 0;
		}
		e = &out->exprs[out->nr_exprs++];
		rc = parse_expr(j, ex, e, err, errlen);
		if (rc == -E2BIG) {
			out->truncated = true;
			unsupported(p, "a label selector with more than %d values in an expression", SCHED_MAX_VALUES);
			return 0;
		}
		if (rc)
			return rc;
		if (e->op == OP_GT || e->op == OP_LT) {
			snprintf(err, errlen, "label selector operator Gt/Lt is for node affinity only");
			return -EINVAL;
		}
	}
	return 0;
}

/* The term's reason the model cannot evaluate it, the first one. */
static void unevaluable(struct sched_anti *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void unevaluable(struct sched_anti *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	first_reason(t->unevaluable, sizeof(t->unevaluable), fmt, ap);
	va_end(ap);
}

/* Every term is read, evaluable or not: a pod already bound keeps its
 * terms for the pods that come after it (pods_allow, and the pending pods
 * an unevaluable term may select wait).  A pending pod with any term the
 * model cannot evaluate is unsupported itself. */
static int parse_pod_affinity(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen)
{
	int req = ks_json_path(j, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	int k, el, kk, v, rc;

	if (present(j, ks_json_path(j, "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution")))
		unsupported(p, "required pod affinity");
	FOR_EACH_ELEM(j, req, el, k) {
		struct sched_anti *t;
		char topo[SCHED_KEY_LEN] = "";
		int nss = ks_json_member(j, el, "namespaceSelector"), nsl = ks_json_member(j, el, "namespaces");

		if (p->nr_anti == SCHED_MAX_ANTI) {
			/* the last one held stands for all the rest: it may
			 * select any pod */
			t = &p->anti[SCHED_MAX_ANTI - 1];
			memset(t, 0, sizeof(*t));
			t->sel.truncated = t->any_namespace = true;
			snprintf(t->unevaluable, sizeof(t->unevaluable), "required pod anti-affinity with more than %d "
				 "terms", SCHED_MAX_ANTI);
			unsupported(p, "%s", t->unevaluable);
			break;
		}
		t = &p->anti[p->nr_anti++];
		str_at(j, ks_json_member(j, el, "topologyKey"), topo, sizeof(topo));
		if (strcmp(topo, "kubernetes.io/hostname"))
			unevaluable(t, "required pod anti-affinity with topologyKey \"%.64s\" (only kubernetes.io/hostname "
				    "is evaluated)", topo);
		if (present(j, ks_json_member(j, el, "matchLabelKeys")) ||
		    present(j, ks_json_member(j, el, "mismatchLabelKeys")))
			unevaluable(t, "required pod anti-affinity with matchLabelKeys/mismatchLabelKeys");
		rc = parse_selector(j, ks_json_member(j, el, "labelSelector"), &t->sel, p, err, errlen);
		if (rc)
			return rc;
		if (t->sel.truncated)
			unevaluable(t, "required pod anti-affinity with a label selector past the bounds (%d matchLabels, "
				    "%d matchExpressions of %d values)", SCHED_MAX_SEL, SCHED_MAX_EXPRS, SCHED_MAX_VALUES);
		if (nss >= 0 && !ks_json_is_null(j, nss)) {
			/* {} is every namespace; a real selector needs the
			 * namespaces' labels, which the scheduler does not watch */
			if (!ks_json_is_object(j, nss) || j->tok[nss].size) {
				unevaluable(t, "required pod anti-affinity with a namespaceSelector");
				t->any_namespace = true;
			} else {
				t->all_namespaces = true;
			}
		}
		FOR_EACH_ELEM(j, nsl, v, kk) {
			if (t->nr_ns == SCHED_MAX_NS) {
				unevaluable(t, "required pod anti-affinity naming more than %d namespaces", SCHED_MAX_NS);
				t->any_namespace = true;
				break;
			}
			str_at(j, v, t->ns[t->nr_ns++], sizeof(t->ns[0]));
		}
		if (t->unevaluable[0])
			unsupported(p, "%s", t->unevaluable);
	}
	return 0;
}

/* Constraints with no model here: the pod must wait, with an Event. */
static void parse_unsupported(const struct ks_json *j, struct sched_pod *p)
{
	char name[SCHED_NAME_LEN], when[32];
	int k, el;

	FOR_EACH_ELEM(j, ks_json_path(j, "spec.topologySpreadConstraints"), el, k) {
		str_at(j, ks_json_member(j, el, "whenUnsatisfiable"), when, sizeof(when));
		/* ScheduleAnyway only scores; DoNotSchedule (and a missing
		 * value, which the API refuses) filters */
		if (strcmp(when, "ScheduleAnyway")) {
			unsupported(p, "topologySpreadConstraints with whenUnsatisfiable DoNotSchedule");
			break;
		}
	}
	FOR_EACH_ELEM(j, ks_json_path(j, "spec.volumes"), el, k) {
		str_at(j, ks_json_member(j, el, "name"), name, sizeof(name));
		if (ks_json_member(j, el, "persistentVolumeClaim") >= 0) {
			unsupported(p, "volume \"%.64s\" from a PersistentVolumeClaim (volume binding and node affinity)",
				    name);
			break;
		}
		if (ks_json_member(j, el, "ephemeral") >= 0) {
			unsupported(p, "generic ephemeral volume \"%.64s\" (volume binding and node affinity)", name);
			break;
		}
	}
	if (present(j, ks_json_path(j, "spec.resourceClaims")))
		unsupported(p, "dynamic resource claims (spec.resourceClaims)");
}

/* hostPorts of the containers; a hostNetwork pod's container ports are
 * host ports (the API defaults hostPort to containerPort for those). */
static void parse_ports(const struct ks_json *j, struct sched_pod *p)
{
	static const char *const lists[] = { "spec.containers", "spec.initContainers" };
	bool host_net = ks_json_is_literal(j, ks_json_path(j, "spec.hostNetwork"), "true");
	size_t l;
	int k, el, kk, pe;

	for (l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		FOR_EACH_ELEM(j, ks_json_path(j, lists[l]), el, k) {
			FOR_EACH_ELEM(j, ks_json_member(j, el, "ports"), pe, kk) {
				int hp = ks_json_member(j, pe, "hostPort"), cp = ks_json_member(j, pe, "containerPort");
				long port = 0;
				struct sched_port *x;

				if (ks_json_is_number(j, hp))
					port = strtol(j->src + j->tok[hp].start, NULL, 10);
				else if (host_net && ks_json_is_number(j, cp))
					port = strtol(j->src + j->tok[cp].start, NULL, 10);
				if (port <= 0 || port > 65535)
					continue;
				if (p->nr_ports == SCHED_MAX_PORTS) {
					unsupported(p, "more than %d host ports", SCHED_MAX_PORTS);
					return;
				}
				x = &p->ports[p->nr_ports++];
				x->port = (int)port;
				str_at(j, ks_json_member(j, pe, "protocol"), x->proto, sizeof(x->proto));
				if (!x->proto[0])
					snprintf(x->proto, sizeof(x->proto), "TCP");
				str_at(j, ks_json_member(j, pe, "hostIP"), x->ip, sizeof(x->ip));
			}
		}
}

/* metadata.labels as "k=v\n"... (neither may hold '=' or a newline). */
static int parse_labels(const struct ks_json *j, struct sched_pod *p)
{
	int map = ks_json_path(j, "metadata.labels"), k, at;
	char key[SCHED_KEY_LEN], val[SCHED_VAL_LEN], buf[SCHED_LABELS_LEN];
	size_t off = 0;

	buf[0] = '\0';
	p->labels = buf;
	if (map < 0 || !ks_json_is_object(j, map))
		goto out;
	for (k = 0, at = map + 1; k < j->tok[map].size; k++, at = ks_json_next(j, at + 1)) {
		int n;

		if (ks_json_string(j, at, key, sizeof(key)) || ks_json_string(j, at + 1, val, sizeof(val)) ||
		    strpbrk(key, "=\n") || strchr(val, '\n'))
			continue;
		n = snprintf(buf + off, sizeof(buf) - off, "%s=%s\n", key, val);
		if (n < 0 || (size_t)n >= sizeof(buf) - off) {
			/* a pod whose labels we cannot all keep might be missed
			 * by another pod's anti-affinity */
			buf[off] = '\0';
			unsupported(p, "more than %d bytes of labels", SCHED_LABELS_LEN);
			break;
		}
		off += (size_t)n;
	}
out:
	p->labels = strdup(buf);
	return p->labels ? 0 : -ENOMEM;
}

int sched_pod_from_json(const struct ks_json *j, struct sched_pod *p, char *err, size_t errlen)
{
	int rc, i, k, el;

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
	i = ks_json_path(j, "spec.nodeSelector");
	p->node_selector = alloc_for(j, i, SCHED_MAX_SELECTOR, sizeof(*p->node_selector));
	p->tolerations = alloc_for(j, ks_json_path(j, "spec.tolerations"), SCHED_MAX_TOLS, sizeof(*p->tolerations));
	p->terms = alloc_for(j, ks_json_path(j, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
					"nodeSelectorTerms"), SCHED_MAX_TERMS, sizeof(*p->terms));
	p->anti = alloc_for(j, ks_json_path(j, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
			    SCHED_MAX_ANTI, sizeof(*p->anti));
	p->ports = calloc(SCHED_MAX_PORTS, sizeof(*p->ports));
	if (!p->node_selector || !p->tolerations || !p->terms || !p->anti || !p->ports) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	p->nr_node_selector = read_map(j, i, p->node_selector, SCHED_MAX_SELECTOR, "spec.nodeSelector", err, errlen);
	if (p->nr_node_selector == -E2BIG) {
		p->nr_node_selector = 0;
		unsupported(p, "a nodeSelector with more than %d labels", SCHED_MAX_SELECTOR);
	} else if (p->nr_node_selector < 0) {
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
	rc = parse_node_affinity(j, p, err, errlen);
	if (!rc)
		rc = parse_pod_affinity(j, p, err, errlen);
	if (rc)
		goto out;
	parse_unsupported(j, p);
	parse_ports(j, p);
	{
		/* keep what was used */
		struct sched_port *shrunk = realloc(p->ports, (size_t)(p->nr_ports ?: 1) * sizeof(*p->ports));

		if (shrunk)
			p->ports = shrunk;
	}
	if (parse_labels(j, p) || pod_requests(j, p)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	p->gated = present(j, ks_json_path(j, "spec.schedulingGates"));
	rc = 0;
out:
	return rc;
}

void sched_pod_free(struct sched_pod *p)
{
	free(p->node_selector);
	free(p->tolerations);
	free(p->terms);
	free(p->req_ext);
	free(p->ports);
	free(p->labels);
	free(p->anti);
	memset(p, 0, sizeof(*p));
}

void sched_node_free(struct sched_node *n)
{
	free(n->labels);
	free(n->taints);
	memset(n, 0, sizeof(*n));
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

static bool name_matches(const struct sched_expr *e, const char *name)
{
	int i;

	for (i = 0; i < e->nr_values; i++)
		if (!strcmp(e->values[i], name))
			return e->op == OP_IN;
	return e->op == OP_NOT_IN;
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

bool sched_fits(const struct sched_pod *p, const struct sched_node *n, const struct sched_use *use, char *why,
		size_t whylen)
{
	static const struct sched_use none;
	const struct sched_use *u = use ? use : &none;
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
	if (n->too_many_taints) {
		snprintf(why, whylen, "more than %d taints (not evaluated)", SCHED_MAX_TAINTS);
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
			if (all && p->terms[t].has_name_field)
				all = name_matches(&p->terms[t].name_field, n->name);
			any = all;
		}
		if (!any) {
			snprintf(why, whylen, "required node affinity does not match");
			return false;
		}
	}
	if (n->alloc_pods >= 0 && u->pods + 1 > n->alloc_pods) {
		snprintf(why, whylen, "too many pods: %lld of %lld", (long long)u->pods, (long long)n->alloc_pods);
		return false;
	}
	if (p->req_cpu_milli > n->alloc_cpu_milli - u->cpu_milli) {
		snprintf(why, whylen, "insufficient cpu: requests %lldm, free %lldm of %lldm",
			 (long long)p->req_cpu_milli, (long long)(n->alloc_cpu_milli - u->cpu_milli),
			 (long long)n->alloc_cpu_milli);
		return false;
	}
	if (p->req_mem_bytes > n->alloc_mem_bytes - u->mem_bytes) {
		snprintf(why, whylen, "insufficient memory: requests %lld, free %lld of %lld bytes",
			 (long long)p->req_mem_bytes, (long long)(n->alloc_mem_bytes - u->mem_bytes),
			 (long long)n->alloc_mem_bytes);
		return false;
	}
	for (i = 0; i < p->nr_req_ext; i++) {
		int x = sched_node_ext(n, p->req_ext[i].name);
		__s64 free_units = x < 0 ? 0 : n->ext[x].value - u->ext[x];

		if (p->req_ext[i].value > free_units) {
			snprintf(why, whylen, "insufficient %s: requests %lld, free %lld of %lld", p->req_ext[i].name,
				 (long long)p->req_ext[i].value, (long long)free_units,
				 (long long)(x < 0 ? 0 : n->ext[x].value));
			return false;
		}
	}
	return true;
}

int sched_node_ext(const struct sched_node *n, const char *name)
{
	int i;

	for (i = 0; i < n->nr_ext; i++)
		if (!strcmp(n->ext[i].name, name))
			return i;
	return -1;
}

bool sched_ports_conflict(const struct sched_port *a, const struct sched_port *b)
{
	bool a_any = !a->ip[0] || !strcmp(a->ip, "0.0.0.0") || !strcmp(a->ip, "::");
	bool b_any = !b->ip[0] || !strcmp(b->ip, "0.0.0.0") || !strcmp(b->ip, "::");

	return a->port == b->port && !strcmp(a->proto, b->proto) && (a_any || b_any || !strcmp(a->ip, b->ip));
}

/* The value of key in "k=v\n"... labels, its length into *len; NULL. */
static const char *label_of(const char *labels, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *l = labels;

	while (l && *l) {
		const char *nl = strchr(l, '\n');

		if (!strncmp(l, key, kl) && l[kl] == '=') {
			*len = (size_t)((nl ? nl : l + strlen(l)) - (l + kl + 1));
			return l + kl + 1;
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static bool value_is(const char *v, size_t len, const char *want)
{
	return strlen(want) == len && !strncmp(v, want, len);
}

bool sched_selector_matches(const struct sched_selector *sel, const char *labels)
{
	const char *v;
	size_t len;
	int i, k;

	if (sel->null)
		return false;
	for (i = 0; i < sel->nr_match; i++) {
		v = label_of(labels, sel->match[i].key, &len);
		if (!v || !value_is(v, len, sel->match[i].value))
			return false;
	}
	for (i = 0; i < sel->nr_exprs; i++) {
		const struct sched_expr *e = &sel->exprs[i];
		bool in = false;

		v = label_of(labels, e->key, &len);
		for (k = 0; v && k < e->nr_values; k++)
			in |= value_is(v, len, e->values[k]);
		switch (e->op) {
		case OP_IN:
			if (!in)
				return false;
			break;
		case OP_NOT_IN:
			if (in)
				return false;
			break;
		case OP_EXISTS:
			if (!v)
				return false;
			break;
		case OP_DOES_NOT_EXIST:
			if (v)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

bool sched_anti_matches(const struct sched_anti *t, const char *owner_ns, const char *ns, const char *labels)
{
	int i;
	bool ns_ok = t->all_namespaces;

	if (!ns_ok && !t->nr_ns)
		ns_ok = !strcmp(owner_ns, ns);
	for (i = 0; !ns_ok && i < t->nr_ns; i++)
		ns_ok = !strcmp(t->ns[i], ns);
	return ns_ok && sched_selector_matches(&t->sel, labels);
}

bool sched_anti_may_match(const struct sched_anti *t, const char *owner_ns, const char *ns, const char *labels)
{
	if (t->sel.truncated)
		return true;
	if (t->any_namespace)
		return sched_selector_matches(&t->sel, labels);
	return sched_anti_matches(t, owner_ns, ns, labels);
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

bool sched_better(const struct sched_node *a, unsigned int a_score, __s64 a_used_cpu_milli,
		  const struct sched_node *b, unsigned int b_score, __s64 b_used_cpu_milli)
{
	__s64 a_free = a->alloc_cpu_milli - a_used_cpu_milli, b_free = b->alloc_cpu_milli - b_used_cpu_milli;

	if (a_score != b_score)
		return a_score < b_score;
	if (a_free != b_free)
		return a_free > b_free;
	return strcmp(a->name, b->name) < 0;
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

		if (!sched_fits(p, x->node, &x->use, r, sizeof(r))) {
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
		if (best < 0 || sched_better(x->node, x->score, x->use.cpu_milli, c[best].node, c[best].score,
					     c[best].use.cpu_milli))
			best = i;
	}
	if (best >= 0)
		why[0] = '\0';
	else if (!n)
		snprintf(why, whylen, "no nodes");
	return best;
}
