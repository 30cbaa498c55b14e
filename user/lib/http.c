// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/1.1 request parser (a byte-driven state machine, so feeding one byte
 * at a time and feeding everything at once walk the same states and give
 * the same result) and response formatter.  The accepted grammar and the
 * reasons behind each choice are in http.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hex.h"
#include "http.h"

enum parser_state {
	S_RL_START = 0,		/* before the method; skips a few empty lines */
	S_RL_START_LF,
	S_METHOD,
	S_TARGET_START,
	S_TARGET,
	S_VERSION,
	S_RL_LF,
	S_STATUS_VERSION,	/* responses: HTTP/1.x */
	S_STATUS_CODE,
	S_STATUS_REASON,
	S_FIELD_START,		/* start of a field line or the empty line */
	S_FIELD_NAME,
	S_FIELD_OWS,		/* whitespace after ':' */
	S_FIELD_VALUE,
	S_FIELD_LF,
	S_SECTION_LF,		/* CR of the empty line seen */
	S_BODY_IDENTITY,
	S_BODY_EOF,		/* a response body that ends with the connection */
	/* chunk-size line: S_CHUNK_SIZE .. S_CHUNK_SIZE_LF, counted together */
	S_CHUNK_SIZE,
	S_CHUNK_SIZE_MORE,
	S_CHUNK_EXT_BWS,	/* whitespace seen: only ';' may follow */
	S_CHUNK_EXT_NAME_START,
	S_CHUNK_EXT_NAME,
	S_CHUNK_EXT_AFTER_NAME,
	S_CHUNK_EXT_VAL_START,
	S_CHUNK_EXT_VAL_TOKEN,
	S_CHUNK_EXT_QUOTED,
	S_CHUNK_EXT_QUOTED_ESC,
	S_CHUNK_EXT_AFTER_VALUE,
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA,
	S_CHUNK_DATA_CR,
	S_CHUNK_DATA_LF,
	S_DONE,
	S_ERROR,
};

enum field_id {
	F_OTHER = 0,
	F_CONTENT_LENGTH,
	F_TRANSFER_ENCODING,
	F_CONNECTION,
	F_HOST,
	F_CONTENT_TYPE,
	F_EXPECT,
};

static const struct {
	const char *name;
	enum field_id id;
} known_fields[] = {
	{ "content-length", F_CONTENT_LENGTH },
	{ "transfer-encoding", F_TRANSFER_ENCODING },
	{ "connection", F_CONNECTION },
	{ "host", F_HOST },
	{ "content-type", F_CONTENT_TYPE },
	{ "expect", F_EXPECT },
};

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH" };

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 9110 §5.6.2 token characters. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 3986 pchar plus '/' and '?' ('%' is checked by the caller). */
static bool is_target_char(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("-._~!$&'()*+,;=:@/?", c);
}

