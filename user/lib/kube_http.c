// SPDX-License-Identifier: GPL-2.0
/*
 * The Kubernetes client's transport: TCP with connect/read/write deadlines
 * (non-blocking sockets and poll, so no call hangs on a silent peer), TLS
 * 1.2+ with mbedTLS (CA verification always on unless the kubeconfig says
 * insecure-skip-tls-verify; the server name is checked against DNS SANs by
 * mbedTLS and against IP SANs here, since mbedTLS 2.28 does not), HTTP/1.1
 * with one keep-alive connection for requests and one connection per
 * watch, a token-bucket QPS limit, paginated lists and watches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include "json.h"
#include "kube.h"
#include "log.h"

#define IO_BUF          32768  /* >= one TLS record, so a read drains a record */
#define PATH_MAX_BYTES  8192
#define ERR_BODY_MAX    65536  /* body kept for a failing watch's message */
#define TOKEN_REREAD_MS 60000  /* client-go re-reads token files each minute */
#define SYSTEM_CA       "/etc/ssl/certs/ca-certificates.crt"

struct kube_conn {
	struct kube_client *k;
	int fd;                  /* -1: closed */
	bool tls;                /* ssl set up */
	mbedtls_ssl_context ssl;
	long long deadline;      /* ms, for the TLS BIO callbacks */
	bool timed_out;          /* the last I/O gave up at the deadline */
	int sys_err;             /* errno of the last socket failure */
	bool reusable;           /* the last response ended cleanly */
	char rx[IO_BUF];         /* read-ahead: what arrived past a response head */
	size_t rx_pos, rx_len;
	struct ks_http_parser rd;/* responses of kube_request (watches have their own) */
};

struct kube_client {
	char host[256];
	int port;
	bool https;
	char base_path[256];
	char host_hdr[300];      /* Host: value */
	char endpoint[320];      /* scheme://host:port, for messages */
	bool verify_ip;          /* the name to verify is an IP literal */
	unsigned char ip[16];
	size_t iplen;
	char token[8192];
	char token_path[4096];
	long long token_read_ms;
	int connect_ms, io_ms;
	char user_agent[160];
	double qps, tokens;
	int burst;
	long long last_ns;
	struct kube_client_stats st;
	bool tls_ready;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	char sni[256];           /* "" for IP literals (RFC 6066 forbids them in SNI) */
	struct kube_conn conn;   /* the keep-alive connection for requests */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *tls_strerror(int rc, char *buf, size_t len)
{
	mbedtls_strerror(rc, buf, len);
	return buf;
}

/* Wait for events on fd until deadline (ms); a past deadline still polls
 * once, so a deadline of "now" is a non-blocking check.  0, -ETIMEDOUT or
 * negative errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int rc;

	do {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		rc = poll(&p, 1, (int)(left > 3600000 ? 3600000 : left));
	} while ((rc < 0 && errno == EINTR) || (rc == 0 && left > 3600000));
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

/* ---- connections ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct kube_conn *c = ctx;

	for (;;) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			c->sys_err = errno;
			return MBEDTLS_ERR_NET_SEND_FAILED;
		}
		if (wait_fd(c->fd, POLLOUT, c->deadline)) {
			c->timed_out = true;
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		}
	}
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct kube_conn *c = ctx;

	for (;;) {
		ssize_t n = recv(c->fd, buf, len, 0);

		if (n >= 0)
			return (int)n; /* 0: EOF, which mbedTLS reports as such */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			c->sys_err = errno;
			return MBEDTLS_ERR_NET_RECV_FAILED;
		}
		/* WANT_READ leaves mbedTLS's record state resumable; the flag
		 * tells our caller it was the deadline */
		if (wait_fd(c->fd, POLLIN, c->deadline)) {
			c->timed_out = true;
			return MBEDTLS_ERR_SSL_WANT_READ;
		}
	}
}

