/* SPDX-License-Identifier: GPL-2.0 */
/* The per-cgroup tests' fixture: a kubelet-style cgroup beside the
 * fixture's pin tree, and reading its entry of the `cgroups` pin. */
#ifndef KSENSE_CG_FIXTURE_H
#define KSENSE_CG_FIXTURE_H

#include <stdbool.h>
#include "ksense.h"
#include "workloads.h"

/* The `cgroups` pin's entry for cgroup id into cg: 0, or a negative errno
 * with cg all zero (a cgroup nothing was charged to has no entry). */
int fx_read_cgroup(__u64 id, struct ksense_cgroup *cg);
/* "IDLE", "CPU", ... for enum ksense_class. */
const char *fx_class_name(__u32 cls);
/* Root, a cgroup2 mount, the fixture's tree loaded and a kubelet-style
 * cgroup c (tag) made: true.  Otherwise the test is skipped (saying why)
 * or failed, and false. */
bool fx_cgroup_ready(struct wl_cgroup *c, const char *tag);

#endif
