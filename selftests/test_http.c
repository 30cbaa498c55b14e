// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/1.1 request parser and response formatter (user/lib/http.c): the
 * grammar and limits http.h documents, one-shot feeding against byte-at-a-
 * time and uneven splits, pipelining, sticky errors, bounded memory, and
 * exact response bytes.  No root, no network.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include "test_progs.h"
#include "http.h"

/* Feed `len` bytes in pieces of `piece` bytes (0: all at once) until the
 * request is complete or fails; *used is the bytes consumed in total. */
static int feed_pieces(struct ks_http_parser *p, const char *s, size_t len, size_t piece,
		       struct ks_http_request *out, size_t *used)
{
	size_t off = 0, n, got;
	int rc = KS_HTTP_NEED_MORE;

	*used = 0;
	while (off < len) {
		n = piece && piece < len - off ? piece : len - off;
		rc = ks_http_feed(p, s + off, n, &got, out);
		off += got;
		*used = off;
		if (rc != KS_HTTP_NEED_MORE)
			return rc;
		if (got != n)
			return -1000; /* NEED_MORE must consume everything */
	}
	return rc;
}

/* Parse one request from a fresh parser; the body is copied out (into a
 * static-size buffer the caller owns) because reset invalidates it. */
struct parsed {
	int rc;
	size_t used;
	struct ks_http_request req;
	char *body;
};

static void parsed_free(struct parsed *r)
{
	free(r->body);
	r->body = NULL;
}

static struct parsed parse(const char *s, size_t len, size_t piece)
{
	struct ks_http_parser p;
	struct parsed r;

	memset(&r, 0, sizeof(r));
	ks_http_parser_init(&p);
	r.rc = feed_pieces(&p, s, len, piece, &r.req, &r.used);
	if (r.rc == KS_HTTP_DONE) {
		r.body = malloc(r.req.body_len + 1);
		if (r.body) {
			memcpy(r.body, r.req.body, r.req.body_len);
			r.body[r.req.body_len] = '\0';
		}
		r.req.body = r.body;
	}
	ks_http_parser_free(&p);
	return r;
}

static struct parsed parse_str(const char *s)
{
	return parse(s, strlen(s), 0);
}

/* The status a request is answered with: 0 when it parses, -1 when it is
 * incomplete. */
static int status_of(const char *s)
{
	struct parsed r = parse_str(s);
	int st = r.rc == KS_HTTP_DONE ? 0 : r.rc == KS_HTTP_NEED_MORE ? -1
		 : ks_http_error_status(r.rc, NULL);

	parsed_free(&r);
	return st;
}

static bool same_request(const struct parsed *a, const struct parsed *b)
{
	if (a->rc != b->rc || a->used != b->used)
		return false;
	if (a->rc != KS_HTTP_DONE)
		return true;
	return !strcmp(a->req.method, b->req.method) && !strcmp(a->req.path, b->req.path) &&
	       !strcmp(a->req.query, b->req.query) && !strcmp(a->req.host, b->req.host) &&
	       !strcmp(a->req.content_type, b->req.content_type) &&
	       a->req.minor_version == b->req.minor_version &&
	       a->req.keep_alive == b->req.keep_alive &&
	       a->req.expect_continue == b->req.expect_continue &&
	       a->req.chunked == b->req.chunked &&
	       a->req.content_length == b->req.content_length &&
	       a->req.body_len == b->req.body_len &&
	       !memcmp(a->req.body, b->req.body, a->req.body_len);
}