static void conn_close(struct kube_conn *c)
{
	if (c->tls) {
		mbedtls_ssl_free(&c->ssl);
		c->tls = false;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rx_pos = c->rx_len = 0;
	c->reusable = false;
}

/* Does the SAN extension of crt list this IP address?  mbedTLS 2.28 keeps
 * only dNSName SANs, so the raw extensions are walked here. */
static bool cert_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t iplen)
{
	unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len;
	size_t len;

	if (!p || mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return false;
	end = p + len;
	while (p < end) {
		unsigned char *ext_end, *q, *qend;
		mbedtls_x509_buf oid;
		size_t elen, olen, slen, glen;
		int critical;

		if (mbedtls_asn1_get_tag(&p, end, &elen, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		ext_end = p + elen;
		oid.tag = MBEDTLS_ASN1_OID;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
			return false;
		oid.p = p;
		p += oid.len;
		(void)mbedtls_asn1_get_bool(&p, ext_end, &critical); /* optional */
		if (mbedtls_asn1_get_tag(&p, ext_end, &olen, MBEDTLS_ASN1_OCTET_STRING))
			return false;
		if (!MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid)) {
			q = p;
			qend = p + olen;
			if (mbedtls_asn1_get_tag(&q, qend, &slen, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
				return false;
			qend = q + slen;
			while (q < qend) {
				unsigned char tag = *q++;

				if (mbedtls_asn1_get_len(&q, qend, &glen))
					return false;
				/* iPAddress is GeneralName [7], 4 or 16 raw bytes */
				if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && glen == iplen && !memcmp(q, ip, iplen))
					return true;
				q += glen;
			}
		}
		p = ext_end;
	}
	return false;
}

static int verify_ip_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct kube_client *k = ctx;

	if (depth == 0 && k->verify_ip && !cert_has_ip(crt, k->ip, k->iplen))
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

static int conn_open(struct kube_client *k, struct kube_conn *c, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *ai = NULL, *a;
	long long deadline = now_ms() + k->connect_ms;
	char port[16], why[200];
	int rc, one = 1, soerr;
	socklen_t sl;

	conn_close(c);
	c->k = k;
	snprintf(port, sizeof(port), "%d", k->port);
	rc = getaddrinfo(k->host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: resolve %s: %s", k->endpoint, k->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	rc = -ECONNREFUSED;
	snprintf(why, sizeof(why), "no address");
	for (a = ai; a; a = a->ai_next) {
		c->fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			rc = -errno;
			snprintf(why, sizeof(why), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) && errno != EINPROGRESS) {
			rc = -errno;
		} else {
			rc = wait_fd(c->fd, POLLOUT, deadline);
			sl = sizeof(soerr);
			if (!rc && !getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) && soerr)
				rc = -soerr;
		}
		if (!rc)
			break;
		snprintf(why, sizeof(why), "%s", rc == -ETIMEDOUT ? "connect timed out" : strerror(-rc));
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(ai);
	if (c->fd < 0) {
		snprintf(err, errlen, "%s: connect: %s", k->endpoint, why);
		return rc;
	}
	/* requests are small and latency-bound: no Nagle delay */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	k->st.connects++;
	if (!k->https)
		return 0;
	mbedtls_ssl_init(&c->ssl);
	c->tls = true;
	rc = mbedtls_ssl_setup(&c->ssl, &k->conf);
	if (!rc && k->sni[0])
		rc = mbedtls_ssl_set_hostname(&c->ssl, k->sni);
	if (rc) {
		snprintf(err, errlen, "%s: TLS setup: %s", k->endpoint, tls_strerror(rc, why, sizeof(why)));
		conn_close(c);
		return -EPROTO;
	}
	mbedtls_ssl_set_verify(&c->ssl, verify_ip_cb, k);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	c->deadline = deadline;
	c->timed_out = false;
	do {
		rc = mbedtls_ssl_handshake(&c->ssl);
	} while ((rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) && !c->timed_out);
	if (rc) {
		uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);

		if (c->timed_out) {
			snprintf(err, errlen, "%s: TLS handshake timed out after %d ms", k->endpoint, k->connect_ms);
			rc = -ETIMEDOUT;
		} else if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
			char info[400];
			size_t n;

			mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
			n = strlen(info);
			while (n && info[n - 1] == '\n')
				info[--n] = '\0';
			for (char *nl = info; (nl = strchr(nl, '\n'));)
				*nl = ';';
			snprintf(err, errlen, "%s: TLS: server certificate rejected: %s", k->endpoint, info);
			rc = -EACCES;
		} else {
			snprintf(err, errlen, "%s: TLS handshake: %s", k->endpoint, tls_strerror(rc, why, sizeof(why)));
			rc = -EPROTO;
		}
		conn_close(c);
		return rc;
	}
	return 0;
}

/* Up to len bytes: >0, 0 at EOF, -ETIMEDOUT at the deadline, or another
 * negative errno with err. */
static ssize_t conn_read(struct kube_conn *c, char *buf, size_t len, long long deadline, char *err,
			 size_t errlen)
{
	char why[160];
	ssize_t n;
	int rc;

	if (!c->tls) {
		for (;;) {
			rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc)
				return rc;
			n = recv(c->fd, buf, len, 0);
			if (n >= 0)
				return n;
			if (errno != EAGAIN && errno != EINTR) {
				rc = -errno;
				snprintf(err, errlen, "%s: read: %s", c->k->endpoint, strerror(errno));
				return rc;
			}
		}
	}
	c->deadline = deadline;
	c->timed_out = false;
	for (;;) {
		rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, len);
		if (rc >= 0)
			return rc;
		if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return 0;
		if ((rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) && c->timed_out)
			return -ETIMEDOUT;
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (rc == MBEDTLS_ERR_NET_RECV_FAILED) {
			snprintf(err, errlen, "%s: read: %s", c->k->endpoint, strerror(c->sys_err));
			return c->sys_err ? -c->sys_err : -EIO;
		}
		snprintf(err, errlen, "%s: TLS read: %s", c->k->endpoint, tls_strerror(rc, why, sizeof(why)));
		return -EPROTO;
	}
}

