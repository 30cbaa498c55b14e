// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop.  How it keeps one client from holding the others is
 * summed up in server.h; the numbers are here, each with its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include "log.h"
#include "server.h"
#include "tls.h"
#include "worker.h"

#define READ_CHUNK_BYTES   16384
/* A connection's share of one turn: one request (a handler of tens to a
 * few hundred microseconds on the loop) or one read of input, then the
 * others get theirs: with 300 busy connections a turn still lasts a few
 * milliseconds, and /healthz waits for one turn at most. */
#define TURN_REQUESTS      1
#define TURN_READ_BYTES    READ_CHUNK_BYTES
/* Connections that used their whole share last turn too (pipelining or
 * streaming a body back to back) share this much of a turn; past it they
 * wait for the next, while the others (a probe, a new client) are served
 * at once. */
#define TURN_BUSY_BUDGET_NS 3000000ull
/* Unsent output above this and the connection reads no more requests. */
#define OUT_HIGH_BYTES     (256u << 10)
#define OUT_MAX_BYTES      (4u << 20)
#define RESP_MAX_BYTES     (2u << 20)
/* The last 1/16 of the budget is kept for small answers (a probe's, an
 * error's): bodies and larger responses stop short of it, so /healthz is
 * still answered while they hold the rest. */
#define BUDGET_RESERVE_DIV 16
#define SMALL_RESP_BYTES   4096
/* Buffers kept across requests; bigger ones are freed once drained. */
#define BUF_KEEP_BYTES     (64u << 10)
/* What a connection costs besides its buffers: the struct (the parser's
 * request holds two 2 KiB target buffers) and, for TLS, mbedTLS' two
 * 16 KiB record buffers and its session state. */
#define CONN_BYTES         ((size_t)sizeof(struct conn))
#define TLS_SESSION_BYTES  (40u << 10)
/* File descriptors kept for everything but clients: listeners, epoll,
 * signalfd, eventfd, the pin cache, the CSV logs, the pod-name watch,
 * /proc reads of /pods. */
#define FDS_RESERVED       48
#define LAG_WINDOW_MS      10000
/* A connection that has sent no byte for this long mid-request is
 * stalled, and a full listener may close it for a newcomer: clients send
 * a header section in one go, so a pause inside one is short; a body may
 * wait on the network a little longer. */
#define STALLED_HEAD_MS    100
#define STALLED_BODY_MS    1000
#define FD_LIMIT_LOG_MS    10000
#define ACCEPT_BACKOFF_MIN_MS 10
#define ACCEPT_BACKOFF_MAX_MS 1000

/* CONN_DEAD: closed this turn; freed once the turn's events are handled,
 * since a later event of the same batch may still name it. */
enum conn_kind { CONN_LISTEN, CONN_SIGNAL, CONN_WORKER, CONN_CLIENT, CONN_DEAD };
enum { LI_TLS, LI_AGENT, LI_NR };

struct conn {
	enum conn_kind kind;
	int fd;
	int li;                   /* listener: LI_TLS or LI_AGENT */
	bool handshaking;
	bool hs_wants_write;
	bool closing;             /* close once out is written */
	bool reading_request;     /* bytes of an unfinished request seen */
	bool head_checked;        /* its head was offered to hooks->refuse_early */
	bool served_one;          /* at least one request answered */
	bool on_ready;
	unsigned int armed;       /* epoll events now registered */
	struct ks_tls_conn *t;
	struct ks_http_parser parser;
	struct ks_buf in;         /* received, not yet parsed: left for a later turn */
	struct ks_buf out;
	struct ks_job *job;       /* its heavy request, with the worker */
	size_t held_bytes;        /* counted in S.buffered_bytes */
	unsigned long long deadline_ms;
	unsigned long long write_stall_ms; /* output waiting since; 0 none */
	unsigned long long last_active_ms;
	unsigned long long request_start_ns;
	unsigned long long slice_turn;     /* the turn it last had its slice */
	unsigned long long spared_turn;    /* found talking by evict_idle this turn */
	unsigned long long accept_turn;
	unsigned long long full_turn;      /* the turn it last used its whole share */
	struct conn *prev, *next, *ready_next;
};

struct listener {
	struct conn c;
	int nr, max;
	int port;
};

static struct {
	int epfd;
	struct listener lst[LI_NR];
	struct conn sig, wk;
	struct conn *clients;
	struct conn *ready;       /* connections with input already in userspace */
	struct conn *dead;        /* closed this turn, freed at its end */
	unsigned long long turn;
	unsigned long long turn_busy_ns; /* spent on busy connections this turn */
	struct ks_tls_conf *tls_conf;
	const struct ks_server_opts *o;
	const struct ks_server_hooks *h;
	struct ks_worker worker;
	size_t buffered_bytes, buffered_peak_bytes, budget_bytes;
	unsigned long long rejected[KS_REJECT_NR];
	unsigned long long now_ms;          /* this turn's */
	bool accept_paused;
	unsigned long long accept_resume_ms, accept_backoff_ms;
	unsigned long long fd_limit_logged_ms, fd_limit_unlogged;
	/* loop lag: worst of the current and the previous LAG_WINDOW_MS */
	unsigned long long lag_ms[2], turn_ms[2], lag_window_start_ms;
	bool stop;
} S;