/* A heap string built with printf; the caller frees it. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memset(s, c, n);
		s[n] = '\0';
	}
	return s;
}

KS_TEST_F(http_request_line, KS_SAN | KS_HOST)
{
	if (test__start_subtest("get")) {
		struct parsed r = parse_str("GET /score?x=1&y=%2F HTTP/1.1\r\nHost: node-1:8443\r\n\r\n");

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "done")) {
			ASSERT_OK(strcmp(r.req.method, "GET"), "method");
			ASSERT_OK(strcmp(r.req.path, "/score"), "path");
			ASSERT_OK(strcmp(r.req.query, "x=1&y=%2F"), "query undecoded");
			ASSERT_OK(strcmp(r.req.host, "node-1:8443"), "host");
			ASSERT_EQ(r.req.minor_version, 1, "minor");
			ASSERT_TRUE(r.req.keep_alive, "1.1 keeps alive");
			ASSERT_EQ(r.req.body_len, 0, "no body");
			ASSERT_OK_PTR(r.req.body, "body never NULL");
			ASSERT_FALSE(r.req.chunked, "not chunked");
		}
		parsed_free(&r);
	}
	if (test__start_subtest("methods")) {
		static const char *const ok[] = { "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH" };
		static const char *const no[] = { "BREW", "get", "CONNECT", "TRACE", "PROPFIND" };
		unsigned int i;

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			char *s = fmt("%s / HTTP/1.1\r\nHost: a\r\n\r\n", ok[i]);
			struct parsed r = parse_str(s);

			ASSERT_EQ(r.rc, KS_HTTP_DONE, ok[i]);
			ASSERT_OK(strcmp(r.req.method, ok[i]), "method stored");
			parsed_free(&r);
			free(s);
		}
		for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
			char *s = fmt("%s / HTTP/1.1\r\nHost: a\r\n\r\n", no[i]);

			ASSERT_EQ(status_of(s), 501, no[i]);
			free(s);
		}
		ASSERT_EQ(status_of("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "non-token method");
		ASSERT_EQ(status_of(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "empty method");
	}
	if (test__start_subtest("target_forms")) {
		ASSERT_EQ(status_of("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "asterisk-form");
		ASSERT_EQ(status_of("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "absolute-form");
		ASSERT_EQ(status_of("GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "fragment");
		ASSERT_EQ(status_of("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "quote");
		ASSERT_EQ(status_of("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "bad escape");
		ASSERT_EQ(status_of("GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "short escape");
		ASSERT_EQ(status_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "double space");
		ASSERT_EQ(status_of("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400, "trailing space");
		ASSERT_EQ(status_of("GET /%41/b:c@d HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "pchars");

		struct parsed r = parse_str("GET /p?a?b HTTP/1.1\r\nHost: a\r\n\r\n");

		ASSERT_OK(strcmp(r.req.path, "/p"), "split at first ?");
		ASSERT_OK(strcmp(r.req.query, "a?b"), "rest is query");
		parsed_free(&r);
	}
	if (test__start_subtest("target_2048")) {
		char *path = repeat('a', KS_HTTP_MAX_TARGET_BYTES - 1);
		char *ok = fmt("GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", path);
		char *over = fmt("GET /%sb HTTP/1.1\r\nHost: a\r\n\r\n", path);
		char *q = fmt("GET /?%s HTTP/1.1\r\nHost: a\r\n\r\n", path + 1);
		struct parsed r = parse_str(ok), rq = parse_str(q);

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "2048-byte target"))
			ASSERT_EQ(strlen(r.req.path), KS_HTTP_MAX_TARGET_BYTES, "path kept whole");
		if (ASSERT_EQ(rq.rc, KS_HTTP_DONE, "2048-byte target with query"))
			ASSERT_EQ(strlen(rq.req.query), KS_HTTP_MAX_TARGET_BYTES - 2, "query kept whole");
		ASSERT_EQ(status_of(over), 414, "2049-byte target");
		parsed_free(&r);
		parsed_free(&rq);
		free(path);
		free(ok);
		free(over);
		free(q);
	}
	if (test__start_subtest("version")) {
		struct parsed r = parse_str("GET / HTTP/1.0\r\n\r\n");

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "1.0 without Host"))
			ASSERT_EQ(r.req.minor_version, 0, "minor 0");
		parsed_free(&r);
		ASSERT_EQ(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, "2.0");
		ASSERT_EQ(status_of("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505, "1.2");
		ASSERT_EQ(status_of("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505, "0.9");
		ASSERT_EQ(status_of("GET / http/1.1\r\nHost: a\r\n\r\n"), 400, "lowercase");
		ASSERT_EQ(status_of("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400, "two digits");
		ASSERT_EQ(status_of("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400, "short");
		ASSERT_EQ(status_of("GET /\r\n\r\n"), 400, "HTTP/0.9 style");
	}
	if (test__start_subtest("line_endings")) {
		ASSERT_EQ(status_of("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400, "bare LF request line");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400, "bare LF field");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400, "bare LF end");
		ASSERT_EQ(status_of("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400, "bare CR request line");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), 400, "bare CR field");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\n\rX"), 400, "bare CR end");
		ASSERT_EQ(status_of("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0,
			  "leading empty lines skipped");
		ASSERT_EQ(status_of("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400,
			  "more than 4 leading empty lines");
		ASSERT_EQ(status_of("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "leading bare LF");
	}
}

KS_TEST_F(http_headers, KS_SAN | KS_HOST)
{
	if (test__start_subtest("names_case_insensitive")) {
		struct parsed r = parse_str("POST /validate HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\n"
					    "CONTENT-TYPE: application/json  \r\ncOnNeCtIoN: CLOSE\r\n\r\nhi");

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "done")) {
			ASSERT_OK(strcmp(r.req.host, "a"), "host");
			ASSERT_EQ(r.req.body_len, 2, "lowercase content-length");
			ASSERT_OK(strcmp(r.req.body, "hi"), "body");
			ASSERT_OK(strcmp(r.req.content_type, "application/json"), "type trimmed");
			ASSERT_FALSE(r.req.keep_alive, "CLOSE");
		}
		parsed_free(&r);
	}
	if (test__start_subtest("host")) {
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400, "missing on 1.1");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n"), 400, "other name");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400, "twice");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, "space inside");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, "slash");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"), 0, "ip literal");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0, "empty is allowed (RFC 9112 3.2)");
	}
	if (test__start_subtest("syntax")) {
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400, "space before colon");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), 400, "tab before colon");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"), 400, "obs-fold");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400, "ws before first field");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), 400, "no colon");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"), 400, "empty name");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n"), 400, "bad name char");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"), 400, "control in value");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n"), 400, "DEL in value");

		static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0z\r\n\r\n";
		struct parsed r = parse(nul, sizeof(nul) - 1, 0);

		ASSERT_EQ(ks_http_error_status(r.rc, NULL), 400, "NUL in value");
		parsed_free(&r);
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\t\r\n\r\n"), 0,
			  "obs-text and HTAB in value");
	}
	if (test__start_subtest("size_8k")) {
		/* The budget counts field lines with their CRLF: "Host: a\r\n" is 9
		 * bytes, "X: " + pad + "\r\n" is 5 + pad bytes. */
		size_t pad = KS_HTTP_MAX_HEADER_BYTES - 9 - 5;
		char *v = repeat('v', pad), *v1 = repeat('v', pad + 1);
		char *ok = fmt("GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v);
		char *over = fmt("GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v1);

		ASSERT_EQ(status_of(ok), 0, "exactly 8 KiB");
		ASSERT_EQ(status_of(over), 431, "one byte over");
		/* Many small lines count the same way. */
		free(ok);
		free(over);
		free(v);
		free(v1);
		char *many = malloc(2 * KS_HTTP_MAX_HEADER_BYTES);
		size_t off = (size_t)sprintf(many, "GET / HTTP/1.1\r\nHost: a\r\n");
		unsigned int i;

		for (i = 0; i < (KS_HTTP_MAX_HEADER_BYTES - 9) / 8; i++)
			off += (size_t)sprintf(many + off, "Y: 1234\r\n"); /* 9 bytes */
		strcpy(many + off, "\r\n");
		ASSERT_EQ(status_of(many), 431, "1022 lines of 9 bytes > 8192");
		free(many);
	}
	if (test__start_subtest("content_type")) {
		char *t = repeat('t', KS_HTTP_CONTENT_TYPE_BYTES - 1);
		char *t1 = repeat('t', KS_HTTP_CONTENT_TYPE_BYTES);
		char *ok = fmt("GET / HTTP/1.1\r\nHost: a\r\nContent-Type: %s\r\n\r\n", t);
		char *over = fmt("GET / HTTP/1.1\r\nHost: a\r\nContent-Type: %s\r\n\r\n", t1);
		char *host_over = fmt("GET / HTTP/1.1\r\nHost: %s\r\n\r\n", t1);

		ASSERT_EQ(status_of(ok), 0, "127 bytes");
		ASSERT_EQ(status_of(over), 431, "128 bytes");
		ASSERT_EQ(status_of(host_over), 0, "long host fits its own field");
		ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n"),
			  400, "twice");
		free(t);
		free(t1);
		free(ok);
		free(over);
		free(host_over);
	}
	if (test__start_subtest("media_type")) {
		static const char *const yes[] = { "application/json", "APPLICATION/JSON", "Application/Json",
			"application/json;charset=utf-8", "application/json; charset=UTF-8", "application/json ; a=b ;c=\"d;e\"",
			"application/json;", "application/json; ;", "application/json;x=\"a\\\"b\"" };
		static const char *const no[] = { "", "application/jsonfoo", "application/jso", "text/json",
			"application/json x", "application/json;=b", "application/json;a", "application/json;a=",
			"application/json;a=\"b", "application/json;a=b c", "application/json/x" };
		size_t i;

		for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			if (!ASSERT_TRUE(ks_http_media_type_is(yes[i], "application/json"), "is application/json"))
				printf("    '%s'\n", yes[i]);
		for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
			if (!ASSERT_FALSE(ks_http_media_type_is(no[i], "application/json"), "is not application/json"))
				printf("    '%s'\n", no[i]);
	}
	if (test__start_subtest("unrecognised_long_value")) {
		char *v = repeat('v', 4000);
		char *s = fmt("GET / HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n", v);

		ASSERT_EQ(status_of(s), 0, "not stored, so not limited but by 8 KiB");
		free(s);
		free(v);
	}
	if (test__start_subtest("connection")) {
		struct {
			const char *req;
			bool keep_alive;
		} cases[] = {
			{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
			{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false },
			{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true },
			{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, close\r\n\r\n", false },
			{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nConnection: close\r\n\r\n", false },
			{ "GET / HTTP/1.0\r\n\r\n", false },
			{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
			{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
			{ "GET / HTTP/1.0\r\nConnection: te, keep-alive\r\n\r\n", true },
			{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
			{ "GET / HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n", false },
		};
		unsigned int i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct parsed r = parse_str(cases[i].req);

			if (ASSERT_EQ(r.rc, KS_HTTP_DONE, cases[i].req))
				ASSERT_EQ(r.req.keep_alive, cases[i].keep_alive, cases[i].req);
			parsed_free(&r);
		}
	}
	if (test__start_subtest("expect")) {
		struct parsed r = parse_str("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
					    "Content-Length: 1\r\n\r\nx");
		struct parsed r10 = parse_str("POST / HTTP/1.0\r\nExpect: 100-continue\r\n"
					      "Content-Length: 1\r\n\r\nx");

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "1.1"))
			ASSERT_TRUE(r.req.expect_continue, "flagged");
		if (ASSERT_EQ(r10.rc, KS_HTTP_DONE, "1.0"))
			ASSERT_FALSE(r10.req.expect_continue, "ignored in 1.0");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"), 417, "other");
		parsed_free(&r);
		parsed_free(&r10);
	}
}

KS_TEST_F(http_content_length, KS_SAN | KS_HOST)
{
	if (test__start_subtest("valid")) {
		struct parsed r = parse_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\nhelloEXTRA");

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "done")) {
			ASSERT_EQ(r.req.content_length, 5, "leading zeros");
			ASSERT_EQ(r.req.body_len, 5, "body_len");
			ASSERT_OK(memcmp(r.req.body, "hello", 5), "body");
			ASSERT_EQ(r.used, strlen("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\nhello"),
				  "stops at the end of the body");
		}
		parsed_free(&r);
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t 3 \t\r\n\r\nabc"), 0,
			  "OWS around the value");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
				    "Content-Length: 3\r\n\r\nabc"), 0, "same value twice");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab"), -1,
			  "incomplete body needs more");
	}
	if (test__start_subtest("invalid")) {
		static const char *const bad[] = { "+5", "-5", "5 5", "5,5", "5, 5", "0x5", "5a", "",
						   "99999999999999999999999", "18446744073709551616",
						   "1e3", "\"5\"" };
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *s = fmt("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\nhello", bad[i]);

			ASSERT_EQ(status_of(s), 400, bad[i]);
			free(s);
		}
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
				    "Content-Length: 4\r\n\r\nabcd"), 400, "different values");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n"),
			  413, "u64 max is valid but too large");
	}
	if (test__start_subtest("body_1mib")) {
		size_t head_len;
		char *head = fmt("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", KS_HTTP_MAX_BODY_BYTES);
		char *over = fmt("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", KS_HTTP_MAX_BODY_BYTES + 1);
		char *buf;

		head_len = strlen(head);
		buf = malloc(head_len + KS_HTTP_MAX_BODY_BYTES);
		memcpy(buf, head, head_len);
		memset(buf + head_len, 'b', KS_HTTP_MAX_BODY_BYTES);
		buf[head_len + KS_HTTP_MAX_BODY_BYTES - 1] = 'E';

		struct parsed r = parse(buf, head_len + KS_HTTP_MAX_BODY_BYTES, 0);
		struct parsed r2 = parse(buf, head_len + KS_HTTP_MAX_BODY_BYTES, 1000);

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "exactly 1 MiB")) {
			ASSERT_EQ(r.req.body_len, KS_HTTP_MAX_BODY_BYTES, "body_len");
			ASSERT_EQ(r.req.body[KS_HTTP_MAX_BODY_BYTES - 1], 'E', "last byte");
		}
		ASSERT_TRUE(same_request(&r, &r2), "1000-byte pieces agree");
		ASSERT_EQ(status_of(over), 413, "1 MiB + 1 refused at the header");
		parsed_free(&r);
		parsed_free(&r2);
		free(buf);
		free(head);
		free(over);
	}
}

