// SPDX-License-Identifier: GPL-2.0
/*
 * Socket-free decoders for the Kubernetes client: the watch event stream
 * (the shared HTTP reader, http.c, undoes the response's framing and
 * streams the body here), JSON of Kubernetes-object size, and splitting a
 * List into items without tokenizing the whole list.  All of them take
 * input in arbitrary pieces or arbitrary bytes and fail with a message,
 * never a crash; fuzz/fuzz_watch.c holds them to that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h" /* first: it configures jsmn (strict, parent links) */
#include "http.h"
#include "kube.h"
#include "log.h"

/* ---- JSON of any Kubernetes size ---- */

/* ks_json_parse stops at 1 MiB; an object can be larger (etcd takes 1.5
 * MiB, a watch event wraps it).  A 16 MiB event of ordinary objects has
 * ~1.5M tokens; this bounds the token array (20 bytes each) for hostile
 * input. */
#define KUBE_JSON_MAX_TOKENS (4 * 1000 * 1000)

static int kube_json_parse(struct ks_json *j, const char *src, size_t len, size_t max_bytes, char *err,
			   size_t errlen)
{
	return ks_json_parse_limits(j, src, len, max_bytes, KUBE_JSON_MAX_TOKENS, err, errlen);
}

/* The first bytes of s, printable, for messages. */
static const char *snippet(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
	}
	if (i < n && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- watch event stream ---- */

void kube_watch_decoder_init(struct kube_watch_decoder *d, size_t max_event, const char *rv)
{
	memset(d, 0, sizeof(*d));
	d->max_event = max_event ? max_event : KUBE_EVENT_MAX;
	ks_buf_init(&d->line, d->max_event);
	if (rv)
		snprintf(d->rv, sizeof(d->rv), "%s", rv);
}

void kube_watch_decoder_free(struct kube_watch_decoder *d)
{
	ks_buf_free(&d->line);
}

struct feed_ctx {
	struct kube_watch_decoder *d;
	kube_event_fn cb;
	void *arg;
	char *err;
	size_t errlen;
};

/* metadata.resourceVersion of the object at token 0 of v into rv. */
static int take_rv(struct kube_watch_decoder *d, const struct ks_json *v, char *err, size_t errlen)
{
	char rv[KUBE_RV_MAX];
	int i = ks_json_member(v, ks_json_member(v, 0, "metadata"), "resourceVersion");

	if (i < 0)
		return 0; /* objects without one (a Status) leave rv alone */
	if (ks_json_string(v, i, rv, sizeof(rv)) || !rv[0]) {
		snprintf(err, errlen, "watch event %llu: metadata.resourceVersion is not a string of 1..%d bytes",
			 d->events, KUBE_RV_MAX - 1);
		return -EBADMSG;
	}
	memcpy(d->rv, rv, sizeof(rv));
	return 0;
}

static int decode_event(struct feed_ctx *f, const char *s, size_t n)
{
	struct kube_watch_decoder *d = f->d;
	struct ks_json j = { 0 }, v;
	char why[160], type[32], msg[256], snip[64];
	int rc, t, o, code;

	/* blank lines (keep-alive newlines, CRLF ends) carry no event */
	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t' || *s == '\r')) {
		s++;
		n--;
	}
	if (!n)
		return 0;
	d->events++;
	rc = kube_json_parse(&j, s, n, d->max_event, why, sizeof(why));
	if (rc) {
		snprintf(f->err, f->errlen, "watch event %llu (stream byte %llu): %s: %s", d->events,
			 (unsigned long long)d->stream_off, why, snippet(s, n, snip, sizeof(snip)));
		return rc == -ENOMEM ? rc : -EBADMSG;
	}
	rc = -EBADMSG;
	if (!ks_json_is_object(&j, 0)) {
		snprintf(f->err, f->errlen, "watch event %llu: a JSON %s, not an object: %s", d->events,
			 ks_json_type_name(&j, 0), snippet(s, n, snip, sizeof(snip)));
		goto out;
	}
	t = ks_json_member(&j, 0, "type");
	if (ks_json_string(&j, t, type, sizeof(type))) {
		snprintf(f->err, f->errlen, "watch event %llu: \"type\" is %s, not a short string: %s", d->events,
			 t < 0 ? "missing" : ks_json_type_name(&j, t), snippet(s, n, snip, sizeof(snip)));
		goto out;
	}
	o = ks_json_member(&j, 0, "object");
	if (!ks_json_is_object(&j, o)) {
		snprintf(f->err, f->errlen, "watch event %llu (%s): \"object\" is %s, not an object", d->events,
			 snippet(type, strlen(type), snip, sizeof(snip)), ks_json_type_name(&j, o));
		goto out;
	}
	/* a view whose root is the object: callers use paths from it */
	v = (struct ks_json){ .src = j.src, .len = j.len, .tok = j.tok + o, .ntok = ks_json_next(&j, o) - o };
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
		rc = take_rv(d, &v, f->err, f->errlen);
		if (!rc)
			rc = f->cb ? f->cb(f->arg, type, s + j.tok[o].start,
					   (size_t)(j.tok[o].end - j.tok[o].start), &v) : 0;
	} else if (!strcmp(type, "BOOKMARK")) {
		d->bookmarks++;
		rc = take_rv(d, &v, f->err, f->errlen);
	} else if (!strcmp(type, "ERROR")) {
		/* a Status: code 410 means rv is older than the server keeps */
		t = ks_json_member(&v, 0, "code");
		code = ks_json_is_number(&v, t) ? atoi(v.src + v.tok[t].start) : 0;
		if (ks_json_string(&v, ks_json_member(&v, 0, "message"), msg, sizeof(msg)))
			snprintf(msg, sizeof(msg), "(no message)");
		snippet(msg, strlen(msg), msg, sizeof(msg));
		if (code == 410) {
			snprintf(f->err, f->errlen, "watch expired (ERROR event, 410): %s", msg);
			rc = KUBE_WATCH_GONE;
		} else {
			snprintf(f->err, f->errlen, "watch ERROR event, code %d: %s", code, msg);
			rc = -EPROTO;
		}
	} else {
		d->skipped++;
		if (!d->quiet)
			ks_warn("skipping watch event of unknown type", "type=\"%s\" event=%llu stream_byte=%llu",
				snippet(type, strlen(type), snip, sizeof(snip)), d->events,
				(unsigned long long)d->stream_off);
		rc = 0;
	}
