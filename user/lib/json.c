// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h> /* the implementation, here and nowhere else */
#include "json.h"

/* Where the first top-level value ends (for messages only): strings and
 * escapes skipped, brackets counted.  len when it never closes. */
static size_t first_value_end(const char *s, size_t len)
{
	size_t i = 0, depth = 0;
	bool in_str = false, started = false;

	for (; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
			started = true;
		} else if ((c == '}' || c == ']') && depth) {
			if (--depth == 0 && started)
				return i + 1;
		}
	}
	return len;
}

/* Offset where nesting first exceeds max, or len when it never does. */
static size_t too_deep_at(const char *s, size_t len, size_t max)
{
	size_t i, depth = 0;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return i;
		} else if ((c == '}' || c == ']') && depth) {
			depth--;
		}
	}
	return len;
}

static void describe_error(const char *src, size_t len, int rc, unsigned int pos, char *err, size_t errlen)
{
	size_t end = first_value_end(src, len);

	while (end < len && (src[end] == ' ' || src[end] == '\n' || src[end] == '\r' || src[end] == '\t'))
		end++;
	if (end < len && end <= pos)
		snprintf(err, errlen, "trailing data after the JSON value at byte %zu", end);
	else if (rc == JSMN_ERROR_PART)
		snprintf(err, errlen, "truncated JSON (input ends at byte %zu)", len);
	else
		snprintf(err, errlen, "invalid JSON at byte %u", pos);
}

int ks_json_parse(struct ks_json *j, const char *src, size_t len, char *err, size_t errlen)
{
	jsmn_parser p;
	int n;

	memset(j, 0, sizeof(*j));
	if (len > KS_JSON_MAX_BYTES) {
		snprintf(err, errlen, "JSON body of %zu bytes is over the %d byte limit", len, KS_JSON_MAX_BYTES);
		return -E2BIG;
	}
	{
		size_t at = too_deep_at(src, len, KS_JSON_MAX_DEPTH);

		if (at < len) {
			snprintf(err, errlen, "JSON nested deeper than %d levels at byte %zu", KS_JSON_MAX_DEPTH, at);
			return -E2BIG;
		}
	}
	jsmn_init(&p);
	n = jsmn_parse(&p, src, len, NULL, 0);
	if (n < 0) {
		describe_error(src, len, n, p.pos, err, errlen);
		return -EINVAL;
	}
	if (n > KS_JSON_MAX_TOKENS) {
		snprintf(err, errlen, "JSON with more than %d tokens", KS_JSON_MAX_TOKENS);
		return -E2BIG;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty JSON");
		return -EINVAL;
	}
	j->tok = calloc((size_t)n, sizeof(*j->tok));
	if (!j->tok) {
		snprintf(err, errlen, "out of memory for %d JSON tokens", n);
		return -ENOMEM;
	}
	jsmn_init(&p);
	j->ntok = jsmn_parse(&p, src, len, j->tok, (unsigned int)n);
	if (j->ntok != n) {
		/* the counting pass does not see unclosed brackets; this one does */
		describe_error(src, len, j->ntok, p.pos, err, errlen);
		ks_json_free(j);
		return -EINVAL;
	}
	/* strict jsmn still stops at the end of the first value: anything but
	 * whitespace after it is not one JSON document */
	{
		size_t end = (size_t)j->tok[0].end;

		while (end < len && (src[end] == ' ' || src[end] == '\n' || src[end] == '\r' || src[end] == '\t'))
			end++;
		if (end != len) {
			snprintf(err, errlen, "trailing data after the JSON value at byte %zu", end);
			ks_json_free(j);
			return -EINVAL;
		}
	}
	j->src = src;
	j->len = len;
	return 0;
}

void ks_json_free(struct ks_json *j)
{
	free(j->tok);
	j->tok = NULL;
	j->ntok = 0;
}