/* A chunked body split into `n`-byte chunks, with an extension on each. */
static char *chunked_body(size_t total, size_t n, size_t *len)
{
	size_t cap = total + (total / n + 2) * 32 + 64, off = 0, left = total;
	char *s = malloc(cap);

	while (left) {
		size_t c = left < n ? left : n;

		off += (size_t)sprintf(s + off, "%zx;i=%zu\r\n", c, off);
		memset(s + off, 'c', c);
		off += c;
		memcpy(s + off, "\r\n", 2);
		off += 2;
		left -= c;
	}
	off += (size_t)sprintf(s + off, "0\r\n\r\n");
	*len = off;
	return s;
}

KS_TEST_F(http_chunked, KS_SAN | KS_HOST)
{
	const char *head = "POST /validate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

	if (test__start_subtest("extensions_and_trailers")) {
		char *s = fmt("%s%s", head,
			      "5;name\r\nhello\r\n"
			      "1 ;a=b ; c = \"q \\\"x\\\" ;\"\r\n \r\n"
			      "A;z=\"\"\r\n0123456789\r\n"
			      "0;last\r\nX-Trailer: t\r\nY: \r\n\r\nGET");
		struct parsed r = parse_str(s);

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "done")) {
			ASSERT_TRUE(r.req.chunked, "chunked");
			ASSERT_EQ(r.req.body_len, 16, "decoded length");
			ASSERT_OK(strcmp(r.req.body, "hello 0123456789"), "decoded body");
			ASSERT_EQ(r.used, strlen(s) - 3, "stops before the next request");
		}
		parsed_free(&r);
		free(s);
	}
	if (test__start_subtest("case_and_hex")) {
		char *s = fmt("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
			      "00000B\r\nhello world\r\n0\r\n\r\n");
		struct parsed r = parse_str(s);

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "done"))
			ASSERT_OK(strcmp(r.req.body, "hello world"), "body");
		parsed_free(&r);
		free(s);
	}
	if (test__start_subtest("framing_errors")) {
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
				    "Content-Length: 5\r\n\r\n0\r\n\r\n"), 400, "TE then CL");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400, "CL then TE");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
			  501, "unknown coding before chunked");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
			  400, "chunked not final");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
			  400, "chunked then another");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
			  400, "chunked twice");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n"), 400, "two TE lines");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"), 400, "empty");
		ASSERT_EQ(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
			  400, "TE in HTTP/1.0");
		ASSERT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n0\r\n\r\n"),
			  0, "empty list elements ignored");
	}
	if (test__start_subtest("chunk_errors")) {
		static const char *const bad[] = {
			"g\r\nx\r\n0\r\n\r\n",		/* not hex */
			"\r\n0\r\n\r\n",		/* empty size */
			"1 \r\nx\r\n0\r\n\r\n",		/* trailing BWS without ';' */
			"1;\r\nx\r\n0\r\n\r\n",		/* ';' without a name */
			"1;a=\r\nx\r\n0\r\n\r\n",	/* '=' without a value */
			"1;a=\"x\r\nx\r\n0\r\n\r\n",	/* unterminated quote */
			"1;a b\r\nx\r\n0\r\n\r\n",	/* two names */
			"2\r\nx\r\n0\r\n\r\n",		/* data shorter than size: CR eaten, LF not CR */
			"1\r\nxy\r\n0\r\n\r\n",		/* data longer than size */
			"1\nx\r\n0\r\n\r\n",		/* bare LF */
			"1\r\nx\n0\r\n\r\n",		/* bare LF after data */
			"1\r\nx\r\n0\r\nT : v\r\n\r\n", /* bad trailer */
			"1\r\nx\r\n0\r\n\n",		/* bare LF ending trailers */
			"-1\r\nx\r\n0\r\n\r\n",
			"0x1\r\nx\r\n0\r\n\r\n",
		};
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *s = fmt("%s%s", head, bad[i]);

			ASSERT_EQ(status_of(s), 400, bad[i]);
			free(s);
		}
		char *ext = repeat('e', KS_HTTP_MAX_CHUNK_LINE_BYTES);
		char *s = fmt("%s1;%s\r\nx\r\n0\r\n\r\n", head, ext);

		ASSERT_EQ(status_of(s), 400, "chunk line over 1 KiB");
		free(s);
		free(ext);
	}
	if (test__start_subtest("limits")) {
		size_t blen, head_len = strlen(head);
		char *b = chunked_body(KS_HTTP_MAX_BODY_BYTES, 100000, &blen);
		char *s = malloc(head_len + blen + 1);

		memcpy(s, head, head_len);
		memcpy(s + head_len, b, blen);
		s[head_len + blen] = '\0';
		struct parsed r = parse(s, head_len + blen, 0);

		if (ASSERT_EQ(r.rc, KS_HTTP_DONE, "exactly 1 MiB chunked"))
			ASSERT_EQ(r.req.body_len, KS_HTTP_MAX_BODY_BYTES, "decoded length");
		parsed_free(&r);
		free(s);
		free(b);

		b = chunked_body(KS_HTTP_MAX_BODY_BYTES + 1, 100000, &blen);
		s = malloc(head_len + blen + 1);
		memcpy(s, head, head_len);
		memcpy(s + head_len, b, blen);
		r = parse(s, head_len + blen, 0);
		ASSERT_EQ(ks_http_error_status(r.rc, NULL), 413, "1 MiB + 1 chunked");
		parsed_free(&r);
		free(s);
		free(b);

		s = fmt("%sFFFFFFFFFFFFFFFFFFFFFFFF\r\n", head);
		ASSERT_EQ(status_of(s), 413, "huge chunk size");
		free(s);
		s = fmt("%s0000000000000000000000000001\r\nx\r\n0\r\n\r\n", head);
		ASSERT_EQ(status_of(s), 0, "leading zeros");
		free(s);

		char *v = repeat('v', KS_HTTP_MAX_HEADER_BYTES - 5);
		char *v1 = repeat('v', KS_HTTP_MAX_HEADER_BYTES - 4);

		s = fmt("%s0\r\nT: %s\r\n\r\n", head, v);
		ASSERT_EQ(status_of(s), 0, "trailers exactly 8 KiB");
		free(s);
		s = fmt("%s0\r\nT: %s\r\n\r\n", head, v1);
		ASSERT_EQ(status_of(s), 431, "trailers over 8 KiB");
		free(s);
		free(v);
		free(v1);
	}
}

