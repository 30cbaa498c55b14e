// SPDX-License-Identifier: GPL-2.0
/*
 * JSON over jsmn: a strict grammar and size check that also counts the
 * tokens, then jsmn filling an array of exactly that many tokens, then
 * iterative lookups and string unescaping.  See json.h for why the grammar
 * check and the depth limit exist.
 */
#define KS_JSON_JSMN_IMPLEMENTATION /* jsmn's function bodies: here and nowhere else */
#include "hex.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Length of the well-formed UTF-8 sequence that starts with a byte >= 0x80
 * (Unicode 15, table 3-7: no overlong forms, no UTF-16 surrogates, nothing
 * above U+10FFFF): 2..4, 0 when it is malformed, -1 when it is well-formed
 * so far but avail ends first.
 */
static int utf8_seq(const unsigned char *u, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, k;

	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		n = 2;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		n = 3;
		if (u[0] == 0xE0)
			lo = 0xA0;
		else if (u[0] == 0xED)
			hi = 0x9F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		n = 4;
		if (u[0] == 0xF0)
			lo = 0x90;
		else if (u[0] == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	for (k = 1; k < n; k++) {
		if (k >= avail)
			return -1;
		if (u[k] < lo || u[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return (int)n;
}

/* ---- grammar check and token count ---- */

enum { SCAN_OK = 0, SCAN_BAD = -1, SCAN_PART = -2 };

struct scanner {
	const char *s;
	size_t len;
	size_t pos;        /* next byte; after SCAN_BAD, the offending one */
	const char *why;   /* after SCAN_BAD */
};

static int bad(struct scanner *sc, const char *why)
{
	sc->why = why;
	return SCAN_BAD;
}

/* At the opening quote; on success pos is past the closing one. */
static int scan_string(struct scanner *sc)
{
	const char *s = sc->s;
	int k, r;

	sc->pos++;
	for (;;) {
		unsigned char c;

		if (sc->pos >= sc->len)
			return SCAN_PART;
		c = (unsigned char)s[sc->pos];
		if (c == '"') {
			sc->pos++;
			return SCAN_OK;
		}
		if (c == '\\') {
			if (sc->pos + 1 >= sc->len)
				return SCAN_PART;
			switch (s[sc->pos + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				sc->pos += 2;
				continue;
			case 'u':
				for (k = 2; k < 6; k++) {
					if (sc->pos + (size_t)k >= sc->len)
						return SCAN_PART;
					if (ks_hex_digit((unsigned char)s[sc->pos + (size_t)k]) < 0) {
						sc->pos += (size_t)k;
						return bad(sc, "\\u needs four hex digits");
					}
				}
				sc->pos += 6;
				continue;
			default:
				sc->pos++;
				return bad(sc, "invalid escape in a string");
			}
		}
		if (c < 0x20)
			return bad(sc, "control character in a string (must be escaped)");
		if (c < 0x80) {
			sc->pos++;
			continue;
		}
		r = utf8_seq((const unsigned char *)s + sc->pos, sc->len - sc->pos);
		if (r < 0)
			return SCAN_PART;
		if (r == 0)
			return bad(sc, "invalid UTF-8 in a string");
		sc->pos += (size_t)r;
	}
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct scanner *sc)
{
	const char *s = sc->s;

	if (s[sc->pos] == '-')
		sc->pos++;
	if (sc->pos >= sc->len)
		return SCAN_PART;
	if (s[sc->pos] == '0')
		sc->pos++;
	else if (is_digit(s[sc->pos]))
		while (sc->pos < sc->len && is_digit(s[sc->pos]))
			sc->pos++;
	else
		return bad(sc, "expected a digit");
	if (sc->pos < sc->len && s[sc->pos] == '.') {
		sc->pos++;
		if (sc->pos >= sc->len)
			return SCAN_PART;
		if (!is_digit(s[sc->pos]))
			return bad(sc, "expected a digit after '.'");
		while (sc->pos < sc->len && is_digit(s[sc->pos]))
			sc->pos++;
	}
	if (sc->pos < sc->len && (s[sc->pos] == 'e' || s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len && (s[sc->pos] == '+' || s[sc->pos] == '-'))
			sc->pos++;
		if (sc->pos >= sc->len)
			return SCAN_PART;
		if (!is_digit(s[sc->pos]))
			return bad(sc, "expected a digit in the exponent");
		while (sc->pos < sc->len && is_digit(s[sc->pos]))
			sc->pos++;
	}
	return SCAN_OK;
}

static int scan_word(struct scanner *sc, const char *word)
{
	for (; *word; word++, sc->pos++) {
		if (sc->pos >= sc->len)
			return SCAN_PART;
		if (sc->s[sc->pos] != *word)
			return bad(sc, "invalid literal (want true, false or null)");
	}
	return SCAN_OK;
}

struct scan_result {
	size_t ntok;
	size_t root_start, root_end;   /* the root value's bytes, quotes included */
};

/*
 * RFC 8259 in one pass with no recursion: an explicit state and one bit
 * per open container (object or array), bounded by KS_JSON_MAX_DEPTH.
 * Counts tokens as jsmn makes them: one per value and one per key.
 * prefix: stop after the first whole value (bytes may follow it).
 */
static int scan(const char *s, size_t len, bool prefix, struct scan_result *res, char *err, size_t errlen)
{
	enum { WANT_VALUE, WANT_VALUE_OR_CLOSE, WANT_KEY, WANT_KEY_OR_CLOSE, WANT_COLON, AFTER_VALUE } st = WANT_VALUE;
	unsigned char is_obj[(KS_JSON_MAX_DEPTH + 7) / 8] = { 0 };
	struct scanner sc = { .s = s, .len = len };
	size_t depth = 0;
	int r = SCAN_OK;

	memset(res, 0, sizeof(*res));
	for (;;) {
		bool top_obj;
		char c;

		while (sc.pos < len && is_ws(s[sc.pos]))
			sc.pos++;
		if (sc.pos >= len)
			break;
		c = s[sc.pos];
		top_obj = depth && (is_obj[(depth - 1) / 8] >> ((depth - 1) % 8) & 1);
		switch (st) {
		case AFTER_VALUE:
			if (!depth && prefix)
				return 0; /* one value, and what follows is the caller's */
			if (!depth) {
				set_err(err, errlen, "trailing data after the JSON value at byte %zu", sc.pos);
				return -EINVAL;
			}
			if (c == ',') {
				st = top_obj ? WANT_KEY : WANT_VALUE;
				sc.pos++;
				continue;
			}
			if (c != (top_obj ? '}' : ']')) {
				r = bad(&sc, top_obj ? "expected ',' or '}'" : "expected ',' or ']'");
				break;
			}
			goto close;
		case WANT_COLON:
			if (c != ':') {
				r = bad(&sc, "expected ':' after an object key");
				break;
			}
			st = WANT_VALUE;
			sc.pos++;
			continue;
		case WANT_KEY_OR_CLOSE:
			if (c == '}')
				goto close;
			/* fall through */
		case WANT_KEY:
			if (c != '"') {
				r = bad(&sc, st == WANT_KEY ? "expected a string key" : "expected a string key or '}'");
				break;
			}
			res->ntok++;
			r = scan_string(&sc);
			st = WANT_COLON;
			break;
		case WANT_VALUE_OR_CLOSE:
			if (c == ']')
				goto close;
			/* fall through */
		case WANT_VALUE:
			if (!depth)
				res->root_start = sc.pos;
			res->ntok++;
			if (c == '{' || c == '[') {
				if (depth == KS_JSON_MAX_DEPTH) {
					set_err(err, errlen, "JSON nested deeper than %d levels at byte %zu",
						KS_JSON_MAX_DEPTH, sc.pos);
					return -E2BIG;
				}
				if (c == '{')
					is_obj[depth / 8] |= (unsigned char)(1u << (depth % 8));
				else
					is_obj[depth / 8] &= (unsigned char)~(1u << (depth % 8));
				depth++;
				sc.pos++;
				st = c == '{' ? WANT_KEY_OR_CLOSE : WANT_VALUE_OR_CLOSE;
				continue;
			}
			if (c == '"')
				r = scan_string(&sc);
			else if (c == '-' || is_digit(c))
				r = scan_number(&sc);
			else if (c == 't')
				r = scan_word(&sc, "true");
			else if (c == 'f')
				r = scan_word(&sc, "false");
			else if (c == 'n')
				r = scan_word(&sc, "null");
			else
				r = bad(&sc, "expected a value");
			st = AFTER_VALUE;
			if (!depth)
				res->root_end = sc.pos;
			break;
		}
		if (r == SCAN_OK)
			continue;
		if (r == SCAN_PART)
			goto truncated;
		set_err(err, errlen, "invalid JSON at byte %zu: %s", sc.pos, sc.why);
		return -EINVAL;
close:
		depth--;
		sc.pos++;
		st = AFTER_VALUE;
		if (!depth)
			res->root_end = sc.pos;
	}
	if (st == AFTER_VALUE && !depth)
		return 0;
truncated:
	if (!res->ntok)
		set_err(err, errlen, "empty JSON");
	else
		set_err(err, errlen, "truncated JSON (input ends at byte %zu)", len);
	return -EINVAL;
}

/* ---- parse ---- */

int ks_json_parse_limits(struct ks_json *j, const char *src, size_t len, size_t max_bytes,
			 int max_tokens, char *err, size_t errlen)
{
	struct scan_result res;
	jsmn_parser p;
	int rc, n;

	memset(j, 0, sizeof(*j));
	if (!src && len) {
		set_err(err, errlen, "no JSON buffer");
		return -EINVAL;
	}
	if (max_bytes > INT_MAX - 1)
		max_bytes = INT_MAX - 1; /* jsmn's token offsets are int */
	if (len > max_bytes) {
		set_err(err, errlen, "JSON of %zu bytes is over the %zu byte limit", len, max_bytes);
		return -E2BIG;
	}
	rc = scan(src, len, false, &res, err, errlen);
	if (rc)
		return rc;
	if (max_tokens < 1 || res.ntok > (size_t)max_tokens) {
		set_err(err, errlen, "JSON with %zu tokens is over the %d token limit", res.ntok, max_tokens);
		return -E2BIG;
	}
	n = (int)res.ntok;
	j->tok = calloc((size_t)n, sizeof(*j->tok));
	if (!j->tok) {
		set_err(err, errlen, "out of memory for %d JSON tokens", n);
		return -ENOMEM;
	}
	if (src[res.root_start] == '{' || src[res.root_start] == '[') {
		jsmn_init(&p);
		rc = jsmn_parse(&p, src, len, j->tok, (unsigned int)n);
		if (rc != n) {
			/* cannot happen on input the scanner accepted; refuse
			 * rather than hand out a token tree that lies */
			set_err(err, errlen, "internal error: jsmn returned %d for %d tokens at byte %u", rc, n, p.pos);
			ks_json_free(j);
			return -ENOTRECOVERABLE;
		}
	} else {
		/* strict jsmn wants a delimiter after a primitive, so a bare
		 * top-level scalar ("42", "true") is one token made here */
		bool str = src[res.root_start] == '"';

		j->tok[0].type = str ? JSMN_STRING : JSMN_PRIMITIVE;
		j->tok[0].start = (int)res.root_start + str;
		j->tok[0].end = (int)res.root_end - str;
		j->tok[0].size = 0;
		j->tok[0].parent = -1;
	}
	j->src = src;
	j->len = len;
	j->ntok = n;
	return 0;
}

int ks_json_parse(struct ks_json *j, const char *src, size_t len, char *err, size_t errlen)
{
	return ks_json_parse_limits(j, src, len, KS_JSON_MAX_BYTES, KS_JSON_MAX_TOKENS, err, errlen);
}

void ks_json_free(struct ks_json *j)
{
	free(j->tok);
	j->tok = NULL;
	j->ntok = 0;
}

/* ---- walking a large object or array without tokenizing it whole ---- */

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && is_ws(s[i]))
		i++;
	return i;
}

/* The value at s[i..len): its end in *end (strictly checked). */
static int value_at(const char *s, size_t len, size_t i, size_t *end, char *err, size_t errlen)
{
	struct scan_result res;
	char why[160];
	int rc = scan(s + i, len - i, true, &res, why, sizeof(why));

	if (rc) {
		set_err(err, errlen, "at byte %zu: %s", i, why);
		return rc;
	}
	*end = i + res.root_end;
	return 0;
}

int ks_json_walk_open(struct ks_json_walk *w, const char *src, size_t len, char open, bool whole, char *err,
		      size_t errlen)
{
	memset(w, 0, sizeof(*w));
	if ((open != '{' && open != '[') || (!src && len)) {
		set_err(err, errlen, "ks_json_walk_open: bad arguments");
		return -EINVAL;
	}
	w->s = src;
	w->len = len;
	w->open = open;
	w->whole = whole;
	w->pos = skip_ws(src, len, 0);
	if (w->pos >= len || src[w->pos] != open) {
		set_err(err, errlen, "not a JSON %s (byte %zu)", open == '{' ? "object" : "array", w->pos);
		return -EINVAL;
	}
	w->pos++;
	return 0;
}

/* Past the closing bracket: the end, and for a whole document nothing after it. */
static int walk_close(struct ks_json_walk *w, char *err, size_t errlen)
{
	w->pos++;
	w->done = true;
	if (w->whole && skip_ws(w->s, w->len, w->pos) != w->len) {
		set_err(err, errlen, "trailing data after the JSON value at byte %zu", skip_ws(w->s, w->len, w->pos));
		return -EINVAL;
	}
	return 0;
}

int ks_json_walk_next(struct ks_json_walk *w, const char **name, size_t *name_len, size_t *value_off, char *err,
		      size_t errlen)
{
	char close = w->open == '{' ? '}' : ']';
	const char *s = w->s;
	size_t len = w->len, kend;
	int rc;

	if (w->done)
		return 0;
	if (w->pending) {
		set_err(err, errlen, "ks_json_walk_next: the value at byte %zu was not taken", w->pos);
		return -EINVAL;
	}
	w->pos = skip_ws(s, len, w->pos);
	if (w->pos < len && s[w->pos] == close && !w->n)
		return walk_close(w, err, errlen);
	if (w->n) {
		if (w->pos < len && s[w->pos] == close)
			return walk_close(w, err, errlen);
		if (w->pos >= len || s[w->pos] != ',') {
			set_err(err, errlen, "expected ',' or '%c' at byte %zu", close, w->pos);
			return -EINVAL;
		}
		w->pos = skip_ws(s, len, w->pos + 1);
	}
	if (w->open == '{') {
		if (w->pos >= len || s[w->pos] != '"') {
			set_err(err, errlen, "expected a member name at byte %zu", w->pos);
			return -EINVAL;
		}
		rc = value_at(s, len, w->pos, &kend, err, errlen);
		if (rc)
			return rc;
		if (name) {
			*name = s + w->pos + 1;
			*name_len = kend - w->pos - 2;
		}
		w->pos = skip_ws(s, len, kend);
		if (w->pos >= len || s[w->pos] != ':') {
			set_err(err, errlen, "expected ':' at byte %zu", w->pos);
			return -EINVAL;
		}
		w->pos = skip_ws(s, len, w->pos + 1);
	}
	w->n++;
	w->pending = true;
	*value_off = w->pos;
	return 1;
}

int ks_json_walk_value(struct ks_json_walk *w, size_t *value_len, char *err, size_t errlen)
{
	size_t end;
	int rc;

	if (!w->pending) {
		set_err(err, errlen, "ks_json_walk_value: no value pending");
		return -EINVAL;
	}
	rc = value_at(w->s, w->len, w->pos, &end, err, errlen);
	if (rc)
		return rc;
	*value_len = end - w->pos;
	w->pos = end;
	w->pending = false;
	return 0;
}

void ks_json_walk_skip(struct ks_json_walk *w, size_t value_len)
{
	w->pos += value_len;
	w->pending = false;
}

/* ---- lookups ---- */

static bool valid(const struct ks_json *j, int i)
{
	return j && j->tok && i >= 0 && i < j->ntok;
}

int ks_json_next(const struct ks_json *j, int i)
{
	long pending = 1;

	if (!valid(j, i))
		return -1;
	/* `size` counts direct children (an object's keys, each followed by
	 * its value), so a counter replaces the recursion a tree walk needs */
	while (pending > 0 && i < j->ntok) {
		const jsmntok_t *t = &j->tok[i];

		pending--;
		if (t->type == JSMN_OBJECT)
			pending += 2L * t->size;
		else if (t->type == JSMN_ARRAY)
			pending += t->size;
		i++;
	}
	return i;
}

/*
 * One unit of a string body starting at *s: the UTF-8 bytes it stands for
 * in out (1..4), or -EINVAL.  Escapes as RFC 8259; a high surrogate must be
 * followed by a low one; \u0000 is refused because C strings cannot hold it.
 */
static int unescape_one(const char **sp, const char *e, char out[4])
{
	const char *s = *sp;
	uint32_t cp, lo;
	unsigned char c = (unsigned char)*s++;
	int k, r;

	if (c != '\\') {
		if (c < 0x20)
			return -EINVAL;
		if (c < 0x80) {
			out[0] = (char)c;
			*sp = s;
			return 1;
		}
		r = utf8_seq((const unsigned char *)s - 1, (size_t)(e - s) + 1);
		if (r <= 0)
			return -EINVAL;
		memcpy(out, s - 1, (size_t)r);
		*sp = s - 1 + r;
		return r;
	}
	if (s >= e)
		return -EINVAL;
	c = (unsigned char)*s++;
	switch (c) {
	case '"': case '\\': case '/': cp = c; break;
	case 'b': cp = '\b'; break;
	case 'f': cp = '\f'; break;
	case 'n': cp = '\n'; break;
	case 'r': cp = '\r'; break;
	case 't': cp = '\t'; break;
	case 'u':
		if (e - s < 4)
			return -EINVAL;
		for (cp = 0, k = 0; k < 4; k++) {
			int h = ks_hex_digit((unsigned char)s[k]);

			if (h < 0)
				return -EINVAL;
			cp = cp << 4 | (uint32_t)h;
		}
		s += 4;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (e - s < 6 || s[0] != '\\' || s[1] != 'u')
				return -EINVAL;
			for (lo = 0, k = 2; k < 6; k++) {
				int h = ks_hex_digit((unsigned char)s[k]);

				if (h < 0)
					return -EINVAL;
				lo = lo << 4 | (uint32_t)h;
			}
			if (lo < 0xDC00 || lo > 0xDFFF)
				return -EINVAL;
			s += 6;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	*sp = s;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Does the string token at i unescape to exactly key[0..keylen)?  No copy,
 * so keys of any length compare correctly. */
static bool string_equals(const struct ks_json *j, int i, const char *key, size_t keylen)
{
	const char *s = j->src + j->tok[i].start, *e = j->src + j->tok[i].end;
	size_t off = 0;
	char u[4];

	if (j->tok[i].type != JSMN_STRING)
		return false;
	if (!memchr(s, '\\', (size_t)(e - s)))
		return (size_t)(e - s) == keylen && !memcmp(s, key, keylen);
	while (s < e) {
		int n = unescape_one(&s, e, u);

		if (n < 0 || keylen - off < (size_t)n || memcmp(key + off, u, (size_t)n))
			return false;
		off += (size_t)n;
	}
	return off == keylen;
}

static int member_n(const struct ks_json *j, int i, const char *key, size_t keylen)
{
	int k, n;

	if (!valid(j, i) || j->tok[i].type != JSMN_OBJECT)
		return -1;
	n = j->tok[i].size;
	for (k = 0, i++; k < n && i + 1 < j->ntok; k++) {
		if (string_equals(j, i, key, keylen))
			return i + 1;
		i = ks_json_next(j, i + 1);
		if (i < 0)
			return -1;
	}
	return -1;
}

int ks_json_member(const struct ks_json *j, int i, const char *key)
{
	return key ? member_n(j, i, key, strlen(key)) : -1;
}

int ks_json_index(const struct ks_json *j, int i, int n)
{
	int k;

	if (!valid(j, i) || j->tok[i].type != JSMN_ARRAY || n < 0 || n >= j->tok[i].size)
		return -1;
	for (k = 0, i++; k < n && i >= 0 && i < j->ntok; k++)
		i = ks_json_next(j, i);
	return valid(j, i) ? i : -1;
}

int ks_json_path_at(const struct ks_json *j, int i, const char *path)
{
	if (!path)
		return -1;
	while (valid(j, i) && *path) {
		size_t n = strcspn(path, ".");
		size_t d = 0;

		if (!n)
			return -1; /* "a..b", ".a", "a." name nothing */
		while (d < n && is_digit(path[d]))
			d++;
		if (d == n && j->tok[i].type == JSMN_ARRAY) {
			long idx = 0;

			if (n > 9)
				return -1;
			for (d = 0; d < n; d++)
				idx = idx * 10 + (path[d] - '0');
			i = ks_json_index(j, i, (int)idx);
		} else {
			i = member_n(j, i, path, n);
		}
		path += n;
		if (*path == '.' && !*++path)
			return -1;
	}
	return valid(j, i) ? i : -1;
}

int ks_json_path(const struct ks_json *j, const char *path)
{
	return ks_json_path_at(j, 0, path);
}

/* ---- types ---- */

bool ks_json_is_object(const struct ks_json *j, int i)
{
	return valid(j, i) && j->tok[i].type == JSMN_OBJECT;
}

bool ks_json_is_array(const struct ks_json *j, int i)
{
	return valid(j, i) && j->tok[i].type == JSMN_ARRAY;
}

bool ks_json_is_string(const struct ks_json *j, int i)
{
	return valid(j, i) && j->tok[i].type == JSMN_STRING;
}

bool ks_json_is_literal(const struct ks_json *j, int i, const char *lit)
{
	size_t n = lit ? strlen(lit) : 0;

	return valid(j, i) && lit && j->tok[i].type == JSMN_PRIMITIVE &&
	       (size_t)(j->tok[i].end - j->tok[i].start) == n && !memcmp(j->src + j->tok[i].start, lit, n);
}

bool ks_json_is_number(const struct ks_json *j, int i)
{
	return valid(j, i) && j->tok[i].type == JSMN_PRIMITIVE && j->tok[i].end > j->tok[i].start &&
	       (j->src[j->tok[i].start] == '-' || is_digit(j->src[j->tok[i].start]));
}

bool ks_json_is_bool(const struct ks_json *j, int i)
{
	return ks_json_is_literal(j, i, "true") || ks_json_is_literal(j, i, "false");
}

bool ks_json_is_null(const struct ks_json *j, int i)
{
	return ks_json_is_literal(j, i, "null");
}

const char *ks_json_type_name(const struct ks_json *j, int i)
{
	if (!valid(j, i))
		return "missing";
	switch (j->tok[i].type) {
	case JSMN_OBJECT: return "object";
	case JSMN_ARRAY: return "array";
	case JSMN_STRING: return "string";
	default:
		if (ks_json_is_null(j, i))
			return "null";
		if (ks_json_is_bool(j, i))
			return "boolean";
		return "number";
	}
}

/* ---- values ---- */

int ks_json_string(const struct ks_json *j, int i, char *out, size_t outlen)
{
	const char *s, *e;
	size_t o = 0;
	char u[4];

	if (!out || !outlen)
		return -EINVAL;
	out[0] = '\0';
	if (!ks_json_is_string(j, i))
		return -EINVAL;
	s = j->src + j->tok[i].start;
	e = j->src + j->tok[i].end;
	while (s < e) {
		int n = unescape_one(&s, e, u);

		if (n < 0) {
			out[0] = '\0';
			return n;
		}
		if (outlen - o <= (size_t)n) {
			out[0] = '\0'; /* refused, never cut */
			return -ENOSPC;
		}
		memcpy(out + o, u, (size_t)n);
		o += (size_t)n;
	}
	out[o] = '\0';
	return 0;
}

int ks_json_bool(const struct ks_json *j, int i, bool *out)
{
	if (ks_json_is_literal(j, i, "true"))
		*out = true;
	else if (ks_json_is_literal(j, i, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* ---- writing ---- */

/* snprintf-style output: bytes are stored while they and a NUL fit and
 * counted always, so one pass both measures and writes */
struct qout {
	char *out;
	size_t outlen;
	size_t need;
};

static void qput(struct qout *q, const char *b, size_t n)
{
	size_t room = q->need + 1 < q->outlen ? q->outlen - 1 - q->need : 0;

	if (room)
		memcpy(q->out + q->need, b, n < room ? n : room);
	q->need += n;
}

size_t ks_json_quote_n(char *out, size_t outlen, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct qout q = { out, outlen, 0 };
	size_t i = 0, run;

	qput(&q, "\"", 1);
	while (s && i < n) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		int r;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			qput(&q, esc, 2);
			i++;
		} else if (c < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			qput(&q, esc, 6);
			i++;
		} else if (c < 0x80) {
			/* plain ASCII in one go */
			for (run = i + 1; run < n && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x80 &&
					  s[run] != '"' && s[run] != '\\'; run++)
				;
			qput(&q, s + i, run - i);
			i = run;
		} else if ((r = utf8_seq((const unsigned char *)s + i, n - i)) > 0) {
			qput(&q, s + i, (size_t)r);
			i += (size_t)r;
		} else {
			/* not UTF-8: U+FFFD keeps the output valid JSON */
			qput(&q, "\\ufffd", 6);
			i++;
		}
	}
	qput(&q, "\"", 1);
	if (outlen)
		out[q.need < outlen ? q.need : outlen - 1] = '\0';
	return q.need;
}

size_t ks_json_quote(char *out, size_t outlen, const char *s)
{
	return ks_json_quote_n(out, outlen, s, s ? strlen(s) : 0);
}
