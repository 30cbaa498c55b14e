// SPDX-License-Identifier: GPL-2.0
/* The "why it waits" part of a /pods entry (pods_waits.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgpath.h"
#include "podmap.h"
#include "podmeta.h"
#include "names.h"
#include "pods_waits.h"

/* A waker as the entry shows it: a pod (by uid), or a cgroup that is none. */
struct dep {
	__u64 cgroup_id;           /* the first of its cgroups seen */
	char uid[KS_POD_UID_LEN];  /* "" when not a pod */
	char path[256];            /* the cgroup's path when not a pod, "" unknown */
	__u64 ns;
	__u64 n;
	double ms_per_s, wakeups_per_s;
};

#define MAX_DEPS (KSENSE_TOP_WAKERS * 8)

static void resolve(struct ks_cgpath *cgp, __u64 id, struct dep *d)
{
	char path[4096];
	struct ks_pod_ref ref;

	d->cgroup_id = id;
	if (!cgp || ks_cgpath_lookup(cgp, id, path, sizeof(path)))
		return;
	if (!ks_podmap_parse(path, &ref))
		snprintf(d->uid, sizeof(d->uid), "%s", ref.uid);
	else
		snprintf(d->path, sizeof(d->path), "%.255s", path);
}

static int cmp_dep(const void *a, const void *b)
{
	const struct dep *x = a, *y = b;

	return x->ns > y->ns ? -1 : x->ns < y->ns;
}

static bool same(const struct dep *a, const struct dep *b)
{
	if (a->uid[0] || b->uid[0])
		return !strcmp(a->uid, b->uid);
	if (a->path[0] || b->path[0])
		return !strcmp(a->path, b->path);
	return a->cgroup_id == b->cgroup_id;
}

static void render_dep(struct ks_buf *b, struct ks_podmeta *meta, const struct dep *d, __u64 waits_ns)
{
	struct ks_pod_owner_ref own;

	ks_buf_printf(b, "{\"cgroup_id\":%llu,", (unsigned long long)d->cgroup_id);
	if (d->uid[0]) {
		ks_podmeta_owner(meta, d->uid, &own);
		ks_buf_printf(b, "\"uid\":");
		ks_buf_json_str(b, d->uid);
		ks_buf_printf(b, ",\"namespace\":");
		ks_buf_json_str(b, own.ns);
		ks_buf_printf(b, ",\"name\":");
		ks_buf_json_str(b, own.name);
		ks_buf_printf(b, ",\"owner_kind\":");
		ks_buf_json_str(b, own.kind);
		ks_buf_printf(b, ",\"owner\":");
		ks_buf_json_str(b, own.owner);
		ks_buf_printf(b, ",\"deployment\":");
		ks_buf_json_str(b, own.deployment);
	} else {
		ks_buf_printf(b, "\"cgroup\":");
		ks_buf_json_str(b, d->path);
	}
	ks_buf_printf(b, ",\"share_permille\":%llu,\"wait_ms_per_s\":%.3f,\"wakeups_per_s\":%.3f}",
		      (unsigned long long)(waits_ns ? (d->ns >= waits_ns ? 1000 : d->ns * 1000 / waits_ns) : 0),
		      d->ms_per_s, d->wakeups_per_s);
}

void ks_pods_render_waits(struct ks_buf *b, struct ks_cgpath *cgp, struct ks_podmeta *meta, const char *self_uid,
			  const struct ks_wait_row *rows, size_t n, const struct ksense_cgroup *cause_cg)
{
	static const char *const keys[KSENSE_NR_CAUSES] = {
		NULL, "lock_ms_per_s", "dependency_ms_per_s", "network_ms_per_s", "device_ms_per_s",
		"kernel_ms_per_s", "timer_ms_per_s",
	};
	double ms[KSENSE_NR_CAUSES] = {}, wait_permille = 0;
	struct dep deps[MAX_DEPS];
	__u64 waits_ns = 0;
	size_t i, k, nd = 0, shown = 0;
	int c;

	for (i = 0; i < n; i++) {
		const struct ksense_cgroup *cg = rows[i].cg;

		wait_permille += cg->wait_permille;
		for (c = KSENSE_CAUSE_LOCK; c < KSENSE_NR_CAUSES; c++) {
			ms[c] += ksense_cause_ns_get(&cg->wait_ns, c) / 1e6 / rows[i].dur_s;
			if (c != KSENSE_CAUSE_TIMER)
				waits_ns += ksense_cause_ns_get(&cg->wait_ns, c);
		}
		for (k = 0; k < KSENSE_TOP_WAKERS && cg->wakers[k].cgroup_id; k++) {
			struct dep d = {};
			size_t j;

			resolve(cgp, cg->wakers[k].cgroup_id, &d);
			/* a container of the same pod is no dependency of it */
			if (self_uid && self_uid[0] && !strcmp(d.uid, self_uid))
				continue;
			for (j = 0; j < nd && !same(&deps[j], &d); j++)
				;
			if (j == nd) {
				if (nd == MAX_DEPS)
					continue;
				deps[nd++] = d;
			}
			deps[j].ns += cg->wakers[k].wait_ns;
			deps[j].n += cg->wakers[k].wakeups;
			deps[j].ms_per_s += cg->wakers[k].wait_ns / 1e6 / rows[i].dur_s;
			deps[j].wakeups_per_s += cg->wakers[k].wakeups / rows[i].dur_s;
		}
	}
	if (nd > 1)
		qsort(deps, nd, sizeof(deps[0]), cmp_dep);
	ks_buf_printf(b, ",\"cause\":");
	if (cause_cg && cause_cg->class == KSENSE_CLASS_OFFCPU && cause_cg->cause != KSENSE_CAUSE_NONE)
		ks_buf_printf(b, "\"%s\"", ks_cause_name(cause_cg->cause));
	else
		ks_buf_printf(b, "null");
	ks_buf_printf(b, ",\"wait_permille\":%.0f,\"waits\":{", wait_permille);
	for (c = KSENSE_CAUSE_LOCK; c < KSENSE_NR_CAUSES; c++)
		ks_buf_printf(b, "%s\"%s\":%.3f", c == KSENSE_CAUSE_LOCK ? "" : ",", keys[c], ms[c]);
	ks_buf_printf(b, "},\"dependencies\":[");
	for (i = 0; i < nd && shown < KS_PODS_DEPS; i++) {
		if (shown++)
			ks_buf_printf(b, ",");
		render_dep(b, meta, &deps[i], waits_ns);
	}
	ks_buf_printf(b, "]");
}