static const char *const samples[] = {
	"GET /score HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\nGET /a?b=c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"POST /validate?timeout=10s HTTP/1.1\r\nHost: ksense.svc:443\r\nContent-Type: application/json\r\n"
	"Content-Length: 13\r\nExpect: 100-continue\r\n\r\n{\"kind\":\"x\"}\n",
	"POST /v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	"3;x=\"y\\\"z\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n",
	"BREW /pot HTTP/1.1\r\n\r\n",
	"GET / HTTP/3.0\r\n",
};

KS_TEST_F(http_incremental, KS_SAN | KS_HOST)
{
	unsigned int i;
	size_t piece;

	if (test__start_subtest("byte_at_a_time_equals_one_shot")) {
		for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
			size_t len = strlen(samples[i]);
			struct parsed whole = parse(samples[i], len, 0);

			for (piece = 1; piece <= 7; piece++) {
				struct parsed split = parse(samples[i], len, piece);
				bool same = same_request(&whole, &split);

				parsed_free(&split);
				if (!ASSERT_TRUE(same, samples[i]))
					break;
			}
			parsed_free(&whole);
		}
	}
	if (test__start_subtest("uneven_splits")) {
		/* Every two-piece split of every sample. */
		for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
			size_t len = strlen(samples[i]), cut, used, got;
			struct parsed whole = parse(samples[i], len, 0);

			for (cut = 0; cut <= len; cut++) {
				struct ks_http_parser p;
				struct parsed r;
				int rc;

				memset(&r, 0, sizeof(r));
				ks_http_parser_init(&p);
				rc = ks_http_feed(&p, samples[i], cut, &used, &r.req);
				if (rc == KS_HTTP_NEED_MORE && cut < len) {
					rc = ks_http_feed(&p, samples[i] + cut, len - cut, &got, &r.req);
					used += got;
				}
				r.rc = rc;
				r.used = used;
				bool same = same_request(&whole, &r);

				ks_http_parser_free(&p);
				if (!ASSERT_TRUE(same, samples[i]))
					break;
			}
			parsed_free(&whole);
		}
	}
}

