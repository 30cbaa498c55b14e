// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "agent_client.h"
#include "http.h"

#define DEFAULT_MAX_BYTES (64u << 10)
#define IO_CHUNK_BYTES    16384u
#define MANY_MAX          4096

enum { G_CONNECTING = 1, G_SENDING, G_RECEIVING, G_DONE };

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void finish(struct ks_agent_get *g, int rc)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	if (g->reader) {
		ks_http_parser_free(g->reader);
		free(g->reader);
		g->reader = NULL;
	}
	g->rc = rc;
	g->state = G_DONE;
}

static void fail(struct ks_agent_get *g, int rc, const char *fmt, const char *what)
{
	snprintf(g->err, sizeof(g->err), fmt, g->host, g->port, what);
	finish(g, rc);
}

/* Numeric addresses only: agents are found by pod IP, and a resolver
 * call would block the loop every other agent is waiting in. */
static void start(struct ks_agent_get *g)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int n;

	g->fd = -1;
	g->rc = -EINPROGRESS;
	g->status = 0;
	g->body = NULL;
	g->reader = NULL;
	g->body_len = g->sent = 0;
	g->err[0] = '\0';
	if (!g->max_bytes)
		g->max_bytes = DEFAULT_MAX_BYTES;
	if (!g->host || !g->path || g->port <= 0 || g->port > 65535) {
		snprintf(g->err, sizeof(g->err), "no address for the agent");
		finish(g, -EINVAL);
		return;
	}
	if (inet_pton(AF_INET, g->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)g->port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, g->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)g->port);
		sl = sizeof(*s6);
	} else {
		fail(g, -EHOSTUNREACH, "%s:%d: %s", "not an IP address");
		return;
	}
	n = snprintf(g->req, sizeof(g->req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ksense\r\nAccept: application/json\r\n"
		     "Connection: close\r\n\r\n", g->path, g->host);
	if (n < 0 || (size_t)n >= sizeof(g->req)) {
		fail(g, -ENAMETOOLONG, "%s:%d: %s", "request path too long");
		return;
	}
	g->req_len = (size_t)n;
	g->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->fd < 0) {
		fail(g, -errno, "%s:%d: socket: %s", strerror(errno));
		return;
	}
	if (connect(g->fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		fail(g, -errno, "connect %s:%d: %s", strerror(errno));
		return;
	}
	g->state = G_CONNECTING;
}

/* A whole response is in: keep its body, NUL-terminated. */
static int take(struct ks_agent_get *g, const struct ks_http_request *m)
{
	g->status = m->status;
	g->body = malloc(m->body_len + 1);
	if (!g->body)
		return -ENOMEM;
	memcpy(g->body, m->body, m->body_len);
	g->body[m->body_len] = '\0';
	g->body_len = m->body_len;
	return 1;
}

/* Bytes (or, with len 0, the end of the connection) through the reader:
 * 0 for more, 1 with the response kept, or a negative errno with err. */
static int on_bytes(struct ks_agent_get *g, const char *data, size_t len)
{
	struct ks_http_request m;
	const char *reason;
	size_t used, off = 0;
	int rc;

	for (;;) {
		rc = len ? ks_http_feed(g->reader, data + off, len - off, &used, &m)
			 : ks_http_feed_eof(g->reader, &m);
		off += len ? used : 0;
		if (rc == KS_HTTP_NEED_MORE)
			return 0;
		if (rc == KS_HTTP_DONE && m.status >= 200)
			return take(g, &m);
		if (rc == KS_HTTP_DONE) {
			/* an interim 1xx (never at EOF: it has no body to end): the
			 * final response follows */
			ks_http_parser_reset(g->reader);
			if (off == len)
				return 0;
			continue;
		}
		ks_http_error_status(rc, &reason);
		snprintf(g->err, sizeof(g->err), "%s:%d: %s", g->host, g->port,
			 rc == KS_HTTP_E_BODY_TOO_LARGE ? "response too large" : reason);
		return rc == KS_HTTP_E_BODY_TOO_LARGE ? -E2BIG :
		       rc == KS_HTTP_E_TRUNCATED ? -EPIPE :
		       rc == KS_HTTP_E_NOMEM ? -ENOMEM : -EPROTO;
	}
}