static const char *const reject_names[KS_REJECT_NR] = {
	[KS_REJECT_CAPACITY] = "capacity",
	[KS_REJECT_EVICTED_IDLE] = "evicted_idle",
	[KS_REJECT_FD_LIMIT] = "fd_limit",
	[KS_REJECT_FIRST_BYTE] = "first_byte_timeout",
	[KS_REJECT_REQUEST_TIMEOUT] = "request_timeout",
	[KS_REJECT_WRITE_TIMEOUT] = "write_timeout",
	[KS_REJECT_MEMORY] = "memory",
	[KS_REJECT_BUSY] = "busy",
	[KS_REJECT_HANDSHAKE] = "handshake",
};

const char *ks_reject_reason_name(enum ks_reject_reason r)
{
	return r < KS_REJECT_NR ? reject_names[r] : "unknown";
}

static unsigned long long mono_ms(void)
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
	o->handshake_timeout_ms = 5000;
	o->first_byte_timeout_ms = 5000;
	o->request_timeout_ms = 10000;
	o->idle_timeout_ms = 60000;
	o->write_timeout_ms = 10000;
	o->worker_queue_max = 64;
	o->tick_ms = 250;
	ks_server_opts_for_memory(o, 64u << 20);
}

/*
 * The DaemonSet gives the webhook 64 MiB.  The process itself (code,
 * libraries, the pod-name table, symbol caches) stays well under 16 MiB;
 * of the rest, 3/8 of the limit is the budget for buffered requests and
 * responses and 1/4 pays for TLS sessions (40 KiB each: 409 connections
 * at 64 MiB), which leaves a quarter as headroom.  Agent connections cost
 * only their struct and buffers (inside the budget).
 */
void ks_server_opts_for_memory(struct ks_server_opts *o, size_t memory_limit_bytes)
{
	o->budget_bytes = memory_limit_bytes / 8 * 3;
	o->max_conns_tls = (int)(memory_limit_bytes / 4 / TLS_SESSION_BYTES);
	o->max_conns_agent = 1024;
	o->caps_fit_nofile = true;
}

static size_t resp_max(void)
{
	return S.o->max_response_bytes ? S.o->max_response_bytes : RESP_MAX_BYTES;
}

int ks_server_bound_port(bool tls)
{
	return S.lst[tls ? LI_TLS : LI_AGENT].port;
}

/* The stats as of the end of the loop's last turn, for any thread
 * (/metrics is rendered on the worker). */
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ks_server_stats stats_published;

void ks_server_stats(struct ks_server_stats *s)
{
	pthread_mutex_lock(&stats_mu);
	*s = stats_published;
	pthread_mutex_unlock(&stats_mu);
}

/* On the loop, once a turn: a mutex and a copy of ~150 bytes. */
static void publish_stats(void)
{
	struct ks_server_stats st, *s = &st;

	memset(s, 0, sizeof(*s));
	memcpy(s->rejected, S.rejected, sizeof(s->rejected));
	s->buffered_bytes = S.buffered_bytes;
	s->buffered_peak_bytes = S.buffered_peak_bytes;
	s->budget_bytes = S.budget_bytes;
	s->conns_tls = S.lst[LI_TLS].nr;
	s->conns_agent = S.lst[LI_AGENT].nr;
	s->max_conns_tls = S.lst[LI_TLS].max;
	s->max_conns_agent = S.lst[LI_AGENT].max;
	s->worker_queued = S.worker.started ? ks_worker_queued(&S.worker) : 0;
	s->loop_lag_ms = S.lag_ms[0] > S.lag_ms[1] ? S.lag_ms[0] : S.lag_ms[1];
	s->loop_turn_max_ms = S.turn_ms[0] > S.turn_ms[1] ? S.turn_ms[0] : S.turn_ms[1];
	pthread_mutex_lock(&stats_mu);
	stats_published = st;
	pthread_mutex_unlock(&stats_mu);
}

static void note_lag(unsigned long long lag, unsigned long long turn)
{
	if (S.now_ms - S.lag_window_start_ms >= LAG_WINDOW_MS) {
		S.lag_ms[1] = S.lag_ms[0];
		S.turn_ms[1] = S.turn_ms[0];
		S.lag_ms[0] = S.turn_ms[0] = 0;
		S.lag_window_start_ms = S.now_ms;
	}
	if (lag > S.lag_ms[0])
		S.lag_ms[0] = lag;
	if (turn > S.turn_ms[0])
		S.turn_ms[0] = turn;
}

static int ep_ctl(int op, struct conn *c, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(S.epfd, op, c->fd, &ev))
		return -errno;
	c->armed = events;
	return 0;
}

static int ep_arm(struct conn *c, unsigned int events)
{
	return c->armed == events ? 0 : ep_ctl(EPOLL_CTL_MOD, c, events);
}