KS_TEST_F(http_pipelined, KS_SAN | KS_HOST)
{
	static const char pipe[] =
		"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /validate HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
		"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
		"\r\nGET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	static const char *const paths[] = { "/healthz", "/validate", "/c", "/metrics" };
	static const char *const bodies[] = { "", "body", "ok", "" };
	size_t piece;

	for (piece = 0; piece <= 3; piece++) {
		struct ks_http_parser p;
		struct ks_http_request req;
		size_t off = 0, len = sizeof(pipe) - 1, got, n;
		unsigned int done = 0;
		int rc;
		char name[32];

		snprintf(name, sizeof(name), "pieces_of_%zu", piece);
		if (!test__start_subtest(name))
			continue;
		ks_http_parser_init(&p);
		while (off < len) {
			n = piece && piece < len - off ? piece : len - off;
			rc = ks_http_feed(&p, pipe + off, n, &got, &req);
			off += got;
			if (rc == KS_HTTP_NEED_MORE)
				continue;
			if (!ASSERT_EQ(rc, KS_HTTP_DONE, "request") || !ASSERT_LT(done, 4, "count"))
				break;
			ASSERT_OK(strcmp(req.path, paths[done]), paths[done]);
			ASSERT_EQ(req.body_len, strlen(bodies[done]), "body_len");
			ASSERT_OK(memcmp(req.body, bodies[done], req.body_len), "body");
			ASSERT_EQ(req.keep_alive, done != 3, "keep_alive");
			done++;
			ks_http_parser_reset(&p);
		}
		ASSERT_EQ(done, 4, "all four requests");
		ASSERT_EQ(off, len, "everything consumed");
		ks_http_parser_free(&p);
	}
}

