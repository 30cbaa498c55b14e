/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Talks to the nodes' ksense agents (ksense-webhook's plain-HTTP port,
 * 5000): finds them through the API (the ksense-node DaemonSet's pods) and
 * asks many of them at once, in one poll loop, under one hard time limit,
 * so a slow, wrong or dead node is skipped, never waited on.
 */
#ifndef KSENSE_AGENT_CLIENT_H
#define KSENSE_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include "json.h"

struct ks_http_parser;

#define KS_AGENT_PORT          5000
#define KS_AGENT_NAMESPACE     "ksense-system"
#define KS_AGENT_SELECTOR      "app.kubernetes.io/name=ksense-node"
/* An agent pod's annotation that overrides the port (several agents on one
 * address, as in tests or with hostNetwork and a moved port). */
#define KS_AGENT_PORT_ANNOTATION "ksense.io/agent-port"

struct ks_agent_score {
	unsigned int score;        /* 0..100 */
	bool deny;
	char band[16];
	char decision[16];
	unsigned long long seq;
	unsigned long long window_age_ms;
};

/* One GET.  Fill host, port, path, max_bytes (0: 64 KiB); the results come
 * back in rc (0 when a whole response arrived, whatever its status),
 * status, body (malloc'ed, NUL-terminated, free with ks_agent_get_free) and
 * err (why rc != 0). */
struct ks_agent_get {
	const char *host;
	int port;
	const char *path;
	size_t max_bytes;
	int rc;
	int status;
	char *body;
	size_t body_len;
	char err[192];
	/* private */
	int fd;
	int state;
	struct ks_http_parser *reader;  /* the shared HTTP/1.1 reader (http.h) */
	size_t sent, req_len;
	char req[320];
};

/* Runs every request concurrently until all finished or timeout_ms passed
 * (those still running get rc -ETIMEDOUT).  Returns how many got rc 0. */
int ks_agent_get_many(struct ks_agent_get *g, int n, int timeout_ms);
void ks_agent_get_free(struct ks_agent_get *g);

/* 0, or negative errno with the reason in err (connect refused, timeout
 * after N ms, HTTP 503 with its message, malformed JSON, ...). */
int ks_agent_score_get(const char *host, int port, int timeout_ms, struct ks_agent_score *out,
		       char *err, size_t errlen);
/* /score of a finished ks_agent_get: its transport error, a non-200
 * status with the body's first bytes, or ks_agent_score_parse. */
int ks_agent_score_from(const struct ks_agent_get *g, struct ks_agent_score *out, char *err,
			size_t errlen);
/* Parse a /score response body (exposed for tests and fuzzing). */
int ks_agent_score_parse(const char *body, size_t len, struct ks_agent_score *out, char *err,
			 size_t errlen);

/* Where a node's agent listens, from one of the DaemonSet's pods. */
struct ks_agent_ep {
	char node[254];
	char pod[254];
	char host[64];   /* status.podIP */
	int port;        /* KS_AGENT_PORT_ANNOTATION, else default_port */
};

/* The agent endpoint of the pod at token root of j: 0; -ENOENT when the
 * pod cannot serve (not Running, terminating, not bound, no IP); -EINVAL
 * with the field named in err when it is malformed (a bad port annotation). */
int ks_agent_from_pod(const struct ks_json *j, int root, int default_port, struct ks_agent_ep *ep,
		      char *err, size_t errlen);

#endif