static int listen_on(struct listener *l, const char *addr, int port)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	int one = 1, err;
	bool v6 = strchr(addr, ':') != NULL;

	l->c.kind = CONN_LISTEN;
	l->c.fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->c.fd < 0)
		return -errno;
	if (setsockopt(l->c.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return -errno;
	if (v6) {
		sa6.sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &sa6.sin6_addr) != 1)
			return -EINVAL;
		err = bind(l->c.fd, (struct sockaddr *)&sa6, sizeof(sa6));
	} else {
		sa.sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
			return -EINVAL;
		err = bind(l->c.fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (err || listen(l->c.fd, 512))
		return -errno;
	if (getsockname(l->c.fd, (struct sockaddr *)&got, &len))
		return -errno;
	l->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
						  : ((struct sockaddr_in *)&got)->sin_port);
	return ep_ctl(EPOLL_CTL_ADD, &l->c, EPOLLIN);
}

/* Recount what c holds against the budget. */
static void account(struct conn *c)
{
	size_t held = CONN_BYTES + c->in.cap + c->out.cap + ks_http_parser_held_bytes(&c->parser);

	S.buffered_bytes = S.buffered_bytes - c->held_bytes + held;
	c->held_bytes = held;
	if (S.buffered_bytes > S.buffered_peak_bytes)
		S.buffered_peak_bytes = S.buffered_bytes;
}

static void ready_add(struct conn *c)
{
	if (c->on_ready)
		return;
	c->on_ready = true;
	c->ready_next = S.ready;
	S.ready = c;
}

static void ready_del(struct conn *c)
{
	struct conn **pp;

	if (!c->on_ready)
		return;
	for (pp = &S.ready; *pp; pp = &(*pp)->ready_next)
		if (*pp == c) {
			*pp = c->ready_next;
			break;
		}
	c->on_ready = false;
}

static void conn_close(struct conn *c)
{
	if (c->t) {
		if (!c->handshaking)
			ks_tls_close_notify(c->t);
		ks_tls_conn_free(c->t);
	}
	if (c->job)
		c->job->owner = NULL; /* its answer is dropped when it comes back */
	ready_del(c);
	epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	ks_http_parser_free(&c->parser);
	ks_buf_free(&c->in);
	ks_buf_free(&c->out);
	S.buffered_bytes -= c->held_bytes;
	if (c->prev)
		c->prev->next = c->next;
	else
		S.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	S.lst[c->li].nr--;
	c->kind = CONN_DEAD;
	c->next = S.dead;
	S.dead = c;
}

static void free_dead(void)
{
	while (S.dead) {
		struct conn *c = S.dead;

		S.dead = c->next;
		free(c);
	}
}

/* Nothing owed to it: no request with the worker, no input waiting, no
 * output, not closing; and either between requests or stalled in one (a
 * slowloris holds its place no longer than that once the listener is
 * full). */
static bool evictable(const struct conn *c)
{
	unsigned long long quiet_ms = S.now_ms - c->last_active_ms;

	if (c->job || c->out.len || c->in.len || c->closing)
		return false;
	if (!c->reading_request)
		return true;
	return quiet_ms >= (ks_http_receiving_body(&c->parser) ? STALLED_BODY_MS : STALLED_HEAD_MS);
}

/* Close the connection (of listener li, or of any when li < 0) that has
 * been quiet longest and is evictable; false when there is none.  A candidate
 * accepted this turn has had no chance to talk, and one whose bytes wait
 * unread in the kernel is talking, not idle: both are spared. */
static bool evict_idle(int li)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		struct conn *c, *victim = NULL;
		char b;

		for (c = S.clients; c; c = c->next)
			if ((li < 0 || c->li == li) && evictable(c) && c->spared_turn != S.turn &&
			    c->accept_turn != S.turn &&
			    (!victim || c->last_active_ms < victim->last_active_ms))
				victim = c;
		if (!victim)
			return false;
		if (recv(victim->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
			victim->spared_turn = S.turn;
			continue;
		}
		S.rejected[KS_REJECT_EVICTED_IDLE]++;
		conn_close(victim);
		return true;
	}
	return false;
}

static void pause_accepting(int err)
{
	int i;

	S.accept_backoff_ms = S.accept_backoff_ms ? S.accept_backoff_ms * 2 : ACCEPT_BACKOFF_MIN_MS;
	if (S.accept_backoff_ms > ACCEPT_BACKOFF_MAX_MS)
		S.accept_backoff_ms = ACCEPT_BACKOFF_MAX_MS;
	S.accept_resume_ms = S.now_ms + S.accept_backoff_ms;
	S.accept_paused = true;
	for (i = 0; i < LI_NR; i++)
		if (S.lst[i].c.fd >= 0)
			ep_arm(&S.lst[i].c, 0);
	/* one line per FD_LIMIT_LOG_MS, however often it happens */
	if (!S.fd_limit_logged_ms || S.now_ms - S.fd_limit_logged_ms >= FD_LIMIT_LOG_MS) {
		ks_warn("accept: out of file descriptors; accepting paused", "errno=%d backoff_ms=%llu "
			"open_connections=%d suppressed=%llu", err, S.accept_backoff_ms,
			S.lst[LI_TLS].nr + S.lst[LI_AGENT].nr, S.fd_limit_unlogged);
		S.fd_limit_logged_ms = S.now_ms;
		S.fd_limit_unlogged = 0;
	} else {
		S.fd_limit_unlogged++;
	}
}

