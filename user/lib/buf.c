// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

void ks_buf_init(struct ks_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void ks_buf_free(struct ks_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void ks_buf_reset(struct ks_buf *b)
{
	b->len = 0;
	b->overflow = false;
}

static int reserve(struct ks_buf *b, size_t extra)
{
	size_t want = b->len + extra + 1, cap;
	char *p;

	if (want <= b->cap)
		return 0;
	if (want > b->max + 1) {
		b->overflow = true;
		return -ENOSPC;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p) {
		b->overflow = true;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int ks_buf_append(struct ks_buf *b, const void *data, size_t len)
{
	int err = reserve(b, len);

	if (err)
		return err;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ks_buf_printf(struct ks_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	err = reserve(b, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void ks_buf_consume(struct ks_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

int ks_buf_json_str(struct ks_buf *b, const char *s)
{
	int err = ks_buf_append(b, "\"", 1);

	for (; !err && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			err = ks_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			err = ks_buf_printf(b, "\\u%04x", c);
		else
			err = ks_buf_append(b, s, 1);
	}
	return err ? err : ks_buf_append(b, "\"", 1);
}

int ks_buf_prom_label(struct ks_buf *b, const char *s)
{
	int err = 0;

	for (; *s && !err; s++)
		if (*s == '"' || *s == '\\')
			err = ks_buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			err = ks_buf_append(b, "\\n", 2);
		else
			err = ks_buf_append(b, s, 1);
	return err;
}
