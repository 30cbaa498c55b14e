/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small plain-HTTP status port for the control-plane daemons (ksense-
 * scheduler, ksense-scaler): GET/HEAD /healthz and /metrics, answered on a
 * thread of its own, so a daemon blocked on the API server still answers
 * its probes and a slow scraper never holds the daemon.
 *
 * One request per connection (Connection: close), requests parsed with
 * http.c, no bodies, at most STATUS_MAX_CONNS connections, each closed
 * after STATUS_TIMEOUT_MS: a port for probes and scrapers, not for the
 * world.  The callbacks run on the status thread: they read only what is
 * safe from another thread (atomics, or state under the daemon's lock).
 */
#ifndef KSENSE_STATUS_HTTP_H
#define KSENSE_STATUS_HTTP_H

#include <stddef.h>
#include "buf.h"

struct ks_status;

/* The /metrics body (Prometheus text 0.0.4). */
typedef void (*ks_status_metrics_fn)(void *ctx, struct ks_buf *out);
/* The /healthz body (JSON); returns the status, 200 or 503. */
typedef int (*ks_status_health_fn)(void *ctx, struct ks_buf *out);

/* Listen on addr:port (port 0: any) and serve from a thread; NULL with a
 * message in err. */
struct ks_status *ks_status_start(const char *addr, int port, ks_status_metrics_fn metrics,
				  ks_status_health_fn health, void *ctx, char *err, size_t errlen);
/* The same from a flag's value: "HOST:PORT", "[V6]:PORT" or ":PORT" (all
 * addresses), port 0 for any free one; "none" (or "") opens nothing (*out
 * NULL).  0, or -EINVAL / -errno with a message naming the flag. */
int ks_status_open(const char *flag, const char *spec, ks_status_metrics_fn metrics,
		   ks_status_health_fn health, void *ctx, struct ks_status **out, char *err, size_t errlen);
int ks_status_port(const struct ks_status *s);
/* Stops the thread and closes every connection. */
void ks_status_stop(struct ks_status *s);

#endif
