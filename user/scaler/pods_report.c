// SPDX-License-Identifier: GPL-2.0
/*
 * A node agent's GET /pods body.  The agent is another program, possibly
 * another version, possibly broken: every field is optional except the
 * pod's identity and class, numbers must be finite and non-negative, and
 * one bad pod entry costs that entry only, not the node's whole report.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "scaler.h"

static const char *const class_names[KS_CLASS__N] = {
	[KS_CLASS_IDLE] = "IDLE", [KS_CLASS_CPU] = "CPU", [KS_CLASS_BLOCK] = "BLOCK",
	[KS_CLASS_OFFCPU] = "OFFCPU", [KS_CLASS_THROTTLED] = "THROTTLED",
};

static const char *const cause_names[KS_CAUSE__N] = {
	[KS_CAUSE_NONE] = "NONE", [KS_CAUSE_LOCK] = "LOCK", [KS_CAUSE_DEPENDENCY] = "DEPENDENCY",
	[KS_CAUSE_NETWORK] = "NETWORK", [KS_CAUSE_DEVICE] = "DEVICE", [KS_CAUSE_KERNEL] = "KERNEL",
};

const char *ks_report_cause_name(enum ks_cause c)
{
	return (unsigned int)c < KS_CAUSE__N ? cause_names[c] : "?";
}

const char *ks_class_name(enum ks_class c)
{
	return (unsigned int)c < KS_CLASS__N ? class_names[c] : "?";
}

int ks_class_parse(const char *s)
{
	int c;

	for (c = 0; c < KS_CLASS__N; c++)
		if (!strcmp(s, class_names[c]))
			return c;
	return -1;
}

/* The number at i as a finite, non-negative double: 0, -ENOENT when the
 * member is absent or null (the agent may omit what it did not measure),
 * -EINVAL otherwise. */
static int num_at(const struct ks_json *j, int obj, const char *key, double *out)
{
	int i = ks_json_member(j, obj, key);
	char tmp[64];
	char *end;
	int n;

	if (i < 0 || ks_json_is_null(j, i))
		return -ENOENT;
	if (!ks_json_is_number(j, i))
		return -EINVAL;
	n = j->tok[i].end - j->tok[i].start;
	if (n <= 0 || n >= (int)sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, j->src + j->tok[i].start, (size_t)n);
	tmp[n] = '\0';
	*out = strtod(tmp, &end);
	if (*end || !isfinite(*out) || *out < 0)
		return -EINVAL;
	return 0;
}

/* A counter: a number up to 2^53 (what a double holds exactly). */
static int ull_at(const struct ks_json *j, int obj, const char *key, unsigned long long *out)
{
	double v;
	int rc = num_at(j, obj, key, &v);

	if (rc)
		return rc;
	if (v > 9007199254740992.0)
		return -EINVAL;
	*out = (unsigned long long)v;
	return 0;
}

static void skip(struct ks_pods_report *r, int n, const char *why, const char *field)
{
	if (!r->skipped++)
		snprintf(r->first_skip, sizeof(r->first_skip), "pods[%d]: %s%s", n, why, field);
}

static void parse_top(const struct ks_json *j, int arr, struct ks_pod_report *p)
{
	int k, e;
	double v;

	if (!ks_json_is_array(j, arr))
		return;
	for (k = 0; p->ntop < KS_PODS_TOP && (e = ks_json_index(j, arr, k)) >= 0; k++) {
		struct ks_pod_top *t = &p->top[p->ntop];

		if (!ks_json_is_object(j, e))
			continue;
		/* a name that does not fit is cut off in a log, not worth a pod */
		if (ks_json_string(j, ks_json_member(j, e, "function"), t->function, sizeof(t->function)))
			t->function[0] = '\0';
		if (ks_json_string(j, ks_json_member(j, e, "module"), t->module, sizeof(t->module)))
			t->module[0] = '\0';
		if (!t->function[0] && !t->module[0])
			continue;
		t->share_permille = num_at(j, e, "share_permille", &v) || v > 1000 ? 0 : (unsigned int)lround(v);
		p->ntop++;
	}
}

/* "dependencies": the named pods among them (a host cgroup has no name to
 * scale); an entry without a usable name is passed over. */
static void parse_deps(const struct ks_json *j, int arr, struct ks_pod_report *p)
{
	int k, e;
	double v;

	if (!ks_json_is_array(j, arr))
		return;
	for (k = 0; p->ndeps < KS_PODS_DEPS && (e = ks_json_index(j, arr, k)) >= 0; k++) {
		struct ks_pod_dep *d = &p->deps[p->ndeps];

		memset(d, 0, sizeof(*d));
		if (!ks_json_is_object(j, e) ||
		    ks_json_string(j, ks_json_member(j, e, "namespace"), d->namespace_, sizeof(d->namespace_)) ||
		    ks_json_string(j, ks_json_member(j, e, "name"), d->name, sizeof(d->name)) || !d->namespace_[0] ||
		    !d->name[0])
			continue;
		if (ks_json_string(j, ks_json_member(j, e, "uid"), d->uid, sizeof(d->uid)))
			d->uid[0] = '\0';
		d->share_permille = num_at(j, e, "share_permille", &v) || v > 1000 ? 0 : (unsigned int)lround(v);
		p->ndeps++;
	}
}

