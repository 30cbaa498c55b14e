/* SPDX-License-Identifier: GPL-2.0 */
/* Filesystems ksense needs mounted, and small directory helpers. */
#ifndef KSENSE_FSUTIL_H
#define KSENSE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Mount bpffs at the parent of the pin root and tracefs at
 * /sys/kernel/tracing when they are not mounted; 0 or negative errno. */
int ks_ensure_bpffs(const char *dir);
int ks_ensure_tracefs(void);
/* The first cgroup2 mount point into buf; 0 or -ENOENT. */
int ks_cgroup2_mount(char *buf, size_t len);
/* The cgroup v1 hierarchy that has `controller` ("cpu"); 0, -ENOENT. */
int ks_cgroup_v1_mount(const char *controller, char *buf, size_t len);
/* Remove a pinned tree: every file, then the directories, depth first.
 * 0, or the first negative errno (it keeps going past errors). */
int ks_remove_tree(const char *path);
bool ks_path_exists(const char *path);
/* write() until all of buf is written (EINTR retried); 0 or negative errno. */
int ks_write_all(int fd, const void *buf, size_t len);

#endif
