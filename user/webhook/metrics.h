/* SPDX-License-Identifier: GPL-2.0 */
/* GET /metrics: the Prometheus exposition of the node and of the daemon. */
#ifndef KSENSE_WEBHOOK_METRICS_H
#define KSENSE_WEBHOOK_METRICS_H

#include "app.h"

/* Upper bounds of the daemon's request-latency histogram, in s. */
extern const double ks_lat_bounds_s[KS_LAT_BUCKETS];

/* route_names: each route's label value ("healthz", "validate", ...,
 * "other"), from the route table (handlers.c), which calls this. */
void ks_metrics_render(struct ks_app *a, const char *const route_names[R_NR], struct ks_response *r);

#endif
