// SPDX-License-Identifier: GPL-2.0
/*
 * The agent client (user/lib/agent_client.c; named http_* so the ASan
 * pass runs it with the reader) against agents that answer
 * in every legal framing and in broken ones: each canned answer is served
 * by a thread on a loopback port 0, the client must read what is legal
 * (Content-Length, chunked, ended by close, after a 100) and name what is
 * not, within its time limit.  No root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test_progs.h"
#include "agent_client.h"

struct canned {
	int lfd;
	const char *answer;
	size_t len;
};

/* Accept one connection, read the request head, write the answer in
 * 3-byte pieces (so the client sees it split), close. */
static void *serve(void *arg)
{
	struct canned *c = arg;
	char buf[1024];
	size_t off;
	ssize_t n;
	int fd = accept(c->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	n = recv(fd, buf, sizeof(buf), 0);
	(void)n;
	for (off = 0; off < c->len; off += 3) {
		if (send(fd, c->answer + off, c->len - off < 3 ? c->len - off : 3, MSG_NOSIGNAL) < 0)
			break;
		usleep(200);
	}
	close(fd);
	return NULL;
}

/* One GET of /score against an agent that answers `answer`. */
static int get(const char *answer, size_t max_bytes, struct ks_agent_get *g)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct canned c = { .answer = answer, .len = strlen(answer) };
	pthread_t t;

	memset(g, 0, sizeof(*g));
	g->host = "127.0.0.1";
	g->path = "/score";
	g->max_bytes = max_bytes;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.lfd < 0 || bind(c.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(c.lfd, 1) ||
	    getsockname(c.lfd, (struct sockaddr *)&sa, &sl) || pthread_create(&t, NULL, serve, &c)) {
		if (c.lfd >= 0)
			close(c.lfd);
		return -1;
	}
	g->port = ntohs(sa.sin_port);
	ks_agent_get_many(g, 1, 3000);
	pthread_join(t, NULL);
	close(c.lfd);
	return g->rc;
}

#define SCORE "{\"score\":42,\"decision\":\"allow\",\"band\":\"calm\",\"seq\":7}"

KS_TEST_F(http_agent_client_framing, KS_SAN | KS_HOST)
{
	static const char *const good[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 53\r\n\r\n" SCORE,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10;x=y\r\n{\"score\":42,\"dec\r\n25\r\n"
		"ision\":\"allow\",\"band\":\"calm\",\"seq\":7}\r\n0\r\nTrailer: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n" SCORE,
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 53\r\n\r\n" SCORE,
	};
	struct ks_agent_score sc;
	struct ks_agent_get g;
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!ASSERT_OK(get(good[i], 0, &g), g.err))
			continue;
		if (ASSERT_OK(ks_agent_score_from(&g, &sc, err, sizeof(err)), err)) {
			ASSERT_EQ(sc.score, 42, "score");
			ASSERT_EQ(sc.seq, 7, "seq");
		}
		ks_agent_get_free(&g);
	}
	if (test__start_subtest("status")) {
		ASSERT_OK(get("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\n\r\nno window", 0, &g), g.err);
		ASSERT_EQ(g.status, 503, "status");
		ASSERT_EQ(ks_agent_score_from(&g, &sc, err, sizeof(err)), -EIO, "503 is an error");
		ASSERT_STRHAS(err, "answered 503: no window", "with the body");
		ks_agent_get_free(&g);
	}
}

KS_TEST_F(http_agent_client_malformed, KS_SAN | KS_HOST)
{
	static const struct {
		const char *answer;
		int rc;
		const char *says;
	} bad[] = {
		{ "", -EPROTO, "closed before a message" },
		{ "SSH-2.0-OpenSSH\r\n\r\n", -EPROTO, "status line" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", -EPIPE, "closed mid-message" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", -EPIPE, "closed mid-message" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", -EPROTO, "chunked" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -EPROTO, "Content-Length" },
		{ "HTTP/1.1 200 OK\nContent-Length: 0\n\n", -EPROTO, "CRLF" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n", -E2BIG, "too large" },
		{ "HTTP/1.1 200 OK\r\n\r\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!", -E2BIG,
		  "too large" },
	};
	struct ks_agent_get g;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(get(bad[i].answer, 64, &g), bad[i].rc, bad[i].answer);
		ASSERT_STRHAS(g.err, bad[i].says, bad[i].says);
		ASSERT_STRHAS(g.err, "127.0.0.1:", "names the agent");
		ks_agent_get_free(&g);
	}
}
