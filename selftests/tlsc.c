// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include "tlsc.h"

struct tlsc {
	int fd;
	int timeout_ms;           /* of the current blocking call */
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, timeout_ms) > 0 ? 0 : -1;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tlsc *c = ctx;
	ssize_t n;

	if (wait_fd(c->fd, POLLOUT, c->timeout_ms))
		return MBEDTLS_ERR_SSL_TIMEOUT;
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tlsc *c = ctx;
	ssize_t n;

	if (wait_fd(c->fd, POLLIN, c->timeout_ms))
		return MBEDTLS_ERR_SSL_TIMEOUT;
	n = recv(c->fd, buf, len, 0);
	if (n < 0)
		return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
	return (int)n;
}

struct tlsc *tlsc_connect(int port, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct tlsc *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return NULL;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_ssl_init(&c->ssl);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, NULL, 0) ||
	    mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT))
		goto fail;
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	if (mbedtls_ssl_setup(&c->ssl, &c->conf))
		goto fail;
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	c->timeout_ms = timeout_ms;
	do
		rc = mbedtls_ssl_handshake(&c->ssl);
	while (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (rc)
		goto fail;
	return c;
fail:
	tlsc_close(c);
	return NULL;
}

int tlsc_write(struct tlsc *c, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	c->timeout_ms = 30000;
	while (len) {
		int n = mbedtls_ssl_write(&c->ssl, p, len);

		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t tlsc_read(struct tlsc *c, void *buf, size_t len, int timeout_ms)
{
	int n;

	c->timeout_ms = timeout_ms;
	do
		n = mbedtls_ssl_read(&c->ssl, buf, len);
	while (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET)
		return 0;
	return n < 0 ? -1 : n;
}

size_t tlsc_read_all(struct tlsc *c, char *buf, size_t len, int timeout_ms)
{
	long long end = mono_ms() + timeout_ms;
	size_t got = 0;

	while (got + 1 < len) {
		long long left = end - mono_ms();
		ssize_t n;

		if (left <= 0)
			break;
		n = tlsc_read(c, buf + got, len - 1 - got, (int)left);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

int tlsc_fd(const struct tlsc *c)
{
	return c->fd;
}

void tlsc_close(struct tlsc *c)
{
	if (!c)
		return;
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

ssize_t tlsc_request(int port, const void *req, size_t len, char *out, size_t outlen, int timeout_ms)
{
	struct tlsc *c = tlsc_connect(port, timeout_ms);
	ssize_t got;

	if (!c)
		return -1;
	if (tlsc_write(c, req, len)) {
		tlsc_close(c);
		return -1;
	}
	got = (ssize_t)tlsc_read_all(c, out, outlen, timeout_ms);
	tlsc_close(c);
	return got;
}
