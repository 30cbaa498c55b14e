// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include "tls.h"

struct ks_tls_conf {
	int refs;
	mbedtls_ssl_config ssl;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct ks_tls_conn {
	struct ks_tls_conf *conf;
	mbedtls_ssl_context ssl;
	int fd;
};

const char *ks_tls_strerror(int err, char *buf, size_t len)
{
	mbedtls_strerror(err, buf, len);
	return buf;
}

static void conf_free(struct ks_tls_conf *c)
{
	mbedtls_ssl_config_free(&c->ssl);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

struct ks_tls_conf *ks_tls_conf_load(const char *cert_path, const char *key_path, char *err,
				     size_t errlen)
{
	static const char pers[] = "ksense-webhook";
	struct ks_tls_conf *c = calloc(1, sizeof(*c));
	char why[160];
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->refs = 1;
	mbedtls_ssl_config_init(&c->ssl);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_pk_init(&c->key);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);

	rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc) {
		snprintf(err, errlen, "seeding the RNG: %s", ks_tls_strerror(rc, why, sizeof(why)));
		goto fail;
	}
	/* mbedTLS says "Read/write of file failed" for a missing file */
	if (access(cert_path, R_OK) || access(key_path, R_OK)) {
		bool cert_bad = access(cert_path, R_OK) != 0;

		snprintf(err, errlen, "%s %s: %s", cert_bad ? "certificate" : "key", cert_bad ? cert_path : key_path,
			 strerror(errno));
		goto fail;
	}
	rc = mbedtls_x509_crt_parse_file(&c->cert, cert_path);
	if (rc) {
		snprintf(err, errlen, "certificate %s: %s", cert_path, ks_tls_strerror(rc, why, sizeof(why)));
		goto fail;
	}
	rc = mbedtls_pk_parse_keyfile(&c->key, key_path, NULL);
	if (rc) {
		snprintf(err, errlen, "key %s: %s", key_path, ks_tls_strerror(rc, why, sizeof(why)));
		goto fail;
	}
	rc = mbedtls_ssl_config_defaults(&c->ssl, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		snprintf(err, errlen, "TLS defaults: %s", ks_tls_strerror(rc, why, sizeof(why)));
		goto fail;
	}
	/* TLS 1.2 and up only (3.3 is TLS 1.2 in SSL numbering) */
	mbedtls_ssl_conf_min_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&c->ssl, mbedtls_ctr_drbg_random, &c->drbg);
	rc = mbedtls_ssl_conf_own_cert(&c->ssl, &c->cert, &c->key);
	if (rc) {
		snprintf(err, errlen, "certificate and key do not go together: %s",
			 ks_tls_strerror(rc, why, sizeof(why)));
		goto fail;
	}
	if (mbedtls_pk_check_pair(&c->cert.pk, &c->key)) {
		snprintf(err, errlen, "key %s does not match certificate %s", key_path, cert_path);
		goto fail;
	}
	return c;
fail:
	conf_free(c);
	return NULL;
}

void ks_tls_conf_get(struct ks_tls_conf *c)
{
	c->refs++;
}

void ks_tls_conf_put(struct ks_tls_conf *c)
{
	if (c && --c->refs == 0)
		conf_free(c);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct ks_tls_conn *t = ctx;
	ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct ks_tls_conn *t = ctx;
	ssize_t n = recv(t->fd, buf, len, 0);

	if (n > 0)
		return (int)n;
	if (n == 0)
		return MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY; /* EOF without close_notify */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

struct ks_tls_conn *ks_tls_conn_new(struct ks_tls_conf *conf, int fd)
{
	struct ks_tls_conn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &conf->ssl)) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	t->fd = fd;
	t->conf = conf;
	ks_tls_conf_get(conf);
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	return t;
}

void ks_tls_conn_free(struct ks_tls_conn *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
	ks_tls_conf_put(t->conf);
	free(t);
}

static int map(int rc)
{
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return KS_TLS_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return KS_TLS_WANT_WRITE;
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return KS_TLS_CLOSED;
	return rc;
}

int ks_tls_handshake(struct ks_tls_conn *t)
{
	return map(mbedtls_ssl_handshake(&t->ssl));
}

ssize_t ks_tls_read(struct ks_tls_conn *t, void *buf, size_t len)
{
	int rc = mbedtls_ssl_read(&t->ssl, buf, len);

	if (rc == 0)
		return KS_TLS_CLOSED;
	return rc > 0 ? rc : map(rc);
}

ssize_t ks_tls_write(struct ks_tls_conn *t, const void *buf, size_t len)
{
	int rc = mbedtls_ssl_write(&t->ssl, buf, len);

	return rc >= 0 ? rc : map(rc);
}

size_t ks_tls_pending(struct ks_tls_conn *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

void ks_tls_close_notify(struct ks_tls_conn *t)
{
	mbedtls_ssl_close_notify(&t->ssl); /* best effort: the socket closes next */
}
