// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include "log.h"
#include "server.h"
#include "tls.h"

#define READ_CHUNK_BYTES   16384
#define OUT_MAX_BYTES      (4u << 20)   /* queued responses per connection */
#define RESP_MAX_BYTES     (2u << 20)

enum conn_kind { CONN_LISTEN_TLS, CONN_LISTEN_AGENT, CONN_SIGNAL, CONN_CLIENT };

struct conn {
	enum conn_kind kind;
	int fd;
	bool tls;                 /* client of the TLS listener */
	bool handshaking;
	bool closing;             /* close once out is written */
	bool reading_request;     /* bytes of an unfinished request seen */
	struct ks_tls_conn *t;
	struct ks_http_parser parser;
	struct ks_buf out;
	unsigned long long deadline_ms;
	unsigned long long request_start_ns;
	struct conn *prev, *next;
};

static struct {
	int epfd;
	struct conn listen_tls, listen_agent, sig;
	struct conn *clients;
	int nr_clients;
	struct ks_tls_conf *tls_conf;
	const struct ks_server_opts *o;
	const struct ks_server_hooks *h;
	int bound_tls_port, bound_agent_port;
	bool stop;
} S;

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void ks_server_opts_defaults(struct ks_server_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tls_addr = "0.0.0.0";
	o->tls_port = 8443;
	o->agent_addr = "0.0.0.0";
	o->agent_port = 5000;
	o->max_conns = 1024;
	o->handshake_timeout_ms = 5000;
	o->request_timeout_ms = 10000;
	o->idle_timeout_ms = 60000;
	o->tick_ms = 250;
}

static size_t resp_max(void)
{
	return S.o->max_response_bytes ? S.o->max_response_bytes : RESP_MAX_BYTES;
}

int ks_server_bound_port(bool tls)
{
	return tls ? S.bound_tls_port : S.bound_agent_port;
}

static int ep_ctl(int op, struct conn *c, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(S.epfd, op, c->fd, &ev) ? -errno : 0;
}

static int listen_on(struct conn *c, enum conn_kind kind, const char *addr, int port, int *bound)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	int one = 1, err;
	bool v6 = strchr(addr, ':') != NULL;

	c->kind = kind;
	c->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6) {
		sa6.sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &sa6.sin6_addr) != 1)
			return -EINVAL;
		err = bind(c->fd, (struct sockaddr *)&sa6, sizeof(sa6));
	} else {
		sa.sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
			return -EINVAL;
		err = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (err || listen(c->fd, 512))
		return -errno;
	if (!getsockname(c->fd, (struct sockaddr *)&got, &len))
		*bound = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
							 : ((struct sockaddr_in *)&got)->sin_port);
	return ep_ctl(EPOLL_CTL_ADD, c, EPOLLIN);
}

static void conn_close(struct conn *c)
{
	if (c->t) {
		if (!c->handshaking)
			ks_tls_close_notify(c->t);
		ks_tls_conn_free(c->t);
	}
	epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	ks_http_parser_free(&c->parser);
	ks_buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		S.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	S.nr_clients--;
	free(c);
}

static void accept_all(struct conn *l)
{
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				ks_warn("accept failed", "errno=%d", errno);
			return;
		}
		if (S.nr_clients >= S.o->max_conns) {
			/* at capacity: shed the newcomer rather than an open one */
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->kind = CONN_CLIENT;
		c->fd = fd;
		c->tls = l->kind == CONN_LISTEN_TLS;
		ks_http_parser_init(&c->parser);
		ks_http_parser_set_max_body(&c->parser, S.o->max_body_bytes);
		ks_buf_init(&c->out, OUT_MAX_BYTES > resp_max() + 8192 ? OUT_MAX_BYTES : resp_max() + 8192);
		if (c->tls) {
			c->t = ks_tls_conn_new(S.tls_conf, fd);
			c->handshaking = true;
			c->deadline_ms = now_ms() + S.o->handshake_timeout_ms;
		} else {
			c->deadline_ms = now_ms() + S.o->idle_timeout_ms;
		}
		c->next = S.clients;
		if (S.clients)
			S.clients->prev = c;
		S.clients = c;
		S.nr_clients++;
		if ((c->tls && !c->t) || ep_ctl(EPOLL_CTL_ADD, c, EPOLLIN | EPOLLRDHUP)) {
			conn_close(c);
			continue;
		}
	}
}

static void queue_response(struct conn *c, const struct ks_http_request *req, int status,
			   const char *ctype, const char *body, size_t body_len, bool keep_alive,
			   const char *extra)
{
	size_t need = body_len + 1024 + (extra ? strlen(extra) : 0);
	char *tmp = malloc(need);
	int n;

	if (!tmp) {
		c->closing = true;
		return;
	}
	n = ks_http_format_response(tmp, need, status, ctype, body, body_len, keep_alive, extra);
	if (n < 0 || ks_buf_append(&c->out, tmp, (size_t)n))
		c->closing = true;
	free(tmp);
	if (!keep_alive)
		c->closing = true;
	if (S.h->observe)
		S.h->observe(S.h->app, req, status, now_ns() - c->request_start_ns);
}

