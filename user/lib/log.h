/* SPDX-License-Identifier: GPL-2.0 */
/* logfmt logging on stderr: ts=… level=… msg="…" key=value … */
#ifndef KSENSE_LOG_H
#define KSENSE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum ks_log_level { KS_LOG_DEBUG, KS_LOG_INFO, KS_LOG_WARN, KS_LOG_ERROR };

void ks_log_init(const char *prog, bool verbose);
bool ks_log_verbose(void);
/* kv is a printf format for the key=value tail, may be NULL. */
void ks_log(enum ks_log_level lvl, const char *msg, const char *kv, ...)
	__attribute__((format(printf, 3, 4)));

#define ks_debug(msg, ...) ks_log(KS_LOG_DEBUG, msg, __VA_ARGS__)
#define ks_info(msg, ...)  ks_log(KS_LOG_INFO, msg, __VA_ARGS__)
#define ks_warn(msg, ...)  ks_log(KS_LOG_WARN, msg, __VA_ARGS__)
#define ks_err(msg, ...)   ks_log(KS_LOG_ERROR, msg, __VA_ARGS__)

/* Route libbpf's messages through ks_log; keeps the last lines of each
 * libbpf message burst (the verifier log's tail) for ks_libbpf_tail(). */
void ks_log_libbpf(void);
/* The last `n` lines libbpf printed at warning level or below, joined by
 * newlines, or "" when none. */
const char *ks_libbpf_tail(void);

#endif
