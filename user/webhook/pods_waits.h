/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "why it waits" part of a /pods entry: off-CPU time by what ended it
 * (the `cgroups` pin's wait_ns by cause), the class's cause, and the top
 * waker cgroups named as pods (namespace/name and owning Deployment from
 * the API when known) or as cgroup paths.
 */
#ifndef KSENSE_WEBHOOK_PODS_WAITS_H
#define KSENSE_WEBHOOK_PODS_WAITS_H

#include <stddef.h>
#include "buf.h"
#include "ksense.h"

struct ks_cgpath;
struct ks_podmeta;

#define KS_PODS_DEPS 4               /* dependencies named per pod */

/* One cgroup of the entry and the length of its window, in s. */
struct ks_wait_row {
	const struct ksense_cgroup *cg;
	double dur_s;
};

/* ,"cause":...,"wait_permille":...,"waits":{...},"dependencies":[...] for
 * the rows of one pod (or one container); `cause_cg` is the row whose
 * class is the entry's (NULL: no cause).  Wakers that are the entry's own
 * pod (self_uid) are left out of its dependencies. */
void ks_pods_render_waits(struct ks_buf *b, struct ks_cgpath *cgp, struct ks_podmeta *meta, const char *self_uid,
			  const struct ks_wait_row *rows, size_t n, const struct ksense_cgroup *cause_cg);

#endif