static void serve(struct conn *c, const struct ks_http_request *req)
{
	struct ks_response resp = { .status = 200, .content_type = "application/json" };

	ks_buf_init(&resp.body, resp_max());
	S.h->handle(S.h->app, req, c->tls, &resp);
	if (resp.body.overflow) {
		ks_buf_reset(&resp.body);
		ks_buf_printf(&resp.body, "{\"error\":\"response too large\"}");
		resp.status = 500;
		resp.extra_headers[0] = '\0';
	}
	queue_response(c, req, resp.status, resp.content_type, resp.body.data ? resp.body.data : "",
		       resp.body.len, req->keep_alive, resp.extra_headers[0] ? resp.extra_headers : NULL);
	ks_buf_free(&resp.body);
}

static void reject(struct conn *c, int err)
{
	static const struct ks_http_request none = { .method = "-", .path = "-" };
	const char *reason = "bad request";
	int status = ks_http_error_status(err, &reason);
	char body[256];
	int n;

	n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", reason);
	queue_response(c, &none, status, "application/json", body, (size_t)n, false, NULL);
	c->closing = true;
}

/* Feed bytes to the parser; answer every complete request (pipelining). */
static void consume(struct conn *c, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len && !c->closing) {
		struct ks_http_request req;
		size_t used = 0;
		int rc;

		if (!c->reading_request) {
			c->reading_request = true;
			c->request_start_ns = now_ns();
			c->deadline_ms = now_ms() + S.o->request_timeout_ms;
		}
		rc = ks_http_feed(&c->parser, data + off, len - off, &used, &req);
		off += used;
		if (rc < 0) {
			reject(c, rc);
			return;
		}
		if (rc == KS_HTTP_NEED_MORE && ks_http_need_continue(&c->parser)) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			/* the client holds its body back until we say so */
			if (ks_buf_append(&c->out, cont, sizeof(cont) - 1))
				c->closing = true;
		}
		if (rc == KS_HTTP_DONE) {
			serve(c, &req);
			ks_http_parser_reset(&c->parser);
			c->reading_request = false;
			c->deadline_ms = now_ms() + S.o->idle_timeout_ms;
		} else if (!used) {
			break;
		}
	}
}

static int flush_out(struct conn *c)
{
	while (c->out.len) {
		ssize_t n;

		if (c->t)
			n = ks_tls_write(c->t, c->out.data, c->out.len);
		else
			n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
		if (n > 0) {
			ks_buf_consume(&c->out, (size_t)n);
			continue;
		}
		if ((!c->t && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ||
		    (c->t && (n == KS_TLS_WANT_WRITE || n == KS_TLS_WANT_READ)))
			return ep_ctl(EPOLL_CTL_MOD, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP) ? -1 : 0;
		if (!c->t && n < 0 && errno == EINTR)
			continue;
		return -1;
	}
	if (c->closing)
		return -1;
	return ep_ctl(EPOLL_CTL_MOD, c, EPOLLIN | EPOLLRDHUP) ? -1 : 0;
}

static void on_client(struct conn *c, unsigned int events)
{
	char buf[READ_CHUNK_BYTES];

	if (c->handshaking) {
		int rc = ks_tls_handshake(c->t);

		if (rc == KS_TLS_WANT_READ || rc == KS_TLS_WANT_WRITE) {
			ep_ctl(EPOLL_CTL_MOD, c, (rc == KS_TLS_WANT_READ ? EPOLLIN : EPOLLOUT) | EPOLLRDHUP);
			return;
		}
		if (rc) {
			char why[128];

			ks_debug("TLS handshake failed", "err=\"%s\"", ks_tls_strerror(rc, why, sizeof(why)));
			conn_close(c);
			return;
		}
		c->handshaking = false;
		c->deadline_ms = now_ms() + S.o->idle_timeout_ms;
	}
	/* Stop reading while responses pile up: a client that pipelines
	 * without reading gets back-pressure, not unbounded memory. */
	while (!c->closing && c->out.len < OUT_MAX_BYTES / 2 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP) || c->t)) {
		ssize_t n;

		if (c->t)
			n = ks_tls_read(c->t, buf, sizeof(buf));
		else
			n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			consume(c, buf, (size_t)n);
			continue;
		}
		if ((!c->t && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ||
		    (c->t && (n == KS_TLS_WANT_READ || n == KS_TLS_WANT_WRITE)))
			break;
		if (!c->t && n < 0 && errno == EINTR)
			continue;
		/* EOF or error: answer what we have, then close */
		c->closing = true;
		break;
	}
	if (flush_out(c))
		conn_close(c);
}