out:
	ks_json_free(&j);
	return rc;
}

/* Decoded stream bytes in: split into lines, decode each whole line. */
static int line_sink(void *arg, const char *data, size_t len)
{
	struct feed_ctx *f = arg;
	struct kube_watch_decoder *d = f->d;
	int rc;

	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if (d->line.len + n > d->max_event) {
			snprintf(f->err, f->errlen, "watch event %llu (stream byte %llu) is over the %zu byte limit",
				 d->events + 1, (unsigned long long)d->stream_off, d->max_event);
			return -E2BIG;
		}
		if (!nl) {
			rc = ks_buf_append(&d->line, data, n);
			if (rc) {
				snprintf(f->err, f->errlen, "out of memory for a watch event of %zu bytes",
					 d->line.len + n);
				return rc;
			}
			d->stream_off += n;
			return 0;
		}
		if (!d->line.len) {
			/* the usual case, a whole event in one read: no copy */
			rc = decode_event(f, data, n);
		} else {
			rc = ks_buf_append(&d->line, data, n);
			if (rc) {
				snprintf(f->err, f->errlen, "out of memory for a watch event of %zu bytes",
					 d->line.len + n);
				return rc;
			}
			rc = decode_event(f, d->line.data, d->line.len);
			ks_buf_reset(&d->line);
			/* one huge event must not pin its buffer for the stream's life */
			if (d->line.cap > (1u << 20))
				ks_buf_free(&d->line);
		}
		d->stream_off += n + 1;
		if (rc)
			return rc;
		data += n + 1;
		len -= n + 1;
	}
	return 0;
}

int kube_watch_decoder_feed(struct kube_watch_decoder *d, const char *data, size_t len,
			    kube_event_fn cb, void *arg, char *err, size_t errlen)
{
	struct feed_ctx f = { d, cb, arg, err, errlen };
	int rc;

	if (d->error) {
		snprintf(err, errlen, "watch stream already ended (%d) after %llu events", d->error, d->events);
		return d->error;
	}
	rc = line_sink(&f, data, len);
	if (rc)
		d->error = rc;
	return rc;
}

