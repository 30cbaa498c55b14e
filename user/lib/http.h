/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one HTTP/1.1 message reader (requests for ksense-webhook's and the
 * scheduler's servers, responses for the Kubernetes client and the agent
 * client) and the response formatter, independent of sockets and TLS.
 *
 * The parser is incremental: the server hands it whatever bytes arrived
 * (one byte, a whole TLS record, several pipelined requests) and it says
 * how many it used.  It never keeps pointers into the caller's buffer and
 * never allocates more than the body it was sent (bounded by
 * KS_HTTP_MAX_BODY_BYTES), so a connection's memory is bounded by
 * sizeof(struct ks_http_parser) + the body it is currently receiving.
 *
 * What it accepts, and why (RFC 9112 unless stated):
 *  - Line endings: CRLF only.  A bare LF or a bare CR anywhere in the
 *    request line, field lines, chunk lines or trailers is a 400.  Being
 *    strict means there is exactly one way to frame a message, so nothing
 *    in front of us can disagree about where a request ends.  Up to
 *    KS_HTTP_MAX_LEADING_EMPTY_LINES empty lines (CRLF) before a request
 *    line are skipped (§2.2: clients may send one after a POST body).
 *  - Request line: METHOD SP origin-form SP HTTP/1.x CRLF, single spaces.
 *    Methods GET POST PUT DELETE HEAD OPTIONS PATCH (case-sensitive); any
 *    other token → 501.  The target must start with '/', use only RFC 3986
 *    path/query characters with valid %XX escapes (stored undecoded), and
 *    be at most KS_HTTP_MAX_TARGET_BYTES (→ 414).  HTTP/1.0 and HTTP/1.1
 *    are served; another HTTP/d.d → 505; anything else → 400.
 *  - Header section: KS_HTTP_MAX_HEADER_BYTES counts the bytes of the field
 *    lines, each with its CRLF, excluding the request line and the empty
 *    line that ends the section; one byte more → 431.  Field names are
 *    tokens matched case-insensitively; whitespace before ':' → 400;
 *    obs-fold (a line starting with SP/HTAB) → 400; control characters in
 *    a value → 400.  Values of recognised fields that do not fit their
 *    bounded storage → 431.
 *  - Content-Length: 1*DIGIT only (no sign, no inner space, no list);
 *    overflow → 400; repeated with the same value is accepted, a different
 *    value → 400; above KS_HTTP_MAX_BODY_BYTES → 413 (at the header, so
 *    the server can refuse before the body is sent).
 *  - Transfer-Encoding: only "chunked" alone (case-insensitive).  Present
 *    together with Content-Length → 400; chunked not the final coding, or
 *    repeated, or empty → 400 (§6.3 makes that a MUST, since the length
 *    cannot be known); another coding before chunked ("gzip, chunked") →
 *    501; in an HTTP/1.0 request → 400 (§6.1: framing is faulty).
 *    Chunked bodies: hex sizes, chunk extensions (token[=token|quoted])
 *    validated and ignored, trailers validated and discarded; a chunk line
 *    is at most KS_HTTP_MAX_CHUNK_LINE_BYTES; trailers have their own
 *    KS_HTTP_MAX_HEADER_BYTES budget (→ 431); decoded body size above
 *    KS_HTTP_MAX_BODY_BYTES → 413.
 *  - Connection: token list; "close" wins; "keep-alive" keeps an HTTP/1.0
 *    connection open.  Defaults: 1.1 keep-alive, 1.0 close.
 *  - Host: required in HTTP/1.1 (→ 400), at most one (→ 400), no
 *    whitespace or characters outside an authority (→ 400).
 *  - Content-Type: at most one (→ 400), stored trimmed.
 *  - Expect: "100-continue" (case-insensitive) sets expect_continue in
 *    HTTP/1.1 (ignored in 1.0 as RFC 9110 §10.1.1 requires); any other
 *    expectation → 417.
 *  - A request without Content-Length or Transfer-Encoding has no body.
 *
 * Responses (ks_http_parser_expect_response), the same grammar except:
 *  - Status line: HTTP/1.x SP 3DIGIT [SP reason-phrase] CRLF; the code is
 *    100..599; the reason (HTAB, SP, VCHAR, obs-text) is not kept.
 *    Another HTTP/d.d → KS_HTTP_E_VERSION, anything else →
 *    KS_HTTP_E_STATUS_LINE.
 *  - The header section may be KS_HTTP_MAX_RESPONSE_HEADER_BYTES; Host and
 *    Expect mean nothing in a response and are not checked.
 *  - Framing (RFC 9112 §6.3): a response to HEAD, 1xx, 204 and 304 have no
 *    body whatever their fields say; Transfer-Encoding with Content-Length:
 *    chunked wins and the connection is not kept; neither: the body runs to
 *    the end of the connection (ks_http_feed_eof ends it) and the
 *    connection is not kept.  A 1xx is delivered as a message of its own:
 *    reset and read the final response.
 * Streaming (ks_http_parser_set_sink, either kind of message): body bytes,
 * decoded from chunks, go to a callback as they arrive instead of into a
 * buffer, so a watch can run for hours in bounded memory.
 */
