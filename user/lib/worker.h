/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One thread for the requests too heavy for the event loop: an
 * AdmissionReview of up to 1 MiB takes tens to hundreds of milliseconds to
 * check and parse (a hostile one built of tokens or brackets the most), and
 * /pods reads /proc/PID/maps and ELF symbols.  Run on the loop, either
 * would hold every other client for that long; here they wait in one FIFO
 * while the loop keeps answering /healthz and /score.
 *
 * A connection has at most one job at a time (it reads nothing more until
 * the answer is back), so the FIFO serves connections in turn: one client
 * pipelining heavy requests waits behind everybody else's.
 */
#ifndef KSENSE_WEBHOOK_WORKER_H
#define KSENSE_WEBHOOK_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include "server.h"

struct ks_job {
	struct ks_job *next;
	/* The loop's connection, NULL once it went away; only the loop
	 * reads or writes it. */
	void *owner;
	struct ks_http_request req;  /* req.body points into body */
	char *body;                  /* owned by the job (free()) */
	size_t held_bytes;           /* counted against the server's budget */
	bool tls;
	unsigned long long start_ns; /* the request's first byte */
	struct ks_response resp;     /* filled by the worker */
};

typedef void (*ks_job_fn)(void *app, const struct ks_http_request *req, bool tls,
			  struct ks_response *resp);

struct ks_worker {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct ks_job *todo, **todo_tail;
	struct ks_job *done, **done_tail;
	int nr_todo;
	int event_fd;                /* readable while results wait */
	bool stop, started;
	pthread_t th;
	ks_job_fn fn;
	void *app;
	size_t resp_max_bytes;
};

/* Start the thread; 0 or negative errno.  The caller blocks the signals
 * it reads through a signalfd before, so the thread inherits the mask. */
int ks_worker_start(struct ks_worker *w, ks_job_fn fn, void *app, size_t resp_max_bytes);
/* Joins the thread and frees every job still queued or done. */
void ks_worker_stop(struct ks_worker *w);
/* Queue a job (the worker owns it until it comes back from ks_worker_done). */
void ks_worker_submit(struct ks_worker *w, struct ks_job *j);
/* Jobs queued and not yet started. */
int ks_worker_queued(struct ks_worker *w);
/* Every finished job, oldest first, as a list (the caller frees each with
 * ks_job_free); clears the eventfd. */
struct ks_job *ks_worker_done(struct ks_worker *w);
void ks_job_free(struct ks_job *j);

#endif
