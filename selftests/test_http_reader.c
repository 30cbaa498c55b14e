// SPDX-License-Identifier: GPL-2.0
/*
 * The HTTP/1.1 message reader (user/lib/http.c) as the clients use it:
 * responses (status line, framing by status and method, bodies closed by
 * EOF), chunked bodies with extensions and trailers, streaming to a sink,
 * pipelined messages, oversize heads, and every message split at every
 * byte boundary giving the same result as fed whole.  No root, no network.
 */
#include <errno.h>
#include <stdlib.h>
#include "test_progs.h"
#include "http.h"

struct outcome {
	int rc;				/* DONE or an error */
	size_t used;			/* bytes consumed by the message */
	struct ks_http_request msg;
	char body[8192];		/* buffered or streamed body */
	size_t body_len;
};

static int collect(void *arg, const char *data, size_t len)
{
	struct outcome *o = arg;

	if (len > sizeof(o->body) - o->body_len)
		return -E2BIG;
	memcpy(o->body + o->body_len, data, len);
	o->body_len += len;
	return 0;
}

/*
 * Read one message from s: fed in two pieces cut at `cut` (>= len: whole),
 * then EOF when eof is set and the message is not complete.  response:
 * read a response (head: to a HEAD request); stream: body to a sink.
 */
static struct outcome read_one(const char *s, size_t len, size_t cut, bool response, bool head,
			       bool stream, bool eof)
{
	struct ks_http_parser p;
	struct outcome o;
	size_t off = 0, got, n;
	int rc = KS_HTTP_NEED_MORE;

	memset(&o, 0, sizeof(o));
	ks_http_parser_init(&p);
	if (response)
		ks_http_parser_expect_response(&p, head);
	if (stream)
		ks_http_parser_set_sink(&p, collect, &o);
	while (off < len && rc == KS_HTTP_NEED_MORE) {
		n = off < cut && cut < len ? cut - off : len - off;
		rc = ks_http_feed(&p, s + off, n, &got, &o.msg);
		off += got;
	}
	if (rc == KS_HTTP_NEED_MORE && eof)
		rc = ks_http_feed_eof(&p, &o.msg);
	o.rc = rc;
	o.used = off;
	if (rc == KS_HTTP_DONE && !stream) {
		o.body_len = o.msg.body_len < sizeof(o.body) ? o.msg.body_len : sizeof(o.body);
		memcpy(o.body, o.msg.body, o.body_len);
	}
	if (rc == KS_HTTP_E_SINK)
		o.rc = ks_http_sink_result(&p);
	ks_http_parser_free(&p);
	return o;
}

static struct outcome response(const char *s, bool head)
{
	return read_one(s, strlen(s), SIZE_MAX, true, head, false, true);
}

/* Same outcome whatever the cut, and streamed or buffered. */
static bool same_at_every_cut(const char *s, bool is_response, bool eof)
{
	size_t len = strlen(s), cut;
	struct outcome whole = read_one(s, len, SIZE_MAX, is_response, false, false, eof);

	for (cut = 0; cut <= len; cut++) {
		for (int stream = 0; stream < 2; stream++) {
			struct outcome o = read_one(s, len, cut, is_response, false, stream, eof);

			if (o.rc != whole.rc || o.used != whole.used || o.body_len != whole.body_len ||
			    memcmp(o.body, whole.body, whole.body_len) || o.msg.status != whole.msg.status ||
			    o.msg.keep_alive != whole.msg.keep_alive) {
				fprintf(stderr, "cut %zu stream %d: rc %d/%d used %zu/%zu body %zu/%zu\n", cut,
					stream, o.rc, whole.rc, o.used, whole.used, o.body_len, whole.body_len);
				return false;
			}
		}
	}
	return true;
}

/* Responses and the result each must give (then EOF). */
struct want {
	const char *in;
	int rc;
	const char *name;
};

static void check_all(const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(response(w[i].in, false).rc, w[i].rc, w[i].name);
}

