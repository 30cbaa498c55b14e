/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /pods tests' fixture: ksense-webhook ($KSENSE_WEBHOOK_BIN or
 * build/ksense-webhook) started --no-tls on a free loopback agent port, no
 * kube config unless given, its GET /pods asked with curl and parsed.
 */
#ifndef KSENSE_PODS_FIXTURE_H
#define KSENSE_PODS_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>
#include "json.h"

/* The last body pods_get read (also scratch for fx_sh in the tests). */
extern char pods_out[1 << 20];

const char *pods_webhook_bin(void);
/* A loopback port free a moment ago, or -1. */
int pods_free_port(void);
/* A scratch directory for this process, removed at exit. */
const char *pods_test_dir(void);
/* ksense-webhook --no-tls on agent `port` (node "node-pods"), extra args
 * (NULL-ended) and env ("K=V", NULL-ended); stdout and stderr to log. */
pid_t pods_start_webhook(int port, const char *log, const char *const *env, const char *const *args);
/* SIGTERM, then SIGKILL after 5 s; the wait status, or -1. */
int pods_stop(pid_t pid);
/* pods_stop, and require exit 0 and a log free of sanitizer reports. */
void pods_stop_checked(pid_t pid, const char *log);
/* METHOD /pods into pods_out (body only); the HTTP status, or -1. */
int pods_get(int port, const char *method);
bool pods_wait_listening(int port);
/* The element of "pods" whose uid is `uid`, or -1. */
int pods_find(const struct ks_json *j, const char *uid);
bool pods_str_is(const struct ks_json *j, int i, const char *want);
/* Root, a cgroup2 mount and the fixture's pin tree: true; otherwise the
 * test is skipped (saying why) or failed. */
bool pods_root_ready(void);
/* Poll /pods until done(j) holds or timeout; 0 when it did (j holds it). */
int pods_poll(int port, int timeout_ms, bool (*done)(const struct ks_json *j), struct ks_json *j);

#endif