static void on_ready(struct ks_agent_get *g, short revents)
{
	char buf[IO_CHUNK_BYTES];
	int soerr = 0, rc;
	socklen_t sl = sizeof(soerr);
	ssize_t n;

	if (g->state == G_CONNECTING) {
		if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			fail(g, -(soerr ?: errno), "connect %s:%d: %s", strerror(soerr ?: errno));
			return;
		}
		g->state = G_SENDING;
	}
	if (g->state == G_SENDING) {
		n = send(g->fd, g->req + g->sent, g->req_len - g->sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			fail(g, -errno, "%s:%d: send: %s", strerror(errno));
			return;
		}
		g->sent += (size_t)n;
		if (g->sent == g->req_len)
			g->state = G_RECEIVING;
		return;
	}
	if (g->state != G_RECEIVING || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (!g->reader) {
		g->reader = malloc(sizeof(*g->reader));
		if (!g->reader) {
			fail(g, -ENOMEM, "%s:%d: %s", "out of memory");
			return;
		}
		ks_http_parser_init(g->reader);
		ks_http_parser_expect_response(g->reader, false);
		ks_http_parser_set_max_body(g->reader, g->max_bytes);
	}
	n = recv(g->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		fail(g, -errno, "%s:%d: recv: %s", strerror(errno));
		return;
	}
	rc = on_bytes(g, buf, (size_t)n);
	if (rc == 0)
		return;
	if (rc < 0) {
		finish(g, rc);
		return;
	}
	finish(g, 0);
}

