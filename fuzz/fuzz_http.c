// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the HTTP/1.1 request parser and response formatter
 * (user/lib/http.c).
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
				CHECK(!head || head->chunked || head->content_length > 0);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = fuzz_fnv1a(0xcbf29ce484222325ull, data, size);

	CHECK(run(data, size, false, 0) == run(data, size, true, seed));
	return 0;
}