/* uri-host [":" port]: reg-name, IPv4 or an IP literal in brackets. */
static bool is_host_char(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("-._~!$&'()*+,;=:[]%", c);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool token_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

/* Calls fn on each non-empty element of a comma-separated list (RFC 9110
 * §5.6.1: empty elements are ignored), OWS trimmed; stops at fn's error. */
static size_t max_body(const struct ks_http_parser *p)
{
	if (p->max_body_bytes)
		return p->max_body_bytes;
	return p->sink ? KS_HTTP_MAX_STREAM_BYTES : KS_HTTP_MAX_BODY_BYTES;
}

/* Bytes of body received so far, buffered or streamed. */
static size_t body_bytes(const struct ks_http_parser *p)
{
	return p->sink ? p->streamed_bytes : p->body_len;
}

static int for_each_element(const char *s, size_t n, void *ctx,
			    int (*fn)(void *ctx, const char *el, size_t el_len, bool last))
{
	size_t i = 0, start, end, next;
	int err;

	while (i < n) {
		while (i < n && (is_ws((unsigned char)s[i]) || s[i] == ','))
			i++;
		if (i >= n)
			break;
		start = i;
		while (i < n && s[i] != ',')
			i++;
		end = i;
		while (end > start && is_ws((unsigned char)s[end - 1]))
			end--;
		/* Is anything but separators left after this element? */
		next = i;
		while (next < n && (is_ws((unsigned char)s[next]) || s[next] == ','))
			next++;
		err = fn(ctx, s + start, end - start, next >= n);
		if (err)
			return err;
	}
	return 0;
}

static int te_element(void *ctx, const char *el, size_t n, bool last)
{
	int *count = ctx;

	(*count)++;
	if (token_eq(el, n, "chunked"))
		/* chunked applied twice, or not last: length unknowable. */
		return last ? 0 : KS_HTTP_E_TE_BAD;
	/* RFC 9112 §6.3: when chunked is not the final coding the server MUST
	 * answer 400; a coding we do not know before a final chunked is 501. */
	return last ? KS_HTTP_E_TE_BAD : KS_HTTP_E_TE_UNSUPPORTED;
}

static int connection_element(void *ctx, const char *el, size_t n, bool last)
{
	struct ks_http_parser *p = ctx;

	(void)last;
	if (token_eq(el, n, "close"))
		p->conn_close = true;
	else if (token_eq(el, n, "keep-alive"))
		p->conn_keep_alive = true;
	return 0;
}

static int parse_content_length(struct ks_http_parser *p)
{
	uint64_t v = 0;
	size_t i;

	if (!p->value_trim_len)
		return KS_HTTP_E_CONTENT_LENGTH;
	for (i = 0; i < p->value_trim_len; i++) {
		unsigned char c = (unsigned char)p->value[i];

		/* Digits only: "+5", "-0", "5 5", "5,5" and hex are refused, so no
		 * two readers can disagree about the length. */
		if (c < '0' || c > '9')
			return KS_HTTP_E_CONTENT_LENGTH;
		if (v > (UINT64_MAX - (c - '0')) / 10)
			return KS_HTTP_E_CONTENT_LENGTH;
		v = v * 10 + (c - '0');
	}
	if (p->have_content_length && v != p->content_length)
		return KS_HTTP_E_CONTENT_LENGTH_DUP;
	/* A response with both is read as chunked (headers_done). */
	if (p->have_te && !p->response)
		return KS_HTTP_E_TE_AND_CL;
	if (v > max_body(p))
		return KS_HTTP_E_BODY_TOO_LARGE;
	p->have_content_length = true;
	p->content_length = v;
	return 0;
}

static int field_done(struct ks_http_parser *p)
{
	size_t i, n = p->value_trim_len;
	int err, count = 0;

	/* value_char keeps value_trim_len below sizeof(value). */
	p->value[n] = '\0';
	switch (p->field_id) {
	case F_CONTENT_LENGTH:
		return parse_content_length(p);
	case F_TRANSFER_ENCODING:
		if (p->have_content_length && !p->response)
			return KS_HTTP_E_TE_AND_CL;
		/* A second line would append codings after chunked. */
		if (p->have_te || p->req.minor_version == 0)
			return KS_HTTP_E_TE_BAD;
		err = for_each_element(p->value, n, &count, te_element);
		if (err)
			return err;
		if (!count)
			return KS_HTTP_E_TE_BAD;
		p->have_te = true;
		return 0;
	case F_CONNECTION:
		return for_each_element(p->value, n, p, connection_element);
	case F_HOST:
		if (p->have_host)
			return KS_HTTP_E_HOST_BAD;
		for (i = 0; i < n; i++)
			if (!is_host_char((unsigned char)p->value[i]))
				return KS_HTTP_E_HOST_BAD;
		p->have_host = true;
		memcpy(p->req.host, p->value, n + 1);
		return 0;
	case F_CONTENT_TYPE:
		if (p->have_content_type)
			return KS_HTTP_E_FIELD_DUP;
		if (n >= sizeof(p->req.content_type))
			return KS_HTTP_E_FIELD_TOO_LARGE;
		p->have_content_type = true;
		memcpy(p->req.content_type, p->value, n + 1);
		return 0;
	case F_EXPECT:
		/* RFC 9110 §10.1.1: ignore 100-continue from an HTTP/1.0 client. */
		if (p->req.minor_version == 0)
			return 0;
		if (!token_eq(p->value, n, "100-continue"))
			return KS_HTTP_E_EXPECT;
		p->req.expect_continue = true;
		return 0;
	default:
		return 0;
	}
}

static int headers_done(struct ks_http_parser *p)
{
	int status = p->req.status;

	if (!p->response && p->req.minor_version == 1 && !p->have_host)
		return KS_HTTP_E_HOST_MISSING;
	if (p->req.minor_version == 1)
		p->req.keep_alive = !p->conn_close;
	else
		p->req.keep_alive = p->conn_keep_alive && !p->conn_close;
	if (p->response && (p->head_request || status < 200 || status == 204 || status == 304)) {
		/* RFC 9112 §6.3 items 1 and 2: no body, whatever the fields say */
		p->state = S_DONE;
		return 0;
	}
	/* Both framings: chunked wins, but the sender is confused (§6.3). */
	if (p->response && p->have_te && p->have_content_length) {
		p->req.keep_alive = false;
		p->content_length = 0;
	}
	if (p->response && !p->have_te && !p->have_content_length) {
		p->req.to_eof = true;
		p->req.keep_alive = false;
		p->state = S_BODY_EOF;
		return 0;
	}
	if (p->have_te) {
		p->req.chunked = true;
		p->remaining_bytes = 0;
		p->chunk_line_bytes = 0;
		p->state = S_CHUNK_SIZE;
		return 0;
	}
	p->req.content_length = (size_t)p->content_length;
	if (p->content_length) {
		p->remaining_bytes = (size_t)p->content_length;
		p->state = S_BODY_IDENTITY;
		return 0;
	}
	p->state = S_DONE;
	return 0;
}

static void name_add(struct ks_http_parser *p, unsigned char c)
{
	/* Only the first bytes are kept: every recognised name is shorter, so a
	 * longer name can never match one. */
	if (p->name_len < sizeof(p->name))
		p->name[p->name_len] = (char)lower(c);
	p->name_len++;
}

static enum field_id lookup_field(const struct ks_http_parser *p)
{
	size_t i;

	if (p->in_trailers || p->name_len > sizeof(p->name))
		return F_OTHER;
	for (i = 0; i < ARRAY_LEN(known_fields); i++)
		if (strlen(known_fields[i].name) == p->name_len &&
		    !memcmp(known_fields[i].name, p->name, p->name_len))
			break;
	if (i == ARRAY_LEN(known_fields))
		return F_OTHER;
	/* Host and Expect are request fields: a response's are not ours. */
	if (p->response && (known_fields[i].id == F_HOST || known_fields[i].id == F_EXPECT))
		return F_OTHER;
	return known_fields[i].id;
}

/* A byte of text that runs to CRLF (a field value, a reason phrase):
 * field-vchar, SP, HTAB and obs-text; other controls (NUL, DEL) never.
 * 1 for a text byte, 0 after CR (state set to cr_state), else an error. */
static int text_char(struct ks_http_parser *p, unsigned char c, int cr_state, int bad)
{
	if (c == '\r') {
		p->state = cr_state;
		return 0;
	}
	if (c == '\n')
		return KS_HTTP_E_LINE_ENDING;
	if ((c < 0x20 && c != '\t') || c == 0x7f)
		return bad;
	return 1;
}

static int value_char(struct ks_http_parser *p, unsigned char c)
{
	int r = text_char(p, c, S_FIELD_LF, KS_HTTP_E_FIELD_SYNTAX);

	if (r <= 0)
		return r;
	if (p->field_id == F_OTHER)
		return 0;
	if (p->value_len < sizeof(p->value) - 1)
		p->value[p->value_len] = (char)c;
	else if (!is_ws(c))
		return KS_HTTP_E_FIELD_TOO_LARGE;
	/* Bounded by KS_HTTP_MAX_HEADER_BYTES, so it cannot wrap. */
	p->value_len++;
	if (!is_ws(c))
		p->value_trim_len = p->value_len;
	return 0;
}

static int method_done(struct ks_http_parser *p)
{
	size_t i;

	if (!p->method_len)
		return KS_HTTP_E_REQUEST_LINE;
	for (i = 0; i < ARRAY_LEN(methods); i++)
		if (!strcmp(p->req.method, methods[i]))
			return 0;
	return KS_HTTP_E_METHOD;
}

static int version_done(struct ks_http_parser *p)
{
	const char *v = p->version;

	if (p->version_len != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return KS_HTTP_E_REQUEST_LINE;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return KS_HTTP_E_VERSION;
	p->req.minor_version = v[7] - '0';
	return 0;
}

/* "HTTP/1.x" then SP, in a status line. */
static int status_version_char(struct ks_http_parser *p, unsigned char c)
{
	int err;

	if (c == ' ') {
		err = version_done(p);
		if (err)
			return err == KS_HTTP_E_REQUEST_LINE ? KS_HTTP_E_STATUS_LINE : err;
		p->req.status = 0;
		p->status_digits = 0;
		p->state = S_STATUS_CODE;
		return 0;
	}
	if (c == '\n' || c == '\r')
		return c == '\n' ? KS_HTTP_E_LINE_ENDING : KS_HTTP_E_STATUS_LINE;
	if (p->version_len >= sizeof(p->version) - 1 || c <= 0x20 || c >= 0x7f)
		return KS_HTTP_E_STATUS_LINE;
	p->version[p->version_len++] = (char)c;
	return 0;
}

static int status_done(struct ks_http_parser *p)
{
	return p->req.status >= 100 && p->req.status <= 599 ? 0 : KS_HTTP_E_STATUS_LINE;
}

static int target_char(struct ks_http_parser *p, unsigned char c)
{
	if (p->pct_hex_left) {
		if (ks_hex_digit(c) < 0)
			return KS_HTTP_E_TARGET;
		p->pct_hex_left--;
	} else if (c == '%') {
		p->pct_hex_left = 2;
	} else if (!is_target_char(c)) {
		return c == '\r' || c == '\n' ? KS_HTTP_E_REQUEST_LINE : KS_HTTP_E_TARGET;
	}
	if (++p->target_bytes > KS_HTTP_MAX_TARGET_BYTES)
		return KS_HTTP_E_TARGET_TOO_LONG;
	/* Both fit: together they are at most the target's length. */
	if (!p->in_query && c == '?')
		p->in_query = true;
	else if (p->in_query)
		p->req.query[p->query_bytes++] = (char)c;
	else
		p->req.path[p->path_bytes++] = (char)c;
	return 0;
}

static int chunk_size_digit(struct ks_http_parser *p, int d)
{
	/* Bounded by what the body may still grow, so it cannot overflow. */
	size_t v = p->remaining_bytes * 16 + (size_t)d;

	if (v > max_body(p) - body_bytes(p))
		return KS_HTTP_E_BODY_TOO_LARGE;
	p->remaining_bytes = v;
	return 0;
}

/* Advance over the chunk-size line (size, extensions, CRLF). */
static int chunk_line_char(struct ks_http_parser *p, unsigned char c)
{
	int d;

	if (++p->chunk_line_bytes > KS_HTTP_MAX_CHUNK_LINE_BYTES)
		return KS_HTTP_E_CHUNK;
	if (c == '\n' && p->state != S_CHUNK_SIZE_LF)
		return KS_HTTP_E_LINE_ENDING;
	switch (p->state) {
	case S_CHUNK_SIZE:
		d = ks_hex_digit(c);
		if (d < 0)
			return KS_HTTP_E_CHUNK;
		p->state = S_CHUNK_SIZE_MORE;
		return chunk_size_digit(p, d);
	case S_CHUNK_SIZE_MORE:
		d = ks_hex_digit(c);
		if (d >= 0)
			return chunk_size_digit(p, d);
		if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (is_ws(c))
			p->state = S_CHUNK_EXT_BWS;
		else if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_BWS:
		/* BWS exists only before ';': "1a \r\n" is refused. */
		if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (!is_ws(c))
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_NAME_START:
		if (is_tchar(c))
			p->state = S_CHUNK_EXT_NAME;
		else if (!is_ws(c))
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_NAME:
		if (is_tchar(c))
			return 0;
		if (c == '=')
			p->state = S_CHUNK_EXT_VAL_START;
		else if (is_ws(c))
			p->state = S_CHUNK_EXT_AFTER_NAME;
		else if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_AFTER_NAME:
		if (c == '=')
			p->state = S_CHUNK_EXT_VAL_START;
		else if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (!is_ws(c))
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_VAL_START:
		if (c == '"')
			p->state = S_CHUNK_EXT_QUOTED;
		else if (is_tchar(c))
			p->state = S_CHUNK_EXT_VAL_TOKEN;
		else if (!is_ws(c))
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_VAL_TOKEN:
		if (is_tchar(c))
			return 0;
		if (is_ws(c))
			p->state = S_CHUNK_EXT_BWS;
		else if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_QUOTED:
		/* qdtext: HTAB, SP, VCHAR except '"' and '\', obs-text */
		if (c == '"')
			p->state = S_CHUNK_EXT_AFTER_VALUE;
		else if (c == '\\')
			p->state = S_CHUNK_EXT_QUOTED_ESC;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_EXT_QUOTED_ESC:
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return KS_HTTP_E_CHUNK;
		p->state = S_CHUNK_EXT_QUOTED;
		return 0;
	case S_CHUNK_EXT_AFTER_VALUE:
		if (is_ws(c))
			p->state = S_CHUNK_EXT_BWS;
		else if (c == ';')
			p->state = S_CHUNK_EXT_NAME_START;
		else if (c == '\r')
			p->state = S_CHUNK_SIZE_LF;
		else
			return KS_HTTP_E_CHUNK;
		return 0;
	case S_CHUNK_SIZE_LF:
		if (c != '\n')
			return KS_HTTP_E_LINE_ENDING;
		p->chunk_line_bytes = 0;
		if (p->remaining_bytes) {
			p->state = S_CHUNK_DATA;
			return 0;
		}
		/* last-chunk: trailers follow, with a budget of their own. */
		p->in_trailers = true;
		p->field_bytes = 0;
		p->state = S_FIELD_START;
		return 0;
	default:
		return KS_HTTP_E_USAGE;
	}
}

/* Count a byte of a field line against the section's budget. */
static int field_byte(struct ks_http_parser *p)
{
	size_t max = p->response ? KS_HTTP_MAX_RESPONSE_HEADER_BYTES : KS_HTTP_MAX_HEADER_BYTES;

	return ++p->field_bytes > max ? KS_HTTP_E_HEADERS_TOO_LARGE : 0;
}

/* One byte through the state machine; 0 or a negative enum ks_http_error. */
static int step(struct ks_http_parser *p, unsigned char c)
{
	int err;

	switch (p->state) {
	case S_RL_START:
		if (c == '\r') {
			if (++p->empty_lines > KS_HTTP_MAX_LEADING_EMPTY_LINES)
				return KS_HTTP_E_REQUEST_LINE;
			p->state = S_RL_START_LF;
			return 0;
		}
		if (p->response) {
			p->state = S_STATUS_VERSION;
			return status_version_char(p, c);
		}
		p->state = S_METHOD;
		/* The byte starts the method. */
		/* fall through */
	case S_METHOD:
		if (c == ' ') {
			p->state = S_TARGET_START;
			return method_done(p);
		}
		if (c == '\n')
			return KS_HTTP_E_LINE_ENDING;
		if (!is_tchar(c))
			return KS_HTTP_E_REQUEST_LINE;
		/* A valid token longer than every method we serve. */
		if (p->method_len >= sizeof(p->req.method) - 1)
			return KS_HTTP_E_METHOD;
		p->req.method[p->method_len++] = (char)c;
		return 0;
	case S_RL_START_LF:
		if (c != '\n')
			return KS_HTTP_E_LINE_ENDING;
		p->state = S_RL_START;
		return 0;
	case S_TARGET_START:
		/* origin-form only: no absolute-form, authority-form or '*'. */
		if (c != '/')
			return KS_HTTP_E_TARGET;
		p->state = S_TARGET;
		return target_char(p, c);
	case S_TARGET:
		if (c == ' ') {
			if (p->pct_hex_left)
				return KS_HTTP_E_TARGET;
			p->state = S_VERSION;
			return 0;
		}
		return target_char(p, c);
	case S_VERSION:
		if (c == '\r') {
			p->state = S_RL_LF;
			return version_done(p);
		}
		if (c == '\n')
			return KS_HTTP_E_LINE_ENDING;
		if (p->version_len >= sizeof(p->version) - 1 || c <= 0x20 || c >= 0x7f)
			return KS_HTTP_E_REQUEST_LINE;
		p->version[p->version_len++] = (char)c;
		return 0;
	case S_STATUS_VERSION:
		return status_version_char(p, c);
	case S_STATUS_CODE:
		if (p->status_digits == 3) {
			/* RFC 9112 §4 wants SP before an empty reason; some omit it */
			if (c == '\r') {
				p->state = S_RL_LF;
				return status_done(p);
			}
			if (c != ' ')
				return c == '\n' ? KS_HTTP_E_LINE_ENDING : KS_HTTP_E_STATUS_LINE;
			p->state = S_STATUS_REASON;
			return status_done(p);
		}
		if (c < '0' || c > '9')
			return c == '\n' ? KS_HTTP_E_LINE_ENDING : KS_HTTP_E_STATUS_LINE;
		p->req.status = p->req.status * 10 + (c - '0');
		p->status_digits++;
		return 0;
	case S_STATUS_REASON:
		err = text_char(p, c, S_RL_LF, KS_HTTP_E_STATUS_LINE);
		return err < 0 ? err : 0;
	case S_RL_LF:
		if (c != '\n')
			return KS_HTTP_E_LINE_ENDING;
		p->field_bytes = 0;
		p->state = S_FIELD_START;
		return 0;
	case S_FIELD_START:
		if (c == '\r') {
			/* The empty line is not counted against the budget. */
			p->state = S_SECTION_LF;
			return 0;
		}
		err = field_byte(p);
		if (err)
			return err;
		if (is_ws(c))
			return KS_HTTP_E_OBS_FOLD;
		if (c == '\n')
			return KS_HTTP_E_LINE_ENDING;
		if (!is_tchar(c))
			return KS_HTTP_E_FIELD_SYNTAX;
		p->name_len = 0;
		p->value_len = 0;
		p->value_trim_len = 0;
		name_add(p, c);
		p->state = S_FIELD_NAME;
		return 0;
	case S_FIELD_NAME:
		err = field_byte(p);
		if (err)
			return err;
		if (c == ':') {
			p->field_id = lookup_field(p);
			p->state = S_FIELD_OWS;
			return 0;
		}
		/* RFC 9112 §5.1: MUST reject "Name : value". */
		if (is_ws(c))
			return KS_HTTP_E_FIELD_WS_COLON;
		if (c == '\n')
			return KS_HTTP_E_LINE_ENDING;
		if (!is_tchar(c))
			return KS_HTTP_E_FIELD_SYNTAX;
		name_add(p, c);
		return 0;
	case S_FIELD_OWS:
		err = field_byte(p);
		if (err)
			return err;
		if (is_ws(c))
			return 0;
		p->state = S_FIELD_VALUE;
		return value_char(p, c);
	case S_FIELD_VALUE:
		err = field_byte(p);
		if (err)
			return err;
		return value_char(p, c);
	case S_FIELD_LF:
		err = field_byte(p);
		if (err)
			return err;
		if (c != '\n')
			return KS_HTTP_E_LINE_ENDING;
		p->state = S_FIELD_START;
		/* Trailer fields are checked for syntax and dropped. */
		return p->in_trailers ? 0 : field_done(p);
	case S_SECTION_LF:
		if (c != '\n')
			return KS_HTTP_E_LINE_ENDING;
		if (p->in_trailers) {
			p->state = S_DONE;
			return 0;
		}
		return headers_done(p);
	case S_CHUNK_SIZE:
	case S_CHUNK_SIZE_MORE:
	case S_CHUNK_EXT_BWS:
	case S_CHUNK_EXT_NAME_START:
	case S_CHUNK_EXT_NAME:
	case S_CHUNK_EXT_AFTER_NAME:
	case S_CHUNK_EXT_VAL_START:
	case S_CHUNK_EXT_VAL_TOKEN:
	case S_CHUNK_EXT_QUOTED:
	case S_CHUNK_EXT_QUOTED_ESC:
	case S_CHUNK_EXT_AFTER_VALUE:
	case S_CHUNK_SIZE_LF:
		return chunk_line_char(p, c);
	case S_CHUNK_DATA_CR:
		/* Anything but CR here means the chunk was longer than its size. */
		if (c != '\r')
			return KS_HTTP_E_CHUNK;
		p->state = S_CHUNK_DATA_LF;
		return 0;
	case S_CHUNK_DATA_LF:
		if (c != '\n')
			return KS_HTTP_E_LINE_ENDING;
		p->state = S_CHUNK_SIZE;
		return 0;
	default:
		/* Body states are handled in bulk by ks_http_feed. */
		return KS_HTTP_E_USAGE;
	}
}

/* Append to the body, growing the buffer geometrically but never past what
 * this request can still need, so memory follows bytes actually received. */
static int body_append(struct ks_http_parser *p, const char *src, size_t n)
{
	size_t need = p->body_len + n, limit, cap;
	char *nb;
	int rc;

	if (p->sink) {
		if (n > max_body(p) - p->streamed_bytes)
			return KS_HTTP_E_BODY_TOO_LARGE;
		p->streamed_bytes += n;
		rc = n ? p->sink(p->sink_arg, src, n) : 0;
		if (rc) {
			p->sink_rc = rc;
			return KS_HTTP_E_SINK;
		}
		return 0;
	}
	if (need > max_body(p))
		return KS_HTTP_E_BODY_TOO_LARGE;
	if (need > p->body_cap_bytes) {
		limit = p->req.chunked || p->req.to_eof ? max_body(p) : (size_t)p->content_length;
		cap = p->body_cap_bytes > 256 ? p->body_cap_bytes : 256;
		while (cap < need)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		nb = realloc(p->body, cap);
		if (!nb)
			return KS_HTTP_E_NOMEM;
		p->body = nb;
		p->body_cap_bytes = cap;
	}
	memcpy(p->body + p->body_len, src, n);
	p->body_len = need;
	return 0;
}

int ks_http_parser_init(struct ks_http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = S_RL_START;
	return 0;
}

void ks_http_parser_free(struct ks_http_parser *p)
{
	if (!p)
		return;
	free(p->body);
	memset(p, 0, sizeof(*p));
	p->state = S_RL_START;
}

void ks_http_parser_reset(struct ks_http_parser *p)
{
	char *body = p->body;
	size_t cap = p->body_cap_bytes;

	if (cap > KS_HTTP_BODY_KEEP_BYTES) {
		free(body);
		body = NULL;
		cap = 0;
	}
	size_t max = p->max_body_bytes;
	bool response = p->response, head_request = p->head_request;
	ks_http_sink_fn sink = p->sink;
	void *sink_arg = p->sink_arg;

	memset(p, 0, sizeof(*p));
	p->body = body;
	p->body_cap_bytes = cap;
	p->max_body_bytes = max;
	p->response = response;
	p->head_request = head_request;
	p->sink = sink;
	p->sink_arg = sink_arg;
	p->state = S_RL_START;
}

void ks_http_parser_expect_response(struct ks_http_parser *p, bool head_request)
{
	p->response = true;
	p->head_request = head_request;
}

void ks_http_parser_set_sink(struct ks_http_parser *p, ks_http_sink_fn fn, void *arg)
{
	p->sink = fn;
	p->sink_arg = arg;
}

int ks_http_sink_result(const struct ks_http_parser *p)
{
	return p->error == KS_HTTP_E_SINK ? p->sink_rc : 0;
}

/* The message is whole: hand it out. */
static int deliver(struct ks_http_parser *p, struct ks_http_request *out)
{
	bool streamed = p->sink != NULL;

	p->req.body = p->body_len && !streamed ? p->body : "";
	p->req.body_len = streamed ? 0 : p->body_len;
	*out = p->req;
	return KS_HTTP_DONE;
}

int ks_http_feed_eof(struct ks_http_parser *p, struct ks_http_request *out)
{
	int rc;

	if (!p || !out)
		return KS_HTTP_E_USAGE;
	if (p->error)
		return p->error;
	if (p->state == S_DONE)
		return KS_HTTP_E_USAGE;
	if (p->state == S_BODY_EOF) {
		p->state = S_DONE;
		return deliver(p, out);
	}
	rc = p->seen_byte ? KS_HTTP_E_TRUNCATED : KS_HTTP_E_CLOSED;
	p->error = rc;
	p->state = S_ERROR;
	return rc;
}

void ks_http_parser_set_max_body(struct ks_http_parser *p, size_t max_bytes)
{
	p->max_body_bytes = max_bytes;
}

int ks_http_feed(struct ks_http_parser *p, const char *data, size_t len, size_t *consumed,
		 struct ks_http_request *out)
{
	size_t i = 0, n;
	int ret = KS_HTTP_NEED_MORE;

	if (!consumed)
		return KS_HTTP_E_USAGE;
	*consumed = 0;
	if (!p || !out || (!data && len))
		return KS_HTTP_E_USAGE;
	if (p->error)
		return p->error;
	/* The previous request's body is still the caller's until reset. */
	if (p->state == S_DONE)
		return KS_HTTP_E_USAGE;

	if (len)
		p->seen_byte = true;
	while (i < len && p->state != S_DONE) {
		if (p->state == S_BODY_EOF) {
			ret = body_append(p, data + i, len - i);
			if (ret < 0)
				goto out;
			i = len;
			continue;
		}
		if (p->state == S_BODY_IDENTITY || p->state == S_CHUNK_DATA) {
			n = len - i < p->remaining_bytes ? len - i : p->remaining_bytes;
			ret = body_append(p, data + i, n);
			if (ret < 0)
				goto out;
			i += n;
			p->remaining_bytes -= n;
			if (!p->remaining_bytes)
				p->state = p->state == S_BODY_IDENTITY ? S_DONE : S_CHUNK_DATA_CR;
			continue;
		}
		ret = step(p, (unsigned char)data[i++]);
		if (ret < 0)
			goto out;
	}
	ret = KS_HTTP_NEED_MORE;
	if (p->state == S_DONE)
		ret = deliver(p, out);
out:
	if (ret < 0) {
		p->error = ret;
		p->state = S_ERROR;
	}
	*consumed = i;
	return ret;
}

bool ks_http_media_type_is(const char *v, const char *type)
{
	size_t n = strlen(type), i;

	for (i = 0; i < n; i++)
		if (lower((unsigned char)v[i]) != lower((unsigned char)type[i]))
			return false;
	v += n;
	for (;;) {
		while (is_ws((unsigned char)*v))
			v++;
		if (!*v)
			return true;
		if (*v++ != ';')
			return false;
		while (is_ws((unsigned char)*v))
			v++;
		if (!*v || *v == ';')
			continue; /* RFC 9110 §5.6.6: a parameter is optional */
		if (!is_tchar((unsigned char)*v))
			return false;
		while (is_tchar((unsigned char)*v))
			v++;
		if (*v++ != '=')
			return false;
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++)
				if (*v == '\\' && !*++v)
					return false;
			if (*v++ != '"')
				return false;
		} else {
			if (!is_tchar((unsigned char)*v))
				return false;
			while (is_tchar((unsigned char)*v))
				v++;
		}
	}
}

