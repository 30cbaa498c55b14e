/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loopback helpers shared by the daemon tests and tools/webhook_attacks.c:
 * plain TCP requests with a deadline, a ksense-webhook spawned on
 * ephemeral ports (optionally under an RLIMIT_NOFILE) and waited for until
 * healthy, and a process's CPU time and memory from /proc.
 */
#ifndef KSENSE_LOOPBACK_H
#define KSENSE_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

long long lb_mono_ms(void);
/* A blocking TCP connection to 127.0.0.1:port, or -1. */
int lb_connect(int port);
/* One request on a fresh connection; the answer read until the peer
 * closes or timeout_ms passes, NUL-terminated in buf; its length or -1. */
ssize_t lb_request(int port, const char *req, char *buf, size_t len, int timeout_ms);
/* GET path with Connection: close; true on a 200. */
bool lb_get_ok(int port, const char *path, char *buf, size_t len, int timeout_ms);

/* The value of one sample line of a Prometheus exposition ("name" or
 * "name{labels}", exactly as printed), or -1 when there is none. */
double lb_metric(const char *exposition, const char *series);
/* The number after "key=" on the last log line holding it, waited for up
 * to 5 s (a daemon's "status_port=N"); -1 when none came. */
int lb_log_number(const char *log, const char *key);

struct lb_webhook {
	pid_t pid;
	int tls_port, agent_port;
};

/* Spawn argv (a ksense-webhook command line asking for ports 0; under
 * prlimit when nofile > 0) with stdout and stderr to log, read the ports
 * from its "listening" line (0: that listener is off) and wait until
 * /healthz on the agent port says 200 (a window closed).  0, or -1 (the process may still run:
 * lb_webhook_stop it). */
int lb_webhook_start(struct lb_webhook *w, const char *log, int nofile, char *const argv[]);
void lb_webhook_stop(struct lb_webhook *w);

/* A 1 MiB AdmissionReview of nested brackets 100 deep (under the JSON
 * parser's 128), over and over: the costliest body to check and parse.
 * malloc'd; its length in *len. */
char *lb_deep_review(size_t *len);

/* utime + stime in ms, or -1. */
long long lb_proc_cpu_ms(pid_t pid);
/* A "Field:  N kB" line of /proc/PID/status (VmRSS, VmHWM), or -1. */
long lb_proc_status_kb(pid_t pid, const char *field);

#endif
