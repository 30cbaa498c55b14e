/* SPDX-License-Identifier: GPL-2.0 */
/* ksense-webhook's state and request handlers. */
#ifndef KSENSE_WEBHOOK_APP_H
#define KSENSE_WEBHOOK_APP_H

#include <stdbool.h>
#include "csvlog.h"
#include "server.h"

struct ks_pods;
struct ks_podmeta;

#define KS_MAX_NAMESPACES 64
#define KS_LAT_BUCKETS 12

/* The webhook's routes (handlers.c holds the table: method, listeners,
 * thread, handler and metric name of each). */
enum ks_route { R_HEALTHZ, R_LIVEZ, R_SCORE, R_VALIDATE, R_METRICS, R_PODS, R_OTHER, R_NR };

struct ks_app {
	char node_name[254];
	char data_dir[512];
	char namespaces[KS_MAX_NAMESPACES][64];
	int nr_namespaces;            /* 0: every namespace */
	/* TEST ONLY (--test-score-file): /score answers from this file, so
	 * several agents on loopback can play nodes with chosen scores */
	char test_score_file[512];
	char pods_exclude[KS_MAX_NAMESPACES][64]; /* left out of /pods */
	int nr_pods_exclude;
	struct ks_pods *pods;         /* /pods state, made on first use (the worker's) */
	struct ks_pods *pods_metrics; /* the same for /metrics (the worker's too) */
	struct ks_podmeta *meta;      /* pod names from the API, NULL without */
	struct ks_csvlog csv;
	/* /healthz and /livez answer 503 when the loop lags more than this */
	unsigned int max_loop_lag_ms;
	/* the daemon's own metrics: counted on the loop's thread, read by
	 * /metrics on the worker's */
	_Atomic unsigned long long requests[R_NR][6];  /* by status class 1xx..5xx, [0] other */
	_Atomic unsigned long long latency_bucket[R_NR][KS_LAT_BUCKETS + 1];
	_Atomic unsigned long long latency_sum_ns[R_NR];
	/* written by the worker thread (/validate), read by /metrics */
	_Atomic unsigned long long admissions_recorded, admissions_denied_warned, admissions_dry_run;
};

/* true: the request is answered on the worker thread (server.h). */
bool ks_app_offload(void *app, const struct ks_http_request *req, bool tls);

/* true with r filled: a request the head already refuses (404, 405). */
bool ks_app_refuse_early(void *app, const struct ks_http_request *head, bool tls, struct ks_response *r);
void ks_app_handle(void *app, const struct ks_http_request *req, bool tls, struct ks_response *resp);
void ks_app_tick(void *app);
void ks_app_observe(void *app, const struct ks_http_request *req, int status,
		    unsigned long long latency_ns);

#endif
