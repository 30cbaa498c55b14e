/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS for ksense-webhook (mbedTLS 2.28): a refcounted server configuration
 * (certificate, key, TLS >= 1.2) that SIGHUP replaces for new connections
 * while open ones keep the one they started with, and non-blocking
 * per-connection sessions over a socket fd.
 */
#ifndef KSENSE_WEBHOOK_TLS_H
#define KSENSE_WEBHOOK_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct ks_tls_conf;
struct ks_tls_conn;

/* Results of the non-blocking calls below. */
enum { KS_TLS_OK = 0, KS_TLS_WANT_READ = -1001, KS_TLS_WANT_WRITE = -1002, KS_TLS_CLOSED = -1003 };

/* Load cert and key files; NULL with a message in err on failure. */
struct ks_tls_conf *ks_tls_conf_load(const char *cert_path, const char *key_path, char *err,
				     size_t errlen);
void ks_tls_conf_get(struct ks_tls_conf *c);
void ks_tls_conf_put(struct ks_tls_conf *c);

/* A session on a connected non-blocking fd; holds a reference to conf. */
struct ks_tls_conn *ks_tls_conn_new(struct ks_tls_conf *conf, int fd);
void ks_tls_conn_free(struct ks_tls_conn *t);
/* KS_TLS_OK when the handshake is done, WANT_*, or another negative
 * (a failed handshake: garbage, wrong version, no shared cipher). */
int ks_tls_handshake(struct ks_tls_conn *t);
/* Bytes read/written (> 0), KS_TLS_WANT_*, KS_TLS_CLOSED, or other < 0. */
ssize_t ks_tls_read(struct ks_tls_conn *t, void *buf, size_t len);
ssize_t ks_tls_write(struct ks_tls_conn *t, const void *buf, size_t len);
/* Bytes of decrypted data already buffered inside the session. */
size_t ks_tls_pending(struct ks_tls_conn *t);
void ks_tls_close_notify(struct ks_tls_conn *t);
/* A short human text for an mbedTLS error code. */
const char *ks_tls_strerror(int err, char *buf, size_t len);

#endif