#ifndef KSENSE_HTTP_H
#define KSENSE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define KS_HTTP_MAX_TARGET_BYTES	2048
#define KS_HTTP_MAX_HEADER_BYTES	8192
#define KS_HTTP_MAX_BODY_BYTES		(1024 * 1024)
/* Body capacity kept across requests on one connection; more is freed at
 * reset so an idle keep-alive connection holds at most this much. */
#define KS_HTTP_BODY_KEEP_BYTES		(16 * 1024)
#define KS_HTTP_MAX_CHUNK_LINE_BYTES	1024
#define KS_HTTP_MAX_LEADING_EMPTY_LINES	4
/* A response's header section (an API server's Warning headers can be long). */
#define KS_HTTP_MAX_RESPONSE_HEADER_BYTES (64 * 1024)
/* A streamed body has no size limit of its own (the sink sets one); this
 * keeps the chunk-size arithmetic exact. */
#define KS_HTTP_MAX_STREAM_BYTES	(SIZE_MAX >> 8)
/* Bounded storage of recognised field values (with the NUL). */
#define KS_HTTP_HOST_BYTES		256
#define KS_HTTP_CONTENT_TYPE_BYTES	128
#define KS_HTTP_VALUE_BYTES		256

/* ks_http_feed results: >= 0 progress, < 0 one of enum ks_http_error. */
enum { KS_HTTP_NEED_MORE = 0, KS_HTTP_DONE = 1 };

enum ks_http_error {
	KS_HTTP_E_REQUEST_LINE = -1,	/* 400 malformed request line */
	KS_HTTP_E_METHOD = -2,		/* 501 method not implemented */
	KS_HTTP_E_TARGET = -3,		/* 400 target not origin-form / bad char */
	KS_HTTP_E_TARGET_TOO_LONG = -4,	/* 414 */
	KS_HTTP_E_VERSION = -5,		/* 505 */
	KS_HTTP_E_LINE_ENDING = -6,	/* 400 bare CR or bare LF */
	KS_HTTP_E_FIELD_SYNTAX = -7,	/* 400 malformed field line */
	KS_HTTP_E_FIELD_WS_COLON = -8,	/* 400 whitespace before ':' */
	KS_HTTP_E_OBS_FOLD = -9,	/* 400 line folding */
	KS_HTTP_E_HEADERS_TOO_LARGE = -10, /* 431 header section or trailers */
	KS_HTTP_E_FIELD_TOO_LARGE = -11,   /* 431 a recognised value too long */
	KS_HTTP_E_CONTENT_LENGTH = -12,	/* 400 invalid Content-Length */
	KS_HTTP_E_CONTENT_LENGTH_DUP = -13, /* 400 conflicting Content-Length */
	KS_HTTP_E_BODY_TOO_LARGE = -14,	/* 413 */
	KS_HTTP_E_TE_AND_CL = -15,	/* 400 both framings */
	KS_HTTP_E_TE_BAD = -16,		/* 400 chunked missing/not last/repeated, or 1.0 */
	KS_HTTP_E_TE_UNSUPPORTED = -17,	/* 501 unknown coding before chunked */
	KS_HTTP_E_HOST_MISSING = -18,	/* 400 */
	KS_HTTP_E_HOST_BAD = -19,	/* 400 repeated or invalid Host */
	KS_HTTP_E_FIELD_DUP = -20,	/* 400 repeated singleton field */
	KS_HTTP_E_EXPECT = -21,		/* 417 */
	KS_HTTP_E_CHUNK = -22,		/* 400 malformed chunked framing */
	KS_HTTP_E_NOMEM = -23,		/* 500 body allocation failed */
	KS_HTTP_E_USAGE = -24,		/* 500 feed after DONE without reset, NULL args */
	KS_HTTP_E_STATUS_LINE = -25,	/* 502 malformed response status line */
	KS_HTTP_E_CLOSED = -26,		/* 502 connection closed before a message */
	KS_HTTP_E_TRUNCATED = -27,	/* 502 connection closed mid-message */
	KS_HTTP_E_SINK = -28,		/* the body sink refused: ks_http_sink_result */
};

