/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The webhook's event loop: one thread, epoll, non-blocking sockets, a TLS
 * listener and a plain-HTTP agent listener, HTTP/1.1 keep-alive and
 * pipelining, and signals through a signalfd (SIGTERM/SIGINT stop, SIGHUP
 * reloads the certificate).  Heavy requests go to one worker thread
 * (worker.h).
 *
 * No client can hold the others: each turn a connection gets at most
 * TURN_REQUESTS requests and TURN_READ_BYTES bytes of input, and waits for
 * the next turn with the rest; it reads nothing while its output is over a
 * high-water mark or while its heavy request is with the worker; every
 * byte buffered for any client (input, bodies, output) counts against one
 * budget, beyond which bodies and responses get 503 with Retry-After (a
 * reserve at its end for small answers) and connections that do not read
 * their answers are served no more; each listener has its own connection
 * cap, and a full listener closes its longest-idle
 * connection for a newcomer; deadlines close connections that send
 * nothing, never finish a request, sit idle, or stop reading; when the
 * process runs out of file descriptors accepting pauses with a backoff.
 */
#ifndef KSENSE_WEBHOOK_SERVER_H
#define KSENSE_WEBHOOK_SERVER_H

#include <stdbool.h>
#include "buf.h"
#include "http.h"

struct ks_response {
	int status;
	const char *content_type;     /* static string */
	struct ks_buf body;
	char extra_headers[512];      /* "K: V\r\n"... */
};

/* Replace r with a JSON error body {"error": msg} and that status. */
void ks_response_error(struct ks_response *r, int status, const char *msg);

/* Why the server closed or refused a connection (the counter
 * ksense_webhook_rejected_connections_total{reason}). */
enum ks_reject_reason {
	KS_REJECT_CAPACITY,        /* the listener's connection cap, nobody idle to evict */
	KS_REJECT_EVICTED_IDLE,    /* an idle connection closed to let a newcomer in */
	KS_REJECT_FD_LIMIT,        /* accept failed: EMFILE/ENFILE */
	KS_REJECT_FIRST_BYTE,      /* sent nothing within first_byte_timeout_ms */
	KS_REJECT_REQUEST_TIMEOUT, /* 408: a request not finished in time */
	KS_REJECT_WRITE_TIMEOUT,   /* stopped reading its responses */
	KS_REJECT_MEMORY,          /* 503 or shed: the buffer budget was spent */
	KS_REJECT_BUSY,            /* 503: the worker's queue was full */
	KS_REJECT_HANDSHAKE,       /* TLS handshake failed or timed out */
	KS_REJECT_NR
};

const char *ks_reject_reason_name(enum ks_reject_reason r);

struct ks_server_stats {
	unsigned long long rejected[KS_REJECT_NR];
	size_t buffered_bytes;        /* input, bodies and output held now */
	size_t buffered_peak_bytes;
	size_t budget_bytes;
	int conns_tls, conns_agent;
	int max_conns_tls, max_conns_agent;
	int worker_queued;
	unsigned long long loop_lag_ms;     /* worst tick lateness of the last 10 s */
	unsigned long long loop_turn_max_ms; /* longest turn of the last 10 s */
};

struct ks_server_hooks {
	void *app;
	/* Answer one request; `tls` says which listener it came from.  Runs
	 * on the loop, or on the worker thread when `offload` said so: then
	 * it must touch only what is safe from another thread. */
	void (*handle)(void *app, const struct ks_http_request *req, bool tls,
		       struct ks_response *resp);
	/* Offered a request's head once its body is still to come: true
	 * with resp filled answers it now (on the loop) and closes the
	 * connection without reading the body; false reads the body. */
	bool (*refuse_early)(void *app, const struct ks_http_request *head, bool tls,
			     struct ks_response *resp);
	/* true: answer this request on the worker thread (it is heavy). */
	bool (*offload)(void *app, const struct ks_http_request *req, bool tls);
	/* Called about every tick_ms (CSV writers poll the pins here). */
	void (*tick)(void *app);
	/* Called after each response with its status and latency. */
	void (*observe)(void *app, const struct ks_http_request *req, int status,
			unsigned long long latency_ns);
};

struct ks_server_opts {
	const char *tls_addr;         /* NULL: no TLS listener */
	int tls_port;
	const char *agent_addr;       /* NULL: no agent listener */
	int agent_port;
	const char *cert_path, *key_path;
	int max_conns_tls;            /* per listener */
	int max_conns_agent;
	bool caps_fit_nofile;         /* lower both caps to fit RLIMIT_NOFILE */
	size_t budget_bytes;          /* every buffered input, body and output */
	int handshake_timeout_ms;     /* TLS handshake */
	int first_byte_timeout_ms;    /* a new connection's first request byte */
	int request_timeout_ms;       /* first byte to whole request */
	int idle_timeout_ms;          /* keep-alive with nothing pending */
	int write_timeout_ms;         /* output pending with no byte taken */
	int worker_queue_max;         /* heavy requests waiting; more get a 503 */
	int tick_ms;
	size_t max_body_bytes;        /* 0: KS_HTTP_MAX_BODY_BYTES */
	size_t max_response_bytes;    /* 0: 2 MiB */
};

/* Defaults for a memory limit of memory_limit_bytes (the container's):
 * the buffer budget and the TLS connection cap follow it (server.c). */
void ks_server_opts_defaults(struct ks_server_opts *o);
void ks_server_opts_for_memory(struct ks_server_opts *o, size_t memory_limit_bytes);
/* Runs until SIGTERM/SIGINT (returns 0) or a setup error (negative errno,
 * message logged). */
int ks_server_run(const struct ks_server_opts *o, const struct ks_server_hooks *h);
/* Ports the listeners actually bound (after port 0), for tests. */
int ks_server_bound_port(bool tls);
/* The server's counters and gauges as of the loop's last turn (from any
 * thread). */
void ks_server_stats(struct ks_server_stats *s);

#endif
