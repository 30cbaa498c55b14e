// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "http.h"
#include "log.h"
#include "status_http.h"

#define STATUS_MAX_CONNS   32
#define STATUS_TIMEOUT_MS  5000
#define STATUS_BODY_MAX    (4u << 20)

struct status_conn {
	int fd;                    /* -1: free */
	long long deadline_ms;
	struct ks_http_parser parser;
	struct ks_buf out;
	size_t sent;
	bool answered;
};

struct ks_status {
	int listen_fd, port;
	int wake[2];               /* a byte on wake[1] stops the thread */
	pthread_t th;
	ks_status_metrics_fn metrics;
	ks_status_health_fn health;
	void *ctx;
	struct status_conn conns[STATUS_MAX_CONNS];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_free(struct status_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	ks_http_parser_free(&c->parser);
	ks_buf_free(&c->out);
	c->fd = -1;
}

static void answer(struct ks_status *s, struct status_conn *c, const struct ks_http_request *req, int err)
{
	struct ks_buf body;
	const char *ctype = "application/json", *extra = NULL;
	char head[512];
	int status = 200, n;
	bool get = req && (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));

	ks_buf_init(&body, STATUS_BODY_MAX);
	if (err) {
		const char *reason = "bad request";

		status = ks_http_error_status(err, &reason);
		ks_buf_printf(&body, "{\"error\":\"%s\"}\n", reason);
	} else if (strcmp(req->path, "/metrics") && strcmp(req->path, "/healthz")) {
		status = 404;
		ks_buf_printf(&body, "{\"error\":\"not found: this port serves /healthz and /metrics\"}\n");
	} else if (!get || req->body_len) {
		status = 405;
		extra = "Allow: GET, HEAD\r\n";
		ks_buf_printf(&body, "{\"error\":\"method not allowed\"}\n");
	} else if (!strcmp(req->path, "/metrics")) {
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		s->metrics(s->ctx, &body);
	} else {
		status = s->health(s->ctx, &body);
	}
	if (body.overflow) {
		status = 500;
		ks_buf_reset(&body);
		ks_buf_printf(&body, "{\"error\":\"response too large\"}\n");
	}
	n = ks_http_format_response(head, sizeof(head), status, ctype, NULL, body.len, false, extra);
	if (n > 0)
		ks_buf_append(&c->out, head, (size_t)n);
	if (n > 0 && !(req && !strcmp(req->method, "HEAD")))
		ks_buf_append(&c->out, body.data ? body.data : "", body.len);
	ks_buf_free(&body);
	c->answered = true;
}

static void on_readable(struct ks_status *s, struct status_conn *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
	struct ks_http_request req;
	size_t used;
	int rc;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_free(c);
		return;
	}
	rc = ks_http_feed(&c->parser, buf, (size_t)n, &used, &req);
	if (rc == KS_HTTP_DONE)
		answer(s, c, &req, 0);
	else if (rc < 0)
		answer(s, c, NULL, rc);
}

static void on_writable(struct status_conn *c)
{
	ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_free(c);
		return;
	}
	if (n > 0)
		c->sent += (size_t)n;
	if (c->sent >= c->out.len)
		conn_free(c); /* Connection: close */
}

static void accept_one(struct ks_status *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

	if (fd < 0)
		return;
	for (i = 0; i < STATUS_MAX_CONNS; i++)
		if (s->conns[i].fd < 0) {
			struct status_conn *c = &s->conns[i];

			c->fd = fd;
			c->deadline_ms = mono_ms() + STATUS_TIMEOUT_MS;
			c->sent = 0;
			c->answered = false;
			ks_http_parser_init(&c->parser);
			ks_buf_init(&c->out, STATUS_BODY_MAX + 1024);
			return;
		}
	close(fd); /* full: a probe retries */
}

