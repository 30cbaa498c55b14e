/* SPDX-License-Identifier: GPL-2.0 */
/* A growable byte buffer with a hard cap, for responses and CSV lines. */
#ifndef KSENSE_BUF_H
#define KSENSE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct ks_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;        /* never grows past this */
	bool overflow;     /* an append did not fit: the content is cut */
};

void ks_buf_init(struct ks_buf *b, size_t max);
void ks_buf_free(struct ks_buf *b);
void ks_buf_reset(struct ks_buf *b);
/* 0, or -ENOSPC / -ENOMEM (and overflow set). */
int ks_buf_append(struct ks_buf *b, const void *data, size_t len);
int ks_buf_printf(struct ks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void ks_buf_consume(struct ks_buf *b, size_t n);
/* Append s as a JSON string literal (with quotes). */
int ks_buf_json_str(struct ks_buf *b, const char *s);
/* Append s as a Prometheus label value (no quotes): '"', '\\' and newlines
 * escaped.  Kubernetes names hold none of them, but a name from the API
 * is never trusted. */
int ks_buf_prom_label(struct ks_buf *b, const char *s);

#endif