int kube_watch_decoder_finish(struct kube_watch_decoder *d, enum kube_stream_end how, kube_event_fn cb,
			      void *arg, char *err, size_t errlen)
{
	struct feed_ctx f = { d, cb, arg, err, errlen };
	char why[256];
	size_t pending = d->line.len;
	int rc;

	if (d->error)
		return d->error;
	if (how == KUBE_END_DROPPED) {
		snprintf(err, errlen, "connection dropped %s after %llu events",
			 pending ? "mid-event" : "before the end of the stream", d->events);
		rc = KUBE_WATCH_CLOSED;
	} else if (pending && how == KUBE_END_FRAMED) {
		/* the framing says the body is whole: a last event may lack
		 * its newline, but not its bytes */
		rc = decode_event(&f, d->line.data, d->line.len);
		if (!rc)
			rc = KUBE_WATCH_CLOSED;
	} else if (pending) {
		/* a stream ended by the close; its last line may be whole */
		rc = decode_event(&f, d->line.data, d->line.len);
		if (rc == -EBADMSG) {
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "connection dropped mid-event (%zu bytes: %s)", pending, why);
			rc = KUBE_WATCH_CLOSED;
		} else if (!rc) {
			rc = KUBE_WATCH_CLOSED;
		}
	} else {
		rc = KUBE_WATCH_CLOSED;
	}
	ks_buf_reset(&d->line);
	d->error = rc;
	return rc;
}

/* ---- a watch response: the HTTP reader streaming into the decoder ---- */

static int reader_sink(void *arg, const char *data, size_t len)
{
	struct kube_watch_reader *r = arg;
	const struct ks_http_request *head = ks_http_receiving_body(&r->http);

	/* kube_watch_open reads a failing status's body itself; a fuzzer's
	 * input may still carry one */
	if (head && head->status != 200) {
		snprintf(r->err, r->errlen, "watch answered HTTP %d", head->status);
		return -EPROTO;
	}
	return kube_watch_decoder_feed(&r->dec, data, len, r->cb, r->arg, r->err, r->errlen);
}

void kube_watch_reader_init(struct kube_watch_reader *r, size_t max_event, const char *rv)
{
	memset(r, 0, sizeof(*r));
	ks_http_parser_init(&r->http);
	ks_http_parser_expect_response(&r->http, false);
	ks_http_parser_set_sink(&r->http, reader_sink, r);
	kube_watch_decoder_init(&r->dec, max_event, rv);
}

void kube_watch_reader_free(struct kube_watch_reader *r)
{
	ks_http_parser_free(&r->http);
	kube_watch_decoder_free(&r->dec);
}

static void reader_bind(struct kube_watch_reader *r, kube_event_fn cb, void *arg, char *err, size_t errlen)
{
	r->cb = cb;
	r->arg = arg;
	r->err = err;
	r->errlen = errlen;
}

/* A result of the HTTP reader as the watch's. */
static int reader_result(struct kube_watch_reader *r, int rc, const struct ks_http_request *m)
{
	const char *reason;

	if (rc == KS_HTTP_NEED_MORE)
		return 0;
	if (rc == KS_HTTP_DONE && m->status != 200) {
		snprintf(r->err, r->errlen, "watch answered HTTP %d", m->status);
		rc = -EPROTO;
	} else if (rc == KS_HTTP_DONE) {
		/* the terminal chunk, or Content-Length, or the close of a
		 * body that runs to it */
		rc = kube_watch_decoder_finish(&r->dec, m->to_eof ? KUBE_END_EOF : KUBE_END_FRAMED, r->cb, r->arg,
					       r->err, r->errlen);
	} else if (rc == KS_HTTP_E_SINK) {
		rc = ks_http_sink_result(&r->http);
	} else if (rc == KS_HTTP_E_TRUNCATED || rc == KS_HTTP_E_CLOSED) {
		rc = kube_watch_decoder_finish(&r->dec, KUBE_END_DROPPED, r->cb, r->arg, r->err, r->errlen);
	} else {
		ks_http_error_status(rc, &reason);
		snprintf(r->err, r->errlen, "watch stream byte %llu: %s", (unsigned long long)r->off, reason);
		rc = rc == KS_HTTP_E_NOMEM ? -ENOMEM : -EPROTO;
	}
	r->result = rc;
	return rc;
}

int kube_watch_reader_feed(struct kube_watch_reader *r, const char *data, size_t len, kube_event_fn cb,
			   void *arg, char *err, size_t errlen)
{
	struct ks_http_request m;
	size_t used;
	int rc;

	if (r->result) {
		snprintf(err, errlen, "watch stream already ended (%d) after %llu events", r->result, r->dec.events);
		return r->result;
	}
	reader_bind(r, cb, arg, err, errlen);
	rc = ks_http_feed(&r->http, data, len, &used, &m);
	/* a framing error counts the offending byte as used: name it */
	r->off += rc < 0 && rc != KS_HTTP_E_SINK && used ? used - 1 : used;
	return reader_result(r, rc, &m);
}

int kube_watch_reader_eof(struct kube_watch_reader *r, kube_event_fn cb, void *arg, char *err, size_t errlen)
{
	struct ks_http_request m;

	if (r->result)
		return r->result;
	reader_bind(r, cb, arg, err, errlen);
	return reader_result(r, ks_http_feed_eof(&r->http, &m), &m);
}