static void resume_accepting(void)
{
	int i;

	S.accept_paused = false;
	for (i = 0; i < LI_NR; i++)
		if (S.lst[i].c.fd >= 0 && ep_arm(&S.lst[i].c, EPOLLIN))
			ks_warn("cannot re-arm a listener", "errno=%d", errno);
}

static struct conn *conn_new(int li, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->kind = CONN_CLIENT;
	c->fd = fd;
	c->li = li;
	c->last_active_ms = S.now_ms;
	c->accept_turn = S.turn;
	ks_http_parser_init(&c->parser);
	ks_http_parser_set_max_body(&c->parser, S.o->max_body_bytes);
	ks_buf_init(&c->in, TURN_READ_BYTES + READ_CHUNK_BYTES);
	/* room for one whole response however large the server's may be */
	ks_buf_init(&c->out, OUT_MAX_BYTES > resp_max() + 8192 ? OUT_MAX_BYTES : resp_max() + 8192);
	if (li == LI_TLS) {
		c->t = ks_tls_conn_new(S.tls_conf, fd);
		c->handshaking = true;
		c->deadline_ms = S.now_ms + S.o->handshake_timeout_ms;
	} else {
		c->deadline_ms = S.now_ms + S.o->first_byte_timeout_ms;
	}
	c->next = S.clients;
	if (S.clients)
		S.clients->prev = c;
	S.clients = c;
	S.lst[li].nr++;
	account(c);
	if ((li == LI_TLS && !c->t) || ep_ctl(EPOLL_CTL_ADD, c, EPOLLIN)) {
		conn_close(c);
		return NULL;
	}
	return c;
}

static void accept_all(struct listener *l)
{
	int li = l == &S.lst[LI_TLS] ? LI_TLS : LI_AGENT, budget = 64;

	/* a bounded batch: a connect flood shares the turn with the clients */
	while (budget-- > 0) {
		int fd = accept4(l->c.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				S.rejected[KS_REJECT_FD_LIMIT]++;
				/* an idle connection's fd is better spent on a newcomer */
				if (evict_idle(-1))
					continue;
				pause_accepting(errno);
				return;
			}
			ks_warn("accept failed", "errno=%d", errno);
			return;
		}
		S.accept_backoff_ms = 0;
		if (l->nr >= l->max && !evict_idle(li)) {
			/* full of busy connections: shed the newcomer */
			S.rejected[KS_REJECT_CAPACITY]++;
			close(fd);
			continue;
		}
		if (!conn_new(li, fd))
			close(fd);
	}
}

/* Append one response (HEAD: without its body) to c's output. */
static void queue_response(struct conn *c, const struct ks_http_request *req, int status,
			   const char *ctype, const char *body, size_t body_len, bool keep_alive,
			   const char *extra, unsigned long long start_ns)
{
	bool head = !strcmp(req->method, "HEAD");
	char hdr[2048];
	int n;

	n = ks_http_format_response(hdr, sizeof(hdr), status, ctype, NULL, body_len, keep_alive, extra);
	if (n < 0 || ks_buf_append(&c->out, hdr, (size_t)n) ||
	    (!head && body_len && ks_buf_append(&c->out, body, body_len)))
		c->closing = true;
	if (!keep_alive)
		c->closing = true;
	if (S.h->observe)
		S.h->observe(S.h->app, req, status, now_ns() - start_ns);
}

static size_t budget_short_of_reserve(void)
{
	return S.budget_bytes - S.budget_bytes / BUDGET_RESERVE_DIV;
}

/* Large answers and bodies are held back: only small ones may be queued. */
static bool budget_tight(void)
{
	return S.buffered_bytes > budget_short_of_reserve();
}

/* What queuing n more bytes of output adds to c's buffer (buf.c doubles
 * it from 256 bytes): its capacity is what the budget counts. */
static size_t out_growth(const struct conn *c, size_t n)
{
	size_t want = c->out.len + n + 1, cap = c->out.cap ? c->out.cap : 256;

	if (want <= c->out.cap)
		return 0;
	while (cap < want)
		cap *= 2;
	return cap - c->out.cap;
}

/* Read and parse nothing more from c: what it sent since is dropped,
 * what it was sent is written out, then it closes. */
static void stop_reading(struct conn *c)
{
	c->closing = true;
	c->reading_request = false;
	ks_http_parser_free(&c->parser);
	ks_buf_free(&c->in);
}

/* For lack of memory: its requests not yet answered stay so (HTTP lets a
 * client retry what a closed connection left unanswered). */
static void shed(struct conn *c)
{
	S.rejected[KS_REJECT_MEMORY]++;
	stop_reading(c);
}

/* Queue resp, unless it does not fit the budget: then a 503 with
 * Retry-After that closes the connection, or, for a connection that has
 * not taken its earlier answers, none (a client that never reads would
 * otherwise fill the reserve with them). */