int ks_json_next(const struct ks_json *j, int i)
{
	int pending = 1;

	/* iterative: `size` counts direct children (an object's keys, each
	 * followed by its value), so no recursion however deep the input */
	while (pending > 0 && i < j->ntok) {
		const jsmntok_t *t = &j->tok[i];

		pending--;
		if (t->type == JSMN_OBJECT)
			pending += t->size * 2;
		else if (t->type == JSMN_ARRAY)
			pending += t->size;
		i++;
	}
	return i;
}

int ks_json_member(const struct ks_json *j, int i, const char *key)
{
	char name[256];
	int k, n, end;

	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_OBJECT)
		return -1;
	n = j->tok[i].size;
	end = j->ntok;
	for (k = 0, i++; k < n && i < end; k++) {
		int v = i + 1;

		if (v >= end)
			return -1;
		if (!ks_json_string(j, i, name, sizeof(name)) && !strcmp(name, key))
			return v;
		i = ks_json_next(j, v);
	}
	return -1;
}

int ks_json_path(const struct ks_json *j, const char *path)
{
	char part[128];
	int i = 0;

	while (*path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(part))
			return -1;
		memcpy(part, path, n);
		part[n] = '\0';
		i = ks_json_member(j, i, part);
		if (i < 0)
			return -1;
		path += n;
		if (*path == '.')
			path++;
	}
	return i;
}

bool ks_json_is_string(const struct ks_json *j, int i)
{
	return i >= 0 && i < j->ntok && j->tok[i].type == JSMN_STRING;
}

bool ks_json_is_object(const struct ks_json *j, int i)
{
	return i >= 0 && i < j->ntok && j->tok[i].type == JSMN_OBJECT;
}

bool ks_json_is_literal(const struct ks_json *j, int i, const char *lit)
{
	size_t n = strlen(lit);

	return i >= 0 && i < j->ntok && j->tok[i].type == JSMN_PRIMITIVE &&
	       (size_t)(j->tok[i].end - j->tok[i].start) == n && !memcmp(j->src + j->tok[i].start, lit, n);
}

const char *ks_json_type_name(const struct ks_json *j, int i)
{
	if (i < 0 || i >= j->ntok)
		return "missing";
	switch (j->tok[i].type) {
	case JSMN_OBJECT: return "object";
	case JSMN_ARRAY: return "array";
	case JSMN_STRING: return "string";
	default:
		if (ks_json_is_literal(j, i, "null"))
			return "null";
		if (ks_json_is_literal(j, i, "true") || ks_json_is_literal(j, i, "false"))
			return "boolean";
		return "number";
	}
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = s[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int put_utf8(char *out, size_t outlen, size_t *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*o + n >= outlen)
		return -ENOSPC;
	memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

int ks_json_string(const struct ks_json *j, int i, char *out, size_t outlen)
{
	const char *s, *e;
	size_t o = 0;

	if (!ks_json_is_string(j, i) || !outlen)
		return -EINVAL;
	s = j->src + j->tok[i].start;
	e = j->src + j->tok[i].end;
	while (s < e) {
		uint32_t cp, lo;
		char c = *s++;

		if (c != '\\') {
			if ((unsigned char)c < 0x20)
				return -EINVAL; /* raw control characters are not JSON */
			if (o + 1 >= outlen)
				return -ENOSPC;
			out[o++] = c;
			continue;
		}
		if (s >= e)
			return -EINVAL;
		c = *s++;
		switch (c) {
		case '"': case '\\': case '/':
			cp = (uint32_t)c;
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (e - s < 4 || hex4(s, &cp))
				return -EINVAL;
			s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* a high surrogate must be followed by a low one */
				if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return -EINVAL;
				s += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return -EINVAL;
			}
			if (cp == 0)
				return -EINVAL; /* an embedded NUL would cut C strings */
			break;
		default:
			return -EINVAL;
		}
		if (put_utf8(out, outlen, &o, cp))
			return -ENOSPC;
	}
	out[o] = '\0';
	return 0;
}
