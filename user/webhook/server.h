/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The webhook's event loop: one thread, epoll, non-blocking sockets, a TLS
 * listener and a plain-HTTP agent listener, HTTP/1.1 keep-alive and
 * pipelining, per-connection deadlines against slow clients, and signals
 * through a signalfd (SIGTERM/SIGINT stop, SIGHUP reloads the certificate).
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

struct ks_server_hooks {
	void *app;
	/* Answer one request; `tls` says which listener it came from. */
	void (*handle)(void *app, const struct ks_http_request *req, bool tls,
		       struct ks_response *resp);
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
	int max_conns;
	int handshake_timeout_ms;     /* TLS handshake */
	int request_timeout_ms;       /* first byte to whole request */
	int idle_timeout_ms;          /* keep-alive with nothing pending */
	int tick_ms;
	size_t max_body_bytes;        /* 0: KS_HTTP_MAX_BODY_BYTES */
	size_t max_response_bytes;    /* 0: 2 MiB */
};

void ks_server_opts_defaults(struct ks_server_opts *o);
/* Runs until SIGTERM/SIGINT (returns 0) or a setup error (negative errno,
 * message logged).  *ready, if set, is written with 1 once listening. */
int ks_server_run(const struct ks_server_opts *o, const struct ks_server_hooks *h);
/* Ports the listeners actually bound (after port 0), for tests. */
int ks_server_bound_port(bool tls);

#endif
