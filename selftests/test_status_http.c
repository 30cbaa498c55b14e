// SPDX-License-Identifier: GPL-2.0
/*
 * The control-plane daemons' status port (user/lib/status_http.c): the
 * two endpoints, HEAD, wrong methods and paths, garbage, and clients that
 * hold every slot without a word (the port recovers once they go).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "loopback.h"
#include "status_http.h"

static atomic_int healthy = 1;

static void metrics(void *ctx, struct ks_buf *out)
{
	(void)ctx;
	ks_buf_printf(out, "# HELP t_up Up.\n# TYPE t_up gauge\nt_up 1\n");
}

static int health(void *ctx, struct ks_buf *out)
{
	(void)ctx;
	ks_buf_printf(out, "{\"status\":\"%s\"}\n", atomic_load(&healthy) ? "ok" : "not leading");
	return atomic_load(&healthy) ? 200 : 503;
}

KS_TEST_F(status_http, KS_SAN | KS_HOST)
{
	char err[256], buf[4096];
	struct ks_status *s = ks_status_start("127.0.0.1", 0, metrics, health, NULL, err, sizeof(err));
	int port, fds[40], i;

	if (!ASSERT_OK_PTR(s, err))
		return;
	port = ks_status_port(s);
	ASSERT_GT(port, 0, "bound port");
	ASSERT_TRUE(lb_get_ok(port, "/metrics", buf, sizeof(buf), 2000), "GET /metrics 200");
	ASSERT_STRHAS(buf, "t_up 1", "metrics body");
	ASSERT_STRHAS(buf, "Content-Type: text/plain; version=0.0.4", "exposition type");
	ASSERT_TRUE(lb_get_ok(port, "/healthz", buf, sizeof(buf), 2000), "GET /healthz 200");
	atomic_store(&healthy, 0);
	lb_get_ok(port, "/healthz", buf, sizeof(buf), 2000);
	ASSERT_STRHAS(buf, "HTTP/1.1 503", "unhealthy 503");
	ASSERT_STRHAS(buf, "not leading", "says why");
	lb_request(port, "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf), 2000);
	ASSERT_STRHAS(buf, "HTTP/1.1 200", "HEAD 200");
	ASSERT_FALSE(strstr(buf, "t_up 1"), "HEAD without a body");
	lb_request(port, "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}", buf, sizeof(buf), 2000);
	ASSERT_STRHAS(buf, "HTTP/1.1 405", "POST 405");
	ASSERT_STRHAS(buf, "Allow: GET, HEAD", "Allow");
	lb_get_ok(port, "/nope", buf, sizeof(buf), 2000);
	ASSERT_STRHAS(buf, "HTTP/1.1 404", "unknown path 404");
	lb_request(port, "GARBAGE\r\n\r\n", buf, sizeof(buf), 2000);
	ASSERT_STRHAS(buf, "HTTP/1.1 400", "garbage 400");
	/* every slot taken by clients that say nothing: refused meanwhile,
	 * served again once they go */
	for (i = 0; i < 40; i++)
		fds[i] = lb_connect(port);
	usleep(200 * 1000);
	for (i = 0; i < 40; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	usleep(200 * 1000);
	atomic_store(&healthy, 1);
	ASSERT_TRUE(lb_get_ok(port, "/healthz", buf, sizeof(buf), 2000), "served again after the flood");
	ks_status_stop(s);
	ASSERT_EQ(lb_connect(port), -1, "closed after stop");
}
