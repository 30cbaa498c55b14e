// SPDX-License-Identifier: GPL-2.0
/*
 * agent-sim: thousands of ksense node agents in one process, for the
 * scheduler benchmark at 5,000 nodes (a ksense-webhook per node would not
 * fit a 2-core machine, and a Python one answers 500 connections too
 * slowly to stand for 500 machines answering in parallel).
 *
 * All of 127.0.0.0/8 is the machine's, so node i's agent pod gets podIP
 * 127.A.B.C (address_of below) and one port: one socket on 0.0.0.0:PORT
 * answers GET /score for the address each connection was made to, with
 * what ksense-webhook's /score says ({"score", "decision", "band", "seq",
 * "window_age_ms"}): a score fixed per node by --seed, every
 * --deny-every-th node in deny.  Each answer closes its connection (the
 * scheduler's agent client asks for that).  --stats-file is rewritten each
 * second with the number of answers.  SIGTERM/SIGINT end it.
 *
 *   agent-sim --port-file F [--port 0] [--stats-file S] [--seed 7]
 *             [--deny-every-th 10]
 *
 * tools/agent_sim.py holds the same address mapping for the benchmark.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "http.h"

#define MAX_EVENTS 256

/* Requests are read with the agents' own reader (user/lib/http.c), so the
 * scheduler's client meets the same strictness here as on a real node. */
struct client {
	int fd;
	struct ks_http_parser reader;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* 127.10.0.1 upward, never .0 or .255 in the last byte. */
static long index_of(uint32_t host_order)
{
	unsigned int b = (host_order >> 16) & 255, c = (host_order >> 8) & 255, d = host_order & 255;

	if ((host_order >> 24) != 127 || b < 10 || d < 1 || d > 250 || c >= 250)
		return -1;
	return (long)(b - 10) * 62500 + c * 250 + (d - 1);
}

/* splitmix64: the node's score from the seed and its index */
static unsigned int score_of(unsigned long long seed, long i)
{
	unsigned long long z = seed * 1000003ULL + (unsigned long long)i + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return 5 + (unsigned int)(z % 91);
}

static int write_file(const char *path, const char *text)
{
	char tmp[1024];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f))
		return -1;
	return rename(tmp, path);
}

static void answer(struct client *c, const struct ks_http_request *req, unsigned long long seed,
		   long deny_every)
{
	struct sockaddr_in local;
	socklen_t sl = sizeof(local);
	char body[160], out[512];
	long i = -1;
	int n, len;

	if (!getsockname(c->fd, (struct sockaddr *)&local, &sl) && local.sin_family == AF_INET)
		i = index_of(ntohl(local.sin_addr.s_addr));
	if (!req || strcmp(req->method, "GET") || strcmp(req->path, "/score") || i < 0) {
		len = snprintf(body, sizeof(body), "{\"error\":\"not found\"}");
		n = snprintf(out, sizeof(out), "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
			     "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len, body);
	} else {
		unsigned int sc = score_of(seed, i);
		int deny = deny_every > 0 && i % deny_every == deny_every - 1;

		len = snprintf(body, sizeof(body),
			       "{\"score\":%u,\"decision\":\"%s\",\"band\":\"%s\",\"seq\":1,\"window_age_ms\":100}", sc,
			       deny ? "deny" : "allow", sc >= 70 ? "high" : sc >= 45 ? "medium" : "low");
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			     "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len, body);
	}
	/* a few hundred bytes into a fresh socket buffer: one write */
	if (write(c->fd, out, (size_t)n) < 0 && errno != EPIPE && errno != ECONNRESET)
		perror("agent-sim: write");
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *stats_file = NULL;
	unsigned long long seed = 7, served = 0, last_stats = 0;
	long deny_every = 10, port = 0;
	struct epoll_event ev, evs[MAX_EVENTS];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_signal };
	socklen_t sl = sizeof(sa);
	time_t last = 0;
	int i, lfd, ep, one = 1;
	char text[64], buf[4096];

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: agent-sim --port-file F [--port 0] [--stats-file S] [--seed 7] "
			       "[--deny-every-th 10]\n");
			return 0;
		}
		if (!v) {
			fprintf(stderr, "agent-sim: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--port-file"))
			port_file = v;
		else if (!strcmp(argv[i], "--stats-file"))
			stats_file = v;
		else if (!strcmp(argv[i], "--port"))
			port = strtol(v, NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i], "--deny-every-th"))
			deny_every = strtol(v, NULL, 10);
		else {
			fprintf(stderr, "agent-sim: unknown option '%s'\n", argv[i]);
			return 2;
		}
		i++;
	}
	if (!port_file || port < 0 || port > 65535) {
		fprintf(stderr, "agent-sim: --port-file is required, --port 0..65535\n");
		return 2;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	sa.sin_port = htons((unsigned short)port);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("agent-sim: listen");
		return 1;
	}
	snprintf(text, sizeof(text), "%d\n", ntohs(sa.sin_port));
	if (write_file(port_file, text)) {
		perror("agent-sim: port file");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("agent-sim: epoll");
		return 1;
	}
	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 200);

		for (i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;
			ssize_t r;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					ks_http_parser_init(&c->reader);
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
						close(fd);
						free(c);
					}
				}
				continue;
			}
			r = read(c->fd, buf, sizeof(buf));
			if (r > 0) {
				struct ks_http_request req;
				size_t used;
				int rc = ks_http_feed(&c->reader, buf, (size_t)r, &used, &req);

				if (rc == KS_HTTP_NEED_MORE)
					continue;
				/* one answer per connection, then close: a malformed
				 * request gets the 404 too */
				answer(c, rc == KS_HTTP_DONE ? &req : NULL, seed, deny_every);
				served++;
			} else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				continue;
			}
			close(c->fd); /* also drops it from the epoll set */
			ks_http_parser_free(&c->reader);
			free(c);
		}
		if (stats_file && time(NULL) != last && served != last_stats) {
			last = time(NULL);
			last_stats = served;
			snprintf(text, sizeof(text), "%llu\n", served);
			write_file(stats_file, text);
		}
	}
	if (stats_file) {
		snprintf(text, sizeof(text), "%llu\n", served);
		write_file(stats_file, text);
	}
	return 0;
}
