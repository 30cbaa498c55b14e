// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the HTTP/1.1 message reader and response formatter
 * (user/lib/http.c).  Every input is read as pipelined requests and, again,
 * as responses (the Kubernetes and agent clients' side: status lines, 1xx/
 * 204/304 and HEAD without body, chunked, bodies ended by EOF), buffered
 * and streamed to a sink, answering to a HEAD or not (bits of the input's
 * hash pick which).
 *
 * Each input is parsed twice: once fed whole, once in pieces whose sizes
 * come from a generator seeded by a hash of the input (so a crash
 * reproduces from the file alone).  Both runs parse every pipelined
 * request, answer each with ks_http_format_response, and must produce the
 * same sequence of requests and errors at the same offsets: the parser is a
 * byte-driven state machine, so where the bytes were cut must not matter.
 * Invariants checked (abort on violation; ASan/UBSan catch the rest):
 * consumed <= len; NEED_MORE consumes everything; a DONE request has a
 * method and an absolute path, a non-NULL body of body_len bytes equal to
 * Content-Length unless chunked, within the limits; errors map to a 4xx/5xx
 * status; buffered body capacity stays bounded; a formatted response ends
 * with the body and does not fit one byte shorter.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pieces.h"
#include "http.h"

#define CHECK FUZZ_CHECK

static void respond(int status, const char *ctype, const char *body, size_t body_len, bool keep_alive)
{
	size_t cap = body_len + 512;
	char *buf = malloc(cap);
	int n;

	CHECK(buf);
	n = ks_http_format_response(buf, cap, status, ctype, body, body_len, keep_alive,
				    "X-Fuzz: 1\r\n");
	CHECK(n > 0 && (size_t)n <= cap && (size_t)n > body_len);
	CHECK(!memcmp(buf, "HTTP/1.1 ", 9));
	CHECK(!memcmp(buf + n - body_len, body, body_len));
	CHECK(ks_http_format_response(buf, (size_t)n - 1, status, ctype, body, body_len, keep_alive,
				      "X-Fuzz: 1\r\n") == -ENOSPC);
	free(buf);
}

static void check_request(const struct ks_http_request *r)
{
	size_t i;
	unsigned int sum = 0;

	CHECK(r->method[0] && strlen(r->method) < sizeof(r->method));
	CHECK(r->path[0] == '/' && strlen(r->path) <= KS_HTTP_MAX_TARGET_BYTES);
	CHECK(strlen(r->path) + strlen(r->query) <= KS_HTTP_MAX_TARGET_BYTES);
	CHECK(r->minor_version == 0 || r->minor_version == 1);
	CHECK(strlen(r->host) < sizeof(r->host));
	CHECK(strlen(r->content_type) < sizeof(r->content_type));
	CHECK(r->body);
	CHECK(r->body_len <= KS_HTTP_MAX_BODY_BYTES);
	CHECK(r->chunked || r->body_len == r->content_length);
	CHECK(!r->chunked || r->minor_version == 1);
	/* Touch every body byte so ASan sees a short buffer. */
	for (i = 0; i < r->body_len; i++)
		sum += (unsigned char)r->body[i];
	(void)sum;
}

/* Parse everything; return a digest of the outcomes and their offsets. */
static uint64_t run(const uint8_t *data, size_t size, bool split, uint64_t seed)
{
	const char *s = (const char *)data;
	struct ks_http_parser p;
	struct ks_http_request req;
	uint64_t h = 0xcbf29ce484222325ull, rng = seed | 1;
	size_t off = 0, piece, pos, used, at;
	int rc, status;
	const char *reason;

	ks_http_parser_init(&p);
	while (off < size) {
		piece = split ? fuzz_next_piece(&rng) : size - off;
		if (piece > size - off)
			piece = size - off;
		pos = 0;
		while (pos < piece) {
			rc = ks_http_feed(&p, s + off + pos, piece - pos, &used, &req);
			CHECK(used <= piece - pos);
			CHECK(p.body_cap_bytes <= KS_HTTP_MAX_BODY_BYTES);
			if (rc == KS_HTTP_NEED_MORE) {
				const struct ks_http_request *head = ks_http_receiving_body(&p);

				CHECK(used == piece - pos);
				/* a head in the body state has its framing decided */
				CHECK(!head || head->chunked || head->content_length > 0 || head->to_eof);
				CHECK(ks_http_parser_held_bytes(&p) <= KS_HTTP_MAX_BODY_BYTES);
				(void)ks_http_need_continue(&p);
				pos += used;
				break;
			}
			pos += used;
			at = off + pos;
			h = fuzz_fnv1a(h, &rc, sizeof(rc));
			h = fuzz_fnv1a(h, &at, sizeof(at));
			if (rc == KS_HTTP_DONE) {
				/* A request always ends on a byte it consumed. */
				CHECK(used > 0);
				check_request(&req);
				h = fuzz_fnv1a(h, req.method, strlen(req.method));
				h = fuzz_fnv1a(h, req.path, strlen(req.path) + 1);
				h = fuzz_fnv1a(h, req.query, strlen(req.query) + 1);
				h = fuzz_fnv1a(h, req.host, strlen(req.host) + 1);
				h = fuzz_fnv1a(h, req.content_type, strlen(req.content_type) + 1);
				h = fuzz_fnv1a(h, &req.keep_alive, sizeof(req.keep_alive));
				h = fuzz_fnv1a(h, &req.expect_continue, sizeof(req.expect_continue));
				h = fuzz_fnv1a(h, &req.chunked, sizeof(req.chunked));
				/* the media-type reader on whatever Content-Type came */
				{
					bool json = ks_http_media_type_is(req.content_type, "application/json");

					CHECK(!json || !strncasecmp(req.content_type, "application/json", 16));
					h = fuzz_fnv1a(h, &json, sizeof(json));
				}
				h = fuzz_fnv1a(h, req.body, req.body_len);
				respond(200, req.content_type[0] ? req.content_type : NULL, req.body,
					req.body_len, req.keep_alive);
				ks_http_parser_reset(&p);
				CHECK(p.body_cap_bytes <= KS_HTTP_BODY_KEEP_BYTES);
				continue;
			}
			CHECK(rc < 0);
			status = ks_http_error_status(rc, &reason);
			CHECK(status >= 400 && status <= 505 && reason && *reason);
			/* An error is sticky until reset. */
			CHECK(ks_http_feed(&p, s, size, &used, &req) == rc && used == 0);
			respond(status, "text/plain", reason, strlen(reason), false);
			goto out;
		}
		off += piece;
	}
out:
	ks_http_parser_free(&p);
	return h;
}