static void *status_main(void *arg)
{
	struct ks_status *s = arg;

	for (;;) {
		struct pollfd p[STATUS_MAX_CONNS + 2];
		int map[STATUS_MAX_CONNS + 2], n = 0, i;
		long long now = mono_ms();

		p[n] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		map[n++] = -1;
		p[n] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		map[n++] = -2;
		for (i = 0; i < STATUS_MAX_CONNS; i++) {
			struct status_conn *c = &s->conns[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ms) {
				conn_free(c);
				continue;
			}
			p[n] = (struct pollfd){ .fd = c->fd, .events = c->answered ? POLLOUT : POLLIN };
			map[n++] = i;
		}
		if (poll(p, (nfds_t)n, 500) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			accept_one(s);
		for (i = 2; i < n; i++) {
			struct status_conn *c = &s->conns[map[i]];

			if (c->fd < 0 || !p[i].revents)
				continue;
			if (p[i].revents & (POLLERR | POLLNVAL)) {
				conn_free(c);
				continue;
			}
			if (!c->answered)
				on_readable(s, c);
			if (c->fd >= 0 && c->answered)
				on_writable(c);
		}
	}
	return NULL;
}

struct ks_status *ks_status_start(const char *addr, int port, ks_status_metrics_fn metrics,
				  ks_status_health_fn health, void *ctx, char *err, size_t errlen)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	struct ks_status *s = calloc(1, sizeof(*s));
	bool v6 = strchr(addr, ':') != NULL;
	sigset_t all, old;
	int one = 1, i, rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->metrics = metrics;
	s->health = health;
	s->ctx = ctx;
	s->wake[0] = s->wake[1] = -1;
	for (i = 0; i < STATUS_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->listen_fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto sys_fail;
	if ((v6 ? inet_pton(AF_INET6, addr, &sa6.sin6_addr) : inet_pton(AF_INET, addr, &sa.sin_addr)) != 1) {
		snprintf(err, errlen, "status address '%s' is not an IP address", addr);
		goto fail;
	}
	if ((v6 ? bind(s->listen_fd, (struct sockaddr *)&sa6, sizeof(sa6))
		: bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa))) ||
	    listen(s->listen_fd, 64) || getsockname(s->listen_fd, (struct sockaddr *)&got, &len) ||
	    pipe2(s->wake, O_CLOEXEC))
		goto sys_fail;
	s->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
						  : ((struct sockaddr_in *)&got)->sin_port);
	/* the thread takes no signals: the daemon's handlers stay on its
	 * main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->th, NULL, status_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		errno = rc;
		goto sys_fail;
	}
	return s;
sys_fail:
	snprintf(err, errlen, "status port %s:%d: %s", addr, port, strerror(errno));
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	free(s);
	return NULL;
}

int ks_status_open(const char *flag, const char *spec, ks_status_metrics_fn metrics,
		   ks_status_health_fn health, void *ctx, struct ks_status **out, char *err, size_t errlen)
{
	char host[128], why[256];
	const char *colon;
	char *end;
	long port;
	size_t hl;

	*out = NULL;
	if (!spec || !*spec || !strcmp(spec, "none"))
		return 0;
	colon = strrchr(spec, ':');
	if (!colon)
		goto bad;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[') {
		if (hl < 3 || spec[hl - 1] != ']')
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), spec + 1);
	} else if (hl) {
		if (hl >= sizeof(host) || memchr(spec, ':', hl))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)hl, spec);
	} else {
		snprintf(host, sizeof(host), "0.0.0.0");
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 0 || port > 65535)
		goto bad;
	*out = ks_status_start(host, (int)port, metrics, health, ctx, why, sizeof(why));
	if (!*out) {
		snprintf(err, errlen, "%s %s: %s", flag, spec, why);
		return -EADDRNOTAVAIL;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s '%s' is not HOST:PORT, :PORT, [IPV6]:PORT or none", flag, spec);
	return -EINVAL;
}

int ks_status_port(const struct ks_status *s)
{
	return s ? s->port : 0;
}

void ks_status_stop(struct ks_status *s)
{
	int i;

	if (!s)
		return;
	if (write(s->wake[1], "x", 1) != 1)
		ks_warn("status port: cannot wake its thread", "errno=%d", errno);
	pthread_join(s->th, NULL);
	for (i = 0; i < STATUS_MAX_CONNS; i++)
		conn_free(&s->conns[i]);
	close(s->listen_fd);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s);
}
