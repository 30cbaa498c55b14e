/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kubernetes API client: configuration (kubeconfig or in-cluster), HTTP/1.1
 * over TLS (mbedTLS) with a keep-alive connection and a client-side QPS
 * limit, paginated lists, and watches whose chunked, newline-delimited
 * JSON event stream is decoded incrementally.  No threads: every call
 * blocks for at most its timeout, and a watch can also be driven from a
 * poll() loop (kube_watch_open/kube_watch_fd/kube_watch_next).
 *
 * Conventions: functions return 0 (or a positive KUBE_WATCH_* code) on
 * success and a negative errno on failure, with one line of context in
 * err (what was being done, to which server, and why).  Memory is bounded:
 * a response body by KUBE_RESP_MAX (or the caller's ks_buf max), a watch
 * event by KUBE_EVENT_MAX, a kubeconfig by KUBE_CONFIG_MAX.
 *
 * Files: kube_config.c (kubeconfig via libyaml, in-cluster), kube_stream.c
 * (socket-free decoders: watch events over the shared HTTP reader, List
 * splitting),
 * kube_http.c (connections, TLS, requests, list, watch, backoff).
 */
#ifndef KSENSE_KUBE_H
#define KSENSE_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "http.h"
#include "json.h"

#define KUBE_RESP_MAX    (64u << 20) /* largest response body kube_request keeps */
#define KUBE_EVENT_MAX   (16u << 20) /* largest single watch event */
#define KUBE_CONFIG_MAX  (4u << 20)  /* largest kubeconfig / CA / token file read */
#define KUBE_RV_MAX      128         /* resourceVersion buffer size callers should use */

/* Where the in-cluster service account files are; the env var overrides
 * the directory (tests). */
#define KUBE_SA_DIR      "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_SA_DIR_ENV  "KSENSE_SERVICEACCOUNT_DIR"

/* Positive results of the watch functions (never errors). */
#define KUBE_WATCH_CLOSED 1 /* stream ended (cleanly, dropped or timed out): reconnect from rv */
#define KUBE_WATCH_GONE   2 /* 410: rv too old (HTTP status or ERROR event): relist */

struct kube_config {
	char source[640];          /* for messages: "kubeconfig F context C" / "in-cluster D" */
	char context[256];         /* kubeconfig context used, "" in-cluster */
	char server[512];          /* as configured: https://host:port[/prefix] */
	char host[256];            /* host name or IP literal (no brackets) */
	int port;
	bool https;
	char base_path[256];       /* path prefix of server ("" or "/k8s/clusters/x") */
	char tls_server_name[256]; /* name to verify instead of host ("" = host) */
	bool insecure;             /* insecure-skip-tls-verify: no CA check at all */
	/* PEM (or DER) bytes, heap, NUL-terminated (len excludes the NUL); NULL
	 * when absent.  No CA: the system bundle is used. */
	char *ca_pem;   size_t ca_len;
	char *cert_pem; size_t cert_len;
	char *key_pem;  size_t key_len;
	char token[8192];          /* bearer token, "" = none */
	char token_path[4096];     /* file the token came from: re-read each minute
				    * (projected service account tokens rotate) */
	char namespace_[254];      /* context's / pod's namespace, else "default" */
};

/*
 * Load configuration.  kubeconfig_path NULL or "": the first file in
 * $KUBECONFIG (colon-separated; the files are not merged), else
 * ~/.kube/config when it exists, else in-cluster config when
 * KUBERNETES_SERVICE_HOST is set.  context NULL or "": current-context.
 * Errors name the file, the line and the field (e.g.
 * "users[name=kind-kind].user.client-key-data: not valid base64").
 * Unsupported auth (exec plugins, auth-provider, basic auth) is an error.
 * Free with kube_config_free().
 */
int kube_config_load(struct kube_config *c, const char *kubeconfig_path, const char *context,
		     char *err, size_t errlen);
/* In-cluster config from dir (NULL: $KSENSE_SERVICEACCOUNT_DIR or
 * KUBE_SA_DIR) and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT. */
int kube_config_in_cluster(struct kube_config *c, const char *dir, char *err, size_t errlen);
void kube_config_free(struct kube_config *c);

struct kube_client;

/* qps <= 0: no limit; burst < 1 is taken as 1.  The client copies what it
 * needs from c (c may be freed afterwards).  NULL on error (bad CA, key
 * not matching certificate, ...) with the reason in err. */
struct kube_client *kube_client_new(const struct kube_config *c, double qps, int burst, char *err,
				    size_t errlen);
void kube_client_free(struct kube_client *k);
/* connect_ms: TCP connect + TLS handshake; io_ms: longest wait for a
 * single read or write of a request (not of a watch).  Defaults 5000/30000. */
void kube_client_set_timeouts(struct kube_client *k, int connect_ms, int io_ms);
/* The User-Agent header of every request (default "ksense/1"), as the API
 * server's audit log shows it: "ksense-scheduler/1 (replica-a)".  Printable
 * ASCII, 1..159 bytes; else -EINVAL and the old one stays. */
int kube_client_set_user_agent(struct kube_client *k, const char *ua);
/* Counters for logs and tests. */
struct kube_client_stats {
	unsigned long long requests;    /* responses received */
	unsigned long long connects;    /* connections opened (requests + watches) */
	unsigned long long throttled_ms;/* time spent waiting for the QPS limit */
};
void kube_client_stats(const struct kube_client *k, struct kube_client_stats *s);

/*
 * One request on the client's keep-alive connection (reconnects when the
 * server closed it; a GET that found a stale connection is retried once).
 * body may be NULL; content_type NULL means application/json when there is
 * a body.  resp (may be NULL: body discarded) is reset and filled with the
 * body, NUL-terminated, up to min(resp->max, KUBE_RESP_MAX) bytes; a larger
 * body is -E2BIG.  Returns 0 when a response was received, whatever its
 * status; negative errno on transport failure (refused, timeout, TLS,
 * malformed response, connection dropped mid-response).
 */
int kube_request(struct kube_client *k, const char *method, const char *path_and_query,
		 const char *content_type, const char *body, size_t body_len, int *status,
		 struct ks_buf *resp, char *err, size_t errlen);

/* "reason: message" of a Kubernetes Status body into out, or the first
 * bytes of the body when it is not one.  Returns out. */
const char *kube_status_message(const char *body, size_t len, char *out, size_t outlen);
/* Negative errno for a failing HTTP status: 401/403 -EACCES, 404 -ENOENT,
 * 409 -EEXIST, 410 -ESTALE, 422/400 -EINVAL, 429 -EAGAIN, else -EIO. */
int kube_status_errno(int status);

/*
 * Item callback of kube_list: json/len is the item's text; j is the item
 * parsed (root token 0 is the item; token offsets are into j->src).
 * Returning nonzero stops the list and is returned by kube_list (use a
 * negative errno, or a value above KUBE_WATCH_GONE, so that it cannot be
 * taken for one of the watch results in kube_event_fn either).
 * json and j are valid only during the call.
 * Called once with json == NULL, j == NULL when an expired continue token
 * made the list restart: forget the items seen so far.
 */
typedef int (*kube_item_fn)(void *arg, const char *json, size_t len, const struct ks_json *j);

/*
 * GET path page by page (limit items per page, limit <= 0: 500), following
 * metadata.continue; the list's metadata.resourceVersion (of the first
 * page, which is the snapshot all pages come from) into rv_out.  A 410 on a
 * continue token restarts from the first page (at most 3 times).  A
 * non-200 status is an error whose text carries the Status message; the
 * errno is kube_status_errno(status).
 */
int kube_list(struct kube_client *k, const char *path, int limit, kube_item_fn cb, void *arg,
	      char *rv_out, size_t rvlen, char *err, size_t errlen);

/*
 * Watch event callback: type is ADDED, MODIFIED or DELETED (BOOKMARKs only
 * move the resourceVersion; ERRORs end the watch); json/len is the
 * object's text and j the event parsed, with root token 0 the object
 * (token offsets into j->src); both valid only during the call.  Nonzero
 * stops the watch (for good) and is returned.
 */
typedef int (*kube_event_fn)(void *arg, const char *type, const char *json, size_t len,
			     const struct ks_json *j);

/*
 * Blocking watch of path from resourceVersion rv ("" = from now, with
 * synthetic ADDED events for what exists), with allowWatchBookmarks and a
 * server-side timeoutSeconds=timeout_s (<= 0: 300); the client gives up
 * 10 s after that.  rv is updated to the last resourceVersion seen (events
 * and bookmarks) as events are delivered.  Returns KUBE_WATCH_CLOSED when
 * the stream ended (terminal chunk, timeout, or connection dropped, with
 * the reason in err): watch again from rv; KUBE_WATCH_GONE on 410: list
 * again; the callback's nonzero value; or negative errno (malformed
 * stream, HTTP error, connect failure).
 */
int kube_watch(struct kube_client *k, const char *path, char *rv, size_t rvlen, bool bookmarks,
	       int timeout_s, kube_event_fn cb, void *arg, char *err, size_t errlen);

/* The same, for poll() loops: open (0, KUBE_WATCH_GONE, or negative
 * errno), then kube_watch_next whenever kube_watch_fd is readable (or with
 * wait_ms > 0 to block).  kube_watch_next delivers every complete event
 * that has arrived and returns 0 to be called again, or what kube_watch
 * would return.  Each watch has its own connection; the client must
 * outlive it.  Call kube_watch_next once right after opening, before
 * waiting on the fd: events that came with the response head are already
 * read and would not wake poll(). */
struct kube_watch;
int kube_watch_open(struct kube_client *k, const char *path, const char *rv, bool bookmarks,
		    int timeout_s, struct kube_watch **out, char *err, size_t errlen);
int kube_watch_fd(const struct kube_watch *w);
int kube_watch_next(struct kube_watch *w, int wait_ms, kube_event_fn cb, void *arg, char *err,
		    size_t errlen);
const char *kube_watch_rv(const struct kube_watch *w);
void kube_watch_close(struct kube_watch *w);

/* in as a query value (a label selector): everything but unreserved
 * characters %-escaped, cut (never mid-escape) to fit outlen. */
void kube_query_escape(const char *in, char *out, size_t outlen);

/* Capped exponential backoff with full jitter: a uniform delay in
 * [0, min(cap_ms, base_ms * 2^attempt)] ms. */
unsigned int kube_backoff_ms(unsigned int attempt, unsigned int base_ms, unsigned int cap_ms);

/* ---- socket-free decoders (kube_stream.c), exposed for tests and fuzzing ---- */

/* Watch stream decoder: the body's decoded bytes in, whole events out.
 * Lines are split at '\n'; blank lines are skipped; each line must be
 * one JSON object {"type": string, "object": object}.  ADDED, MODIFIED,
 * DELETED go to the callback; BOOKMARK only moves rv; ERROR with code 410
 * gives KUBE_WATCH_GONE, another ERROR -EPROTO with its Status message; an
 * unknown type is skipped with a warning (as client-go's reflector does).
 * A line over max_event bytes, bad framing or bad JSON is a sticky error. */
struct kube_watch_decoder {
	bool quiet;            /* no warnings on stderr (fuzzing) */
	size_t max_event;
	struct ks_buf line;    /* the event being received */
	char rv[KUBE_RV_MAX];  /* last resourceVersion seen */
	unsigned long long events, bookmarks, skipped;
	uint64_t stream_off;   /* decoded bytes so far, for messages */
	int error;             /* sticky error or end code */
};
void kube_watch_decoder_init(struct kube_watch_decoder *d, size_t max_event, const char *rv);
void kube_watch_decoder_free(struct kube_watch_decoder *d);
/* 0: everything used, feed more; KUBE_WATCH_GONE; the callback's nonzero
 * value; negative errno. */
int kube_watch_decoder_feed(struct kube_watch_decoder *d, const char *data, size_t len,
			    kube_event_fn cb, void *arg, char *err, size_t errlen);
/* How the body ended. */
enum kube_stream_end {
	KUBE_END_FRAMED,	/* terminal chunk or Content-Length: a last line is whole */
	KUBE_END_EOF,		/* the close ended a body that runs to it: a last line may be cut */
	KUBE_END_DROPPED,	/* the connection ended before the framing said */
};
/* The body ended: a final line without newline is decoded (a bad one is
 * a drop, "dropped mid-event", unless the framing said the body was
 * whole); returns KUBE_WATCH_CLOSED (with "dropped ..." in err when it was
 * not a clean end) or what decoding that last line gave. */
int kube_watch_decoder_finish(struct kube_watch_decoder *d, enum kube_stream_end how, kube_event_fn cb,
			      void *arg, char *err, size_t errlen);

/* A watch response's bytes (status line and head included) through the
 * shared HTTP reader (http.h: strict framing, chunked with extensions and
 * trailers, Content-Length, or to the close), the body streamed into the
 * decoder: what kube_watch_next does with a socket's bytes.  The head may
 * be read from r->http before the first feed (kube_watch_open does). */
struct kube_watch_reader {
	struct ks_http_parser http;
	struct kube_watch_decoder dec;
	uint64_t off;          /* response bytes used, for messages */
	int result;            /* sticky end */
	/* during a feed */
	kube_event_fn cb;
	void *arg;
	char *err;
	size_t errlen;
};
void kube_watch_reader_init(struct kube_watch_reader *r, size_t max_event, const char *rv);
void kube_watch_reader_free(struct kube_watch_reader *r);
/* 0: feed more; KUBE_WATCH_CLOSED (the body ended as framed, or a 200
 * without one); KUBE_WATCH_GONE; the callback's nonzero value; negative
 * errno (-EPROTO for broken framing or a status other than 200, with the
 * byte offset and why in err).  Sticky. */
int kube_watch_reader_feed(struct kube_watch_reader *r, const char *data, size_t len, kube_event_fn cb,
			   void *arg, char *err, size_t errlen);
/* The connection ended: KUBE_WATCH_CLOSED ("dropped ..." in err unless the
 * body runs to the close), or what decoding a last line gave. */
int kube_watch_reader_eof(struct kube_watch_reader *r, kube_event_fn cb, void *arg, char *err, size_t errlen);

/* Split a List body: metadata.resourceVersion and metadata.continue into
 * rv/cont ("" when absent), cb once per element of items (parsed
 * separately, so memory is bounded by the largest item, not the list). */
int kube_list_split(const char *body, size_t len, kube_item_fn cb, void *arg, char *rv, size_t rvlen,
		    char *cont, size_t contlen, char *err, size_t errlen);

#endif
