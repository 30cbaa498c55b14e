// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the Kubernetes watch stream (user/lib/kube_stream.c:
 * the shared HTTP reader, user/lib/http.c, streaming a response body into
 * the event decoder) and the List splitter.
 *
 * The first input byte picks the response head put before the rest (bit 0:
 * chunked, else a body that runs to the close; bit 2: none, the rest is the
 * whole response, head included) and the event cap (bit 1: 4 KiB, else the
 * real 16 MiB).  It is decoded twice, fed whole and fed in pieces whose
 * sizes come from a generator seeded by a hash of the input (so a crash
 * reproduces from the file alone); the decoder is a byte-driven state
 * machine, so both runs must deliver the same events, end with the same
 * result and the same resourceVersion.  Invariants checked (abort on
 * violation; ASan/UBSan catch the rest): a delivered event has type ADDED,
 * MODIFIED or DELETED, its text is the object (starts '{', ends '}', is
 * token 0 of the view) and fits the cap; rv stays a terminated string; the
 * line buffer stays within the cap; a nonzero result is sticky; an error
 * comes with a message.  The same bytes also go through kube_list_split
 * and kube_status_message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pieces.h"
#include "json.h"
#include "kube.h"

#define CHECK FUZZ_CHECK

struct run {
	uint64_t h;
	size_t max_event;
	unsigned long events;
};

static int on_event(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j)
{
	struct run *r = arg;
	char name[64];

	CHECK(!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED"));
	CHECK(json && len >= 2 && len <= r->max_event);
	CHECK(json[0] == '{' && json[len - 1] == '}');
	CHECK(j && j->ntok >= 1 && j->tok[0].type == JSMN_OBJECT);
	CHECK(j->src + j->tok[0].start == json && (size_t)(j->tok[0].end - j->tok[0].start) == len);
	CHECK(ks_json_next(j, 0) == j->ntok);
	/* paths from the object work and stay inside the view */
	(void)ks_json_string(j, ks_json_path(j, "metadata.name"), name, sizeof(name));
	r->h = fuzz_fnv1a(r->h, type, strlen(type) + 1);
	r->h = fuzz_fnv1a(r->h, json, len);
	r->events++;
	return 0;
}

static const char *const heads[] = {
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
};

static int run(const char *s, size_t size, int framing, size_t max_event, bool split, uint64_t seed,
	       struct run *r, char *rv_out)
{
	struct kube_watch_reader d;
	uint64_t rng = seed | 1;
	size_t off = 0, piece;
	char err[512];
	int rc = 0, again;

	memset(r, 0, sizeof(*r));
	r->h = 0xcbf29ce484222325ull;
	r->max_event = max_event;
	kube_watch_reader_init(&d, max_event, "1");
	d.dec.quiet = true;
	if (framing < 2)
		rc = kube_watch_reader_feed(&d, heads[framing], strlen(heads[framing]), on_event, r, err, sizeof(err));
	CHECK(rc == 0);
	while (off < size && !rc) {
		piece = split ? fuzz_next_piece(&rng) : size - off;
		if (piece > size - off)
			piece = size - off;
		err[0] = '\0';
		rc = kube_watch_reader_feed(&d, s + off, piece, on_event, r, err, sizeof(err));
		CHECK(d.dec.line.len <= max_event && (!d.dec.line.data || d.dec.line.cap <= max_event + 1));
		CHECK(memchr(d.dec.rv, '\0', sizeof(d.dec.rv)));
		CHECK(ks_http_parser_held_bytes(&d.http) == 0);
		off += piece;
	}
	if (!rc) {
		err[0] = '\0';
		rc = kube_watch_reader_eof(&d, on_event, r, err, sizeof(err));
		/* EOF always ends a stream one way or another */
		CHECK(rc != 0);
	}
	CHECK(rc == KUBE_WATCH_CLOSED || rc == KUBE_WATCH_GONE || rc < 0);
	if (rc < 0 || rc == KUBE_WATCH_GONE)
		CHECK(err[0] && memchr(err, '\0', sizeof(err)));
	again = kube_watch_reader_feed(&d, s, size, on_event, r, err, sizeof(err));
	CHECK(again == rc);
	memcpy(rv_out, d.dec.rv, sizeof(d.dec.rv));
	kube_watch_reader_free(&d);
	return rc;
}

static int on_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	(void)arg;
	CHECK(json && j && len >= 2 && json[0] == '{' && json[len - 1] == '}');
	CHECK(j->ntok >= 1 && j->tok[0].type == JSMN_OBJECT && (size_t)j->tok[0].end == len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char rv1[KUBE_RV_MAX], rv2[KUBE_RV_MAX], rv[KUBE_RV_MAX], cont[512], err[512], msg[256];
	const char *s = (const char *)data + 1;
	struct run a, b;
	int framing;
	size_t max_event, n;
	uint64_t seed;
	int rc1, rc2, rc;

	if (size < 1)
		return 0;
	framing = data[0] & 4 ? 2 : data[0] & 1;
	max_event = data[0] & 2 ? 4096 : KUBE_EVENT_MAX;
	n = size - 1;
	seed = fuzz_fnv1a(0xcbf29ce484222325ull, data, size);
	rc1 = run(s, n, framing, max_event, false, 0, &a, rv1);
	rc2 = run(s, n, framing, max_event, true, seed, &b, rv2);
	CHECK(rc1 == rc2);
	CHECK(a.h == b.h && a.events == b.events);
	CHECK(!strcmp(rv1, rv2));

	rc = kube_list_split(s, n, on_item, NULL, rv, sizeof(rv), cont, sizeof(cont), err, sizeof(err));
	CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	CHECK(memchr(rv, '\0', sizeof(rv)) && memchr(cont, '\0', sizeof(cont)));

	kube_status_message(s, n, msg, sizeof(msg));
	CHECK(strlen(msg) < sizeof(msg));
	return 0;
}