KS_TEST_F(http_parser_state, KS_SAN | KS_HOST)
{
	struct ks_http_parser p;
	struct ks_http_request req;
	size_t got;
	int rc;

	if (test__start_subtest("error_is_sticky")) {
		ks_http_parser_init(&p);
		rc = ks_http_feed(&p, "GET / HTTP/1.1\r\nHost : a\r\n", 26, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_E_FIELD_WS_COLON, "error");
		ASSERT_LE(got, 26, "consumed <= len");
		rc = ks_http_feed(&p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_E_FIELD_WS_COLON, "same error again");
		ASSERT_EQ(got, 0, "nothing consumed");
		ks_http_parser_reset(&p);
		rc = ks_http_feed(&p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_DONE, "works after reset");
		ks_http_parser_free(&p);
	}
	if (test__start_subtest("feed_after_done_needs_reset")) {
		ks_http_parser_init(&p);
		rc = ks_http_feed(&p, "GET / HTTP/1.1\r\nHost: a\r\n\r\nG", 28, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_DONE, "done");
		ASSERT_EQ(got, 27, "the next request's byte is left");
		rc = ks_http_feed(&p, "G", 1, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_E_USAGE, "refused without reset");
		ASSERT_EQ(got, 0, "nothing consumed");
		ks_http_parser_free(&p);
	}
	if (test__start_subtest("empty_feed")) {
		ks_http_parser_init(&p);
		ASSERT_EQ(ks_http_feed(&p, NULL, 0, &got, &req), KS_HTTP_NEED_MORE, "NULL, 0");
		ASSERT_EQ(ks_http_feed(&p, NULL, 1, &got, &req), KS_HTTP_E_USAGE, "NULL, 1");
		ks_http_parser_free(&p);
	}
	if (test__start_subtest("continue")) {
		const char *h = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";

		ks_http_parser_init(&p);
		ASSERT_FALSE(ks_http_need_continue(&p), "not before headers");
		rc = ks_http_feed(&p, h, strlen(h), &got, &req);
		ASSERT_EQ(rc, KS_HTTP_NEED_MORE, "body pending");
		ASSERT_TRUE(ks_http_need_continue(&p), "send 100 now");
		ASSERT_FALSE(ks_http_need_continue(&p), "only once");
		rc = ks_http_feed(&p, "abc", 3, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_DONE, "done");
		ASSERT_TRUE(req.expect_continue, "flag in request");
		ks_http_parser_reset(&p);
		rc = ks_http_feed(&p, h, strlen(h) - 1, &got, &req);
		ASSERT_FALSE(ks_http_need_continue(&p), "not before the header section ends");
		ks_http_parser_reset(&p);
		h = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n";
		rc = ks_http_feed(&p, h, strlen(h), &got, &req);
		ASSERT_EQ(rc, KS_HTTP_DONE, "no body");
		ASSERT_FALSE(ks_http_need_continue(&p), "nothing to continue");
		ks_http_parser_free(&p);
	}
	if (test__start_subtest("memory_bounded")) {
		char *big = fmt("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", 100000);
		char *body = repeat('x', 100000);
		const char *small = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
		char *sbody = repeat('y', 1000);

		ks_http_parser_init(&p);
		ASSERT_EQ(p.body_cap_bytes, 0, "nothing allocated at init");
		ks_http_feed(&p, big, strlen(big), &got, &req);
		rc = ks_http_feed(&p, body, 50000, &got, &req);
		ASSERT_LE(p.body_cap_bytes, 65536, "grows with bytes received");
		rc = ks_http_feed(&p, body + 50000, 50000, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_DONE, "big done");
		ASSERT_EQ(p.body_cap_bytes, 100000, "capped at Content-Length");
		ks_http_parser_reset(&p);
		ASSERT_EQ(p.body_cap_bytes, 0, "large buffer freed at reset");
		ks_http_feed(&p, small, strlen(small), &got, &req);
		rc = ks_http_feed(&p, sbody, 1000, &got, &req);
		ASSERT_EQ(rc, KS_HTTP_DONE, "small done");
		ks_http_parser_reset(&p);
		ASSERT_EQ(p.body_cap_bytes, 1000, "small buffer kept");
		ASSERT_OK_PTR(p.body, "still allocated");
		ks_http_parser_free(&p);
		ASSERT_EQ(p.body_cap_bytes, 0, "freed");
		free(big);
		free(body);
		free(sbody);
	}
	if (test__start_subtest("error_status")) {
		const char *reason = NULL;

		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_TARGET_TOO_LONG, &reason), 414, "414");
		ASSERT_STRHAS(reason, "2048", "reason");
		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_HEADERS_TOO_LARGE, NULL), 431, "431");
		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_BODY_TOO_LARGE, NULL), 413, "413");
		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_METHOD, NULL), 501, "501");
		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_TE_UNSUPPORTED, NULL), 501, "TE 501");
		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_VERSION, NULL), 505, "505");
		ASSERT_EQ(ks_http_error_status(KS_HTTP_E_EXPECT, NULL), 417, "417");
		ASSERT_EQ(ks_http_error_status(-9999, &reason), 500, "unknown");
		for (rc = KS_HTTP_E_REQUEST_LINE; rc >= KS_HTTP_E_USAGE; rc--) {
			int st = ks_http_error_status(rc, &reason);

			if (!ASSERT_TRUE(st >= 400 && st < 600 && reason && *reason, "every code mapped"))
				break;
		}
	}
}