static void send_resp(struct conn *c, const struct ks_http_request *req, struct ks_response *resp,
		      unsigned long long start_ns)
{
	bool keep_alive = req->keep_alive;
	size_t n, grow;

	if (resp->body.overflow) {
		ks_response_error(resp, 500, "response too large");
		resp->extra_headers[0] = '\0';
	}
	n = 256 + strlen(resp->extra_headers) + (strcmp(req->method, "HEAD") ? resp->body.len : 0);
	grow = out_growth(c, n);
	if (S.buffered_bytes + grow > (grow <= SMALL_RESP_BYTES ? S.budget_bytes : budget_short_of_reserve())) {
		if (c->out.len) {
			shed(c);
			return;
		}
		S.rejected[KS_REJECT_MEMORY]++;
		ks_response_error(resp, 503, "server busy: response memory budget spent; retry");
		snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Retry-After: 1\r\n");
		keep_alive = false;
	}
	queue_response(c, req, resp->status, resp->content_type, resp->body.data ? resp->body.data : "",
		       resp->body.len, keep_alive, resp->extra_headers[0] ? resp->extra_headers : NULL,
		       start_ns);
}

static const struct ks_http_request no_request = { .method = "-", .path = "-" };

/* An error answer that ends the connection. */
static void reject(struct conn *c, int status, const char *reason, const char *extra)
{
	char body[256];
	int n;

	n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", reason);
	queue_response(c, &no_request, status, "application/json", body, (size_t)n, false, extra,
		       c->request_start_ns);
	/* whatever it was sending is not wanted any more */
	stop_reading(c);
}

static void request_done(struct conn *c)
{
	ks_http_parser_reset(&c->parser);
	c->reading_request = false;
	c->served_one = true;
	c->last_active_ms = S.now_ms;
	c->deadline_ms = S.now_ms + S.o->idle_timeout_ms;
}

static void dispatch(struct conn *c, const struct ks_http_request *req)
{
	bool tls = c->li == LI_TLS;
	struct ks_response resp = { .status = 200, .content_type = "application/json" };
	struct ks_job *j;

	/* its earlier answers wait unread and the budget is tight: this one
	 * would only add to them */
	if (c->out.len && budget_tight()) {
		shed(c);
		return;
	}
	if (S.h->offload && S.h->offload(S.h->app, req, tls)) {
		if (ks_worker_queued(&S.worker) >= S.o->worker_queue_max) {
			S.rejected[KS_REJECT_BUSY]++;
			ks_buf_init(&resp.body, 256);
			ks_response_error(&resp, 503, "busy: too many requests waiting; retry");
			snprintf(resp.extra_headers, sizeof(resp.extra_headers), "Retry-After: 1\r\n");
			send_resp(c, req, &resp, c->request_start_ns);
			ks_buf_free(&resp.body);
			request_done(c);
			return;
		}
		j = calloc(1, sizeof(*j));
		if (!j) {
			reject(c, 500, "out of memory", NULL);
			return;
		}
		j->owner = c;
		j->req = *req;
		j->held_bytes = ks_http_parser_held_bytes(&c->parser) + sizeof(*j);
		j->body = ks_http_parser_take_body(&c->parser);
		j->req.body = j->body ? j->body : "";
		j->tls = tls;
		j->start_ns = c->request_start_ns;
		c->job = j;
		S.buffered_bytes += j->held_bytes;
		ks_worker_submit(&S.worker, j);
		return;
	}
	ks_buf_init(&resp.body, resp_max());
	S.h->handle(S.h->app, req, tls, &resp);
	send_resp(c, req, &resp, c->request_start_ns);
	ks_buf_free(&resp.body);
	request_done(c);
}

static bool can_read(const struct conn *c)
{
	return !c->closing && !c->job && c->out.len < OUT_HIGH_BYTES;
}

/* The body the head promises (Content-Length), or what a chunked one has
 * grown to, must fit the budget short of its reserve: else 503 now,
 * before it is sent. */
static bool over_budget(struct conn *c)
{
	const struct ks_http_request *head = ks_http_receiving_body(&c->parser);
	size_t held, promised;

	if (!head)
		return false;
	held = ks_http_parser_held_bytes(&c->parser);
	promised = head->chunked ? held : head->content_length;
	if (promised < held)
		promised = held;
	return S.buffered_bytes - held + promised > budget_short_of_reserve();
}

/* A head whose body is still to come, for a route that will refuse it
 * anyway (a POST to the read-only agent port, a wrong method): answered
 * now and the connection closed, so no body is read or buffered for it. */
static bool refused_early(struct conn *c)
{
	const struct ks_http_request *head = ks_http_receiving_body(&c->parser);
	struct ks_response resp = { .status = 200, .content_type = "application/json" };
	struct ks_http_request req;

	if (!head || c->head_checked || !S.h->refuse_early)
		return false;
	c->head_checked = true;
	ks_buf_init(&resp.body, 4096);
	if (!S.h->refuse_early(S.h->app, head, c->li == LI_TLS, &resp)) {
		ks_buf_free(&resp.body);
		return false;
	}
	req = *head;
	req.keep_alive = false;
	send_resp(c, &req, &resp, c->request_start_ns);
	ks_buf_free(&resp.body);
	stop_reading(c);
	return true;
}

/* Parse what arrived; serve complete requests while the connection may
 * and its turn lasts.  Returns the bytes used (the rest waits in c->in). */