KS_TEST_F(http_reader_status_line, KS_SAN | KS_HOST)
{
	if (test__start_subtest("ok")) {
		struct outcome o = response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", false);

		if (ASSERT_EQ(o.rc, KS_HTTP_DONE, "done")) {
			ASSERT_EQ(o.msg.status, 200, "status");
			ASSERT_EQ(o.msg.minor_version, 1, "minor");
			ASSERT_TRUE(o.msg.keep_alive, "1.1 keeps alive");
			ASSERT_EQ(o.body_len, 2, "body");
			ASSERT_OK(memcmp(o.body, "hi", 2), "body bytes");
			ASSERT_FALSE(o.msg.method[0], "no method in a response");
		}
	}
	if (test__start_subtest("reason")) {
		ASSERT_EQ(response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false).msg.status, 404,
			  "reason with spaces");
		ASSERT_EQ(response("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false).rc, KS_HTTP_DONE,
			  "empty reason");
		ASSERT_EQ(response("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false).rc, KS_HTTP_DONE,
			  "no SP before an empty reason");
		ASSERT_EQ(response("HTTP/1.1 200 O\x01K\r\n\r\n", false).rc, KS_HTTP_E_STATUS_LINE,
			  "control byte in reason");
	}
	if (test__start_subtest("malformed")) {
		static const char *const bad[] = {
			"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
			"HTTP/1.1 600 X\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
			"http/1.1 200 OK\r\n\r\n", "HTTP/1.10 200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
			"HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
		};

		static const struct want other[] = {
			{ "HTTP/2.0 200 OK\r\n\r\n", KS_HTTP_E_VERSION, "2.0" },
			{ "HTTP/1.1 200 OK\n\r\n", KS_HTTP_E_LINE_ENDING, "bare LF" },
			{ "HTTP/1.1 200 OK\r\nA: b\n\r\n", KS_HTTP_E_LINE_ENDING, "bare LF in a field" },
			{ "HTTP/1.1 200 OK\r\n x: y\r\n\r\n", KS_HTTP_E_OBS_FOLD, "folding" },
			{ "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", KS_HTTP_E_CONTENT_LENGTH, "bad length" },
			{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
			  KS_HTTP_E_CONTENT_LENGTH_DUP, "two lengths" },
			{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", KS_HTTP_E_TE_UNSUPPORTED,
			  "a coding we did not ask for" },
			{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", KS_HTTP_E_TE_BAD,
			  "chunked not last" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ASSERT_EQ(response(bad[i], false).rc, KS_HTTP_E_STATUS_LINE, bad[i]);
		check_all(other, sizeof(other) / sizeof(other[0]));
	}
	if (test__start_subtest("request_fields_ignored")) {
		/* Host and Expect are request fields: a response's are not checked */
		struct outcome o = response("HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nExpect: nonsense\r\n"
					    "Content-Length: 0\r\n\r\n", false);

		ASSERT_EQ(o.rc, KS_HTTP_DONE, "Host and Expect not checked");
	}
}

KS_TEST_F(http_reader_framing, KS_SAN | KS_HOST)
{
	if (test__start_subtest("no_body_statuses")) {
		/* 1xx, 204 and 304 end at the head, whatever the fields say */
		static const char *const s[] = {
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n",
			"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP",
			"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\nHTTP",
		};

		for (size_t i = 0; i < 3; i++) {
			struct outcome o = read_one(s[i], strlen(s[i]), SIZE_MAX, true, false, false, false);
			size_t head = strstr(s[i], "\r\n\r\n") - s[i] + 4;

			ASSERT_EQ(o.rc, KS_HTTP_DONE, s[i]);
			ASSERT_EQ(o.used, head, "ends at the empty line");
			ASSERT_EQ(o.body_len, 0, "no body");
		}
	}
	if (test__start_subtest("head_response")) {
		const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
		struct outcome o = read_one(s, strlen(s), SIZE_MAX, true, true, false, false);

		ASSERT_EQ(o.rc, KS_HTTP_DONE, "a HEAD response ends at its head");
		ASSERT_EQ(o.msg.content_length, 0, "no body read");
		ASSERT_TRUE(o.msg.keep_alive, "connection kept");
	}
	if (test__start_subtest("interim_then_final")) {
		/* a 1xx is a message of its own; the final one follows on reset */
		const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc";
		struct ks_http_parser p;
		struct ks_http_request m;
		size_t used, off;

		ks_http_parser_init(&p);
		ks_http_parser_expect_response(&p, false);
		ASSERT_EQ(ks_http_feed(&p, s, strlen(s), &used, &m), KS_HTTP_DONE, "interim");
		ASSERT_EQ(m.status, 100, "100");
		off = used;
		ks_http_parser_reset(&p);
		ASSERT_EQ(ks_http_feed(&p, s + off, strlen(s) - off, &used, &m), KS_HTTP_DONE, "final");
		ASSERT_EQ(m.status, 201, "201");
		ASSERT_EQ(m.body_len, 3, "body");
		ks_http_parser_free(&p);
	}
	if (test__start_subtest("eof_delimited")) {
		const char *s = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nall of it";
		struct outcome o = response(s, false);

		if (ASSERT_EQ(o.rc, KS_HTTP_DONE, "ended by EOF")) {
			ASSERT_TRUE(o.msg.to_eof, "to_eof");
			ASSERT_FALSE(o.msg.keep_alive, "never kept");
			ASSERT_EQ(o.body_len, 9, "everything up to the close");
		}
		o = read_one(s, strlen(s), SIZE_MAX, true, false, false, false);
		ASSERT_EQ(o.rc, KS_HTTP_NEED_MORE, "not done before EOF");
		ASSERT_TRUE(same_at_every_cut(s, true, true), "every cut");
	}
	if (test__start_subtest("truncated")) {
		static const struct want cut[] = {
			{ "", KS_HTTP_E_CLOSED, "nothing arrived" },
			{ "HTTP/1.1 200 OK\r\n", KS_HTTP_E_TRUNCATED, "mid-head" },
			{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", KS_HTTP_E_TRUNCATED, "mid-body" },
			{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", KS_HTTP_E_TRUNCATED,
			  "before the last chunk" },
		};

		check_all(cut, sizeof(cut) / sizeof(cut[0]));
	}
	if (test__start_subtest("te_and_cl")) {
		/* chunked wins and the connection is not reused (RFC 9112 §6.3) */
		struct outcome o = response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
					    "3\r\nabc\r\n0\r\n\r\n", false);

		if (ASSERT_EQ(o.rc, KS_HTTP_DONE, "done")) {
			ASSERT_TRUE(o.msg.chunked, "chunked");
			ASSERT_FALSE(o.msg.keep_alive, "not kept");
			ASSERT_EQ(o.body_len, 3, "chunked body");
		}
		ASSERT_EQ(read_one("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
				   80, SIZE_MAX, false, false, false, false).rc, KS_HTTP_E_TE_AND_CL,
			  "a request with both is still refused");
	}
	if (test__start_subtest("http10")) {
		struct outcome o = response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false);

		ASSERT_FALSE(o.msg.keep_alive, "1.0 closes");
		o = response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false);
		ASSERT_TRUE(o.msg.keep_alive, "1.0 keep-alive");
		o = response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false);
		ASSERT_FALSE(o.msg.keep_alive, "close");
	}
}

