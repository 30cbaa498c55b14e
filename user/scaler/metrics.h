/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksense-scaler's /metrics and /healthz on its status port
 * (user/lib/status_http.c).  The main loop counts decisions as it makes
 * them and, after each poll, writes the whole exposition into a buffer the
 * status thread serves as it is: a scrape never touches the scaler's state.
 */
#ifndef KSENSE_SCALER_METRICS_H
#define KSENSE_SCALER_METRICS_H

#include <stdbool.h>
#include "buf.h"

struct ks_scaler;
struct ks_deploy;
struct ks_scaler_metrics;

struct ks_scaler_metrics *ks_scaler_metrics_new(void);
void ks_scaler_metrics_free(struct ks_scaler_metrics *m);
/* A decision about d, named by its Event reason (ScaledUp, ScaleUpRefused,
 * HPAConflict, ...): counted by namespace, Deployment, class and action. */
void ks_scaler_metrics_decision(struct ks_scaler_metrics *m, const struct ks_deploy *d, const char *reason);
/* The main loop turned (leading or not), and a poll's outcome when it ran
 * one (polled false: no poll this turn). */
void ks_scaler_metrics_turn(struct ks_scaler_metrics *m, struct ks_scaler *s, bool leading, bool polled,
			    bool poll_ok, double interval_s);
/* status_http callbacks (the status thread). */
void ks_scaler_metrics_render(void *m, struct ks_buf *out);
int ks_scaler_metrics_health(void *m, struct ks_buf *out);

#endif
