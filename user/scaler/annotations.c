// SPDX-License-Identifier: GPL-2.0
/*
 * A Deployment's ksense.io/ annotations, read into the cluster view when
 * it is listed (cluster.c): whether it opted in, its replica bounds, the
 * dependency it names and when the scaler last scaled it.  A bad value
 * marks it invalid (never scaled) with the reason, never fails the list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "log.h"
#include "scaler.h"

/* Digits only, 1..KS_REPLICAS_LIMIT: "3", not "+3", "3.0", " 3" or "-1". */
static int parse_replicas(const char *s, int *out)
{
	long v = 0;
	const char *p;

	if (!*s || strlen(s) > 6)
		return -1;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > KS_REPLICAS_LIMIT)
		return -1;
	*out = (int)v;
	return 0;
}

/* A DNS-1123 subdomain (Deployment names) or label (namespaces). */
static bool dns_name(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (!n || n > max || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static int ann_str(const struct ks_json *j, int ann, const char *key, char *out, size_t outlen, bool *present)
{
	int i = ks_json_member(j, ann, key);

	*present = i >= 0;
	out[0] = '\0';
	if (i < 0)
		return 0;
	return ks_json_string(j, i, out, outlen) ? -1 : 0;
}

/* ksense.io/last-scale as we write it; anything else is ignored, with a
 * warning: a cooldown is a courtesy, never a reason to stop for good. */
static void last_scale(struct ks_deploy *d, const char *v)
{
	char when[64] = "", dir[16] = "", err[128];
	struct ks_json j;
	double t;

	if (ks_json_parse(&j, v, strlen(v), err, sizeof(err))) {
		ks_warn("annotation ignored", "deployment=%s/%s annotation=%s err=\"%s\"", d->ns, d->name,
			KS_ANN_LAST_SCALE, err);
		return;
	}
	ks_json_string(&j, ks_json_path(&j, "time"), when, sizeof(when));
	ks_json_string(&j, ks_json_path(&j, "direction"), dir, sizeof(dir));
	ks_json_free(&j);
	t = ks_parse_time(when);
	if (t < 0 || (strcmp(dir, "up") && strcmp(dir, "down"))) {
		ks_warn("annotation ignored", "deployment=%s/%s annotation=%s err=\"no RFC 3339 time and up/down\"",
			d->ns, d->name, KS_ANN_LAST_SCALE);
		return;
	}
	d->have_last_scale = true;
	d->last_scale_wall_s = t;
	d->last_scale_dir = strcmp(dir, "up") ? -1 : 1;
}

void ks_deploy_annotations(struct ks_deploy *d, const struct ks_json *j, int root)
{
	int ann = ks_json_path_at(j, root, "metadata.annotations");
	char v[320], *slash;
	bool has_min, has_max, has_dep, has_last;

	d->min = KS_DEFAULT_MIN_REPLICAS;
	d->max = KS_DEFAULT_MAX_REPLICAS;
	if (ann_str(j, ann, KS_ANN_AUTOSCALE, v, sizeof(v), &has_min) || strcmp(v, "true"))
		return; /* not opted in: its annotations are none of our business */
	d->autoscale = true;
	if (!ann_str(j, ann, KS_ANN_LAST_SCALE, v, sizeof(v), &has_last) && has_last)
		last_scale(d, v);
	if (ann_str(j, ann, KS_ANN_MIN, v, sizeof(v), &has_min) || (has_min && parse_replicas(v, &d->min))) {
		snprintf(d->invalid_why, sizeof(d->invalid_why), "%s=\"%.40s\" is not an integer 1..%d", KS_ANN_MIN,
			 v, KS_REPLICAS_LIMIT);
		goto invalid;
	}
	if (ann_str(j, ann, KS_ANN_MAX, v, sizeof(v), &has_max) || (has_max && parse_replicas(v, &d->max))) {
		snprintf(d->invalid_why, sizeof(d->invalid_why), "%s=\"%.40s\" is not an integer 1..%d", KS_ANN_MAX,
			 v, KS_REPLICAS_LIMIT);
		goto invalid;
	}
	/* only a minimum given above the default maximum: the maximum follows it */
	if (!has_max && d->min > d->max)
		d->max = d->min;
	if (d->min > d->max) {
		snprintf(d->invalid_why, sizeof(d->invalid_why), "%s=%d is above %s=%d", KS_ANN_MIN, d->min,
			 KS_ANN_MAX, d->max);
		goto invalid;
	}
	if (ann_str(j, ann, KS_ANN_DEPENDENCY, v, sizeof(v), &has_dep))
		v[0] = '\1'; /* not a string: fails the check below */
	if (has_dep) {
		slash = strchr(v, '/');
		if (slash) {
			*slash = '\0';
			snprintf(d->dep_ns, sizeof(d->dep_ns), "%s", v);
			snprintf(d->dep_name, sizeof(d->dep_name), "%s", slash + 1);
		} else {
			snprintf(d->dep_ns, sizeof(d->dep_ns), "%s", d->ns);
			snprintf(d->dep_name, sizeof(d->dep_name), "%s", v);
		}
		if (!dns_name(d->dep_ns, 63) || !dns_name(d->dep_name, 253) ||
		    (!strcmp(d->dep_ns, d->ns) && !strcmp(d->dep_name, d->name))) {
			if (slash)
				*slash = '/';
			snprintf(d->invalid_why, sizeof(d->invalid_why),
				 "%s=\"%.80s\" is not \"name\" or \"namespace/name\" of another Deployment",
				 KS_ANN_DEPENDENCY, v);
			d->dep_name[0] = '\0';
			goto invalid;
		}
	}
	return;
invalid:
	d->invalid = true;
}

