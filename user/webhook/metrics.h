/* SPDX-License-Identifier: GPL-2.0 */
/* GET /metrics: the Prometheus exposition of the node and of the daemon. */
#ifndef KSENSE_WEBHOOK_METRICS_H
#define KSENSE_WEBHOOK_METRICS_H

#include "app.h"

/* Upper bounds of the daemon's request-latency histogram, in s. */
extern const double ks_lat_bounds_s[KS_LAT_BUCKETS];

void ks_metrics_render(struct ks_app *a, struct ks_response *r);
/* A route's label value ("healthz", "validate", ...; "other"). */
const char *ks_route_metric_name(enum ks_route r);

#endif
