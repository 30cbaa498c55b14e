// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-webhook against the clients a cluster meets: one that pipelines
 * heavy requests, one that never reads, a flood that exhausts file
 * descriptors, idle connections filling a listener, bodies stalled
 * halfway; and the admission contract as the API server reads it.  Each
 * attack runs while /healthz is polled on both listeners; the bounds are
 * stated beside each check and are generous (a loaded 2-CPU machine), the
 * failures they guard against are orders of magnitude away (seconds of
 * stall, a whole CPU, hundreds of MiB).
 */
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
#include <sys/wait.h>
#include "test_progs.h"
#include "fakeapi.h"
#include "fixture.h"
#include "webhook/admission.h"
#include "loopback.h"
#include "tlsc.h"

static char out[1 << 16];
static char dir[128];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

struct wh {
	pid_t pid;
	int tls_port, agent_port;
	char log[256];
};

/* Start the webhook on ephemeral ports with extra flags (NULL-ended);
 * nofile > 0 runs it under that RLIMIT_NOFILE.  0 or -1. */
static int wh_start(struct wh *w, const char *tag, int nofile, const char *const *extra)
{
	const char *bin = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
	char *argv[48], cert[200], key[200];
	struct lb_webhook lb;
	int argc = 0, i, rc;

	memset(w, 0, sizeof(*w));
	snprintf(w->log, sizeof(w->log), "%s/%s.log", dir, tag);
	snprintf(cert, sizeof(cert), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	argv[argc++] = (char *)bin;
	argv[argc++] = "--tls-addr=127.0.0.1";
	argv[argc++] = "--tls-port=0";
	argv[argc++] = "--agent-addr=127.0.0.1";
	argv[argc++] = "--agent-port=0";
	argv[argc++] = "--cert";
	argv[argc++] = cert;
	argv[argc++] = "--key";
	argv[argc++] = key;
	argv[argc++] = "--data-dir";
	argv[argc++] = dir;
	argv[argc++] = "--namespaces=default";
	argv[argc++] = "--node=node-hostile";
	for (i = 0; extra && extra[i] && argc < 46; i++)
		argv[argc++] = (char *)extra[i];
	argv[argc] = NULL;
	/* attacks start on a healthy daemon (a window closed) */
	rc = lb_webhook_start(&lb, w->log, nofile, argv);
	w->pid = lb.pid;
	w->tls_port = lb.tls_port;
	w->agent_port = lb.agent_port;
	if (!rc)
		return 0;
	ASSERT_TRUE(false, "webhook started");
	sh("tail -n 20 %s", w->log);
	printf("  webhook %s did not start; log:\n%s\n", tag, out);
	return -1;
}

static void wh_stop(struct wh *w)
{
	struct lb_webhook lb = { .pid = w->pid };

	lb_webhook_stop(&lb);
	w->pid = 0;
}

/* A metric's value from the agent port's /metrics, or -1. */
static double metric(const struct wh *w, const char *series)
{
	static char m[1 << 17];

	if (lb_request(w->agent_port, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", m,
		       sizeof(m), 3000) <= 0)
		return -1;
	return lb_metric(m, series);
}

/*
 * /healthz polled every 50 ms on both listeners while an attack runs: on
 * the agent port a fresh plain connection each time (as the kubelet's
 * probe does), on the TLS port one keep-alive connection (the handshake
 * is not what is measured), or with fresh_tls a new connection and
 * handshake each time (what a listener that refuses newcomers fails).
 * A poll that gets no 200 within its 3 s timeout counts as its full time.
 */
struct poller {
	const struct wh *w;
	bool fresh_tls;
	volatile bool stop;
	pthread_t th;
	int polls[2];
	long long worst_ms[2];
	int failed[2];
	char first_failure[2][256];
};

static void note_poll(struct poller *p, int k, long long dt, bool ok, const char *answer)
{
	p->polls[k]++;
	if (dt > p->worst_ms[k])
		p->worst_ms[k] = dt;
	if (ok)
		return;
	if (!p->failed[k]++)
		snprintf(p->first_failure[k], sizeof(p->first_failure[k]), "%.200s", answer);
}

static void *poll_main(void *arg)
{
	struct poller *p = arg;
	struct tlsc *t = NULL;
	char buf[2048];

	while (!p->stop) {
		long long t0 = lb_mono_ms(), dt;
		bool ok;

		lb_request(p->w->agent_port, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf,
			      sizeof(buf), 3000);
		dt = lb_mono_ms() - t0;
		note_poll(p, 0, dt, strstr(buf, "HTTP/1.1 200") != NULL, buf);

		t0 = lb_mono_ms();
		if (!t)
			t = tlsc_connect(p->w->tls_port, 3000);
		ok = false;
		buf[0] = '\0';
		if (t && !tlsc_write(t, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", 34)) {
			ssize_t n = tlsc_read(t, buf, sizeof(buf) - 1, 3000);

			if (n > 0) {
				buf[n] = '\0';
				ok = strstr(buf, "HTTP/1.1 200") != NULL;
			}
		}
		if ((!ok || p->fresh_tls) && t) {
			tlsc_close(t);
			t = NULL;
		}
		dt = lb_mono_ms() - t0;
		note_poll(p, 1, dt, ok, t || buf[0] ? buf : "no TLS connection");
		usleep(50 * 1000);
	}
	tlsc_close(t);
	return NULL;
}

static void poller_start(struct poller *p, const struct wh *w, bool fresh_tls)
{
	memset(p, 0, sizeof(*p));
	p->w = w;
	p->fresh_tls = fresh_tls;
	pthread_create(&p->th, NULL, poll_main, p);
}

static void poller_stop(struct poller *p, const char *what)
{
	p->stop = true;
	pthread_join(p->th, NULL);
	printf("    %s: /healthz agent %d polls, worst %lld ms, %d failed; tls %d polls, worst %lld ms, %d failed\n",
	       what, p->polls[0], p->worst_ms[0], p->failed[0], p->polls[1], p->worst_ms[1], p->failed[1]);
	for (int k = 0; k < 2; k++)
		if (p->failed[k])
			printf("    first failed %s poll: %s\n", k ? "TLS" : "agent", p->first_failure[k]);
}

struct flood {
	int port, n;
	int answered;
	pthread_t th;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	size_t blen, hlen;
	char *body = lb_deep_review(&blen), hdr[256], *resp = malloc(1 << 16);
	struct tlsc *t = tlsc_connect(f->port, 3000);
	long long end = lb_mono_ms() + 20000;
	int i;

	if (!body || !resp || !t)
		goto out;
	hlen = (size_t)snprintf(hdr, sizeof(hdr), "POST /validate HTTP/1.1\r\nHost: t\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", blen);
	/* all pipelined, nothing read until the end */
	for (i = 0; i < f->n && lb_mono_ms() < end; i++)
		if (tlsc_write(t, hdr, hlen) || tlsc_write(t, body, blen))
			break;
	while (f->answered < f->n && lb_mono_ms() < end) {
		ssize_t n = tlsc_read(t, resp, (1 << 16) - 1, 5000);
		char *p;

		if (n <= 0)
			break;
		resp[n] = '\0';
		for (p = strstr(resp, "HTTP/1.1 "); p; p = strstr(p + 1, "HTTP/1.1 "))
			f->answered++;
	}
out:
	tlsc_close(t);
	free(body);
	free(resp);
	return NULL;
}

static bool make_cert(void)
{
	return sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		  "-keyout %s/tls.key -out %s/tls.crt -days 1 -subj /CN=hostile "
		  "-addext subjectAltName=IP:127.0.0.1 2>&1", dir, dir) == 0;
}

static void dump_log_on_failure(const struct wh *w)
{
	if (!test__failed())
		return;
	sh("tail -n 30 %s", w->log);
	printf("  log %s:\n%s\n", w->log, out);
}

static void pipelined_flood(void)
{
	struct poller p;
	struct flood f = { .n = 40 };
	struct wh w;

	if (wh_start(&w, "flood", 0, NULL))
		goto out;
	f.port = w.tls_port;
	poller_start(&p, &w, false);
	pthread_create(&f.th, NULL, flood_main, &f);
	pthread_join(f.th, NULL);
	poller_stop(&p, "40 pipelined 1 MiB deep bodies on one connection");
	printf("    flood answered: %d of %d\n", f.answered, f.n);
	ASSERT_GE(f.answered, 1, "the flood itself is answered");
	ASSERT_GE(p.polls[0], 5, "polled during the flood");
	/* a poll waits for at most a few of the loop's turns, never for the
	 * flood (before: 10 s for 150 bodies) */
	ASSERT_LE(p.worst_ms[0], 500, "agent /healthz within 500 ms throughout");
	ASSERT_LE(p.worst_ms[1], 500, "TLS /healthz within 500 ms throughout");
	ASSERT_EQ(p.failed[0] + p.failed[1], 0, "every poll 200");
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

static void never_reading(void)
{
	static const char *const args[] = { "--write-timeout-ms=5000", NULL };
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	long long c0, c1, t0;
	struct wh w;
	char *burst = NULL;
	size_t blen = (sizeof(req) - 1) * 20000, off = 0;
	int fd = -1, i;
	bool closed = false;

	if (wh_start(&w, "noread", 0, args))
		goto out;
	burst = malloc(blen);
	fd = lb_connect(w.agent_port);
	if (!ASSERT_OK_PTR(burst, "malloc") || !ASSERT_GE(fd, 0, "connect"))
		goto out;
	for (i = 0; i < 20000; i++)
		memcpy(burst + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* as much as the kernel takes in a second, never a byte read back */
	for (t0 = lb_mono_ms(); off < blen && lb_mono_ms() - t0 < 1000;) {
		ssize_t n = send(fd, burst + off, blen - off, MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else
			usleep(10 * 1000);
	}
	/* measured while the connection is stuck, before the write timeout */
	c0 = lb_proc_cpu_ms(w.pid);
	sleep(3);
	c1 = lb_proc_cpu_ms(w.pid);
	printf("    never-reading client: %zu bytes of requests sent, webhook CPU %lld ms in 3 s\n", off, c1 - c0);
	/* before: a whole CPU (3000 ms) spinning on a readable socket */
	ASSERT_LE(c1 - c0, 600, "webhook CPU under 20 % while the client reads nothing");
	/* still reading nothing: the write timeout (5 s) closes it */
	for (t0 = lb_mono_ms(); lb_mono_ms() - t0 < 8000; usleep(250 * 1000))
		if (metric(&w, "ksense_webhook_rejected_connections_total{reason=\"write_timeout\"}") >= 1)
			break;
	ASSERT_GE(metric(&w, "ksense_webhook_rejected_connections_total{reason=\"write_timeout\"}"), 1,
		  "closed by the write timeout");
	/* what it left unread ends: the server closed its side */
	fcntl(fd, F_SETFL, 0);
	for (t0 = lb_mono_ms(); lb_mono_ms() - t0 < 8000;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		char sink[65536];
		ssize_t n;

		if (poll(&pf, 1, 1000) <= 0)
			break;
		n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0) {
			closed = true;
			break;
		}
	}
	ASSERT_TRUE(closed, "the client's connection was closed");
out:
	if (fd >= 0)
		close(fd);
	free(burst);
	dump_log_on_failure(&w);
	wh_stop(&w);
}

/* A plain connection to 127.0.0.1:port whose receive window stays
 * small: what the server sends and the client never reads piles up in
 * the server, not in the kernel.  fd or -1. */
static int connect_small_window(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rcvbuf = 4096;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Many clients that pipeline requests and never read, half of them
 * GET /metrics (rendered on the worker), half GET /score (on the loop):
 * the responses they leave count against the same budget as bodies; past
 * it they are served no more and closed, and /healthz is still answered
 * (small answers keep a reserve).  Before: 32 MiB held against a 6 MiB
 * budget, which was never checked for responses.
 */
static void unread_responses(void)
{
	static const char *const args[] = { "--memory-limit=16Mi", "--write-timeout-ms=60000", NULL };
	static const char *const paths[] = { "/metrics", "/score" };
	static char burst[2][64 * 600];
	size_t blen[2] = { 0, 0 };
	int fds[60], nfds = 0, i, k;
	double budget, peak, refused;
	long hwm_kb;
	struct poller p;
	struct wh w;

	if (wh_start(&w, "unread", 0, args))
		goto out;
	for (k = 0; k < 2; k++)
		for (i = 0; i < 600; i++)
			blen[k] += (size_t)sprintf(burst[k] + blen[k], "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[k]);
	poller_start(&p, &w, false);
	for (i = 0; i < 60; i++) {
		int fd = connect_small_window(w.agent_port);

		if (fd < 0)
			break;
		send(fd, burst[i % 2], blen[i % 2], MSG_NOSIGNAL | MSG_DONTWAIT);
		fds[nfds++] = fd;
	}
	sleep(5);
	poller_stop(&p, "60 clients pipelining /metrics or /score, reading nothing");
	/* read once they are gone: a /metrics answer is not small, and may
	 * be refused while they hold the budget */
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	usleep(300 * 1000);
	budget = metric(&w, "ksense_webhook_buffer_budget_bytes");
	peak = metric(&w, "ksense_webhook_buffered_peak_bytes");
	refused = metric(&w, "ksense_webhook_rejected_connections_total{reason=\"memory\"}");
	hwm_kb = lb_proc_status_kb(w.pid, "VmHWM");
	printf("    buffered peak %.0f KiB of a %.0f KiB budget, %.0f refused for memory, RSS peak %ld KiB\n",
	       peak / 1024, budget / 1024, refused, hwm_kb);
	ASSERT_EQ(nfds, 60, "connected");
	ASSERT_GT(budget, 0, "budget read");
	ASSERT_LE(peak, budget + 64 * 1024, "unread responses stay within the budget");
	ASSERT_GE(refused, 1, "clients refused past it");
	ASSERT_LE(hwm_kb, 16 * 1024, "RSS within the 16 MiB memory limit");
	ASSERT_GE(p.polls[0], 5, "polled during the attack");
	ASSERT_EQ(p.failed[0] + p.failed[1], 0, "/healthz 200 throughout");
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

static void fd_limit(void)
{
	/* caps above what 64 fds allow: accept itself fails with EMFILE */
	static const char *const args[] = { "--max-conns-agent=1000", "--max-conns-tls=10",
					    "--request-timeout-ms=60000", NULL };
	int fds[150], nfds = 0, i, lines;
	long long c0, c1, t0;
	struct wh w;
	bool healthy = false;

	if (wh_start(&w, "nofile", 64, args))
		goto out;
	/* connections that began a request are not idle: nothing to evict */
	for (i = 0; i < 150; i++) {
		int fd = lb_connect(w.agent_port);

		if (fd < 0)
			break;
		send(fd, "GET /score HTTP/1.1\r\n", 21, MSG_NOSIGNAL);
		fds[nfds++] = fd;
	}
	ASSERT_GE(nfds, 100, "more connections than the daemon has fds");
	sleep(1);
	c0 = lb_proc_cpu_ms(w.pid);
	sleep(3);
	c1 = lb_proc_cpu_ms(w.pid);
	printf("    %d clients against RLIMIT_NOFILE 64: webhook CPU %lld ms in 3 s\n", nfds, c1 - c0);
	/* before: a busy loop on the readable listener, a whole CPU */
	ASSERT_LE(c1 - c0, 600, "no busy loop (under 20 % CPU)");
	lines = fx_count_in_file(w.log, "out of file descriptors");
	printf("    'out of file descriptors' log lines: %d\n", lines);
	ASSERT_GE(lines, 1, "says it");
	ASSERT_LE(lines, 2, "rate-limited (before: 300,000 lines in 18 s)");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	/* fds free: accepting resumes within the backoff (at most 1 s) */
	for (t0 = lb_mono_ms(); lb_mono_ms() - t0 < 5000 && !healthy;) {
		char buf[1024];

		lb_request(w.agent_port, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf,
			      sizeof(buf), 1000);
		healthy = strstr(buf, "HTTP/1.1 200") != NULL;
		if (!healthy)
			usleep(100 * 1000);
	}
	printf("    /healthz answered %lld ms after the clients left\n", lb_mono_ms() - t0);
	ASSERT_TRUE(healthy, "/healthz answered once fds are free");
	ASSERT_GE(metric(&w, "ksense_webhook_rejected_connections_total{reason=\"fd_limit\"}"), 1, "counted");
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

static void idle_exhaustion(void)
{
	static const char *const args[] = { "--max-conns-agent=50", "--first-byte-timeout-ms=60000", NULL };
	int fds[200], nfds = 0, i;
	struct poller p;
	struct wh w;

	if (wh_start(&w, "idle", 0, args))
		goto out;
	/* every TLS poll a new connection: the TLS listener must accept
	 * newcomers while the agent port is full */
	poller_start(&p, &w, true);
	for (i = 0; i < 200; i++) {
		int fd = lb_connect(w.agent_port);

		if (fd < 0)
			break;
		fds[nfds++] = fd;
		usleep(2000);
	}
	usleep(500 * 1000);
	poller_stop(&p, "200 idle connections on an agent port capped at 50");
	ASSERT_EQ(nfds, 200, "connected");
	/* the TLS listener has its own cap; the agent port evicts idle ones */
	ASSERT_GE(p.polls[1], 5, "TLS polled during the attack");
	ASSERT_EQ(p.failed[1], 0, "TLS /healthz answered on a new connection each time");
	ASSERT_LE(p.worst_ms[1], 500, "TLS connect, handshake and /healthz within 500 ms");
	ASSERT_EQ(p.failed[0], 0, "agent /healthz answered (idle connections evicted)");
	ASSERT_LE(metric(&w, "ksense_webhook_connections{listener=\"agent\"}"), 50, "agent cap held");
	ASSERT_GE(metric(&w, "ksense_webhook_rejected_connections_total{reason=\"evicted_idle\"}"), 150,
		  "idle connections evicted");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

/* Bodies stalled halfway on the TLS port, where /validate is served (the
 * API server's connections): what the budget is for. */
static void stalled_bodies(void)
{
	static const char *const args[] = { "--memory-limit=16Mi", "--request-timeout-ms=60000", NULL };
	static char half[300 * 1024];
	const size_t limit = 16u << 20;
	struct tlsc *conns[40];
	int nconns = 0, i, refused = 0, retry_after = 0;
	double budget, peak;
	long hwm_kb;
	struct wh w;

	if (wh_start(&w, "stalled", 0, args))
		goto out;
	memset(half, ' ', sizeof(half));
	for (i = 0; i < 40; i++) {
		char hdr[256];
		struct tlsc *t = tlsc_connect(w.tls_port, 3000);
		int n;

		if (!t)
			break;
		n = snprintf(hdr, sizeof(hdr), "POST /validate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			     "Content-Length: %d\r\n\r\n", 1024 * 1024);
		/* a refused one is closed mid-body: its write fails */
		if (!tlsc_write(t, hdr, (size_t)n))
			tlsc_write(t, half, sizeof(half));
		conns[nconns++] = t;
	}
	ASSERT_EQ(nconns, 40, "TLS connections");
	usleep(1000 * 1000);
	for (i = 0; i < nconns; i++) {
		char buf[1024];
		ssize_t n = tlsc_read(conns[i], buf, sizeof(buf) - 1, 20);

		if (n > 0) {
			buf[n] = '\0';
			refused += strstr(buf, "HTTP/1.1 503") != NULL;
			retry_after += strstr(buf, "Retry-After: ") != NULL;
		}
	}
	budget = metric(&w, "ksense_webhook_buffer_budget_bytes");
	peak = metric(&w, "ksense_webhook_buffered_peak_bytes");
	hwm_kb = lb_proc_status_kb(w.pid, "VmHWM");
	printf("    40 bodies stalled at 300 KiB of 1 MiB: %d refused with 503, buffered peak %.0f KiB of a "
	       "%.0f KiB budget, RSS peak %ld KiB (limit %zu KiB)\n", refused, peak / 1024, budget / 1024, hwm_kb,
	       limit / 1024);
	ASSERT_EQ(budget, (double)(limit / 8 * 3), "budget = 3/8 of --memory-limit");
	ASSERT_GE(refused, 20, "503 past the budget");
	ASSERT_EQ(retry_after, refused, "every 503 says Retry-After");
	ASSERT_LE(peak, budget + 64 * 1024, "buffered bytes stay within the budget");
	/* before: 316 MB for 300 such connections */
	ASSERT_LE(hwm_kb, (long)(limit / 1024), "RSS within the memory limit");
	for (i = 0; i < nconns; i++)
		tlsc_close(conns[i]);
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

/*
 * The agent port is read-only: a POST there is answered as soon as its
 * head arrives, and the body it announces is never read nor buffered
 * (before: up to 1 MiB held per connection, then a 404).
 */
static void agent_refuses_bodies(void)
{
	static char part[64 * 1024];
	int fds[20], nfds = 0, i, answered = 0, closed = 0;
	double peak;
	struct wh w;

	if (wh_start(&w, "agentpost", 0, NULL))
		goto out;
	memset(part, ' ', sizeof(part));
	for (i = 0; i < 20; i++) {
		char hdr[256];
		int fd = lb_connect(w.agent_port), n;

		if (fd < 0)
			break;
		n = snprintf(hdr, sizeof(hdr), "POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			     "Content-Length: %d\r\n\r\n", i % 2 ? "/validate" : "/score", 1024 * 1024);
		send(fd, hdr, (size_t)n, MSG_NOSIGNAL);
		send(fd, part, sizeof(part), MSG_NOSIGNAL | MSG_DONTWAIT);
		fds[nfds++] = fd;
	}
	ASSERT_EQ(nfds, 20, "connected");
	/* the rest of each body never comes: only an answer to the head ends
	 * these requests before the 10 s request timeout */
	for (i = 0; i < nfds; i++) {
		struct pollfd pf = { .fd = fds[i], .events = POLLIN };
		char buf[2048];
		ssize_t n;

		if (poll(&pf, 1, 2000) <= 0)
			continue;
		n = recv(fds[i], buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (i % 2) {
			answered += strstr(buf, "HTTP/1.1 404") && strstr(buf, "HTTPS port only");
		} else {
			answered += strstr(buf, "HTTP/1.1 405") && strstr(buf, "Allow: GET, HEAD");
		}
		if (strstr(buf, "Connection: close"))
			closed++;
	}
	peak = metric(&w, "ksense_webhook_buffered_peak_bytes");
	printf("    20 POSTs of 1 MiB to the agent port: %d answered at their head, buffered peak %.0f KiB\n",
	       answered, peak / 1024);
	ASSERT_EQ(answered, 20, "404 (/validate) or 405 (/score) before the body");
	ASSERT_EQ(closed, 20, "each with Connection: close");
	/* 20 connections' structs (a few KiB each), no body (64 KiB each) */
	ASSERT_LE(peak, 20 * 16 * 1024, "no body buffered");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

/* Closed by the server: EOF (or a reset) within timeout_ms. */
static bool closed_within(int fd, int timeout_ms)
{
	long long end = lb_mono_ms() + timeout_ms;

	for (;;) {
		long long left = end - lb_mono_ms();
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		char sink[4096];

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return false;
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			return true;
	}
}

/*
 * A connection that sends nothing, plain or after its TLS handshake, is
 * closed after --first-byte-timeout-ms and counted as first_byte_timeout;
 * one that sent its request in time is not.
 */
static void first_byte_timeout(void)
{
	/* --request-timeout-ms also bounds the TLS handshake (default 5 s) */
	static const char *const args[] = { "--first-byte-timeout-ms=1000", "--request-timeout-ms=1500", NULL };
	static const char livez[] = "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n";
	struct tlsc *t = NULL;
	int fd = -1, talker = -1, no_hello = -1;
	char buf[2048];
	struct wh w;

	if (wh_start(&w, "firstbyte", 0, args))
		goto out;
	no_hello = lb_connect(w.tls_port);
	fd = lb_connect(w.agent_port);
	talker = lb_connect(w.agent_port);
	t = tlsc_connect(w.tls_port, 3000);
	if (!ASSERT_GE(fd, 0, "connect") || !ASSERT_GE(talker, 0, "connect") || !ASSERT_OK_PTR(t, "TLS connect"))
		goto out;
	send(talker, livez, sizeof(livez) - 1, MSG_NOSIGNAL);
	/* a deadline never fires early */
	ASSERT_FALSE(closed_within(fd, 300), "silent connection still open at 300 ms");
	/* the deadline, then the next sweep (a tick: 250 ms) */
	ASSERT_TRUE(closed_within(fd, 5000), "silent plain connection closed");
	ASSERT_EQ(tlsc_read(t, buf, sizeof(buf), 5000), 0, "silent TLS connection closed after its handshake");
	ASSERT_EQ(metric(&w, "ksense_webhook_rejected_connections_total{reason=\"first_byte_timeout\"}"), 2,
		  "both counted as first_byte_timeout");
	ASSERT_EQ(metric(&w, "ksense_webhook_rejected_connections_total{reason=\"request_timeout\"}"), 0,
		  "not as request_timeout");
	/* the one that asked in time is answered and kept (idle timeout 60 s) */
	ASSERT_FALSE(closed_within(talker, 200), "a connection that sent its request is kept");
	/* 1.5 s and a tick after it connected, well before 5 s */
	ASSERT_TRUE(closed_within(no_hello, 2500), "no ClientHello: closed by --request-timeout-ms");
	ASSERT_EQ(metric(&w, "ksense_webhook_rejected_connections_total{reason=\"handshake\"}"), 1,
		  "counted as handshake");
out:
	if (no_hello >= 0)
		close(no_hello);
	if (fd >= 0)
		close(fd);
	if (talker >= 0)
		close(talker);
	tlsc_close(t);
	dump_log_on_failure(&w);
	wh_stop(&w);
}

/*
 * The loop's lag in /livez and /healthz: stopped for 1 s (SIGSTOP, as a
 * loop stuck in a handler would be) with --max-loop-lag-ms=300, both
 * answer 503 saying so, the probes that waited through the stall too,
 * then 200 again once the 10-20 s lag window has passed.
 */
static void loop_lag(void)
{
	static const char *const args[] = { "--max-loop-lag-ms=300", NULL };
	static const char *const probes[2] = {
		"GET /livez HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	};
	int waiting[2] = { -1, -1 }, i;
	char buf[4096];
	long long t0, back_ms = -1;
	double lag_s;
	struct wh w;

	if (wh_start(&w, "lag", 0, args))
		goto out;
	ASSERT_TRUE(lb_get_ok(w.agent_port, "/livez", buf, sizeof(buf), 3000), "/livez 200 before");
	ASSERT_STRHAS(buf, "\"loop_lag_ms\":", "/livez says the lag");
	ASSERT_TRUE(lb_get_ok(w.agent_port, "/healthz", buf, sizeof(buf), 3000), "/healthz 200 before");
	ASSERT_STRHAS(buf, "\"loop_lag_ms\":", "/healthz says the lag");
	/* probes on connections it accepted, asked during the stall: the
	 * first turn after it reads and answers them */
	waiting[0] = lb_connect(w.agent_port);
	waiting[1] = lb_connect(w.agent_port);
	usleep(100 * 1000);
	kill(w.pid, SIGSTOP);
	for (i = 0; i < 2; i++)
		if (waiting[i] >= 0)
			send(waiting[i], probes[i], strlen(probes[i]), MSG_NOSIGNAL);
	usleep(1000 * 1000);
	kill(w.pid, SIGCONT);
	for (i = 0; i < 2; i++) {
		struct pollfd pf = { .fd = waiting[i], .events = POLLIN };
		ssize_t n = -1;

		buf[0] = '\0';
		if (waiting[i] >= 0 && poll(&pf, 1, 3000) > 0)
			n = recv(waiting[i], buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		/* the turn that wakes up notes the stall before answering them */
		if (!ASSERT_STRHAS(buf, "HTTP/1.1 503", "a probe that waited through the stall: 503"))
			printf("    probe: %s", probes[i]);
		ASSERT_STRHAS(buf, "event loop lagging", "says why");
	}
	lb_get_ok(w.agent_port, "/livez", buf, sizeof(buf), 3000);
	ASSERT_STRHAS(buf, "HTTP/1.1 503", "/livez 503 after a 1 s stall");
	ASSERT_STRHAS(buf, "event loop lagging", "/livez says why");
	lb_get_ok(w.agent_port, "/healthz", buf, sizeof(buf), 3000);
	ASSERT_STRHAS(buf, "HTTP/1.1 503", "/healthz 503 after a 1 s stall");
	ASSERT_STRHAS(buf, "event loop lagging", "/healthz says why");
	lag_s = metric(&w, "ksense_webhook_loop_lag_seconds");
	printf("    after a 1 s SIGSTOP: loop lag %.3f s\n", lag_s);
	ASSERT_GE(lag_s, 0.5, "/metrics shows the lag");
	for (t0 = lb_mono_ms(); lb_mono_ms() - t0 < 25000; usleep(500 * 1000))
		if (lb_get_ok(w.agent_port, "/livez", buf, sizeof(buf), 3000)) {
			back_ms = lb_mono_ms() - t0;
			break;
		}
	printf("    /livez 200 again after %lld ms\n", back_ms);
	ASSERT_GE(back_ms, 0, "/livez 200 again once the lag window passed");
	ASSERT_TRUE(lb_get_ok(w.agent_port, "/healthz", buf, sizeof(buf), 3000), "/healthz 200 again");
out:
	for (i = 0; i < 2; i++)
		if (waiting[i] >= 0)
			close(waiting[i]);
	dump_log_on_failure(&w);
	wh_stop(&w);
}

/* One 1 MiB deep AdmissionReview over TLS; when its answer came. */
struct review_client {
	int port;
	const char *body;
	size_t blen;
	long long answered_ms;
	pthread_t th;
};

static void *review_main(void *arg)
{
	struct review_client *r = arg;
	struct tlsc *t = tlsc_connect(r->port, 3000);
	char hdr[256], resp[4096];
	int n = snprintf(hdr, sizeof(hdr), "POST /validate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n", r->blen);

	if (t && !tlsc_write(t, hdr, (size_t)n) && !tlsc_write(t, r->body, r->blen) &&
	    tlsc_read(t, resp, sizeof(resp) - 1, 20000) > 0)
		__atomic_store_n(&r->answered_ms, lb_mono_ms(), __ATOMIC_RELEASE);
	else
		__atomic_store_n(&r->answered_ms, -1, __ATOMIC_RELEASE);
	tlsc_close(t);
	return NULL;
}

/*
 * /metrics walks every pod's cgroups (its cost grows with the node), so
 * it is answered on the worker thread like /pods, never on the loop: one
 * asked while the worker parses deep AdmissionReviews is answered after
 * those queued before it (the worker's order), while the loop answers it
 * at once if /metrics ran there.
 */
static void metrics_on_worker(void)
{
	struct review_client rc[8];
	long long sent_ms, metrics_ms;
	int i, pending = 0, before_metrics = 0, answered = 0;
	char *body = NULL, buf[1 << 16];
	size_t blen;
	bool ok;
	struct wh w;

	if (wh_start(&w, "metricsworker", 0, NULL))
		goto out;
	body = lb_deep_review(&blen);
	if (!ASSERT_OK_PTR(body, "deep review"))
		goto out;
	for (i = 0; i < 8; i++) {
		rc[i] = (struct review_client){ .port = w.tls_port, .body = body, .blen = blen, .answered_ms = 0 };
		pthread_create(&rc[i].th, NULL, review_main, &rc[i]);
	}
	/* once one is answered, the others (sent at the same time) are
	 * in and queued; the worker takes ~70-100 ms for each */
	for (sent_ms = lb_mono_ms(); lb_mono_ms() - sent_ms < 20000; usleep(5 * 1000)) {
		for (i = 0; i < 8 && __atomic_load_n(&rc[i].answered_ms, __ATOMIC_ACQUIRE) <= 0; i++)
			;
		if (i < 8)
			break;
	}
	sent_ms = lb_mono_ms();
	ok = lb_get_ok(w.agent_port, "/metrics", buf, sizeof(buf), 20000);
	metrics_ms = lb_mono_ms();
	for (i = 0; i < 8; i++) {
		pthread_join(rc[i].th, NULL);
		if (rc[i].answered_ms < 0)
			continue;
		answered++;
		pending += rc[i].answered_ms > sent_ms;
		printf("    review %d answered at %+lld ms\n", i, rc[i].answered_ms - sent_ms);
		before_metrics += rc[i].answered_ms > sent_ms && rc[i].answered_ms <= metrics_ms;
	}
	printf("    /metrics asked with %d deep reviews pending: answered in %lld ms, after %d of them\n", pending,
	       metrics_ms - sent_ms, before_metrics);
	ASSERT_TRUE(ok, "/metrics 200");
	ASSERT_EQ(answered, 8, "every review answered");
	ASSERT_GE(pending, 3, "reviews were still pending when /metrics was asked");
	/* two reviews cannot end within the few ms /metrics takes on the loop */
	ASSERT_GE(before_metrics, 2, "/metrics waited for the worker (reviews queued before it answered first)");
out:
	free(body);
	dump_log_on_failure(&w);
	wh_stop(&w);
}

static const char *review =
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
	"\"uid\":\"%s\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	"\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
	"\"namespace\":\"default\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":\"admin\"},"
	"\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
	"\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}},"
	"\"dryRun\":%s}}";

/* POST /validate over TLS with this Content-Type; the answer in out. */
static ssize_t validate(const struct wh *w, const char *ctype, const char *uid, bool dry_run)
{
	char body[2048], req[3072];
	int blen = snprintf(body, sizeof(body), review, uid, dry_run ? "true" : "false");
	int n = snprintf(req, sizeof(req), "POST /validate HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s", ctype, blen, body);

	return tlsc_request(w->tls_port, req, (size_t)n, out, sizeof(out), 5000);
}

static void admission_contract(void)
{
	static const char *const good_ctypes[] = {
		"application/json", "Application/JSON", "application/json; charset=utf-8",
		"application/json;charset=\"UTF-8\"", "application/json ;",
	};
	static const char *const bad_ctypes[] = {
		"application/jsonfoo", "text/plain", "application/json; charset", "application/json x",
	};
	char csv[256], buf[4096], *second;
	struct wh w;
	size_t i;

	if (wh_start(&w, "contract", 0, NULL))
		goto out;
	snprintf(csv, sizeof(csv), "%s/fuzzy_score.csv", dir);

	/* the keys the API server prefixes with the webhook's name */
	validate(&w, "application/json", "uid-audit", false);
	ASSERT_STRHAS(out, "\"auditAnnotations\":{\"score\":\"", "audit key score");
	ASSERT_STRHAS(out, ",\"decision\":\"", "audit key decision");
	ASSERT_TRUE(ks_admission_audit_key_valid("score") && ks_admission_audit_key_valid("decision"),
		    "keys are qualified names without a prefix");
	ASSERT_EQ(fx_count_in_file(csv, "uid-audit"), 1, "recorded");

	validate(&w, "application/json", "uid-dry", true);
	ASSERT_STRHAS(out, "HTTP/1.1 200", "dry run answered");
	ASSERT_STRHAS(out, "\"allowed\":true", "dry run allowed");
	ASSERT_EQ(fx_count_in_file(csv, "uid-dry"), 0, "dry run not recorded (sideEffects: None)");
	ASSERT_EQ(metric(&w, "ksense_webhook_admissions_dry_run_total"), 1, "dry run counted");

	for (i = 0; i < sizeof(good_ctypes) / sizeof(good_ctypes[0]); i++) {
		validate(&w, good_ctypes[i], "uid-ct", false);
		if (!ASSERT_STRHAS(out, "HTTP/1.1 200", "media type accepted"))
			printf("    Content-Type: %s\n", good_ctypes[i]);
	}
	for (i = 0; i < sizeof(bad_ctypes) / sizeof(bad_ctypes[0]); i++) {
		validate(&w, bad_ctypes[i], "uid-ct-bad", false);
		if (!ASSERT_STRHAS(out, "HTTP/1.1 415", "media type refused"))
			printf("    Content-Type: %s\n", bad_ctypes[i]);
	}

	/* the agent port is read-only */
	snprintf(buf, sizeof(buf), "POST /validate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		 "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	lb_request(w.agent_port, buf, out, sizeof(out), 3000);
	ASSERT_STRHAS(out, "HTTP/1.1 404", "/validate on the agent port: 404");
	ASSERT_STRHAS(out, "HTTPS port only", "says where it is");

	/* HEAD: the head of GET, no body, so the next pipelined answer starts
	 * right after it */
	lb_request(w.agent_port, "HEAD /score HTTP/1.1\r\nHost: t\r\n\r\n"
		      "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", out, sizeof(out), 3000);
	second = strstr(out, "\r\n\r\n");
	ASSERT_STRHAS(out, "HTTP/1.1 200", "HEAD 200");
	ASSERT_STRHAS(out, "Content-Length: ", "HEAD says the length");
	if (ASSERT_OK_PTR(second, "HEAD head"))
		ASSERT_TRUE(!strncmp(second + 4, "HTTP/1.1 ", 9), "no body after HEAD's head");
	lb_request(w.agent_port, "HEAD /validate HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", out,
		      sizeof(out), 3000);
	ASSERT_STRHAS(out, "HTTP/1.1 404", "HEAD /validate on the agent port 404");
	second = strstr(out, "\r\n\r\n");
	ASSERT_TRUE(second && !second[4], "HEAD 404 without a body");
out:
	dump_log_on_failure(&w);
	wh_stop(&w);
}

KS_TEST(webhook_hostile)
{
	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	snprintf(dir, sizeof(dir), "/tmp/ksense-hostile-%d", getpid());
	sh("rm -rf %s && mkdir -p %s", dir, dir);
	if (!ASSERT_TRUE(make_cert(), "openssl cert")) {
		printf("%s\n", out);
		return;
	}
	if (test__start_subtest("pipelined_flood"))
		pipelined_flood();
	if (test__start_subtest("never_reading"))
		never_reading();
	if (test__start_subtest("unread_responses"))
		unread_responses();
	if (test__start_subtest("fd_limit"))
		fd_limit();
	if (test__start_subtest("idle_exhaustion"))
		idle_exhaustion();
	if (test__start_subtest("stalled_bodies"))
		stalled_bodies();
	if (test__start_subtest("agent_refuses_bodies"))
		agent_refuses_bodies();
	if (test__start_subtest("first_byte_timeout"))
		first_byte_timeout();
	if (test__start_subtest("loop_lag"))
		loop_lag();
	if (test__start_subtest("metrics_on_worker"))
		metrics_on_worker();
	if (test__start_subtest("admission_contract"))
		admission_contract();
	if (!test__verbose() && !test__failed())
		sh("rm -rf %s", dir);
}