struct stream {
	uint64_t h;
	size_t bytes;
};

static int sink(void *arg, const char *data, size_t len)
{
	struct stream *st = arg;

	CHECK(data && len);
	st->h = fuzz_fnv1a(st->h, data, len);
	st->bytes += len;
	return st->bytes > 4 * KS_HTTP_MAX_BODY_BYTES ? -E2BIG : 0;
}

static void check_response(const struct ks_http_parser *p, const struct ks_http_request *r, bool head,
			   bool streamed)
{
	CHECK(r->status >= 100 && r->status <= 599);
	CHECK(!r->method[0] && !r->path[0] && !r->host[0]);
	CHECK(r->minor_version == 0 || r->minor_version == 1);
	CHECK(r->body);
	if (head || r->status < 200 || r->status == 204 || r->status == 304)
		CHECK(r->body_len == 0 && !r->to_eof);
	if (streamed)
		CHECK(r->body_len == 0);
	else
		CHECK(r->body_len <= KS_HTTP_MAX_BODY_BYTES &&
		      (r->chunked || r->to_eof || head || r->body_len == r->content_length));
	CHECK(!r->to_eof || !r->keep_alive);
	(void)p;
}

/* The same bytes as a client reads them: responses until EOF. */
static uint64_t run_responses(const uint8_t *data, size_t size, bool split, uint64_t seed, bool head,
			      bool streamed)
{
	const char *s = (const char *)data;
	struct ks_http_parser p;
	struct ks_http_request msg;
	struct stream st = { 0xcbf29ce484222325ull, 0 };
	uint64_t h = 0xcbf29ce484222325ull, rng = seed | 1;
	size_t off = 0, piece, pos, used, at;
	int rc = KS_HTTP_NEED_MORE;

	ks_http_parser_init(&p);
	ks_http_parser_expect_response(&p, head);
	if (streamed)
		ks_http_parser_set_sink(&p, sink, &st);
	while (off < size) {
		piece = split ? fuzz_next_piece(&rng) : size - off;
		if (piece > size - off)
			piece = size - off;
		for (pos = 0; pos < piece;) {
			rc = ks_http_feed(&p, s + off + pos, piece - pos, &used, &msg);
			CHECK(used <= piece - pos);
			CHECK(ks_http_parser_held_bytes(&p) <= KS_HTTP_MAX_BODY_BYTES);
			CHECK(!streamed || !ks_http_parser_held_bytes(&p));
			pos += used;
			if (rc == KS_HTTP_NEED_MORE) {
				CHECK(pos == piece);
				break;
			}
			at = off + pos;
			h = fuzz_fnv1a(h, &rc, sizeof(rc));
			h = fuzz_fnv1a(h, &at, sizeof(at));
			if (rc < 0)
				goto out;
			check_response(&p, &msg, head, streamed);
			h = fuzz_fnv1a(h, &msg.status, sizeof(msg.status));
			h = fuzz_fnv1a(h, &msg.keep_alive, sizeof(msg.keep_alive));
			h = fuzz_fnv1a(h, msg.body, msg.body_len);
			ks_http_parser_reset(&p);
		}
		off += piece;
	}
	rc = ks_http_feed_eof(&p, &msg);
	CHECK(rc == KS_HTTP_DONE || rc < 0);
	if (rc == KS_HTTP_DONE) {
		CHECK(msg.to_eof);
		check_response(&p, &msg, head, streamed);
		h = fuzz_fnv1a(h, msg.body, msg.body_len);
	}
	h = fuzz_fnv1a(h, &rc, sizeof(rc));
out:
	if (rc < 0) {
		const char *reason;
		int status = ks_http_error_status(rc, &reason);

		CHECK(status >= 400 && status <= 505 && reason && *reason);
		CHECK(ks_http_feed(&p, s, size, &used, &msg) == rc && used == 0);
		CHECK(rc != KS_HTTP_E_SINK || ks_http_sink_result(&p) == -E2BIG);
	}
	ks_http_parser_free(&p);
	return h ^ st.h ^ st.bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = fuzz_fnv1a(0xcbf29ce484222325ull, data, size);
	bool head = seed & 1, streamed = seed & 2;

	CHECK(run(data, size, false, 0) == run(data, size, true, seed));
	CHECK(run_responses(data, size, false, 0, head, streamed) ==
	      run_responses(data, size, true, seed, head, streamed));
	return 0;
}