const struct ks_http_request *ks_http_receiving_body(const struct ks_http_parser *p)
{
	if (p->error || p->state < S_BODY_IDENTITY || p->state >= S_DONE)
		return NULL;
	return &p->req;
}

size_t ks_http_parser_held_bytes(const struct ks_http_parser *p)
{
	return p->body ? p->body_cap_bytes : 0;
}

char *ks_http_parser_take_body(struct ks_http_parser *p)
{
	char *body = p->body_len ? p->body : NULL;

	if (!body)
		return NULL;
	p->body = NULL;
	p->body_cap_bytes = 0;
	return body;
}

bool ks_http_need_continue(struct ks_http_parser *p)
{
	if (!p->req.expect_continue || p->continue_reported || p->error)
		return false;
	if (p->state < S_BODY_IDENTITY || p->state >= S_DONE)
		return false;
	p->continue_reported = true;
	return true;
}

static const struct {
	int status;
	const char *reason;
} error_table[] = {
	[-KS_HTTP_E_REQUEST_LINE] = { 400, "malformed request line" },
	[-KS_HTTP_E_METHOD] = { 501, "method not implemented" },
	[-KS_HTTP_E_TARGET] = { 400, "request target must be an absolute path with an optional query" },
	[-KS_HTTP_E_TARGET_TOO_LONG] = { 414, "request target longer than 2048 bytes" },
	[-KS_HTTP_E_VERSION] = { 505, "only HTTP/1.0 and HTTP/1.1 are served" },
	[-KS_HTTP_E_LINE_ENDING] = { 400, "lines must end with CRLF (bare CR or LF)" },
	[-KS_HTTP_E_FIELD_SYNTAX] = { 400, "malformed header field" },
	[-KS_HTTP_E_FIELD_WS_COLON] = { 400, "whitespace between header name and colon" },
	[-KS_HTTP_E_OBS_FOLD] = { 400, "obsolete header line folding" },
	[-KS_HTTP_E_HEADERS_TOO_LARGE] = { 431, "header section too large (8 KiB in a request, 64 KiB in a response)" },
	[-KS_HTTP_E_FIELD_TOO_LARGE] = { 431, "header field value too long" },
	[-KS_HTTP_E_CONTENT_LENGTH] = { 400, "invalid Content-Length" },
	[-KS_HTTP_E_CONTENT_LENGTH_DUP] = { 400, "conflicting Content-Length values" },
	[-KS_HTTP_E_BODY_TOO_LARGE] = { 413, "body larger than the limit (1 MiB for a request by default)" },
	[-KS_HTTP_E_TE_AND_CL] = { 400, "both Transfer-Encoding and Content-Length" },
	[-KS_HTTP_E_TE_BAD] = { 400, "invalid Transfer-Encoding (chunked must be the final coding, once, HTTP/1.1)" },
	[-KS_HTTP_E_TE_UNSUPPORTED] = { 501, "transfer coding not implemented" },
	[-KS_HTTP_E_HOST_MISSING] = { 400, "missing Host header" },
	[-KS_HTTP_E_HOST_BAD] = { 400, "invalid or repeated Host header" },
	[-KS_HTTP_E_FIELD_DUP] = { 400, "repeated header field" },
	[-KS_HTTP_E_EXPECT] = { 417, "only Expect: 100-continue is supported" },
	[-KS_HTTP_E_CHUNK] = { 400, "malformed chunked body" },
	[-KS_HTTP_E_NOMEM] = { 500, "out of memory" },
	[-KS_HTTP_E_USAGE] = { 500, "parser misuse" },
	[-KS_HTTP_E_STATUS_LINE] = { 502, "malformed status line (want HTTP/1.x, a code 100..599, a reason)" },
	[-KS_HTTP_E_CLOSED] = { 502, "connection closed before a message" },
	[-KS_HTTP_E_TRUNCATED] = { 502, "connection closed mid-message" },
	[-KS_HTTP_E_SINK] = { 500, "body refused by its reader" },
};

