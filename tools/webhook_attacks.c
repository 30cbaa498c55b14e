// SPDX-License-Identifier: GPL-2.0
/*
 * webhook-attacks: replays the hostile clients a node daemon meets against a
 * fresh ksense-webhook each, while /healthz is polled on both listeners,
 * and prints one row per attack: /healthz p50/p99/max on the agent port
 * (a fresh plain connection per poll, as the kubelet probes) and on the
 * TLS port (one keep-alive connection), the polls that failed, the
 * webhook's CPU seconds and peak RSS, and the connections it refused.
 * Not a test: a measurement (make bench), bounded in count and time.
 *
 *   build/webhook-attacks --cert C --key K [--webhook BIN] [--seconds N] [--only a,b]
 *
 * Needs a loaded pin tree ($KSENSE_PIN_ROOT) so /healthz can say 200.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "loopback.h"
#include "tlsc.h"

#define MAX_POLLS 100000
#define MEMORY_LIMIT "64Mi"     /* the DaemonSet's */
#define MEMORY_LIMIT_KB (64 * 1024)

static const char *webhook_bin = "build/ksense-webhook";
static const char *cert, *key;
static int seconds = 8;
static char workdir[256];

#define target lb_webhook

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the daemon under attack ---- */

static int target_start(struct target *t, const char *name, int nofile)
{
	char *argv[24], log[320];
	int argc = 0;

	snprintf(log, sizeof(log), "%s/%s.log", workdir, name);
	argv[argc++] = (char *)webhook_bin;
	argv[argc++] = "--tls-addr=127.0.0.1";
	argv[argc++] = "--tls-port=0";
	argv[argc++] = "--agent-addr=127.0.0.1";
	argv[argc++] = "--agent-port=0";
	argv[argc++] = "--cert";
	argv[argc++] = (char *)cert;
	argv[argc++] = "--key";
	argv[argc++] = (char *)key;
	argv[argc++] = "--data-dir";
	argv[argc++] = workdir;
	argv[argc++] = "--memory-limit=" MEMORY_LIMIT;
	argv[argc] = NULL;
	if (!lb_webhook_start(t, log, nofile, argv))
		return 0;
	fprintf(stderr, "webhook-attacks: %s: the webhook did not become healthy (log %s)\n", name, log);
	return -1;
}

/* Sum of ksense_webhook_rejected_connections_total over its reasons,
 * and the reasons that were non-zero. */
static long long target_refused(const struct target *t, char *reasons, size_t len)
{
	static char m[1 << 17];
	long long sum = 0;
	char *p;
	size_t o = 0;

	reasons[0] = '\0';
	if (!lb_get_ok(t->agent_port, "/metrics", m, sizeof(m), 5000))
		return -1;
	for (p = strstr(m, "\nksense_webhook_rejected_connections_total{reason=\""); p;
	     p = strstr(p + 1, "\nksense_webhook_rejected_connections_total{reason=\"")) {
		char *r = p + strlen("\nksense_webhook_rejected_connections_total{reason=\"");
		char *q = strchr(r, '"');
		long long v = q ? atoll(q + 3) : 0;

		if (v && o + 40 < len)
			o += (size_t)snprintf(reasons + o, len - o, "%s%.*s=%lld", o ? "," : "", (int)(q - r), r, v);
		sum += v;
	}
	return sum;
}

/* ---- the /healthz poller ---- */

struct poller {
	const struct target *t;
	atomic_bool stop;
	pthread_t th;
	double ms[2][MAX_POLLS];
	int n[2], failed[2];
};

