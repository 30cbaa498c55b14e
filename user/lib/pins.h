/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the pinned tree: paths, fds, and typed reads of the contract. */
#ifndef KSENSE_PINS_LIB_H
#define KSENSE_PINS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include "ksense.h"

/* The pin root: $KSENSE_PIN_ROOT or KSENSE_PIN_ROOT. */
const char *ks_pin_root(void);
/* root/name into buf; -ENAMETOOLONG when it does not fit. */
int ks_pin_path(char *buf, size_t len, const char *name);
/* bpf_obj_get of root/name; negative errno on failure. */
int ks_pin_open(const char *name);
bool ks_pins_present(void);
/* What a failed pin read (negative errno) means for the user, with the
 * remedy: no tree (run `ksense load`), no permission (root or CAP_BPF),
 * or the error itself. */
const char *ks_pins_error(int err, char *buf, size_t len);
/* Keep the contract's pins open from now on (re-opened by every call, so a
 * daemon calls it on its tick to follow reloads). */
void ks_pin_cache_refresh(void);

/* Typed reads of key 0 (or slot) of a pinned map; 0 or negative errno. */
int ks_read_state(struct ksense_state *out);
int ks_read_config(struct ksense_config *out);
int ks_write_config(const struct ksense_config *in);
/* The latest closed window, never a mix of two (see pins.c); all zero
 * before the first window closes. */
int ks_read_window(struct ksense_window *out);
/* History slot of window `seq`; -ENOENT when that window was overwritten
 * or not written yet. */
int ks_read_history(int fd, __u64 seq, struct ksense_window *out);

/* The totals since load, never a copy torn by the tick's update (retried
 * until seq == seq_end); all zero before the first window. */
int ks_read_totals(struct ksense_totals *out);

/* bpf_map_lookup_elem as 0 or negative errno; close that accepts < 0. */
int ks_map_lookup(int fd, const void *key, void *value);
void ks_close(int fd);
/* Key 0 of a pinned map into out; 0 or negative errno. */
int ks_read_pin(const char *name, void *out);

/* state.kernel_paths as words ("task_throttled,task_group,cfs_bandwidth"),
 * "none" when 0; returns buf. */
const char *ks_kernel_paths_str(__u32 paths, char *buf, size_t len);

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
__u64 ks_now_ns(void);

#endif