int ks_http_error_status(int err, const char **reason)
{
	size_t idx = err < 0 ? (size_t)-(long)err : 0;

	if (!idx || idx >= ARRAY_LEN(error_table) || !error_table[idx].status) {
		if (reason)
			*reason = err >= 0 ? "no error" : "unknown error";
		return err >= 0 ? 0 : 500;
	}
	if (reason)
		*reason = error_table[idx].reason;
	return error_table[idx].status;
}

const char *ks_http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Header text a caller gives us must not be able to end the head early or
 * smuggle a second framing: printable, SP, HTAB, obs-text only. */
static bool is_field_text(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* extra_headers: ("Name:" OWS value CRLF)*, no framing fields. */
static bool extra_headers_ok(const char *s)
{
	static const char *const framing[] = { "content-length", "transfer-encoding", "connection" };
	const char *name;
	size_t n, i;

	while (*s) {
		name = s;
		while (is_tchar((unsigned char)*s))
			s++;
		n = (size_t)(s - name);
		if (!n || *s != ':')
			return false;
		for (i = 0; i < ARRAY_LEN(framing); i++)
			if (token_eq(name, n, framing[i]))
				return false;
		for (s++; *s && *s != '\r'; s++) {
			unsigned char c = (unsigned char)*s;

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
		}
		if (s[0] != '\r' || s[1] != '\n')
			return false;
		s += 2;
	}
	return true;
}

struct outbuf {
	char *buf;
	size_t len, off;
	bool overflow;
};

static void put(struct outbuf *o, const char *s, size_t n)
{
	if (o->overflow || n > o->len - o->off) {
		o->overflow = true;
		return;
	}
	if (n)
		memcpy(o->buf + o->off, s, n);
	o->off += n;
}

static void puts_(struct outbuf *o, const char *s)
{
	put(o, s, strlen(s));
}

int ks_http_format_response(char *buf, size_t len, int status, const char *content_type,
			    const char *body, size_t body_len, bool keep_alive,
			    const char *extra_headers)
{
	struct outbuf o = { .buf = buf, .len = buf ? len : 0 };
	bool informational = status < 200, no_length = informational || status == 204;
	char num[48];

	if (status < 100 || status > 599)
		return -EINVAL;
	if ((no_length || status == 304) && body_len)
		return -EINVAL;
	if (content_type && (!*content_type || !is_field_text(content_type)))
		return -EINVAL;
	if (extra_headers && !extra_headers_ok(extra_headers))
		return -EINVAL;
	if (body_len > (size_t)INT_MAX)
		return -EINVAL;

	snprintf(num, sizeof(num), "HTTP/1.1 %d ", status);
	puts_(&o, num);
	puts_(&o, ks_http_status_text(status));
	puts_(&o, "\r\n");
	if (content_type && !informational) {
		puts_(&o, "Content-Type: ");
		puts_(&o, content_type);
		puts_(&o, "\r\n");
	}
	if (!no_length && status != 304) {
		snprintf(num, sizeof(num), "Content-Length: %zu\r\n", body_len);
		puts_(&o, num);
	}
	if (!informational)
		puts_(&o, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
	if (extra_headers)
		puts_(&o, extra_headers);
	puts_(&o, "\r\n");
	if (body)
		put(&o, body, body_len);
	if (o.overflow)
		return -ENOSPC;
	if (o.off > (size_t)INT_MAX)
		return -EINVAL;
	if (o.off < o.len)
		o.buf[o.off] = '\0';
	return (int)o.off;
}

int ks_http_format_date(char *buf, size_t len, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	char tmp[64];
	int n;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999 ||
	    tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return -EINVAL;
	/* strftime's %a/%b follow the locale; HTTP dates are always English. */
	n = snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
		     tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec);
	if (n != 29)
		return -EINVAL;
	if (!buf || len < 30)
		return -ENOSPC;
	memcpy(buf, tmp, 30);
	return n;
}