static size_t feed(struct conn *c, const char *data, size_t len, int *served)
{
	size_t off = 0;

	while (off < len && can_read(c) && *served < TURN_REQUESTS) {
		struct ks_http_request req;
		size_t used = 0;
		int rc;

		if (!c->reading_request) {
			c->reading_request = true;
			c->head_checked = false;
			c->request_start_ns = now_ns();
			c->deadline_ms = S.now_ms + S.o->request_timeout_ms;
		}
		rc = ks_http_feed(&c->parser, data + off, len - off, &used, &req);
		off += used;
		if (rc < 0) {
			const char *reason = "bad request";
			int status = ks_http_error_status(rc, &reason);

			reject(c, status, reason, NULL);
			return len;
		}
		if (rc == KS_HTTP_NEED_MORE) {
			account(c);
			if (refused_early(c))
				return len;
			if (over_budget(c)) {
				S.rejected[KS_REJECT_MEMORY]++;
				reject(c, 503, "server busy: request memory budget spent; retry",
				       "Retry-After: 1\r\n");
				return len;
			}
			if (ks_http_need_continue(&c->parser)) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

				/* the client holds its body back until we say so */
				if (ks_buf_append(&c->out, cont, sizeof(cont) - 1))
					c->closing = true;
			}
		}
		if (rc == KS_HTTP_DONE) {
			(*served)++;
			dispatch(c, &req);
		} else if (!used) {
			break;
		}
	}
	return off;
}

static int flush_out(struct conn *c)
{
	size_t before = c->out.len;

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
			break;
		if (!c->t && n < 0 && errno == EINTR)
			continue;
		return -1;
	}
	if (c->out.len < before || !c->out.len)
		c->write_stall_ms = c->out.len ? S.now_ms : 0;
	else if (!c->write_stall_ms)
		c->write_stall_ms = S.now_ms;
	if (!c->out.len && c->out.cap > BUF_KEEP_BYTES)
		ks_buf_free(&c->out);
	return !c->out.len && c->closing ? -1 : 0;
}

/* What c waits for now. */
static unsigned int wanted(const struct conn *c)
{
	unsigned int ev = 0;

	/* EPOLLIN alone: a peer's EOF is readable too, and a level-triggered
	 * EPOLLRDHUP would fire every turn while it waits for output */
	if (c->handshaking)
		return c->hs_wants_write ? EPOLLOUT : EPOLLIN;
	if (can_read(c))
		ev |= EPOLLIN;
	if (c->out.len)
		ev |= EPOLLOUT;
	return ev;
}

/* After a slice of work: write, re-arm, and remember input left over. */
static void settle(struct conn *c)
{
	if (flush_out(c)) {
		conn_close(c);
		return;
	}
	if (!c->in.len && c->in.cap > BUF_KEEP_BYTES)
		ks_buf_free(&c->in);
	account(c);
	if (can_read(c) && (c->in.len || (c->t && ks_tls_pending(c->t))))
		ready_add(c);
	else
		ready_del(c);
	if (ep_arm(c, wanted(c)))
		conn_close(c);
}

static bool handshake(struct conn *c)
{
	int rc = ks_tls_handshake(c->t);

	/* a handshake step is the client talking: not the quietest */
	c->last_active_ms = S.now_ms;

	if (rc == KS_TLS_WANT_READ || rc == KS_TLS_WANT_WRITE) {
		c->hs_wants_write = rc == KS_TLS_WANT_WRITE;
		return false;
	}
	if (rc) {
		char why[128];

		ks_debug("TLS handshake failed", "err=\"%s\"", ks_tls_strerror(rc, why, sizeof(why)));
		S.rejected[KS_REJECT_HANDSHAKE]++;
		c->closing = true;
		return false;
	}
	c->handshaking = false;
	c->last_active_ms = S.now_ms;
	c->deadline_ms = S.now_ms + S.o->first_byte_timeout_ms;
	return true;
}

/* One turn's work for c: its leftover input first, then the socket. */
static void serve_slice(struct conn *c)
{
	char buf[READ_CHUNK_BYTES];
	size_t read_bytes = 0;
	int served = 0;
	bool busy = c->full_turn && c->full_turn + 1 >= S.turn;
	unsigned long long t0 = 0;

	if (busy) {
		if (S.turn_busy_ns >= TURN_BUSY_BUDGET_NS) {
			ready_add(c); /* next turn, first */
			return;
		}
		t0 = now_ns();
	}
	c->slice_turn = S.turn;
	if (c->handshaking && !handshake(c)) {
		if (c->closing)
			conn_close(c);
		else if (ep_arm(c, wanted(c)))
			conn_close(c);
		return;
	}
	while (can_read(c) && served < TURN_REQUESTS && read_bytes < TURN_READ_BYTES) {
		ssize_t n;

		if (c->in.len) {
			size_t used = feed(c, c->in.data, c->in.len, &served);

			ks_buf_consume(&c->in, used);
			if (c->in.len)
				break; /* paused or out of turn with input left */
			continue;
		}
		if (c->t)
			n = ks_tls_read(c->t, buf, sizeof(buf));
		else
			n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			size_t used;

			read_bytes += (size_t)n;
			c->last_active_ms = S.now_ms;
			used = feed(c, buf, (size_t)n, &served);
			if (used < (size_t)n && !c->closing && ks_buf_append(&c->in, buf + used, (size_t)n - used))
				reject(c, 500, "input buffer", NULL);
			continue;
		}
		if ((!c->t && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ||
		    (c->t && (n == KS_TLS_WANT_READ || n == KS_TLS_WANT_WRITE)))
			break;
		if (!c->t && n < 0 && errno == EINTR)
			continue;
		/* EOF or error: answer what we have (a half-closed peer
		 * still reads), then close */
		c->closing = true;
		break;
	}
	if (served >= TURN_REQUESTS || read_bytes >= TURN_READ_BYTES)
		c->full_turn = S.turn;
	if (busy)
		S.turn_busy_ns += now_ns() - t0;
	settle(c);
}