/* Streamed body bytes; nonzero stops the reader (KS_HTTP_E_SINK) and is
 * kept for ks_http_sink_result. */
typedef int (*ks_http_sink_fn)(void *arg, const char *data, size_t len);

/* One message: a request, or a response when the parser reads responses
 * (then status is set and method, path, query and host are empty). */
struct ks_http_request {
	int status;					/* responses: 100..599 */
	char method[8];
	char path[KS_HTTP_MAX_TARGET_BYTES + 1];	/* up to '?', undecoded */
	char query[KS_HTTP_MAX_TARGET_BYTES + 1];	/* after '?', without it */
	int minor_version;				/* 0 or 1 */
	bool keep_alive;
	bool expect_continue;
	bool chunked;
	bool to_eof;		/* a response body delimited by the connection's end */
	size_t content_length;	/* Content-Length when !chunked (0 if absent) */
	char content_type[KS_HTTP_CONTENT_TYPE_BYTES];
	char host[KS_HTTP_HOST_BYTES];
	/* Owned by the parser: valid until the next feed, reset or free.
	 * Never NULL in a DONE request (points at "" when empty, and always
	 * when the body went to a sink). */
	const char *body;
	size_t body_len;
};

/*
 * Public so a connection can embed it without another allocation; its
 * members are private to http.c.
 */
struct ks_http_parser {
	int state;
	int error;			/* sticky until reset */
	struct ks_http_request req;	/* the request being parsed */
	/* request line */
	uint8_t empty_lines;
	uint8_t method_len;
	uint8_t version_len;
	uint8_t pct_hex_left;		/* hex digits still owed to a '%' */
	char version[9];
	size_t target_bytes, path_bytes, query_bytes;
	bool in_query;
	/* field lines (header section or trailers) */
	bool in_trailers;
	size_t field_bytes;		/* this section, against the 8 KiB limit */
	char name[20];			/* lowercase; longer names are unrecognised */
	size_t name_len;
	int field_id;
	char value[KS_HTTP_VALUE_BYTES];
	size_t value_len, value_trim_len;
	/* framing */
	bool have_content_length, have_te, have_host, have_content_type;
	bool conn_close, conn_keep_alive;
	bool continue_reported;
	uint64_t content_length;
	/* body */
	char *body;
	size_t body_len, body_cap_bytes;
	size_t remaining_bytes;		/* of the identity body or current chunk */
	size_t chunk_line_bytes;
	bool chunk_ws;			/* BWS seen, so ';' must follow */
	size_t max_body_bytes;		/* 0: KS_HTTP_MAX_BODY_BYTES; kept by reset */
	/* responses (kept by reset) */
	bool response, head_request;
	uint8_t status_digits;
	bool seen_byte;			/* for ks_http_feed_eof: idle or truncated */
	/* streaming (kept by reset) */
	ks_http_sink_fn sink;
	void *sink_arg;
	int sink_rc;
	size_t streamed_bytes;
};

/* Always 0; the parser then owns no memory until a body arrives. */
int ks_http_parser_init(struct ks_http_parser *p);
/* A body limit other than KS_HTTP_MAX_BODY_BYTES for this parser (a
 * server whose clients send large documents); 0 restores the default. */
void ks_http_parser_set_max_body(struct ks_http_parser *p, size_t max_bytes);
/* Read responses from now on (kept across resets); head_request: the
 * request being answered was HEAD, so the response has no body.  Call it
 * again before each response whose request method differs. */
void ks_http_parser_expect_response(struct ks_http_parser *p, bool head_request);
/* Stream bodies to fn (kept across resets) instead of buffering them; the
 * body limit is then max_body if one was set, else
 * KS_HTTP_MAX_STREAM_BYTES.  fn NULL buffers again. */
void ks_http_parser_set_sink(struct ks_http_parser *p, ks_http_sink_fn fn, void *arg);
/* The sink's nonzero return after KS_HTTP_E_SINK (0 otherwise). */
int ks_http_sink_result(const struct ks_http_parser *p);
/*
 * The connection ended (EOF, after every byte was fed).  KS_HTTP_DONE with
 * *out when that completes the message (a response delimited by the close);
 * KS_HTTP_E_CLOSED when no byte of a message had arrived; else
 * KS_HTTP_E_TRUNCATED (or the sticky error).  Sticky like a feed error.
 */