KS_TEST_F(http_format, KS_SAN | KS_HOST)
{
	char buf[512];
	int n;

	if (test__start_subtest("exact_bytes")) {
		static const char want[] = "HTTP/1.1 200 OK\r\n"
					   "Content-Type: application/json\r\n"
					   "Content-Length: 11\r\n"
					   "Connection: keep-alive\r\n"
					   "\r\n"
					   "{\"ok\":true}";

		n = ks_http_format_response(buf, sizeof(buf), 200, "application/json", "{\"ok\":true}", 11,
					    true, NULL);
		if (ASSERT_EQ(n, sizeof(want) - 1, "length"))
			ASSERT_OK(memcmp(buf, want, sizeof(want) - 1), "bytes");
		ASSERT_EQ(buf[n], '\0', "NUL when room remains");
	}
	if (test__start_subtest("close_and_extra")) {
		static const char want[] = "HTTP/1.1 404 Not Found\r\n"
					   "Content-Length: 0\r\n"
					   "Connection: close\r\n"
					   "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
					   "X-A: b\r\n"
					   "\r\n";

		n = ks_http_format_response(buf, sizeof(buf), 404, NULL, "", 0, false,
					    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nX-A: b\r\n");
		if (ASSERT_EQ(n, sizeof(want) - 1, "length"))
			ASSERT_OK(memcmp(buf, want, sizeof(want) - 1), "bytes");
	}
	if (test__start_subtest("no_body_statuses")) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		static const char nc[] = "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
		static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
					   "Content-Length: 42\r\nConnection: keep-alive\r\n\r\n";

		n = ks_http_format_response(buf, sizeof(buf), 100, NULL, NULL, 0, true, NULL);
		if (ASSERT_EQ(n, sizeof(cont) - 1, "100 length"))
			ASSERT_OK(memcmp(buf, cont, n), "100 bytes");
		n = ks_http_format_response(buf, sizeof(buf), 204, NULL, NULL, 0, true, NULL);
		if (ASSERT_EQ(n, sizeof(nc) - 1, "204 length"))
			ASSERT_OK(memcmp(buf, nc, n), "204 bytes");
		n = ks_http_format_response(buf, sizeof(buf), 200, "text/plain", NULL, 42, true, NULL);
		if (ASSERT_EQ(n, sizeof(head) - 1, "HEAD length"))
			ASSERT_OK(memcmp(buf, head, n), "HEAD: head only");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 204, NULL, "x", 1, true, NULL), -EINVAL,
			  "204 with a body");
	}
	if (test__start_subtest("enospc")) {
		size_t len;
		int full = ks_http_format_response(buf, sizeof(buf), 503, "text/plain", "pins are gone\n", 14,
						   false, NULL);

		ASSERT_GT(full, 0, "fits in 512");
		for (len = 0; len < (size_t)full; len++)
			if (!ASSERT_EQ(ks_http_format_response(buf, len, 503, "text/plain", "pins are gone\n",
							       14, false, NULL), -ENOSPC, "too small"))
				break;
		ASSERT_EQ(ks_http_format_response(buf, (size_t)full, 503, "text/plain", "pins are gone\n", 14,
						  false, NULL), full, "exact fit");
		ASSERT_EQ(ks_http_format_response(NULL, 0, 200, NULL, NULL, 0, true, NULL), -ENOSPC, "NULL buf");
	}
	if (test__start_subtest("einval")) {
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 99, NULL, NULL, 0, true, NULL), -EINVAL,
			  "status 99");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 600, NULL, NULL, 0, true, NULL), -EINVAL,
			  "status 600");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 200, "a\r\nX: y", NULL, 0, true, NULL),
			  -EINVAL, "CRLF in content type");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 200, NULL, NULL, 0, true, "X: y"),
			  -EINVAL, "extra without CRLF");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 200, NULL, NULL, 0, true, "X: y\r\n\r\n"),
			  -EINVAL, "extra with an empty line");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 200, NULL, NULL, 0, true, "X: y\nZ: w\r\n"),
			  -EINVAL, "bare LF in extra");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 200, NULL, NULL, 0, true,
						  "content-length: 5\r\n"), -EINVAL, "framing in extra");
		ASSERT_EQ(ks_http_format_response(buf, sizeof(buf), 200, NULL, NULL, 0, true,
						  "Transfer-Encoding: chunked\r\n"), -EINVAL, "TE in extra");
	}
	if (test__start_subtest("status_text_and_date")) {
		ASSERT_OK(strcmp(ks_http_status_text(200), "OK"), "200");
		ASSERT_OK(strcmp(ks_http_status_text(413), "Content Too Large"), "413");
		ASSERT_OK(strcmp(ks_http_status_text(431), "Request Header Fields Too Large"), "431");
		ASSERT_OK(strcmp(ks_http_status_text(505), "HTTP Version Not Supported"), "505");
		ASSERT_OK(strcmp(ks_http_status_text(299), "Unknown"), "unknown");
		ASSERT_EQ(ks_http_format_date(buf, sizeof(buf), 784111777), 29, "date length");
		ASSERT_OK(strcmp(buf, "Sun, 06 Nov 1994 08:49:37 GMT"), "RFC 9110 example");
		ASSERT_EQ(ks_http_format_date(buf, 29, 0), -ENOSPC, "no room for NUL");
	}
	if (test__start_subtest("round_trip_error")) {
		struct parsed r = parse_str("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n");
		const char *reason = NULL;
		int st = ks_http_error_status(r.rc, &reason);

		n = ks_http_format_response(buf, sizeof(buf), st, "text/plain", reason, strlen(reason), false,
					    NULL);
		ASSERT_GT(n, 0, "formatted");
		ASSERT_STRHAS(buf, "HTTP/1.1 400 Bad Request\r\n", "status line");
		ASSERT_STRHAS(buf, "Connection: close\r\n", "closes");
		ASSERT_STRHAS(buf, "invalid Content-Length", "reason as body");
		parsed_free(&r);
	}
}