static void *poll_main(void *arg)
{
	struct poller *p = arg;
	struct tlsc *c = NULL;
	char buf[2048];

	while (!atomic_load(&p->stop)) {
		double t0 = mono_s();
		bool ok = lb_get_ok(p->t->agent_port, "/healthz", buf, sizeof(buf), 3000);

		if (p->n[0] < MAX_POLLS)
			p->ms[0][p->n[0]++] = (mono_s() - t0) * 1e3;
		p->failed[0] += !ok;

		/* the handshake of a (re)connection is not what is measured */
		ok = false;
		if (!c)
			c = tlsc_connect(p->t->tls_port, 3000);
		t0 = mono_s();
		if (c && !tlsc_write(c, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", 34)) {
			ssize_t r = tlsc_read(c, buf, sizeof(buf) - 1, 3000);

			ok = r > 12 && !strncmp(buf, "HTTP/1.1 200", 12);
		}
		if (!ok && c) {
			tlsc_close(c);
			c = NULL;
		}
		if (p->n[1] < MAX_POLLS)
			p->ms[1][p->n[1]++] = (mono_s() - t0) * 1e3;
		p->failed[1] += !ok;
		usleep(50 * 1000);
	}
	tlsc_close(c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
	int i;

	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	i = (int)(q * (n - 1) + 0.5);
	return v[i];
}

/* ---- the attacks ---- */

struct attack_ctx {
	const struct target *t;
	atomic_bool stop;
	long long end_ms;
	int sent;                 /* requests or connections the attack made */
};

static bool running(struct attack_ctx *a)
{
	return !atomic_load(&a->stop) && lb_mono_ms() < a->end_ms;
}

/* 150 AdmissionReviews of 1 MiB, nested brackets 100 deep, pipelined on
 * one TLS connection, read only at the end. */
static void *att_pipelined_deep(void *arg)
{
	struct attack_ctx *a = arg;
	size_t len, hlen;
	char *b = lb_deep_review(&len), hdr[256], sink[65536];
	struct tlsc *c = tlsc_connect(a->t->tls_port, 3000);
	int i;

	if (!b || !c)
		goto out;
	hlen = (size_t)snprintf(hdr, sizeof(hdr), "POST /validate HTTP/1.1\r\nHost: a\r\nContent-Type: "
				"application/json\r\nContent-Length: %zu\r\n\r\n", len);
	for (i = 0; i < 150 && running(a); i++) {
		if (tlsc_write(c, hdr, hlen) || tlsc_write(c, b, len))
			break;
		a->sent++;
	}
	while (running(a) && tlsc_read(c, sink, sizeof(sink), 1000) > 0)
		;
out:
	tlsc_close(c);
	free(b);
	return NULL;
}

/* 40 connections pipelining GET /metrics, never reading an answer. */
static void *att_never_read(void *arg)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	struct attack_ctx *a = arg;
	int fds[40], i, n = 0;
	char burst[sizeof(req) * 256];

	for (i = 0; i < 256; i++)
		memcpy(burst + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	for (i = 0; i < 40; i++)
		if ((fds[n] = lb_connect(a->t->agent_port)) >= 0) {
			fcntl(fds[n], F_SETFL, O_NONBLOCK);
			n++;
		}
	a->sent = n;
	while (running(a)) {
		for (i = 0; i < n; i++)
			if (fds[i] >= 0 && send(fds[i], burst, 256 * (sizeof(req) - 1), MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
			}
		usleep(100 * 1000);
	}
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* Connections to port, each sending `first` (NULL: nothing) and then, if
 * drip, one more header byte a second (slowloris); held to the end. */
static void hold_connections(struct attack_ctx *a, int port, int count, const char *first, bool drip)
{
	int *fds = calloc((size_t)count, sizeof(int)), i, n = 0;

	if (!fds)
		return;
	for (i = 0; i < count && running(a); i++) {
		int fd = lb_connect(port);

		if (fd < 0) {
			usleep(1000);
			continue;
		}
		if (first)
			send(fd, first, strlen(first), MSG_NOSIGNAL | MSG_DONTWAIT);
		fds[n++] = fd;
	}
	a->sent = n;
	while (running(a)) {
		usleep(1000 * 1000);
		for (i = 0; drip && i < n; i++)
			send(fds[i], "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

static void *att_fd_exhaust(void *arg)
{
	struct attack_ctx *a = arg;

	hold_connections(a, a->t->agent_port, 1100, "GET /score HTTP/1.1\r\n", false);
	return NULL;
}

static void *att_idle(void *arg)
{
	struct attack_ctx *a = arg;

	hold_connections(a, a->t->agent_port, 1100, NULL, false);
	return NULL;
}

static void *att_slowloris(void *arg)
{
	struct attack_ctx *a = arg;

	hold_connections(a, a->t->agent_port, 300, "GET /score HTTP/1.1\r\nX-a: ", true);
	return NULL;
}

/* 300 bodies of 1 MiB stopped at 512 KiB, on the TLS port where
 * /validate is served (the agent port refuses a POST at its head). */
static void *att_stalled(void *arg)
{
	static char half[512 * 1024];
	struct attack_ctx *a = arg;
	struct tlsc *conns[300];
	int i, n = 0;
	char hdr[256];
	int hlen = snprintf(hdr, sizeof(hdr), "POST /validate HTTP/1.1\r\nHost: a\r\nContent-Type: "
			    "application/json\r\nContent-Length: %d\r\n\r\n", 1024 * 1024);

	memset(half, ' ', sizeof(half));
	for (i = 0; i < 300 && running(a); i++) {
		struct tlsc *c = tlsc_connect(a->t->tls_port, 2000);

		if (!c)
			continue;
		/* a refused one is closed mid-body: its write fails */
		if (!tlsc_write(c, hdr, (size_t)hlen))
			tlsc_write(c, half, sizeof(half));
		conns[n++] = c;
	}
	a->sent = n;
	while (running(a))
		usleep(100 * 1000);
	for (i = 0; i < n; i++)
		tlsc_close(conns[i]);
	return NULL;
}

/* TLS handshakes back to back, from this thread. */
static void *att_handshakes(void *arg)
{
	struct attack_ctx *a = arg;

	while (running(a)) {
		struct tlsc *c = tlsc_connect(a->t->tls_port, 2000);

		a->sent++;
		tlsc_close(c);
	}
	return NULL;
}

static const struct attack {
	const char *name;
	const char *what;
	void *(*fn)(void *);
	int nofile;               /* > 0: the webhook runs under this RLIMIT_NOFILE */
} attacks[] = {
	{ "pipelined-deep", "150 x 1 MiB nested AdmissionReviews pipelined on 1 TLS conn", att_pipelined_deep, 0 },
	{ "never-read", "40 conns pipelining GET /metrics, never reading", att_never_read, 0 },
	{ "fd-exhaust", "1100 conns mid-request, webhook under ulimit -n 1024", att_fd_exhaust, 1024 },
	{ "idle-conns", "1100 conns that send nothing", att_idle, 0 },
	{ "stalled-bodies", "300 x 1 MiB bodies stalled at 512 KiB (TLS)", att_stalled, 0 },
	{ "slowloris", "300 conns sending a header byte a second", att_slowloris, 0 },
	{ "handshakes", "TLS handshakes back to back", att_handshakes, 0 },
};

static bool wanted(const char *only, const char *name)
{
	const char *p;
	size_t n = strlen(name);

	if (!only)
		return true;
	for (p = only; (p = strstr(p, name)); p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static int run_attack(const struct attack *at, bool *met)
{
	static struct poller p;
	struct attack_ctx a = { 0 };
	struct target t;
	char reasons[512];
	double cpu0, cpu1, a50, a99, amax, t50, t99, tmax;
	long long refused;
	long hwm;

	if (target_start(&t, at->name, at->nofile)) {
		lb_webhook_stop(&t);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.t = &t;
	a.t = &t;
	a.end_ms = lb_mono_ms() + seconds * 1000;
	cpu0 = lb_proc_cpu_ms(t.pid) / 1e3;
	pthread_create(&p.th, NULL, poll_main, &p);
	{
		pthread_t th;

		pthread_create(&th, NULL, at->fn, &a);
		while (lb_mono_ms() < a.end_ms)
			usleep(100 * 1000);
		atomic_store(&a.stop, true);
		atomic_store(&p.stop, true);
		pthread_join(th, NULL);
		pthread_join(p.th, NULL);
	}
	cpu1 = lb_proc_cpu_ms(t.pid) / 1e3;
	hwm = lb_proc_status_kb(t.pid, "VmHWM");
	refused = target_refused(&t, reasons, sizeof(reasons));
	amax = p.n[0] ? pct(p.ms[0], p.n[0], 1.0) : 0;
	a50 = pct(p.ms[0], p.n[0], 0.5);
	a99 = pct(p.ms[0], p.n[0], 0.99);
	tmax = p.n[1] ? pct(p.ms[1], p.n[1], 1.0) : 0;
	t50 = pct(p.ms[1], p.n[1], 0.5);
	t99 = pct(p.ms[1], p.n[1], 0.99);
	printf("%-15s %6.1f %6.1f %7.1f | %6.1f %6.1f %7.1f | %3d/%-4d | %5.2f | %4ld | %6lld  %s\n", at->name,
	       a50, a99, amax, t50, t99, tmax, p.failed[0] + p.failed[1], p.n[0] + p.n[1], cpu1 - cpu0,
	       hwm / 1024, refused, reasons);
	*met = a99 <= 50 && t99 <= 50 && hwm <= MEMORY_LIMIT_KB && !p.failed[0] && !p.failed[1];
	lb_webhook_stop(&t);
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: webhook-attacks --cert FILE --key FILE [--webhook BIN] [--seconds N] [--only LIST]\n\n"
		"Starts a fresh ksense-webhook (--memory-limit " MEMORY_LIMIT ", the DaemonSet's) per attack,\n"
		"runs the attack for N seconds (default 8) while /healthz is polled 20 times a second on\n"
		"both listeners, and prints a row per attack.  $KSENSE_PIN_ROOT must hold a loaded tree.\n"
		"Targets: /healthz p99 <= 50 ms on both listeners, no failed poll, peak RSS within the\n"
		"memory limit.  Attacks (--only takes a comma-separated list):\n");
	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		fprintf(f, "  %-15s %s\n", attacks[i].name, attacks[i].what);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' }, { "key", required_argument, NULL, 'k' },
		{ "webhook", required_argument, NULL, 'w' }, { "seconds", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *only = NULL;
	struct rlimit rl = { 8192, 8192 };
	int c, failed = 0, missed = 0;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'w': webhook_bin = optarg; break;
		case 'o': only = optarg; break;
		case 's':
			seconds = atoi(optarg);
			if (seconds < 1 || seconds > 120) {
				fprintf(stderr, "webhook-attacks: --seconds takes 1..120\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cert || !key || optind < argc) {
		usage(stderr);
		return 2;
	}
	/* the attacks hold more connections than a default ulimit */
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fprintf(stderr, "webhook-attacks: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	snprintf(workdir, sizeof(workdir), "/tmp/webhook-attacks-%d", getpid());
	if (mkdir(workdir, 0700) && errno != EEXIST) {
		fprintf(stderr, "webhook-attacks: %s: %s\n", workdir, strerror(errno));
		return 1;
	}
	printf("each attack %d s; /healthz ms (agent: fresh plain conn per poll | tls: keep-alive); "
	       "memory limit " MEMORY_LIMIT "\n", seconds);
	printf("%-15s %6s %6s %7s | %6s %6s %7s | %-8s | %5s | %4s | %s\n", "attack", "a-p50", "a-p99", "a-max",
	       "t-p50", "t-p99", "t-max", "fail/n", "cpu-s", "MiB", "refused (by reason)");
	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		bool met = false;

		if (!wanted(only, attacks[i].name))
			continue;
		if (run_attack(&attacks[i], &met))
			failed++;
		else if (!met)
			missed++;
	}
	printf("targets: /healthz p99 <= 50 ms on both listeners, no failed poll, RSS <= " MEMORY_LIMIT
	       ": %s\n", missed ? "MISSED (rows above)" : "met");
	if (!failed) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", workdir);
		if (system(cmd))
			fprintf(stderr, "webhook-attacks: could not remove %s\n", workdir);
	}
	return failed ? 1 : 0;
}
