/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup2 id -> cgroup path.  A cgroup2 cgroup's id (what BPF's
 * bpf_get_current_cgroup_id() gives and what keys the `cgroups` pin) is the
 * inode number of its directory on the cgroup2 mount, and the kernel has no
 * reverse lookup that works without a file handle per id, so the resolver
 * walks the cgroup2 tree once, caches id -> path, and walks again on a miss
 * (a cgroup made since), at most once per rewalk interval so that ids that
 * will never be found (cgroups already gone) cannot make every lookup walk;
 * an id a walk has shown to be gone stops causing walks for a while (cgroup2
 * ids are kernfs node ids, which on 64-bit kernels are never reused).
 *
 * Bounded: KS_CGPATH_MAX_DEPTH levels, KS_CGPATH_MAX_ENTRIES cgroups.
 * Not thread-safe: one resolver per thread.
 */
#ifndef KSENSE_CGPATH_H
#define KSENSE_CGPATH_H

#include <stddef.h>
#include <linux/types.h>

#define KS_CGPATH_MAX_DEPTH     32
#define KS_CGPATH_MAX_ENTRIES   (1u << 18)
#define KS_CGPATH_REWALK_MS     1000u
#define KS_CGPATH_GONE_MS       30000u  /* a gone id stops causing walks this long */

struct ks_cgpath;

/* mount NULL: the first cgroup2 mount in /proc/self/mounts (on a hybrid
 * machine /sys/fs/cgroup/unified, on pure v2 /sys/fs/cgroup).  Nothing is
 * walked yet.  NULL with the reason in err. */
struct ks_cgpath *ks_cgpath_new(const char *mount, char *err, size_t errlen);
void ks_cgpath_free(struct ks_cgpath *c);
const char *ks_cgpath_mount(const struct ks_cgpath *c);
/* The path of cgroup `id` relative to the mount ("/" for the root cgroup,
 * "/kubepods.slice/..." otherwise) into out.  0; -ENOENT when not found
 * (after a walk, or when the last walk was too recent to walk again);
 * -ENOSPC when out is too small; a negative errno when the mount cannot be
 * read (logged). */
int ks_cgpath_lookup(struct ks_cgpath *c, __u64 id, char *out, size_t outlen);
/* Minimum time between walks caused by misses (KS_CGPATH_REWALK_MS); tests. */
void ks_cgpath_set_rewalk_ms(struct ks_cgpath *c, unsigned int ms);
/* Walks done so far and cgroups known, for tests and logs. */
unsigned long ks_cgpath_walks(const struct ks_cgpath *c);
size_t ks_cgpath_size(const struct ks_cgpath *c);

#endif