/* 0, or the field that made the entry unusable in *bad. */
static int parse_pod(const struct ks_json *j, int e, struct ks_pod_report *p, const char **bad)
{
	static const struct { const char *key; size_t off; } nums[] = {
		{ "oncpu_permille", offsetof(struct ks_pod_report, oncpu_permille) },
		{ "d_ms_per_s", offsetof(struct ks_pod_report, d_ms_per_s) },
		{ "s_ms_per_s", offsetof(struct ks_pod_report, s_ms_per_s) },
		{ "block_ios_per_s", offsetof(struct ks_pod_report, block_ios_per_s) },
		{ "block_bytes_per_s", offsetof(struct ks_pod_report, block_bytes_per_s) },
		{ "block_ms_per_s", offsetof(struct ks_pod_report, block_ms_per_s) },
		{ "block_lat_avg_us", offsetof(struct ks_pod_report, block_lat_avg_us) },
		{ "throttled_permille", offsetof(struct ks_pod_report, throttled_permille) },
		{ "throttled_ms_per_s", offsetof(struct ks_pod_report, throttled_ms_per_s) },
		{ "runq_wait_permille", offsetof(struct ks_pod_report, runq_wait_permille) },
	};
	int lim;
	char cls[16];
	size_t k;
	int c, rc;

	memset(p, 0, sizeof(*p));
	if (!ks_json_is_object(j, e))
		return *bad = "not an object", -EINVAL;
	if (ks_json_string(j, ks_json_member(j, e, "namespace"), p->namespace_, sizeof(p->namespace_)) ||
	    !p->namespace_[0])
		return *bad = "namespace", -EINVAL;
	if (ks_json_string(j, ks_json_member(j, e, "name"), p->name, sizeof(p->name)) || !p->name[0])
		return *bad = "name", -EINVAL;
	/* the uid only guards the owner cache against a recreated pod of the same name */
	if (ks_json_string(j, ks_json_member(j, e, "uid"), p->uid, sizeof(p->uid)))
		p->uid[0] = '\0';
	if (ks_json_string(j, ks_json_member(j, e, "class"), cls, sizeof(cls)) || (c = ks_class_parse(cls)) < 0)
		return *bad = "class", -EINVAL;
	p->cls = (enum ks_class)c;
	for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		rc = num_at(j, e, nums[k].key, (double *)((char *)p + nums[k].off));
		if (rc == -EINVAL)
			return *bad = nums[k].key, -EINVAL;
	}
	if (ull_at(j, e, "samples", &p->samples) == -EINVAL)
		return *bad = "samples", -EINVAL;
	/* "cpu_limit": null (no quota) or an object; only its size is used */
	lim = ks_json_member(j, e, "cpu_limit");
	if (lim >= 0 && ks_json_is_object(j, lim) &&
	    num_at(j, lim, "millicores", &p->cpu_limit_millicores) == -EINVAL)
		return *bad = "cpu_limit.millicores", -EINVAL;
	parse_top(j, ks_json_member(j, e, "top"), p);
	/* "cause": null, absent (an older agent) or a name; an unknown name
	 * (a newer agent's) is no cause, not a bad pod */
	{
		int ci = ks_json_member(j, e, "cause");

		if (ci >= 0 && !ks_json_is_null(j, ci) && !ks_json_string(j, ci, cls, sizeof(cls)))
			for (c = KS_CAUSE_LOCK; c < KS_CAUSE__N; c++)
				if (!strcmp(cls, cause_names[c]))
					p->cause = (enum ks_cause)c;
	}
	parse_deps(j, ks_json_member(j, e, "dependencies"), p);
	return 0;
}

int ks_pods_parse(const char *body, size_t len, struct ks_pods_report *out, char *err, size_t errlen)
{
	struct ks_json j;
	int rc, arr, e, n, cap;
	const char *bad;

	memset(out, 0, sizeof(*out));
	rc = ks_json_parse_limits(&j, body, len, KS_PODS_BODY_MAX, KS_JSON_MAX_TOKENS, err, errlen);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (!ks_json_is_object(&j, 0)) {
		snprintf(err, errlen, "/pods body is a JSON %s, not an object", ks_json_type_name(&j, 0));
		goto out;
	}
	arr = ks_json_member(&j, 0, "pods");
	if (!ks_json_is_array(&j, arr)) {
		snprintf(err, errlen, "/pods body: \"pods\" is %s, not an array", ks_json_type_name(&j, arr));
		goto out;
	}
	if (ks_json_string(&j, ks_json_member(&j, 0, "node"), out->node, sizeof(out->node)))
		out->node[0] = '\0';
	if (ull_at(&j, 0, "seq", &out->seq))
		out->seq = 0;
	if (ull_at(&j, 0, "window_ms", &out->window_ms))
		out->window_ms = 0;
	cap = j.tok[arr].size < KS_PODS_MAX ? j.tok[arr].size : KS_PODS_MAX;
	if (cap > 0) {
		out->pods = calloc((size_t)cap, sizeof(*out->pods));
		if (!out->pods) {
			snprintf(err, errlen, "/pods body: out of memory for %d pods", cap);
			rc = -ENOMEM;
			goto out;
		}
	}
	/* siblings by ks_json_next: indexing each element would walk the array again */
	for (n = 0, e = arr + 1; n < j.tok[arr].size; n++, e = ks_json_next(&j, e)) {
		if (out->npods == cap) {
			skip(out, n, "over the limit of pods per report", "");
			continue;
		}
		if (parse_pod(&j, e, &out->pods[out->npods], &bad))
			skip(out, n, "bad or missing ", bad);
		else
			out->npods++;
	}
	rc = 0;
out:
	ks_json_free(&j);
	if (rc)
		ks_pods_report_free(out);
	return rc;
}

void ks_pods_report_free(struct ks_pods_report *r)
{
	free(r->pods);
	memset(r, 0, sizeof(*r));
}