static int conn_write(struct kube_conn *c, const char *buf, size_t len, long long deadline, char *err,
		      size_t errlen)
{
	char why[160];
	ssize_t n;
	int rc;

	while (len) {
		if (!c->tls) {
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				rc = wait_fd(c->fd, POLLOUT, deadline);
				if (rc) {
					snprintf(err, errlen, "%s: write timed out", c->k->endpoint);
					return rc;
				}
				continue;
			}
			if (n < 0) {
				rc = -errno;
				snprintf(err, errlen, "%s: write: %s", c->k->endpoint, strerror(errno));
				return rc;
			}
		} else {
			c->deadline = deadline;
			c->timed_out = false;
			rc = mbedtls_ssl_write(&c->ssl, (const unsigned char *)buf, len);
			if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
				if (c->timed_out) {
					snprintf(err, errlen, "%s: write timed out", c->k->endpoint);
					return -ETIMEDOUT;
				}
				continue;
			}
			if (rc < 0) {
				snprintf(err, errlen, "%s: TLS write: %s", c->k->endpoint,
					 rc == MBEDTLS_ERR_NET_SEND_FAILED ? strerror(c->sys_err) :
									     tls_strerror(rc, why, sizeof(why)));
				return rc == MBEDTLS_ERR_NET_SEND_FAILED && c->sys_err ? -c->sys_err : -EPIPE;
			}
			n = rc;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* An idle keep-alive connection the server has closed (or sent junk on)
 * is readable; sending on it would lose the request. */
static bool conn_stale(struct kube_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (c->fd < 0 || !c->reusable)
		return true;
	if (c->tls && mbedtls_ssl_check_pending(&c->ssl))
		return true;
	return poll(&p, 1, 0) != 0;
}

/* ---- responses: the shared HTTP reader (http.c) over the connection ---- */

/*
 * Read one response head through rd (a response reader whose sink is set,
 * whose body limit is max_body);
 * bytes past the head stay in c->rx.  *done: the response has no body
 * (HEAD, 204, 304) and is complete.  Interim 1xx responses are skipped.
 * *got says whether any byte arrived (a stale connection gives none).
 */
static int read_head(struct kube_conn *c, struct ks_http_parser *rd, const char *method, size_t max_body,
		     int io_ms, struct ks_http_request *m, bool *done, bool *got, char *err, size_t errlen)
{
	const struct ks_http_request *head;
	const char *reason;
	char why[1024];
	size_t used;
	ssize_t n;
	int rc;

	*got = *done = false;
	ks_http_parser_reset(rd);
	ks_http_parser_expect_response(rd, !strcmp(method, "HEAD"));
	for (;;) {
		if (c->rx_pos == c->rx_len) {
			n = conn_read(c, c->rx, sizeof(c->rx), now_ms() + io_ms, why, sizeof(why));
			if (n == -ETIMEDOUT) {
				snprintf(err, errlen, "%s: no response within %d ms", c->k->endpoint, io_ms);
				return -ETIMEDOUT;
			}
			if (n < 0) {
				snprintf(err, errlen, "%s", why);
				return (int)n;
			}
			if (n == 0) {
				snprintf(err, errlen, "%s: connection closed %s", c->k->endpoint,
					 *got ? "in the response head" : "before a response");
				return -ECONNRESET;
			}
			c->rx_pos = 0;
			c->rx_len = (size_t)n;
		}
		*got = true;
		/* a byte at a time, so the body's first bytes stay in rx for
		 * whoever reads the body (a watch delivers them later) */
		rc = ks_http_feed(rd, c->rx + c->rx_pos, 1, &used, m);
		c->rx_pos += used;
		if (rc == KS_HTTP_DONE && m->status < 200 && m->status != 101) {
			ks_http_parser_reset(rd);
			continue;
		}
		if (rc == KS_HTTP_DONE) {
			*done = true;
			return 0;
		}
		if (rc == KS_HTTP_E_BODY_TOO_LARGE) {
			snprintf(err, errlen, "%s: response body over the %zu byte limit (Content-Length)",
				 c->k->endpoint, max_body);
			return -E2BIG;
		}
		if (rc < 0) {
			ks_http_error_status(rc, &reason);
			snprintf(err, errlen, "%s: malformed response head: %s", c->k->endpoint, reason);
			return rc == KS_HTTP_E_NOMEM ? -ENOMEM : -EPROTO;
		}
		head = ks_http_receiving_body(rd);
		if (head) {
			*m = *head;
			return 0;
		}
	}
}

struct body_sink {
	struct ks_buf *out;
	size_t max;
	size_t total;
};

static int body_append(void *arg, const char *data, size_t len)
{
	struct body_sink *b = arg;

	b->total += len;
	if (b->total > b->max)
		return -E2BIG;
	return b->out ? ks_buf_append(b->out, data, len) : 0;
}

/* Read the rest of the response read_head began into rd's sink (a
 * body_sink bs): 0 when the framing says it is whole. */
static int read_body(struct kube_conn *c, struct ks_http_parser *rd, struct body_sink *bs, int io_ms,
		     char *err, size_t errlen)
{
	struct ks_http_request m;
	const char *reason;
	char why[1024];
	size_t used;
	ssize_t n;
	int rc;

	for (;;) {
		if (c->rx_pos == c->rx_len) {
			n = conn_read(c, c->rx, sizeof(c->rx), now_ms() + io_ms, why, sizeof(why));
			if (n == -ETIMEDOUT) {
				snprintf(err, errlen, "%s: response body stalled for %d ms after %zu bytes",
					 c->k->endpoint, io_ms, bs->total);
				return -ETIMEDOUT;
			}
			if (n < 0) {
				snprintf(err, errlen, "%.900s (after %zu body bytes)", why, bs->total);
				return (int)n;
			}
			if (n == 0) {
				rc = ks_http_feed_eof(rd, &m);
				if (rc == KS_HTTP_DONE)
					return 0; /* delimited by the close */
				snprintf(err, errlen, "%s: connection closed mid-response after %zu body bytes",
					 c->k->endpoint, bs->total);
				return -ECONNRESET;
			}
			c->rx_pos = 0;
			c->rx_len = (size_t)n;
		}
		rc = ks_http_feed(rd, c->rx + c->rx_pos, c->rx_len - c->rx_pos, &used, &m);
		c->rx_pos += used;
		if (rc == KS_HTTP_DONE)
			return 0;
		if (rc == KS_HTTP_NEED_MORE)
			continue;
		if (rc == KS_HTTP_E_BODY_TOO_LARGE || (rc == KS_HTTP_E_SINK && ks_http_sink_result(rd) == -E2BIG)) {
			snprintf(err, errlen, "%s: response body over the %zu byte limit", c->k->endpoint, bs->max);
			return -E2BIG;
		}
		if (rc == KS_HTTP_E_SINK || rc == KS_HTTP_E_NOMEM) {
			snprintf(err, errlen, "%s: out of memory", c->k->endpoint);
			return -ENOMEM;
		}
		ks_http_error_status(rc, &reason);
		snprintf(err, errlen, "%s: malformed response body after %zu bytes: %s", c->k->endpoint, bs->total,
			 reason);
		return -EPROTO;
	}
}

/* ---- client ---- */

static int tls_conf(struct kube_client *k, const struct kube_config *c, char *err, size_t errlen)
{
	static const char pers[] = "ksense-kube";
	const char *name = c->tls_server_name[0] ? c->tls_server_name : c->host;
	struct in6_addr a6;
	struct in_addr a4;
	char why[1024];
	int rc;

	mbedtls_ssl_config_init(&k->conf);
	mbedtls_x509_crt_init(&k->ca);
	mbedtls_x509_crt_init(&k->cert);
	mbedtls_pk_init(&k->key);
	mbedtls_entropy_init(&k->entropy);
	mbedtls_ctr_drbg_init(&k->drbg);
	k->tls_ready = true;
	rc = mbedtls_ctr_drbg_seed(&k->drbg, mbedtls_entropy_func, &k->entropy, (const unsigned char *)pers,
				   sizeof(pers) - 1);
	if (rc) {
		snprintf(err, errlen, "seeding the TLS RNG: %s", tls_strerror(rc, why, sizeof(why)));
		return -EIO;
	}
	rc = mbedtls_ssl_config_defaults(&k->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		snprintf(err, errlen, "TLS defaults: %s", tls_strerror(rc, why, sizeof(why)));
		return -EIO;
	}
	mbedtls_ssl_conf_min_version(&k->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&k->conf, mbedtls_ctr_drbg_random, &k->drbg);
	if (c->insecure) {
		mbedtls_ssl_conf_authmode(&k->conf, MBEDTLS_SSL_VERIFY_NONE);
	} else {
		if (c->ca_pem) {
			/* PEM must be parsed with its NUL; DER without */
			rc = mbedtls_x509_crt_parse(&k->ca, (const unsigned char *)c->ca_pem,
						    c->ca_len + (strstr(c->ca_pem, "-----BEGIN") ? 1 : 0));
			if (rc) {
				snprintf(err, errlen, "%s: certificate authority: %s", c->source,
					 tls_strerror(rc, why, sizeof(why)));
				return -EINVAL;
			}
		} else {
			rc = mbedtls_x509_crt_parse_file(&k->ca, SYSTEM_CA);
			if (rc < 0) {
				snprintf(err, errlen, "%s: no certificate authority given and the system bundle %s: %s",
					 c->source, SYSTEM_CA, tls_strerror(rc, why, sizeof(why)));
				return -EINVAL;
			}
		}
		mbedtls_ssl_conf_authmode(&k->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&k->conf, &k->ca, NULL);
	}
	if (c->cert_pem) {
		rc = mbedtls_x509_crt_parse(&k->cert, (const unsigned char *)c->cert_pem,
					    c->cert_len + (strstr(c->cert_pem, "-----BEGIN") ? 1 : 0));
		if (rc) {
			snprintf(err, errlen, "%s: client certificate: %s", c->source, tls_strerror(rc, why, sizeof(why)));
			return -EINVAL;
		}
		rc = mbedtls_pk_parse_key(&k->key, (const unsigned char *)c->key_pem,
					  c->key_len + (strstr(c->key_pem, "-----BEGIN") ? 1 : 0), NULL, 0);
		if (rc) {
			snprintf(err, errlen, "%s: client key: %s", c->source, tls_strerror(rc, why, sizeof(why)));
			return -EINVAL;
		}
		if (mbedtls_pk_check_pair(&k->cert.pk, &k->key)) {
			snprintf(err, errlen, "%s: client key does not match the client certificate", c->source);
			return -EINVAL;
		}
		rc = mbedtls_ssl_conf_own_cert(&k->conf, &k->cert, &k->key);
		if (rc) {
			snprintf(err, errlen, "%s: client certificate: %s", c->source, tls_strerror(rc, why, sizeof(why)));
			return -EINVAL;
		}
	}
	if (inet_pton(AF_INET, name, &a4) == 1) {
		k->verify_ip = true;
		memcpy(k->ip, &a4, 4);
		k->iplen = 4;
	} else if (inet_pton(AF_INET6, name, &a6) == 1) {
		k->verify_ip = true;
		memcpy(k->ip, &a6, 16);
		k->iplen = 16;
	} else {
		snprintf(k->sni, sizeof(k->sni), "%s", name);
	}
	return 0;
}

struct kube_client *kube_client_new(const struct kube_config *c, double qps, int burst, char *err,
				    size_t errlen)
{
	struct kube_client *k = calloc(1, sizeof(*k));
	bool v6 = strchr(c->host, ':') != NULL;
	bool default_port = c->port == (c->https ? 443 : 80);

	if (!k) {
		snprintf(err, errlen, "out of memory for the Kubernetes client");
		return NULL;
	}
	k->conn.fd = -1;
	k->conn.k = k;
	snprintf(k->host, sizeof(k->host), "%s", c->host);
	k->port = c->port;
	k->https = c->https;
	snprintf(k->base_path, sizeof(k->base_path), "%s", c->base_path);
	snprintf(k->host_hdr, sizeof(k->host_hdr), v6 ? "[%s]" : "%s", c->host);
	if (!default_port)
		snprintf(k->host_hdr + strlen(k->host_hdr), sizeof(k->host_hdr) - strlen(k->host_hdr), ":%d",
			 c->port);
	snprintf(k->endpoint, sizeof(k->endpoint), v6 ? "%s://[%s]:%d" : "%s://%s:%d",
		 c->https ? "https" : "http", c->host, c->port);
	snprintf(k->token, sizeof(k->token), "%s", c->token);
	snprintf(k->token_path, sizeof(k->token_path), "%s", c->token_path);
	k->token_read_ms = now_ms();
	k->connect_ms = 5000;
	k->io_ms = 30000;
	snprintf(k->user_agent, sizeof(k->user_agent), "ksense/1");
	k->qps = qps;
	k->burst = burst < 1 ? 1 : burst;
	k->tokens = k->burst;
	k->last_ns = now_ns();
	if (!c->host[0] || c->port <= 0) {
		snprintf(err, errlen, "%s: no server", c->source[0] ? c->source : "Kubernetes config");
		goto fail;
	}
	if (c->https && tls_conf(k, c, err, errlen))
		goto fail;
	return k;
fail:
	kube_client_free(k);
	return NULL;
}

void kube_client_free(struct kube_client *k)
{
	if (!k)
		return;
	conn_close(&k->conn);
	if (k->tls_ready) {
		mbedtls_ssl_config_free(&k->conf);
		mbedtls_x509_crt_free(&k->ca);
		mbedtls_x509_crt_free(&k->cert);
		mbedtls_pk_free(&k->key);
		mbedtls_ctr_drbg_free(&k->drbg);
		mbedtls_entropy_free(&k->entropy);
	}
	memset(k->token, 0, sizeof(k->token));
	free(k);
}

void kube_client_set_timeouts(struct kube_client *k, int connect_ms, int io_ms)
{
	if (connect_ms > 0)
		k->connect_ms = connect_ms;
	if (io_ms > 0)
		k->io_ms = io_ms;
}

int kube_client_set_user_agent(struct kube_client *k, const char *ua)
{
	size_t i, n = strlen(ua);

	/* a header value: printable ASCII only, so nothing can be injected */
	if (!n || n >= sizeof(k->user_agent))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)ua[i] < 0x20 || (unsigned char)ua[i] > 0x7e)
			return -EINVAL;
	memcpy(k->user_agent, ua, n + 1);
	return 0;
}

