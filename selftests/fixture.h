/* SPDX-License-Identifier: GPL-2.0 */
/* Shared test fixture: the ksense CLI under test, a private pin tree, and
 * reading windows out of it. */
#ifndef KSENSE_FIXTURE_H
#define KSENSE_FIXTURE_H

#include <stddef.h>
#include <stdbool.h>
#include "ksense.h"

/* Window length of the fixture's tree: short, so tests run quickly. */
#define FIXTURE_WINDOW_MS 250

/* Path of the CLI: $KSENSE_BIN or build/ksense. */
const char *fx_bin(void);
/* Run the CLI with args (NULL-terminated), extra_env "K=V" or NULL; stdout
 * and stderr together into out.  Returns the exit status, or -1. */
/* Run a shell command line (printf-style); its stdout into out.  Returns
 * the exit status, or -1. */
int fx_sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Unload /sys/fs/bpf/ksense-selftest-PID trees whose PID is gone (runs
 * that were killed); fx_load does it first. */
void fx_unload_orphans(void);
int fx_run(char *out, size_t outlen, const char *extra_env, ...) __attribute__((sentinel));
/* /tmp/ksense-<tag>-<pid>, made on first use per tag and removed with
 * everything in it when the process exits. */
const char *fx_tmpdir(const char *tag);
/* Point KSENSE_PIN_ROOT at a private tree for this process (idempotent). */
const char *fx_root(void);
/* Load the private tree once per process, unloaded at exit.  0 or -1. */
int fx_load(void);
bool fx_is_root(void);
/* promtool: $KSENSE_PROMTOOL, else the one make test fetches into
 * build/prometheus (tools/fetch-deb); an absolute path. */
const char *fx_promtool(void);
/* Wait for a window with seq > after; 0, or -ETIMEDOUT. */
int fx_wait_window(__u64 after, struct ksense_window *w, int timeout_ms);
/* Wait until `n` windows that start at or after now have closed; sum them.
 * The sum's latency fields keep count/sum/max and the max of each
 * percentile; cpu_busy_permille and PSI fields are averaged. */
int fx_collect(int n, struct ksense_window *sum);
/* The median over the last fx_collect's windows of their run-queue p99:
 * one noisy window cannot move it. */
__u64 fx_last_runq_p99_median(void);

#endif