static void on_client(struct conn *c, unsigned int events)
{
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		conn_close(c);
		return;
	}
	if (c->job || c->slice_turn == S.turn) {
		/* only output to move: its request is with the worker, or it
		 * had its slice this turn already (from the ready list) */
		settle(c);
		return;
	}
	serve_slice(c);
}

static void worker_results(void)
{
	struct ks_job *j = ks_worker_done(&S.worker), *next;

	for (; j; j = next) {
		struct conn *c = j->owner;

		next = j->next;
		S.buffered_bytes -= j->held_bytes;
		if (c) {
			c->job = NULL;
			send_resp(c, &j->req, &j->resp, j->start_ns);
			request_done(c);
			settle(c);
		}
		ks_job_free(j);
	}
}

static void sweep_deadlines(void)
{
	struct conn *c = S.clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->write_stall_ms && S.now_ms - c->write_stall_ms >= (unsigned long long)S.o->write_timeout_ms) {
			S.rejected[KS_REJECT_WRITE_TIMEOUT]++;
			conn_close(c);
			continue;
		}
		if (c->job || c->out.len || S.now_ms < c->deadline_ms)
			continue;
		if (c->handshaking) {
			S.rejected[KS_REJECT_HANDSHAKE]++;
		} else if (c->reading_request && !c->closing) {
			S.rejected[KS_REJECT_REQUEST_TIMEOUT]++;
			reject(c, 408, "request timeout", NULL);
			settle(c);
			continue;
		} else if (!c->served_one) {
			S.rejected[KS_REJECT_FIRST_BYTE]++;
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

/* Caps that fit the file descriptors the process may open: a listener
 * that cannot accept for lack of fds is worse than one that sheds. */
static void fit_caps(const struct ks_server_opts *o)
{
	struct rlimit rl;
	long avail;

	S.lst[LI_TLS].max = o->tls_addr ? o->max_conns_tls : 0;
	S.lst[LI_AGENT].max = o->agent_addr ? o->max_conns_agent : 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	avail = (long)rl.rlim_cur - FDS_RESERVED;
	if (avail < 2)
		avail = 2;
	if (S.lst[LI_TLS].max + S.lst[LI_AGENT].max <= avail)
		return;
	if (!o->caps_fit_nofile) {
		ks_warn("connection caps above the file descriptor limit: past it, accepting pauses",
			"nofile=%llu tls=%d agent=%d", (unsigned long long)rl.rlim_cur, S.lst[LI_TLS].max,
			S.lst[LI_AGENT].max);
		return;
	}
	/* each listener keeps its share, at least one connection */
	if (S.lst[LI_TLS].max && S.lst[LI_AGENT].max) {
		long tls = avail * S.lst[LI_TLS].max / (S.lst[LI_TLS].max + S.lst[LI_AGENT].max);

		S.lst[LI_TLS].max = tls < 1 ? 1 : (int)tls;
		S.lst[LI_AGENT].max = avail - S.lst[LI_TLS].max < 1 ? 1 : (int)(avail - S.lst[LI_TLS].max);
	} else if (S.lst[LI_TLS].max) {
		S.lst[LI_TLS].max = (int)avail;
	} else {
		S.lst[LI_AGENT].max = (int)avail;
	}
	ks_info("connection caps lowered to fit the file descriptor limit", "nofile=%llu tls=%d agent=%d",
		(unsigned long long)rl.rlim_cur, S.lst[LI_TLS].max, S.lst[LI_AGENT].max);
}

static int next_timeout_ms(unsigned long long next_tick)
{
	unsigned long long until = next_tick;

	if (S.ready)
		return 0;
	if (S.accept_paused && S.accept_resume_ms < until)
		until = S.accept_resume_ms;
	return until > S.now_ms ? (int)(until - S.now_ms) : 0;
}

static void run_ready(void)
{
	struct conn *list = S.ready, *c, *next;

	/* a fresh list: what this turn leaves over goes on the next */
	S.ready = NULL;
	for (c = list; c; c = c->ready_next)
		c->on_ready = false;
	for (c = list; c; c = next) {
		next = c->ready_next;
		if (c->kind == CONN_CLIENT)
			serve_slice(c);
	}
}

static int setup(const struct ks_server_opts *o, sigset_t *mask)
{
	char err[512];
	int rc;

	S.sig.kind = CONN_SIGNAL;
	S.sig.fd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (S.sig.fd < 0 || ep_ctl(EPOLL_CTL_ADD, &S.sig, EPOLLIN)) {
		rc = -errno;
		ks_err("cannot set up signals", "errno=%d", errno);
		return rc;
	}
	if (o->tls_addr) {
		S.tls_conf = ks_tls_conf_load(o->cert_path, o->key_path, err, sizeof(err));
		if (!S.tls_conf) {
			ks_err("cannot load the TLS certificate (make one with tools/gen-webhook-certs, "
			       "or serve only the agent port with --no-tls)", "cert=%s key=%s err=\"%s\"",
			       o->cert_path, o->key_path, err);
			return -EINVAL;
		}
		rc = listen_on(&S.lst[LI_TLS], o->tls_addr, o->tls_port);
		if (rc) {
			ks_err("cannot listen (TLS)", "addr=%s port=%d err=\"%s\"", o->tls_addr, o->tls_port,
			       strerror(-rc));
			return rc;
		}
	}
	if (o->agent_addr) {
		rc = listen_on(&S.lst[LI_AGENT], o->agent_addr, o->agent_port);
		if (rc) {
			ks_err("cannot listen (agent)", "addr=%s port=%d err=\"%s\"", o->agent_addr,
			       o->agent_port, strerror(-rc));
			return rc;
		}
	}
	/* the worker inherits the blocked signal mask: the signalfd is the
	 * only way SIGTERM reaches the process */
	rc = ks_worker_start(&S.worker, S.h->handle, S.h->app, resp_max());
	if (rc) {
		ks_err("cannot start the worker thread", "err=\"%s\"", strerror(-rc));
		return rc;
	}
	S.wk.kind = CONN_WORKER;
	S.wk.fd = S.worker.event_fd;
	if (ep_ctl(EPOLL_CTL_ADD, &S.wk, EPOLLIN)) {
		rc = -errno;
		ks_err("cannot watch the worker", "errno=%d", errno);
		return rc;
	}
	return 0;
}

int ks_server_run(const struct ks_server_opts *o, const struct ks_server_hooks *h)
{
	struct epoll_event evs[64];
	unsigned long long next_tick;
	sigset_t mask;
	int rc = 0, i, n;

	memset(&S, 0, sizeof(S));
	S.o = o;
	S.h = h;
	S.budget_bytes = o->budget_bytes;
	S.lst[LI_TLS].c.fd = S.lst[LI_AGENT].c.fd = S.sig.fd = -1;
	S.now_ms = S.lag_window_start_ms = mono_ms();
	/* Large bodies come from mmap and go back to the kernel when freed
	 * (glibc would otherwise raise its threshold after the first free and
	 * keep them on the heap), and the worker shares the main arena: RSS
	 * follows what is buffered now, not the worst moment so far. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 1);
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
	fit_caps(o);
	rc = setup(o, &mask);
	if (rc)
		goto out;
	ks_info("listening", "tls_port=%d agent_port=%d max_conns_tls=%d max_conns_agent=%d budget_bytes=%zu",
		S.lst[LI_TLS].port, S.lst[LI_AGENT].port, S.lst[LI_TLS].max, S.lst[LI_AGENT].max,
		S.budget_bytes);

	next_tick = S.now_ms + o->tick_ms;
	publish_stats();
	while (!S.stop) {
		unsigned long long turn_start;

		n = epoll_wait(S.epfd, evs, 64, next_timeout_ms(next_tick));
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			ks_err("epoll_wait failed", "errno=%d", errno);
			break;
		}
		S.now_ms = turn_start = mono_ms();
		/* a stall shows before this turn answers the probes that
		 * waited through it */
		if (S.now_ms > next_tick) {
			note_lag(S.now_ms - next_tick, 0);
			publish_stats();
		}
		S.turn++;
		S.turn_busy_ns = 0;
		/* the ready list first: it holds last turn's leftovers */
		run_ready();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			switch (c->kind) {
			case CONN_LISTEN:
				accept_all((struct listener *)c);
				break;
			case CONN_SIGNAL:
				on_signal();
				break;
			case CONN_WORKER:
				worker_results();
				break;
			case CONN_CLIENT:
				on_client(c, evs[i].events);
				break;
			case CONN_DEAD:
				break; /* closed earlier in this batch */
			}
		}
		S.now_ms = mono_ms();
		if (S.accept_paused && S.now_ms >= S.accept_resume_ms)
			resume_accepting();
		if (S.now_ms >= next_tick) {
			note_lag(S.now_ms - next_tick, S.now_ms - turn_start);
			next_tick = S.now_ms + o->tick_ms;
			sweep_deadlines();
			if (h->tick)
				h->tick(h->app);
		} else {
			note_lag(0, S.now_ms - turn_start);
		}
		free_dead();
		publish_stats();
	}
	ks_info("stopping", "open_connections=%d", S.lst[LI_TLS].nr + S.lst[LI_AGENT].nr);
out:
	ks_worker_stop(&S.worker);
	while (S.clients)
		conn_close(S.clients);
	free_dead();
	for (i = 0; i < LI_NR; i++)
		if (S.lst[i].c.fd >= 0)
			close(S.lst[i].c.fd);
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