KS_TEST_F(http_reader_chunked, KS_SAN | KS_HOST)
{
	if (test__start_subtest("extensions_and_trailers")) {
		const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				"5;name=value;q=\"a \\\"b\\\"\"\r\nhello\r\n"
				"1 ; x\r\n,\r\n"
				"6\r\n world\r\n"
				"0;last\r\nX-Trailer: yes\r\nOther: 1\r\n\r\n"
				"HTTP/1.1 200 OK\r\n";
		struct outcome o = read_one(s, strlen(s), SIZE_MAX, true, false, false, false);

		if (ASSERT_EQ(o.rc, KS_HTTP_DONE, "done")) {
			ASSERT_EQ(o.body_len, 12, "decoded");
			ASSERT_OK(memcmp(o.body, "hello, world", 12), "bytes");
			ASSERT_EQ(o.used, strlen(s) - strlen("HTTP/1.1 200 OK\r\n"), "stops at the next message");
		}
		ASSERT_TRUE(same_at_every_cut(s, true, false), "every cut");
	}
	if (test__start_subtest("malformed")) {
		static const char *const bad[] = {
			"x\r\n", "5 \r\nhello\r\n", "5\r\nhelloX\r\n", "5;\r\nhello\r\n", "5;a=\"x\r\n",
			"5;a b\r\n", "-5\r\n",
		};
		char s[256];

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s", bad[i]);
			ASSERT_EQ(response(s, false).rc, KS_HTTP_E_CHUNK, bad[i]);
		}
		ASSERT_EQ(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", false).rc,
			  KS_HTTP_E_LINE_ENDING, "bare LF after a size");
		ASSERT_EQ(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA : b\r\n\r\n", false).rc,
			  KS_HTTP_E_FIELD_WS_COLON, "malformed trailer");
	}
	if (test__start_subtest("oversize")) {
		char s[4096];
		int n = snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");

		memset(s + n, 'a', 1100);
		memcpy(s + n + 1100, "\r\nx\r\n0\r\n\r\n", 11);
		ASSERT_EQ(response(s, false).rc, KS_HTTP_E_CHUNK, "chunk line over 1 KiB");
		ASSERT_EQ(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", false).rc,
			  KS_HTTP_E_BODY_TOO_LARGE, "a chunk over the buffered limit");
		/* streamed, only the sink limits: a huge size is fine until bytes come */
		const char *big = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n";
		struct outcome o = read_one(big, strlen(big), SIZE_MAX, true, false, true, false);

		ASSERT_EQ(o.rc, KS_HTTP_NEED_MORE, "streamed 2 MiB chunk accepted");
		big = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n";
		o = read_one(big, strlen(big), SIZE_MAX, true, false, true, false);
		ASSERT_EQ(o.rc, KS_HTTP_E_BODY_TOO_LARGE, "chunk size overflow");
	}
}

