/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A blocking TLS client for the daemon tests (mbedTLS, no certificate
 * check: the tests talk to their own loopback daemon), so a test can be
 * the hostile client curl and openssl will not be: pipelining without
 * reading, stalling halfway through a body, holding connections open.
 */
#ifndef KSENSE_TLSC_H
#define KSENSE_TLSC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tlsc;

/* Connect to 127.0.0.1:port, handshake within timeout_ms; NULL on failure. */
struct tlsc *tlsc_connect(int port, int timeout_ms);
/* Write all of buf (blocking); 0 or -1. */
int tlsc_write(struct tlsc *c, const void *buf, size_t len);
/* Read what comes within timeout_ms into buf: bytes (> 0), 0 at EOF, -1 on
 * error or timeout. */
ssize_t tlsc_read(struct tlsc *c, void *buf, size_t len, int timeout_ms);
/* Read until the peer closes or timeout_ms passes; NUL-terminated; bytes. */
size_t tlsc_read_all(struct tlsc *c, char *buf, size_t len, int timeout_ms);
int tlsc_fd(const struct tlsc *c);
void tlsc_close(struct tlsc *c);

/* One request on a fresh connection: the whole answer (read until the
 * server closes or timeout_ms) into out; bytes read, or -1. */
ssize_t tlsc_request(int port, const void *req, size_t len, char *out, size_t outlen, int timeout_ms);

#endif