void kube_client_stats(const struct kube_client *k, struct kube_client_stats *s)
{
	*s = k->st;
}

/* Token bucket: qps tokens a second up to burst; a request takes one and
 * waits for it when there is none.  The scheduler is one thread, so a
 * sleep here is the back-pressure. */
static void throttle(struct kube_client *k)
{
	long long now = now_ns();
	struct timespec ts;
	double wait_s;

	if (k->qps <= 0)
		return;
	k->tokens += (double)(now - k->last_ns) / 1e9 * k->qps;
	if (k->tokens > k->burst)
		k->tokens = k->burst;
	k->last_ns = now;
	k->tokens -= 1;
	if (k->tokens >= 0)
		return;
	/* the debt is paid by the refill of the next call, which counts
	 * from last_ns, before this sleep */
	wait_s = -k->tokens / k->qps;
	ts.tv_sec = (time_t)wait_s;
	ts.tv_nsec = (long)((wait_s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	k->st.throttled_ms += (unsigned long long)(wait_s * 1000);
}

static void refresh_token(struct kube_client *k)
{
	struct { char token[sizeof(k->token)]; } tmp;
	char why[1024];
	FILE *f;
	size_t n;

	if (!k->token_path[0] || now_ms() - k->token_read_ms < TOKEN_REREAD_MS)
		return;
	k->token_read_ms = now_ms();
	f = fopen(k->token_path, "re");
	if (!f) {
		ks_warn("cannot re-read the token file, keeping the old token", "path=\"%s\" error=\"%s\"",
			k->token_path, strerror(errno));
		return;
	}
	n = fread(tmp.token, 1, sizeof(tmp.token) - 1, f);
	fclose(f);
	while (n && (tmp.token[n - 1] == '\n' || tmp.token[n - 1] == '\r' || tmp.token[n - 1] == ' '))
		n--;
	tmp.token[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)tmp.token[i] < 0x21 || (unsigned char)tmp.token[i] > 0x7e)
			n = 0;
	if (!n || n >= sizeof(tmp.token) - 1) {
		snprintf(why, sizeof(why), "%s", n ? "too long" : "empty or not printable");
		ks_warn("token file unusable, keeping the old token", "path=\"%s\" error=\"%s\"", k->token_path, why);
		return;
	}
	memcpy(k->token, tmp.token, n + 1);
	memset(tmp.token, 0, sizeof(tmp.token));
}

static int check_path(const char *path, char *err, size_t errlen)
{
	const unsigned char *p;

	if (path[0] != '/' || strlen(path) > PATH_MAX_BYTES) {
		snprintf(err, errlen, "request path must start with / and be at most %d bytes: %.80s",
			 PATH_MAX_BYTES, path);
		return -EINVAL;
	}
	for (p = (const unsigned char *)path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			snprintf(err, errlen, "request path has an unescaped byte 0x%02x at %zu: %.80s", *p,
				 (size_t)(p - (const unsigned char *)path), path);
			return -EINVAL;
		}
	return 0;
}

static int format_request(struct kube_client *k, struct ks_buf *req, const char *method, const char *path,
			  const char *content_type, const char *body, size_t body_len)
{
	int rc = ks_buf_printf(req, "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			       "Accept: application/json\r\n", method, k->base_path, path, k->host_hdr,
			       k->user_agent);

	if (!rc && k->token[0])
		rc = ks_buf_printf(req, "Authorization: Bearer %s\r\n", k->token);
	if (!rc && (body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH")))
		rc = ks_buf_printf(req, "Content-Type: %s\r\nContent-Length: %zu\r\n",
				   content_type ? content_type : "application/json", body ? body_len : 0);
	if (!rc)
		rc = ks_buf_append(req, "\r\n", 2);
	return rc;
}

int kube_request(struct kube_client *k, const char *method, const char *path_and_query,
		 const char *content_type, const char *body, size_t body_len, int *status,
		 struct ks_buf *resp, char *err, size_t errlen)
{
	struct kube_conn *c = &k->conn;
	bool idempotent = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	struct body_sink bs = { resp, resp && resp->max < KUBE_RESP_MAX ? resp->max : KUBE_RESP_MAX, 0 };
	struct ks_http_request h;
	struct ks_buf req;
	char why[1024];
	bool reused, got, done;
	int rc, attempt;

	*status = 0;
	if (resp)
		ks_buf_reset(resp);
	rc = check_path(path_and_query, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s %s", method, why);
		return rc;
	}
	throttle(k);
	refresh_token(k);
	ks_buf_init(&req, PATH_MAX_BYTES + sizeof(k->token) + 4096);
	/* the body streams into resp; a Content-Length over the limit is
	 * refused at the head */
	ks_http_parser_init(&c->rd);
	ks_http_parser_set_sink(&c->rd, body_append, &bs);
	ks_http_parser_set_max_body(&c->rd, bs.max);
	rc = format_request(k, &req, method, path_and_query, content_type, body, body_len);
	if (rc) {
		snprintf(err, errlen, "%s %s: request head too large", method, path_and_query);
		goto out;
	}
	for (attempt = 0;; attempt++) {
		reused = false;
		if (c->fd >= 0 && conn_stale(c))
			conn_close(c);
		if (c->fd >= 0) {
			reused = true;
		} else {
			rc = conn_open(k, c, why, sizeof(why));
			if (rc)
				goto fail;
		}
		c->reusable = false;
		rc = conn_write(c, req.data, req.len, now_ms() + k->io_ms, why, sizeof(why));
		if (!rc && body && body_len)
			rc = conn_write(c, body, body_len, now_ms() + k->io_ms, why, sizeof(why));
		/* a write that fails on a reused connection was not processed:
		 * the server had closed it; any method may be sent again */
		if (rc && reused && !attempt) {
			conn_close(c);
			continue;
		}
		if (rc)
			goto fail;
		rc = read_head(c, &c->rd, method, bs.max, k->io_ms, &h, &done, &got, why, sizeof(why));
		/* nothing came back on a reused connection: closed under us;
		 * only a GET may be repeated without knowing if it was seen */
		if (rc && !got && reused && !attempt && idempotent) {
			conn_close(c);
			continue;
		}
		if (rc)
			goto fail;
		break;
	}
	*status = h.status;
	rc = done ? 0 : read_body(c, &c->rd, &bs, k->io_ms, why, sizeof(why));
	if (rc)
		goto fail;
	k->st.requests++;
	/* bytes past the response are not ours (no pipelining): do not reuse */
	if (!h.keep_alive || c->rx_pos != c->rx_len)
		conn_close(c);
	else
		c->reusable = true;
	rc = 0;
	goto out;
fail:
	conn_close(c);
	snprintf(err, errlen, "%s %s: %s", method, path_and_query, why);
out:
	ks_buf_free(&req);
	return rc;
}

const char *kube_status_message(const char *body, size_t len, char *out, size_t outlen)
{
	struct ks_json j;
	char why[64], reason[64], msg[512];
	size_t i, o;

	if (!outlen)
		return out;
	out[0] = '\0';
	if (body && len && !ks_json_parse(&j, body, len, why, sizeof(why))) {
		if (!ks_json_string(&j, ks_json_path(&j, "message"), msg, sizeof(msg))) {
			if (!ks_json_string(&j, ks_json_path(&j, "reason"), reason, sizeof(reason)) && reason[0])
				snprintf(out, outlen, "%s: %s", reason, msg);
			else
				snprintf(out, outlen, "%s", msg);
			ks_json_free(&j);
			return out;
		}
		ks_json_free(&j);
	}
	/* not a Status: the start of the body, printable */
	for (i = o = 0; body && i < len && o + 1 < outlen && o < 200; i++) {
		unsigned char ch = (unsigned char)body[i];

		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	out[o] = '\0';
	return out;
}

int kube_status_errno(int status)
{
	switch (status) {
	case 400: case 422: return -EINVAL;
	case 401: case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409: return -EEXIST;
	case 410: return -ESTALE;
	case 429: return -EAGAIN;
	default: return -EIO;
	}
}

/* Append s percent-encoded for a query value. */
static int append_query_value(struct ks_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; !rc && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			rc = ks_buf_append(b, s, 1);
		else
			rc = ks_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
	return rc;
}

void kube_query_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (!outlen)
		return;
	for (; *in && o + 4 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

int kube_list(struct kube_client *k, const char *path, int limit, kube_item_fn cb, void *arg,
	      char *rv_out, size_t rvlen, char *err, size_t errlen)
{
	struct ks_buf url, body;
	char cont[8192], next[8192], rv[KUBE_RV_MAX], why[512], msg[300];
	int rc, status, restarts = 0;
	bool first = true;

	if (rvlen)
		rv_out[0] = '\0';
	cont[0] = '\0';
	ks_buf_init(&url, PATH_MAX_BYTES);
	ks_buf_init(&body, KUBE_RESP_MAX);
	for (;;) {
		ks_buf_reset(&url);
		rc = ks_buf_printf(&url, "%s%climit=%d", path, strchr(path, '?') ? '&' : '?', limit > 0 ? limit : 500);
		if (!rc && cont[0]) {
			rc = ks_buf_append(&url, "&continue=", 10);
			if (!rc)
				rc = append_query_value(&url, cont);
		}
		if (rc) {
			snprintf(err, errlen, "list %s: URL over %d bytes", path, PATH_MAX_BYTES);
			rc = -E2BIG;
			goto out;
		}
		rc = kube_request(k, "GET", url.data, NULL, NULL, 0, &status, &body, err, errlen);
		if (rc)
			goto out;
		if (status == 410 && cont[0]) {
			/* the continue token outlived etcd's compaction: the
			 * snapshot is gone, only a fresh list is consistent */
			if (++restarts > 3) {
				snprintf(err, errlen, "list %s: continue token expired (410) %d times in a row", path,
					 restarts);
				rc = -ESTALE;
				goto out;
			}
			ks_info("list continue token expired, listing again from the start", "path=\"%s\" restart=%d",
				path, restarts);
			cont[0] = '\0';
			first = true;
			if (cb && (rc = cb(arg, NULL, 0, NULL)))
				goto out;
			continue;
		}
		if (status != 200) {
			snprintf(err, errlen, "list %s: HTTP %d: %s", path, status,
				 kube_status_message(body.data, body.len, msg, sizeof(msg)));
			rc = kube_status_errno(status);
			goto out;
		}
		rc = kube_list_split(body.data, body.len, cb, arg, rv, sizeof(rv), next, sizeof(next), why,
				     sizeof(why));
		if (rc) {
			if (rc < 0)
				snprintf(err, errlen, "list %s: %s", path, why);
			goto out;
		}
		if (first && rvlen)
			snprintf(rv_out, rvlen, "%s", rv);
		first = false;
		if (!next[0])
			break;
		memcpy(cont, next, sizeof(cont));
	}
	rc = 0;
out:
	ks_buf_free(&url);
	ks_buf_free(&body);
	return rc;
}

/* ---- watch ---- */

struct kube_watch {
	struct kube_client *k;
	struct kube_conn conn;
	struct kube_watch_reader rd; /* the HTTP reader streaming into the event decoder */
	long long deadline;        /* the client's own end for the stream */
	int timeout_s;
	char path[256];            /* for messages */
	char buf[IO_BUF];
};

int kube_watch_open(struct kube_client *k, const char *path, const char *rv, bool bookmarks,
		    int timeout_s, struct kube_watch **out, char *err, size_t errlen)
{
	struct kube_watch *w;
	struct ks_buf url, req, body;
	struct body_sink bs;
	struct ks_http_request h;
	char why[1024], msg[300];
	bool got, done;
	int rc;

	*out = NULL;
	if (timeout_s <= 0)
		timeout_s = 300;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "watch %s: out of memory", path);
		return -ENOMEM;
	}
	w->k = k;
	w->conn.fd = -1;
	w->conn.k = k;
	w->timeout_s = timeout_s;
	kube_watch_reader_init(&w->rd, KUBE_EVENT_MAX, rv);
	snprintf(w->path, sizeof(w->path), "%s", path);
	ks_buf_init(&url, PATH_MAX_BYTES);
	ks_buf_init(&req, PATH_MAX_BYTES + sizeof(k->token) + 4096);
	ks_buf_init(&body, ERR_BODY_MAX);
	rc = ks_buf_printf(&url, "%s%cwatch=1", path, strchr(path, '?') ? '&' : '?');
	if (!rc && rv && rv[0]) {
		rc = ks_buf_append(&url, "&resourceVersion=", 17);
		if (!rc)
			rc = append_query_value(&url, rv);
	}
	if (!rc && bookmarks)
		rc = ks_buf_printf(&url, "&allowWatchBookmarks=true");
	if (!rc)
		rc = ks_buf_printf(&url, "&timeoutSeconds=%d", timeout_s);
	if (rc) {
		snprintf(err, errlen, "watch %s: URL over %d bytes", path, PATH_MAX_BYTES);
		rc = -E2BIG;
		goto fail;
	}
	rc = check_path(url.data, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "watch %s", why);
		goto fail;
	}
	throttle(k);
	refresh_token(k);
	rc = format_request(k, &req, "GET", url.data, NULL, NULL, 0);
	if (rc) {
		snprintf(err, errlen, "watch %s: request head too large", path);
		rc = -E2BIG;
		goto fail;
	}
	rc = conn_open(k, &w->conn, why, sizeof(why));
	if (!rc)
		rc = conn_write(&w->conn, req.data, req.len, now_ms() + k->io_ms, why, sizeof(why));
	if (!rc)
		rc = read_head(&w->conn, &w->rd.http, "GET", KS_HTTP_MAX_STREAM_BYTES, k->io_ms, &h, &done, &got, why,
			       sizeof(why));
	if (rc) {
		snprintf(err, errlen, "watch %s: %s", path, why);
		goto fail;
	}
	if (h.status != 200) {
		/* the Status body says why; read a bounded amount of it */
		bs = (struct body_sink){ &body, ERR_BODY_MAX, 0 };
		ks_http_parser_set_sink(&w->rd.http, body_append, &bs);
		if (!done && read_body(&w->conn, &w->rd.http, &bs, k->io_ms, why, sizeof(why)))
			ks_buf_reset(&body);
		kube_status_message(body.data, body.len, msg, sizeof(msg));
		snprintf(err, errlen, "watch %s: HTTP %d: %s", path, h.status, msg);
		rc = h.status == 410 ? KUBE_WATCH_GONE : kube_status_errno(h.status);
		goto fail;
	}
	if (done) {
		snprintf(err, errlen, "watch %s: HTTP 200 without a body", path);
		rc = -EPROTO;
		goto fail;
	}
	k->st.requests++;
	/* the server ends the watch at timeoutSeconds; this is for one that does not */
	w->deadline = now_ms() + (long long)(timeout_s + 10) * 1000;
	*out = w;
	rc = 0;
	goto out;
fail:
	conn_close(&w->conn);
	kube_watch_reader_free(&w->rd);
	free(w);
out:
	ks_buf_free(&url);
	ks_buf_free(&req);
	ks_buf_free(&body);
	return rc;
}

int kube_watch_fd(const struct kube_watch *w)
{
	return w->conn.fd;
}

const char *kube_watch_rv(const struct kube_watch *w)
{
	return w->rd.dec.rv;
}

void kube_watch_close(struct kube_watch *w)
{
	if (!w)
		return;
	conn_close(&w->conn);
	kube_watch_reader_free(&w->rd);
	free(w);
}

int kube_watch_next(struct kube_watch *w, int wait_ms, kube_event_fn cb, void *arg, char *err,
		    size_t errlen)
{
	struct kube_conn *c = &w->conn;
	size_t drained = 0;
	long long deadline;
	char why[1024];
	ssize_t n;
	int rc;

	if (w->rd.result)
		return kube_watch_reader_feed(&w->rd, "", 0, cb, arg, err, errlen);
	/* bytes that came with the response head */
	if (c->rx_pos < c->rx_len) {
		n = (ssize_t)(c->rx_len - c->rx_pos);
		c->rx_pos = c->rx_len;
		rc = kube_watch_reader_feed(&w->rd, c->rx + c->rx_len - n, (size_t)n, cb, arg, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "watch %s: %s", w->path,
				 rc == KUBE_WATCH_CLOSED ? "ended by the server" : why);
			return rc;
		}
		wait_ms = 0;
	}
	deadline = wait_ms < 0 ? w->deadline : now_ms() + wait_ms;
	if (deadline > w->deadline)
		deadline = w->deadline;
	/* drain what has arrived, but give a flood's reader its loop back
	 * every 4 MiB; the rest stays in the socket, so poll() still fires */
	while (drained < (4u << 20)) {
		n = conn_read(c, w->buf, sizeof(w->buf), deadline, why, sizeof(why));
		if (n == -ETIMEDOUT) {
			if (now_ms() < w->deadline)
				return 0;
			snprintf(err, errlen, "watch %s: the server did not end it within %d s", w->path,
				 w->timeout_s + 10);
			w->rd.result = KUBE_WATCH_CLOSED;
			return KUBE_WATCH_CLOSED;
		}
		if (n < 0) {
			/* a reset or TLS failure mid-stream is a dropped watch */
			snprintf(err, errlen, "watch %s: dropped after %llu events: %s", w->path, w->rd.dec.events, why);
			w->rd.result = KUBE_WATCH_CLOSED;
			return KUBE_WATCH_CLOSED;
		}
		if (n == 0) {
			why[0] = '\0';
			rc = kube_watch_reader_eof(&w->rd, cb, arg, why, sizeof(why));
			snprintf(err, errlen, "watch %s: %s", w->path, why[0] ? why : "connection closed by the server");
			return rc;
		}
		drained += (size_t)n;
		rc = kube_watch_reader_feed(&w->rd, w->buf, (size_t)n, cb, arg, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "watch %s: %s", w->path,
				 rc == KUBE_WATCH_CLOSED ? "ended by the server" : why);
			return rc;
		}
		deadline = now_ms(); /* from here on, only what is already there */
	}
	return 0;
}

int kube_watch(struct kube_client *k, const char *path, char *rv, size_t rvlen, bool bookmarks,
	       int timeout_s, kube_event_fn cb, void *arg, char *err, size_t errlen)
{
	struct kube_watch *w;
	int rc = kube_watch_open(k, path, rv, bookmarks, timeout_s, &w, err, errlen);

	if (rc)
		return rc;
	do
		rc = kube_watch_next(w, -1, cb, arg, err, errlen);
	while (!rc);
	if (rvlen)
		snprintf(rv, rvlen, "%s", kube_watch_rv(w));
	kube_watch_close(w);
	return rc;
}

unsigned int kube_backoff_ms(unsigned int attempt, unsigned int base_ms, unsigned int cap_ms)
{
	static _Thread_local uint64_t s;
	unsigned long long ceil = base_ms;
	unsigned int i;

	if (!s)
		s = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&s;
	for (i = 0; i < attempt && ceil && ceil < cap_ms; i++)
		ceil <<= 1;
	if (ceil > cap_ms)
		ceil = cap_ms;
	/* xorshift64: uniform enough for jitter, and no shared libc state */
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (unsigned int)(s % (ceil + 1));
}