KS_TEST_F(http_reader_limits, KS_SAN | KS_HOST)
{
	if (test__start_subtest("oversize_header_section")) {
		size_t fill = KS_HTTP_MAX_RESPONSE_HEADER_BYTES;
		char *s = malloc(fill + 128);
		int n;

		if (!ASSERT_OK_PTR(s, "malloc"))
			return;
		n = snprintf(s, 64, "HTTP/1.1 200 OK\r\nX: ");
		memset(s + n, 'v', fill);
		memcpy(s + n + fill, "\r\n\r\n", 5);
		ASSERT_EQ(response(s, false).rc, KS_HTTP_E_HEADERS_TOO_LARGE, "response head over 64 KiB");
		/* just under: 64 KiB - "X: " - CRLF of value */
		memcpy(s + n + fill - 5, "\r\n\r\n", 5);
		ASSERT_EQ(response(s, false).rc, KS_HTTP_DONE, "a 64 KiB head is accepted (empty body to EOF)");
		n = snprintf(s, 64, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
		memset(s + n, 'v', 8200);
		memcpy(s + n + 8200, "\r\n\r\n", 5);
		ASSERT_EQ(read_one(s, strlen(s), SIZE_MAX, false, false, false, false).rc,
			  KS_HTTP_E_HEADERS_TOO_LARGE, "request head over 8 KiB");
		free(s);
	}
	if (test__start_subtest("oversize_line")) {
		char s[4200];
		int n = snprintf(s, sizeof(s), "GET /");

		memset(s + n, 'a', 2100);
		snprintf(s + n + 2100, sizeof(s) - n - 2100, " HTTP/1.1\r\nHost: a\r\n\r\n");
		ASSERT_EQ(read_one(s, strlen(s), SIZE_MAX, false, false, false, false).rc, KS_HTTP_E_TARGET_TOO_LONG,
			  "request line over its limit");
		n = snprintf(s, sizeof(s), "HTTP/1.1 200 ");
		memset(s + n, 'r', 4000);
		snprintf(s + n + 4000, sizeof(s) - n - 4000, "\r\nContent-Length: 0\r\n\r\n");
		/* a reason counts against nothing but is bounded by the head */
		ASSERT_EQ(response(s, false).rc, KS_HTTP_DONE, "long reason phrase");
	}
	if (test__start_subtest("oversize_body")) {
		struct ks_http_parser p;
		struct ks_http_request m;
		const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
		size_t used;

		ks_http_parser_init(&p);
		ks_http_parser_expect_response(&p, false);
		ks_http_parser_set_max_body(&p, 10);
		ASSERT_EQ(ks_http_feed(&p, s, strlen(s), &used, &m), KS_HTTP_E_BODY_TOO_LARGE,
			  "Content-Length over the limit, refused at the head");
		ks_http_parser_free(&p);
		ks_http_parser_init(&p);
		ks_http_parser_expect_response(&p, false);
		ks_http_parser_set_max_body(&p, 10);
		s = "HTTP/1.1 200 OK\r\n\r\n0123456789A";
		ASSERT_EQ(ks_http_feed(&p, s, strlen(s), &used, &m), KS_HTTP_E_BODY_TOO_LARGE,
			  "EOF-delimited body over the limit");
		ks_http_parser_free(&p);
	}
	if (test__start_subtest("sink_error")) {
		/* a sink's refusal stops the reader and is handed back */
		char s[9000];
		int n = snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nContent-Length: 8200\r\n\r\n");

		memset(s + n, 'z', 8200);
		s[n + 8200] = '\0';
		ASSERT_EQ(read_one(s, strlen(s), SIZE_MAX, true, false, true, false).rc, -E2BIG, "sink's -E2BIG");
	}
}

KS_TEST_F(http_reader_pipelining, KS_SAN | KS_HOST)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
			"HTTP/1.1 204 No Content\r\n\r\n"
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"
			"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest";
	static const int want_status[] = { 200, 204, 200, 200 };
	static const char *const want_body[] = { "a", "", "b", "rest" };

	for (size_t piece = 1; piece <= strlen(s); piece++) {
		struct ks_http_parser p;
		struct ks_http_request m;
		size_t off = 0, end, used;
		int k = 0, rc = 0;
		bool ok = true;

		ks_http_parser_init(&p);
		ks_http_parser_expect_response(&p, false);
		while (off < strlen(s) && ok) {
			end = off + piece < strlen(s) ? off + piece : strlen(s);
			rc = ks_http_feed(&p, s + off, end - off, &used, &m);
			off += used;
			if (rc == KS_HTTP_DONE) {
				ok = k < 3 && m.status == want_status[k] && m.body_len == strlen(want_body[k]) &&
				     !memcmp(m.body, want_body[k], m.body_len);
				k++;
				ks_http_parser_reset(&p);
			} else if (rc != KS_HTTP_NEED_MORE) {
				ok = false;
			}
		}
		if (ok) {
			rc = ks_http_feed_eof(&p, &m);
			ok = rc == KS_HTTP_DONE && m.status == 200 && m.body_len == 4 && !memcmp(m.body, "rest", 4);
		}
		ks_http_parser_free(&p);
		if (!ASSERT_TRUE(ok, "four responses in order")) {
			fprintf(stderr, "piece %zu: message %d rc %d\n", piece, k, rc);
			break;
		}
	}
	if (test__start_subtest("requests_every_cut")) {
		ASSERT_TRUE(same_at_every_cut("POST /validate?a=b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
					      "3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n", false, false),
			    "chunked request");
		ASSERT_TRUE(same_at_every_cut("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false, false),
			    "identity request");
	}
}