int ks_agent_get_many(struct ks_agent_get *g, int n, int timeout_ms)
{
	long long deadline = ms_now() + (timeout_ms > 0 ? timeout_ms : 1);
	struct pollfd *pfd;
	int *idx, i, np, ok = 0;

	if (n <= 0)
		return 0;
	if (n > MANY_MAX)
		n = MANY_MAX;
	pfd = calloc((size_t)n, sizeof(*pfd));
	idx = calloc((size_t)n, sizeof(*idx));
	for (i = 0; i < n; i++)
		start(&g[i]);
	if (!pfd || !idx) {
		for (i = 0; i < n; i++)
			if (g[i].state != G_DONE) {
				snprintf(g[i].err, sizeof(g[i].err), "out of memory");
				finish(&g[i], -ENOMEM);
			}
		goto out;
	}
	for (;;) {
		long long left = deadline - ms_now();

		for (i = np = 0; i < n; i++) {
			if (g[i].state == G_DONE)
				continue;
			pfd[np].fd = g[i].fd;
			pfd[np].events = g[i].state == G_RECEIVING ? POLLIN : POLLOUT;
			pfd[np].revents = 0;
			idx[np++] = i;
		}
		if (!np)
			break;
		if (left <= 0) {
			for (i = 0; i < np; i++) {
				struct ks_agent_get *t = &g[idx[i]];
				char what[64];

				snprintf(what, sizeof(what), "%sno answer within %d ms",
					 t->state == G_CONNECTING ? "connect: " : "", timeout_ms);
				fail(t, -ETIMEDOUT, "%s:%d: %s", what);
			}
			break;
		}
		if (poll(pfd, (nfds_t)np, (int)(left > INT_MAX ? INT_MAX : left)) < 0 && errno != EINTR) {
			for (i = 0; i < np; i++)
				fail(&g[idx[i]], -errno, "%s:%d: poll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < np; i++)
			if (pfd[i].revents)
				on_ready(&g[idx[i]], pfd[i].revents);
	}
out:
	for (i = 0; i < n; i++)
		ok += g[i].rc == 0;
	free(pfd);
	free(idx);
	return ok;
}

void ks_agent_get_free(struct ks_agent_get *g)
{
	free(g->body);
	g->body = NULL;
	g->body_len = 0;
}

int ks_agent_score_parse(const char *body, size_t len, struct ks_agent_score *out, char *err,
			 size_t errlen)
{
	struct ks_json j;
	char num[32];
	int rc, i;

	memset(out, 0, sizeof(*out));
	rc = ks_json_parse(&j, body, len, err, errlen);
	if (rc)
		return rc;
	rc = -EINVAL;
	i = ks_json_path(&j, "score");
	if (!ks_json_is_number(&j, i) || j.tok[i].end - j.tok[i].start >= (int)sizeof(num)) {
		snprintf(err, errlen, "/score without a numeric score");
		goto out;
	}
	snprintf(num, sizeof(num), "%.*s", j.tok[i].end - j.tok[i].start, body + j.tok[i].start);
	out->score = (unsigned int)strtoul(num, NULL, 10);
	if (num[0] == '-' || out->score > 100) {
		snprintf(err, errlen, "/score score %s out of 0..100", num);
		goto out;
	}
	if (ks_json_string(&j, ks_json_path(&j, "decision"), out->decision, sizeof(out->decision)) ||
	    (strcmp(out->decision, "allow") && strcmp(out->decision, "deny"))) {
		snprintf(err, errlen, "/score decision is not allow or deny");
		goto out;
	}
	out->deny = !strcmp(out->decision, "deny");
	ks_json_string(&j, ks_json_path(&j, "band"), out->band, sizeof(out->band));
	i = ks_json_path(&j, "seq");
	if (ks_json_is_number(&j, i))
		out->seq = strtoull(body + j.tok[i].start, NULL, 10);
	i = ks_json_path(&j, "window_age_ms");
	if (ks_json_is_number(&j, i))
		out->window_age_ms = strtoull(body + j.tok[i].start, NULL, 10);
	rc = 0;
out:
	ks_json_free(&j);
	return rc;
}

int ks_agent_score_from(const struct ks_agent_get *g, struct ks_agent_score *out, char *err,
			size_t errlen)
{
	size_t k;

	if (g->rc) {
		snprintf(err, errlen, "%s", g->err);
		return g->rc;
	}
	if (g->status != 200) {
		/* the body's first line, printable, for the node's reason */
		for (k = 0; k < g->body_len && k < 100 && g->body[k] >= ' ' && g->body[k] < 127; k++)
			;
		snprintf(err, errlen, "%s:%d %s answered %d: %.*s", g->host, g->port, g->path, g->status,
			 (int)k, g->body);
		return -EIO;
	}
	return ks_agent_score_parse(g->body, g->body_len, out, err, errlen);
}

int ks_agent_score_get(const char *host, int port, int timeout_ms, struct ks_agent_score *out,
		       char *err, size_t errlen)
{
	struct ks_agent_get g = { .host = host, .port = port, .path = "/score" };
	int rc;

	memset(out, 0, sizeof(*out));
	ks_agent_get_many(&g, 1, timeout_ms);
	rc = ks_agent_score_from(&g, out, err, errlen);
	ks_agent_get_free(&g);
	return rc;
}

static int str_at(const struct ks_json *j, int root, const char *path, char *out, size_t outlen)
{
	out[0] = '\0';
	return ks_json_string(j, ks_json_path_at(j, root, path), out, outlen);
}

int ks_agent_from_pod(const struct ks_json *j, int root, int default_port, struct ks_agent_ep *ep,
		      char *err, size_t errlen)
{
	char phase[32], port[16];
	int ann, i;
	char *end;
	long v;

	memset(ep, 0, sizeof(*ep));
	ep->port = default_port;
	str_at(j, root, "metadata.name", ep->pod, sizeof(ep->pod));
	str_at(j, root, "spec.nodeName", ep->node, sizeof(ep->node));
	str_at(j, root, "status.podIP", ep->host, sizeof(ep->host));
	str_at(j, root, "status.phase", phase, sizeof(phase));
	ann = ks_json_path_at(j, root, "metadata.annotations");
	i = ann >= 0 ? ks_json_member(j, ann, KS_AGENT_PORT_ANNOTATION) : -1;
	if (i >= 0) {
		if (ks_json_string(j, i, port, sizeof(port))) {
			snprintf(err, errlen, "pod %s: annotation %s is not a string", ep->pod,
				 KS_AGENT_PORT_ANNOTATION);
			return -EINVAL;
		}
		errno = 0;
		v = strtol(port, &end, 10);
		if (!port[0] || *end || errno || v < 1 || v > 65535) {
			snprintf(err, errlen, "pod %s: annotation %s=\"%s\" is not a port 1..65535", ep->pod,
				 KS_AGENT_PORT_ANNOTATION, port);
			return -EINVAL;
		}
		ep->port = (int)v;
	}
	i = ks_json_path_at(j, root, "metadata.deletionTimestamp");
	if (i >= 0 && !ks_json_is_null(j, i)) {
		snprintf(err, errlen, "pod %s is terminating", ep->pod);
		return -ENOENT;
	}
	if (!ep->node[0] || !ep->host[0] || strcmp(phase, "Running")) {
		snprintf(err, errlen, "pod %s not serving (node \"%s\", phase \"%s\", ip \"%s\")", ep->pod,
			 ep->node, phase, ep->host);
		return -ENOENT;
	}
	return 0;
}