static void sweep_deadlines(void)
{
	unsigned long long now = now_ms();
	struct conn *c = S.clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (now < c->deadline_ms)
			continue;
		if (c->reading_request && !c->handshaking && !c->closing) {
			static const char body[] = "{\"error\":\"request timeout\"}";
			static const struct ks_http_request none = { .method = "-", .path = "-" };

			queue_response(c, &none, 408, "application/json", body, sizeof(body) - 1, false, NULL);
			if (!flush_out(c))
				continue;
		}
		conn_close(c);
	}
}

static void reload_tls(void)
{
	char err[512];
	struct ks_tls_conf *n = ks_tls_conf_load(S.o->cert_path, S.o->key_path, err, sizeof(err));

	if (!n) {
		ks_err("SIGHUP: keeping the old certificate", "err=\"%s\"", err);
		return;
	}
	ks_tls_conf_put(S.tls_conf); /* open connections hold their own reference */
	S.tls_conf = n;
	ks_info("SIGHUP: certificate reloaded", "cert=%s", S.o->cert_path);
}

static void on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(S.sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP && S.tls_conf)
			reload_tls();
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			S.stop = true;
	}
}

int ks_server_run(const struct ks_server_opts *o, const struct ks_server_hooks *h)
{
	struct epoll_event evs[64];
	unsigned long long next_tick = 0;
	sigset_t mask;
	char err[512];
	int rc = 0, i, n;

	memset(&S, 0, sizeof(S));
	S.o = o;
	S.h = h;
	S.listen_tls.fd = S.listen_agent.fd = S.sig.fd = -1;
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (S.epfd < 0)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, NULL)) {
		rc = -errno;
		goto out;
	}
	S.sig.kind = CONN_SIGNAL;
	S.sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (S.sig.fd < 0 || ep_ctl(EPOLL_CTL_ADD, &S.sig, EPOLLIN)) {
		rc = -errno;
		ks_err("cannot set up signals", "errno=%d", errno);
		goto out;
	}
	if (o->tls_addr) {
		S.tls_conf = ks_tls_conf_load(o->cert_path, o->key_path, err, sizeof(err));
		if (!S.tls_conf) {
			ks_err("cannot load TLS certificate", "err=\"%s\"", err);
			rc = -EINVAL;
			goto out;
		}
		rc = listen_on(&S.listen_tls, CONN_LISTEN_TLS, o->tls_addr, o->tls_port, &S.bound_tls_port);
		if (rc) {
			ks_err("cannot listen (TLS)", "addr=%s port=%d err=\"%s\"", o->tls_addr, o->tls_port,
			       strerror(-rc));
			goto out;
		}
	}
	if (o->agent_addr) {
		rc = listen_on(&S.listen_agent, CONN_LISTEN_AGENT, o->agent_addr, o->agent_port,
			       &S.bound_agent_port);
		if (rc) {
			ks_err("cannot listen (agent)", "addr=%s port=%d err=\"%s\"", o->agent_addr,
			       o->agent_port, strerror(-rc));
			goto out;
		}
	}
	ks_info("listening", "tls_port=%d agent_port=%d", S.bound_tls_port, S.bound_agent_port);

	while (!S.stop) {
		n = epoll_wait(S.epfd, evs, 64, o->tick_ms);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			ks_err("epoll_wait failed", "errno=%d", errno);
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			switch (c->kind) {
			case CONN_LISTEN_TLS:
			case CONN_LISTEN_AGENT:
				accept_all(c);
				break;
			case CONN_SIGNAL:
				on_signal();
				break;
			case CONN_CLIENT:
				on_client(c, evs[i].events);
				break;
			}
		}
		if (now_ms() >= next_tick) {
			next_tick = now_ms() + o->tick_ms;
			sweep_deadlines();
			if (h->tick)
				h->tick(h->app);
		}
	}
	ks_info("stopping", "open_connections=%d", S.nr_clients);
out:
	while (S.clients)
		conn_close(S.clients);
	if (S.listen_tls.fd >= 0)
		close(S.listen_tls.fd);
	if (S.listen_agent.fd >= 0)
		close(S.listen_agent.fd);
	if (S.sig.fd >= 0)
		close(S.sig.fd);
	ks_tls_conf_put(S.tls_conf);
	close(S.epfd);
	return rc;
}

void ks_response_error(struct ks_response *r, int status, const char *msg)
{
	r->status = status;
	r->content_type = "application/json";
	ks_buf_reset(&r->body);
	ks_buf_printf(&r->body, "{\"error\":");
	ks_buf_json_str(&r->body, msg);
	ks_buf_printf(&r->body, "}\n");
}
