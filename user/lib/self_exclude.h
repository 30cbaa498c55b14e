/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense's own processes out of the per-cgroup accounting: each daemon adds
 * its tgid to the `self` pin at start and removes it at exit, so the
 * sensors never charge its CPU time, waits, samples or I/O to any cgroup
 * (pins/README.md, "ksense's own processes").  Run-time only: no reload.
 *
 * The key is the tgid the kernel sees, that of the initial PID namespace:
 * a daemon on a bare host or in a pod with hostPID (as the DaemonSet runs)
 * has it; in another PID namespace registering fails with -EXDEV.
 */
#ifndef KSENSE_SELF_EXCLUDE_H
#define KSENSE_SELF_EXCLUDE_H

#include <sys/types.h>

/* Add process tgid to the `self` pin (nothing to do when it is there).
 * 0 or negative errno: -ENOENT no pin
 * (not loaded, or a tree from before the pin), -EXDEV not in the initial
 * PID namespace, -ESRCH no such process, -ENOSPC the map is full even
 * after dropping entries of processes that are gone. */
int ks_self_exclude_add(pid_t tgid);
/* Remove it; 0 (also when it was not there) or negative errno. */
int ks_self_exclude_remove(pid_t tgid);

/* This process, best effort: logs a warning saying why when it cannot
 * (never fatal: the daemon works, it is merely counted), at debug level
 * when it did; only when the outcome changes, so a daemon may call it on
 * every tick to follow a reload (a new tree has a new, empty pin).
 * Returns what ks_self_exclude_add returned. */
int ks_self_exclude_register(void);
/* Undo ks_self_exclude_register (a no-op when it failed). */
void ks_self_exclude_unregister(void);

#endif