/* ---- List splitting: the JSON layer's walker, each item parsed alone ---- */

static bool name_is(const char *name, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(name, lit, n);
}

static int list_metadata(const char *v, size_t n, char *rv, size_t rvlen, char *cont, size_t contlen,
			 char *err, size_t errlen)
{
	struct ks_json j;
	char why[160];
	int i, rc = -EBADMSG;

	if (ks_json_parse(&j, v, n, why, sizeof(why))) {
		snprintf(err, errlen, "list metadata: %s", why);
		return -EBADMSG;
	}
	i = ks_json_member(&j, 0, "resourceVersion");
	if (i >= 0 && rvlen && ks_json_string(&j, i, rv, rvlen)) {
		snprintf(err, errlen, "list metadata.resourceVersion is not a string of under %zu bytes", rvlen);
		goto out;
	}
	i = ks_json_member(&j, 0, "continue");
	if (i >= 0 && contlen && ks_json_string(&j, i, cont, contlen)) {
		snprintf(err, errlen, "list metadata.continue is not a string of under %zu bytes", contlen);
		goto out;
	}
	rc = 0;
out:
	ks_json_free(&j);
	return rc;
}

/* The items array at body[off..]: each element parsed alone and handed
 * to cb; its length in *used. */
static int list_items(const char *body, size_t len, size_t off, kube_item_fn cb, void *arg, size_t *used,
		      char *err, size_t errlen)
{
	struct ks_json_walk a;
	struct ks_json j;
	size_t voff, vlen, index = 0;
	char why[200];
	int rc;

	rc = ks_json_walk_open(&a, body + off, len - off, '[', false, why, sizeof(why));
	while (!rc && (rc = ks_json_walk_next(&a, NULL, NULL, &voff, why, sizeof(why))) == 1) {
		rc = ks_json_walk_value(&a, &vlen, why, sizeof(why));
		if (!rc)
			rc = kube_json_parse(&j, body + off + voff, vlen, KUBE_EVENT_MAX, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "list item %zu (byte %zu): %s", index, off + voff, why);
			return rc == -ENOMEM ? rc : -EBADMSG;
		}
		if (!ks_json_is_object(&j, 0)) {
			snprintf(err, errlen, "list item %zu (byte %zu) is a JSON %s, not an object", index, off + voff,
				 ks_json_type_name(&j, 0));
			ks_json_free(&j);
			return -EBADMSG;
		}
		rc = cb ? cb(arg, body + off + voff, vlen, &j) : 0;
		ks_json_free(&j);
		if (rc)
			return rc;
		index++;
	}
	if (rc) {
		snprintf(err, errlen, "list items (byte %zu): %s", off, why);
		return -EBADMSG;
	}
	*used = a.pos;
	return 0;
}

int kube_list_split(const char *body, size_t len, kube_item_fn cb, void *arg, char *rv, size_t rvlen,
		    char *cont, size_t contlen, char *err, size_t errlen)
{
	struct ks_json_walk w;
	const char *name;
	size_t nlen, voff, vlen;
	bool items = false;
	char why[200];
	int rc;

	if (rvlen)
		rv[0] = '\0';
	if (contlen)
		cont[0] = '\0';
	rc = ks_json_walk_open(&w, body, len, '{', true, why, sizeof(why));
	while (!rc && (rc = ks_json_walk_next(&w, &name, &nlen, &voff, why, sizeof(why))) == 1) {
		if (name_is(name, nlen, "items") && body[voff] == '[') {
			items = true;
			rc = list_items(body, len, voff, cb, arg, &vlen, err, errlen);
			if (rc)
				return rc;
			ks_json_walk_skip(&w, vlen);
			continue;
		}
		rc = ks_json_walk_value(&w, &vlen, why, sizeof(why));
		if (rc)
			break;
		if (name_is(name, nlen, "items")) {
			/* "items": null is an empty list */
			if (vlen != 4 || memcmp(body + voff, "null", 4)) {
				snprintf(err, errlen, "list \"items\" is not an array (byte %zu)", voff);
				return -EBADMSG;
			}
			items = true;
		} else if (name_is(name, nlen, "metadata")) {
			rc = list_metadata(body + voff, vlen, rv, rvlen, cont, contlen, err, errlen);
			if (rc)
				return rc;
		}
	}
	if (rc) {
		snprintf(err, errlen, "malformed list: %s", why);
		return -EBADMSG;
	}
	if (!items) {
		/* no member at all is not a list */
		snprintf(err, errlen, "response has no \"items\" array: not a List");
		return -EBADMSG;
	}
	return 0;
}