int ks_http_feed_eof(struct ks_http_parser *p, struct ks_http_request *out);
/* Frees the body buffer; the parser may be init'ed again afterwards. */
void ks_http_parser_free(struct ks_http_parser *p);
/*
 * Feed `len` bytes.  *consumed is set to how many were used (always
 * <= len).  Returns:
 *  KS_HTTP_NEED_MORE  all `len` bytes were used, the request is incomplete;
 *  KS_HTTP_DONE       a request is complete in *out; bytes after *consumed
 *                     belong to the next (pipelined) request: reset, then
 *                     feed them;
 *  < 0                enum ks_http_error; the parser refuses every later
 *                     feed with the same error until reset (answer it with
 *                     ks_http_error_status and close the connection).
 */
int ks_http_feed(struct ks_http_parser *p, const char *data, size_t len, size_t *consumed,
		 struct ks_http_request *out);
/*
 * True exactly once per request: the header section asked for
 * "Expect: 100-continue", a body is still to come and no error occurred,
 * so the server should write "HTTP/1.1 100 Continue\r\n\r\n" now.
 */
bool ks_http_need_continue(struct ks_http_parser *p);
/* Ready for the next request on the same connection.  Invalidates the
 * previous request's body; keeps up to KS_HTTP_BODY_KEEP_BYTES of buffer. */
void ks_http_parser_reset(struct ks_http_parser *p);
/*
 * The request's head once its header section is complete and its body is
 * still arriving (NULL before that, and once the request is DONE), so a
 * server can account for the body it has promised to hold (Content-Length;
 * 0 for a chunked body, which grows as it comes) before it is sent.
 */
const struct ks_http_request *ks_http_receiving_body(const struct ks_http_parser *p);
/* Bytes of memory the parser holds now: its body buffer's capacity. */
size_t ks_http_parser_held_bytes(const struct ks_http_parser *p);
/*
 * After KS_HTTP_DONE: hand the body buffer over to the caller (free() it),
 * so the request can outlive the parser (another thread answers it while
 * the connection is closed or reset).  req->body keeps pointing at it; the
 * parser holds no memory afterwards.  NULL when the body is empty.
 */
char *ks_http_parser_take_body(struct ks_http_parser *p);
/* The status (400, 413, 414, 417, 431, 500, 501, 505) for a negative feed
 * result, and a short human reason (may be NULL). */
int ks_http_error_status(int err, const char **reason);

/*
 * Format a complete response:
 *   HTTP/1.1 <status> <text>\r\n
 *   Content-Type: <content_type>\r\n     (when content_type != NULL)
 *   Content-Length: <body_len>\r\n
 *   Connection: keep-alive|close\r\n
 *   <extra_headers>                      ("Name: value\r\n"..., or NULL)
 *   \r\n
 *   <body>
 * 1xx and 204 carry neither Content-Length nor body; 1xx no Connection
 * either; 1xx/204/304 require body_len == 0.  body == NULL with
 * body_len > 0 writes the head only, with that Content-Length (HEAD).
 * extra_headers must be well-formed lines and may not set Content-Length,
 * Transfer-Encoding or Connection (the framing is ours).  Date is not
 * added: pass one from ks_http_format_date in extra_headers.
 * Returns the byte count (a NUL follows when room remains), -ENOSPC when
 * `len` is too small, -EINVAL on a bad status or header text.
 */
int ks_http_format_response(char *buf, size_t len, int status, const char *content_type,
			    const char *body, size_t body_len, bool keep_alive,
			    const char *extra_headers);
/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes + NUL), locale-
 * independent; returns 29, -ENOSPC or -EINVAL. */
int ks_http_format_date(char *buf, size_t len, time_t t);
/*
 * Whether a Content-Type value names the media type `type` ("application/
 * json"): type and subtype compared case-insensitively (RFC 9110 §8.3.1),
 * optional parameters (";" name "=" token or quoted-string, OWS around
 * ";", empty ones allowed as RFC 9110 §5.6.6 does) checked for syntax and
 * ignored.  "application/jsonfoo" or junk after the subtype: false.
 */
bool ks_http_media_type_is(const char *value, const char *type);
/* Reason phrase for a status ("Not Found"); "Unknown" for others. */
const char *ks_http_status_text(int status);

#endif
