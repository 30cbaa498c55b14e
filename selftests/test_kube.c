// SPDX-License-Identifier: GPL-2.0
/*
 * The Kubernetes client (user/lib/kube*.c): kubeconfig and in-cluster
 * configuration, the chunked and watch-event decoders at every split, the
 * List splitter, backoff bounds, the HTTP client against a canned server on
 * loopback (a forked process speaking fixed byte sequences: chunked watch
 * streams, 410s, connections dropped mid-chunk, keep-alive, Content-Length
 * bodies), TLS against an mbedTLS server with openssl-made certificates,
 * and, when selftests/fake_apiserver.py exists, end to end against it.
 * No root needed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include "fakeapi.h"
#include "test_progs.h"
#include "fixture.h"
#include "kube.h"

static char tdir[128];
static char shout[1 << 16];

static const char *test_dir(void)
{
	if (!tdir[0]) {
		snprintf(tdir, sizeof(tdir), "/tmp/ksense-kube-XXXXXX");
		if (!mkdtemp(tdir))
			snprintf(tdir, sizeof(tdir), "/tmp");
	}
	return tdir;
}

static void write_file(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_file(const char *name, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_dir(), name);
	f = fopen(path, "w");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* The temporary directory goes when the runner exits (forked helpers
 * leave with _exit, so only the runner gets here). */
__attribute__((destructor)) static void remove_test_dir(void)
{
	char cmd[200];

	if (tdir[0] && strcmp(tdir, "/tmp")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
		if (system(cmd))
			fprintf(stderr, "test_kube: could not remove %s\n", tdir);
	}
}

static const char *tpath(const char *name)
{
	static char bufs[4][512];
	static int n;
	char *p = bufs[n++ % 4];

	snprintf(p, 512, "%s/%s", test_dir(), name);
	return p;
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- configuration ---- */

static char *b64(const char *s)
{
	static char out[4][2048];
	static int n;
	char *o = out[n++ % 4];
	size_t olen;

	mbedtls_base64_encode((unsigned char *)o, 2048, &olen, (const unsigned char *)s, strlen(s));
	return o;
}

#define FAKE_CERT "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
#define FAKE_KEY  "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"

static void test_config_kubeconfig(void)
{
	struct kube_config c;
	char err[1024];
	int rc;

	/* what kind writes, with a token user added and a second context */
	write_file("kc-token",
		   "apiVersion: v1\n"
		   "kind: Config\n"
		   "preferences: {}\n"
		   "clusters:\n"
		   "- cluster:\n"
		   "    certificate-authority-data: %s\n"
		   "    server: https://127.0.0.1:43211\n"
		   "  name: kind-kind\n"
		   "- cluster:\n"
		   "    insecure-skip-tls-verify: true\n"
		   "    server: \"https://[::1]:6443/k8s/clusters/c-1/\"\n"
		   "  name: other\n"
		   "contexts:\n"
		   "- context:\n"
		   "    cluster: kind-kind\n"
		   "    user: kind-kind\n"
		   "  name: kind-kind\n"
		   "- context: {cluster: other, user: tok, namespace: team-a}\n"
		   "  name: other\n"
		   "current-context: kind-kind   # a comment\n"
		   "users:\n"
		   "- name: kind-kind\n"
		   "  user:\n"
		   "    client-certificate-data: %s\n"
		   "    client-key-data: %s\n"
		   "- name: tok\n"
		   "  user:\n"
		   "    token: 'abc.def-123'\n",
		   b64(FAKE_CERT), b64(FAKE_CERT), b64(FAKE_KEY));

	if (test__start_subtest("config_client_cert_data")) {
		rc = kube_config_load(&c, tpath("kc-token"), NULL, err, sizeof(err));
		if (ASSERT_OK(rc, "load")) {
			ASSERT_EQ(strcmp(c.context, "kind-kind"), 0, "current-context");
			ASSERT_EQ(strcmp(c.host, "127.0.0.1"), 0, "host");
			ASSERT_EQ(c.port, 43211, "port");
			ASSERT_TRUE(c.https, "https");
			ASSERT_FALSE(c.insecure, "not insecure");
			ASSERT_TRUE(c.ca_pem && strstr(c.ca_pem, "BEGIN CERTIFICATE"), "CA from -data");
			ASSERT_TRUE(c.cert_pem && strstr(c.cert_pem, "BEGIN CERTIFICATE"), "client cert");
			ASSERT_TRUE(c.key_pem && strstr(c.key_pem, "PRIVATE KEY"), "client key");
			ASSERT_EQ(c.token[0], 0, "no token");
			ASSERT_EQ(strcmp(c.namespace_, "default"), 0, "default namespace");
			kube_config_free(&c);
		} else {
			printf("  err: %s\n", err);
		}
	}
	if (test__start_subtest("config_context_switch_token_insecure")) {
		rc = kube_config_load(&c, tpath("kc-token"), "other", err, sizeof(err));
		if (ASSERT_OK(rc, "load other")) {
			ASSERT_EQ(strcmp(c.host, "::1"), 0, "IPv6 host");
			ASSERT_EQ(c.port, 6443, "port");
			ASSERT_EQ(strcmp(c.base_path, "/k8s/clusters/c-1"), 0, "base path");
			ASSERT_TRUE(c.insecure, "insecure");
			ASSERT_TRUE(!c.ca_pem, "no CA");
			ASSERT_EQ(strcmp(c.token, "abc.def-123"), 0, "token");
			ASSERT_EQ(strcmp(c.namespace_, "team-a"), 0, "namespace");
			kube_config_free(&c);
		}
		/* switching current-context in the file does the same */
		write_file("kc-switch", "current-context: other\n"
			   "clusters: [{name: other, cluster: {server: 'http://localhost'}}]\n"
			   "contexts: [{name: other, context: {cluster: other}}]\n");
		rc = kube_config_load(&c, tpath("kc-switch"), NULL, err, sizeof(err));
		if (ASSERT_OK(rc, "flow style")) {
			ASSERT_FALSE(c.https, "http");
			ASSERT_EQ(c.port, 80, "default port");
			ASSERT_EQ(c.token[0], 0, "anonymous");
			kube_config_free(&c);
		}
		rc = kube_config_load(&c, tpath("kc-token"), "nope", err, sizeof(err));
		ASSERT_EQ(rc, -ENOENT, "unknown context");
		ASSERT_STRHAS(err, "context \"nope\" not found in contexts", "names the context");
	}
	if (test__start_subtest("config_ca_file_token_file")) {
		mkdir(tpath("sub"), 0755);
		write_file("sub/ca.pem", "%s", FAKE_CERT);
		write_file("sub/tok", "file-token-1\n");
		write_file("sub/kc", "current-context: c\n"
			   "clusters:\n- name: cl\n  cluster:\n    server: https://kube.example:8443\n"
			   "    certificate-authority: ca.pem\n"
			   "contexts:\n- name: c\n  context:\n    cluster: cl\n    user: u\n"
			   "users:\n- name: u\n  user:\n    tokenFile: tok\n");
		rc = kube_config_load(&c, tpath("sub/kc"), NULL, err, sizeof(err));
		if (ASSERT_OK(rc, "relative files")) {
			ASSERT_TRUE(c.ca_pem && !strcmp(c.ca_pem, FAKE_CERT), "CA file relative to kubeconfig");
			ASSERT_EQ(strcmp(c.token, "file-token-1"), 0, "token file, newline trimmed");
			ASSERT_STRHAS(c.token_path, "sub/tok", "token path kept for re-reading");
			ASSERT_EQ(strcmp(c.host, "kube.example"), 0, "host name");
			kube_config_free(&c);
		} else {
			printf("  err: %s\n", err);
		}
		/* $KUBECONFIG: the first existing file of the list */
		setenv("KUBECONFIG", "/nonexistent/kc:", 1);
		rc = kube_config_load(&c, NULL, NULL, err, sizeof(err));
		ASSERT_EQ(rc, -ENOENT, "KUBECONFIG without files");
		ASSERT_STRHAS(err, "KUBECONFIG", "names KUBECONFIG");
		char env[600];

		snprintf(env, sizeof(env), "/nonexistent/kc:%s", tpath("sub/kc"));
		setenv("KUBECONFIG", env, 1);
		rc = kube_config_load(&c, NULL, NULL, err, sizeof(err));
		if (ASSERT_OK(rc, "KUBECONFIG second file"))
			kube_config_free(&c);
		unsetenv("KUBECONFIG");
	}
	if (test__start_subtest("config_errors_name_the_field")) {
		static const struct {
			const char *yaml;
			const char *want;
		} cases[] = {
			{ "current-context: c\nclusters:\n- name: cl\n  cluster:\n    insecure-skip-tls-verify: true\n"
			  "contexts:\n- name: c\n  context: {cluster: cl}\n",
			  "line 5: clusters[name=cl].cluster.server is missing" },
			{ "clusters: []\ncontexts: []\n", "current-context is missing" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
			  "contexts:\n- name: c\n  context: {cluster: cl, user: u}\nusers: []\n",
			  "user \"u\" not found in users" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
			  "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
			  "users:\n- name: u\n  user:\n    client-certificate-data: TUlJQg==\n",
			  "users[name=u].user has a client certificate but no client-key or client-key-data" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
			  "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
			  "users:\n- name: u\n  user:\n    client-key-data: '!!notbase64!!'\n",
			  "users[name=u].user.client-key-data: not valid base64" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
			  "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
			  "users:\n- name: u\n  user:\n    exec: {command: aws}\n",
			  "users[name=u].user.exec is not supported" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h:99999'}\n"
			  "contexts:\n- name: c\n  context: {cluster: cl}\n",
			  "clusters[name=cl].cluster.server: server https://h:99999: port is not a number" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h', "
			  "certificate-authority: /nonexistent/ca.crt}\ncontexts:\n- name: c\n  context: {cluster: cl}\n",
			  "clusters[name=cl].cluster.certificate-authority: /nonexistent/ca.crt: No such file" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h', "
			  "insecure-skip-tls-verify: maybe}\ncontexts:\n- name: c\n  context: {cluster: cl}\n",
			  "insecure-skip-tls-verify is \"maybe\", not true or false" },
			{ "current-context: c\nclusters:\n- name: cl\n  cluster: {server: 'https://h'}\n"
			  "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
			  "users:\n- name: u\n  user: {token: \"a\\nHost: evil\"}\n",
			  "users[name=u].user.token: byte 1 of the token is not printable ASCII" },
			/* bad YAML: a tab indent and an unclosed flow mapping */
			{ "current-context: c\nclusters:\n\t- name: x\n", "YAML error at line 3" },
			{ "current-context: c\nclusters: [{name: x\ncontexts: []\n", "YAML error at line" },
			{ "", "empty file" },
			{ "- a\n- b\n", "line 1: the document is not a mapping" },
		};
		size_t i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char name[32];

			snprintf(name, sizeof(name), "kc-bad-%zu", i);
			write_file(name, "%s", cases[i].yaml);
			err[0] = '\0';
			rc = kube_config_load(&c, tpath(name), NULL, err, sizeof(err));
			if (!ASSERT_LT(rc, 0, name) || !ASSERT_STRHAS(err, cases[i].want, name))
				printf("  case %zu err: %s\n", i, err);
			ASSERT_STRHAS(err, tpath(name), "names the file");
			ASSERT_TRUE(!c.ca_pem && !c.cert_pem && !c.key_pem, "nothing leaked on error");
		}
		rc = kube_config_load(&c, "/nonexistent/kubeconfig", NULL, err, sizeof(err));
		ASSERT_EQ(rc, -ENOENT, "missing file");
		ASSERT_STRHAS(err, "kubeconfig /nonexistent/kubeconfig: No such file", "missing file message");
	}
}

static void test_config_in_cluster(void)
{
	struct kube_config c;
	char err[1024];
	int rc;

	if (!test__start_subtest("config_in_cluster"))
		return;
	mkdir(tpath("sa"), 0755);
	write_file("sa/token", "eyJhbGciOi.sa-token\n");
	write_file("sa/ca.crt", "%s", FAKE_CERT);
	write_file("sa/namespace", "ksense-system");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv(KUBE_SA_DIR_ENV, tpath("sa"), 1);
	rc = kube_config_in_cluster(&c, NULL, err, sizeof(err));
	if (ASSERT_OK(rc, "in-cluster")) {
		ASSERT_EQ(strcmp(c.host, "10.96.0.1"), 0, "host");
		ASSERT_EQ(c.port, 443, "port");
		ASSERT_TRUE(c.https, "https");
		ASSERT_EQ(strcmp(c.token, "eyJhbGciOi.sa-token"), 0, "token");
		ASSERT_STRHAS(c.token_path, "sa/token", "token path for rotation");
		ASSERT_TRUE(c.ca_pem && strstr(c.ca_pem, "BEGIN CERTIFICATE"), "CA");
		ASSERT_EQ(strcmp(c.namespace_, "ksense-system"), 0, "namespace");
		kube_config_free(&c);
	} else {
		printf("  err: %s\n", err);
	}
	/* the fallback of kube_config_load when there is no kubeconfig */
	setenv("HOME", "/nonexistent", 1);
	unsetenv("KUBECONFIG");
	rc = kube_config_load(&c, NULL, NULL, err, sizeof(err));
	if (ASSERT_OK(rc, "fallback to in-cluster")) {
		ASSERT_STRHAS(c.source, "in-cluster", "source");
		kube_config_free(&c);
	}
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	rc = kube_config_in_cluster(&c, NULL, err, sizeof(err));
	if (ASSERT_OK(rc, "IPv6 service host")) {
		ASSERT_EQ(strcmp(c.server, "https://[fd00::1]:443"), 0, "bracketed");
		kube_config_free(&c);
	}
	unlink(tpath("sa/token"));
	rc = kube_config_in_cluster(&c, NULL, err, sizeof(err));
	ASSERT_EQ(rc, -ENOENT, "no token");
	ASSERT_STRHAS(err, "sa/token: No such file", "names the token file");
	unsetenv("KUBERNETES_SERVICE_HOST");
	rc = kube_config_in_cluster(&c, NULL, err, sizeof(err));
	ASSERT_EQ(rc, -ENOENT, "not in a pod");
	ASSERT_STRHAS(err, "KUBERNETES_SERVICE_HOST", "names the variable");
	rc = kube_config_load(&c, NULL, NULL, err, sizeof(err));
	ASSERT_EQ(rc, -ENOENT, "nothing at all");
	ASSERT_STRHAS(err, "no Kubernetes configuration", "says so");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv(KUBE_SA_DIR_ENV);
}

KS_TEST(kube_config)
{
	/* the tests steer HOME and KUBECONFIG; the caller's come back after */
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *kc = getenv("KUBECONFIG") ? strdup(getenv("KUBECONFIG")) : NULL;

	test_config_kubeconfig();
	test_config_in_cluster();
	if (home)
		setenv("HOME", home, 1);
	if (kc)
		setenv("KUBECONFIG", kc, 1);
	free(home);
	free(kc);
}

/* ---- decoders ---- */

struct rec {
	char log[4096];
	int n;
	int stop_at; /* return 99 at this event (1-based), 0: never */
};

static int rec_event(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j)
{
	struct rec *r = arg;
	char name[64] = "?", rv[64] = "?";
	size_t l = strlen(r->log);

	ks_json_string(j, ks_json_path(j, "metadata.name"), name, sizeof(name));
	ks_json_string(j, ks_json_path(j, "metadata.resourceVersion"), rv, sizeof(rv));
	/* the text handed over is the object, whole */
	if (len < 2 || json[0] != '{' || json[len - 1] != '}')
		snprintf(name, sizeof(name), "BADTEXT");
	if (l < sizeof(r->log) - 1)
		snprintf(r->log + l, sizeof(r->log) - l, "%s:%s:%s;", type, name, rv);
	r->n++;
	return r->stop_at && r->n == r->stop_at ? 99 : 0;
}

/* Feed s in pieces: cuts[] are the offsets where a piece ends (sorted),
 * then the rest.  Returns the first nonzero result (or 0). */
static int feed_cuts(struct kube_watch_decoder *d, const char *s, size_t len, const size_t *cuts, int ncuts,
		     struct rec *r, char *err, size_t errlen)
{
	size_t off = 0;
	int i, rc;

	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (end < off)
			continue;
		rc = kube_watch_decoder_feed(d, s + off, end - off, rec_event, r, err, errlen);
		if (rc)
			return rc;
		off = end;
	}
	return 0;
}

static const char *ev_added = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
			      "\"resourceVersion\":\"8\"},\"spec\":{\"nodeName\":\"\"}}}\n";
static const char *ev_modified = "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\","
				 "\"resourceVersion\":\"9\",\"labels\":{\"x\":\"line\\nbreak\"}}}}\n";
static const char *ev_bookmark = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
				 "{\"resourceVersion\":\"12\"}}}\n";
static const char *ev_deleted = "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\","
				"\"resourceVersion\":\"13\"}}}\r\n";

/* A chunked stream of the four events, with a chunk extension, an event
 * cut across chunks, two events in one chunk, and a trailer. */
static size_t build_stream(char *out, size_t outlen)
{
	size_t n = 0, dl = strlen(ev_deleted);

	n += snprintf(out + n, outlen - n, "%zx;name=\"v\"\r\n%s\r\n", strlen(ev_added), ev_added);
	n += snprintf(out + n, outlen - n, "%zx\r\n%s%s\r\n", strlen(ev_modified) + strlen(ev_bookmark),
		      ev_modified, ev_bookmark);
	n += snprintf(out + n, outlen - n, "%zx\r\n%.*s\r\n", dl / 2, (int)(dl / 2), ev_deleted);
	n += snprintf(out + n, outlen - n, "%zX \r\n%s\r\n", dl - dl / 2, ev_deleted + dl / 2);
	n += snprintf(out + n, outlen - n, "0\r\nX-Trailer: 1\r\n\r\n");
	return n;
}

static const char *want_log = "ADDED:a:8;MODIFIED:a:9;DELETED:a:13;";

static void test_decoder_splits(void)
{
	struct kube_watch_decoder d;
	char stream[4096], err[512];
	size_t len = build_stream(stream, sizeof(stream)), i, k;
	struct rec r;
	int rc;
	bool all_ok = true;

	if (test__start_subtest("decoder_whole")) {
		memset(&r, 0, sizeof(r));
		kube_watch_decoder_init(&d, true, 0, "7");
		rc = kube_watch_decoder_feed(&d, stream, len, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "terminal chunk ends the stream");
		ASSERT_EQ(strcmp(r.log, want_log), 0, "events");
		ASSERT_EQ(strcmp(d.rv, "13"), 0, "rv of the last event");
		ASSERT_EQ(d.bookmarks, 1, "one bookmark");
		kube_watch_decoder_free(&d);
	}
	if (test__start_subtest("decoder_split_at_every_offset")) {
		for (i = 0; i <= len; i++) {
			memset(&r, 0, sizeof(r));
			kube_watch_decoder_init(&d, true, 0, "7");
			rc = feed_cuts(&d, stream, len, &i, 1, &r, err, sizeof(err));
			if (rc != KUBE_WATCH_CLOSED || strcmp(r.log, want_log) || strcmp(d.rv, "13")) {
				all_ok = false;
				printf("  split at %zu: rc %d log %s err %s\n", i, rc, r.log, err);
			}
			kube_watch_decoder_free(&d);
			if (!all_ok)
				break;
		}
		ASSERT_TRUE(all_ok, "same events wherever the stream is cut");
		/* three cuts at a stride: every pair of boundaries across the
		 * chunk framing */
		for (i = 1; all_ok && i < len; i += 7)
			for (k = i; all_ok && k < len; k += 13) {
				size_t cuts[3] = { i / 2, i, k };

				memset(&r, 0, sizeof(r));
				kube_watch_decoder_init(&d, true, 0, "7");
				rc = feed_cuts(&d, stream, len, cuts, 3, &r, err, sizeof(err));
				if (rc != KUBE_WATCH_CLOSED || strcmp(r.log, want_log))
					all_ok = false;
				kube_watch_decoder_free(&d);
			}
		ASSERT_TRUE(all_ok, "same events for three cuts");
		/* one byte at a time */
		memset(&r, 0, sizeof(r));
		kube_watch_decoder_init(&d, true, 0, "7");
		for (i = 0, rc = 0; i < len && !rc; i++)
			rc = kube_watch_decoder_feed(&d, stream + i, 1, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "byte at a time");
		ASSERT_EQ(i, len, "ends at the last byte");
		ASSERT_EQ(strcmp(r.log, want_log), 0, "byte at a time events");
		kube_watch_decoder_free(&d);
	}
	if (test__start_subtest("decoder_1mb_event_byte_at_a_time")) {
		size_t body = 1000 * 1000, evlen, n;
		char *ev = malloc(body + 512), *chunked = malloc(body + 1024);

		if (!ASSERT_OK_PTR(ev, "alloc") || !ASSERT_OK_PTR(chunked, "alloc")) {
			free(ev);
			free(chunked);
			return;
		}
		n = (size_t)sprintf(ev, "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"big\","
				    "\"resourceVersion\":\"77\",\"annotations\":{\"a\":\"");
		memset(ev + n, 'x', body);
		n += body;
		n += (size_t)sprintf(ev + n, "\"}}}}\n");
		evlen = n;
		n = (size_t)sprintf(chunked, "%zx\r\n", evlen);
		memcpy(chunked + n, ev, evlen);
		n += evlen;
		n += (size_t)sprintf(chunked + n, "\r\n0\r\n\r\n");
		memset(&r, 0, sizeof(r));
		kube_watch_decoder_init(&d, true, 0, NULL);
		for (i = 0, rc = 0; i < n && !rc; i++)
			rc = kube_watch_decoder_feed(&d, chunked + i, 1, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "1 MB event");
		ASSERT_EQ(strcmp(r.log, "MODIFIED:big:77;"), 0, "delivered whole");
		kube_watch_decoder_free(&d);

		/* past ks_json's 1 MiB: the decoder's own larger limit */
		free(chunked);
		chunked = malloc(3 * body + 1024);
		if (chunked) {
			n = (size_t)sprintf(chunked, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"huge\","
					    "\"resourceVersion\":\"78\"},\"data\":\"");
			memset(chunked + n, 'y', 3 * body);
			n += 3 * body;
			n += (size_t)sprintf(chunked + n, "\"}}\n");
			memset(&r, 0, sizeof(r));
			kube_watch_decoder_init(&d, false, 0, NULL);
			for (i = 0, rc = 0; i < n && !rc; i += 65536)
				rc = kube_watch_decoder_feed(&d, chunked + i, n - i < 65536 ? n - i : 65536, rec_event,
							     &r, err, sizeof(err));
			ASSERT_OK(rc, "3 MB event");
			ASSERT_EQ(strcmp(r.log, "ADDED:huge:78;"), 0, "3 MB event delivered");
			kube_watch_decoder_free(&d);
			/* and over a small cap: an error, not a crash */
			kube_watch_decoder_init(&d, false, 4096, NULL);
			rc = kube_watch_decoder_feed(&d, chunked, n, rec_event, &r, err, sizeof(err));
			ASSERT_EQ(rc, -E2BIG, "over the event cap");
			ASSERT_STRHAS(err, "over the 4096 byte limit", "cap message");
			kube_watch_decoder_free(&d);
		}
		free(ev);
		free(chunked);
	}
}

static int decode_all(const char *s, bool chunked, const char *rv, struct rec *r, char *err, size_t errlen,
		      char *rv_out)
{
	struct kube_watch_decoder d;
	int rc;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	kube_watch_decoder_init(&d, chunked, 0, rv);
	d.quiet = true;
	rc = kube_watch_decoder_feed(&d, s, strlen(s), rec_event, r, err, errlen);
	if (!rc)
		rc = kube_watch_decoder_finish(&d, rec_event, r, err, errlen);
	if (rv_out)
		strcpy(rv_out, d.rv);
	kube_watch_decoder_free(&d);
	return rc;
}

static void test_decoder_errors(void)
{
	char err[512], rv[KUBE_RV_MAX];
	struct rec r;
	int rc;

	if (test__start_subtest("decoder_chunk_framing")) {
		rc = decode_all("5;ext=1;other=\"q\"\r\n{\"a\":\r\n0\r\n\r\n", true, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EBADMSG, "extensions skipped, truncated JSON found");
		ASSERT_STRHAS(err, "watch event 1", "names the event");
		rc = decode_all("zz\r\n", true, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EPROTO, "malformed hex size");
		ASSERT_STRHAS(err, "byte 0: expected a hex chunk size, got 'z'", "offset and byte");
		rc = decode_all("4\r\n\n\n\n\nXY", true, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EPROTO, "no CRLF after data");
		ASSERT_STRHAS(err, "byte 7: expected CRLF after chunk data", "names the spot");
		rc = decode_all("1g\r\n", true, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EPROTO, "junk after size");
		rc = decode_all("fffffffffffffffffff\r\n", true, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EPROTO, "size overflow");
		ASSERT_STRHAS(err, "over 2^60", "overflow message");
		rc = decode_all("0\r\n\r\n", true, "5", &r, err, sizeof(err), rv);
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "empty stream");
		ASSERT_EQ(strcmp(rv, "5"), 0, "rv untouched");
		rc = decode_all("10\r\n{\"type\":\"ADD", true, "5", &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "dropped mid-chunk is a close");
		ASSERT_STRHAS(err, "dropped mid-event", "says dropped");
		/* bare LF line ends, as Go accepts */
		rc = decode_all("3\n{}\n\n0\n\n", true, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EBADMSG, "bare LF framing accepted; {} is no event");
		ASSERT_STRHAS(err, "\"type\" is missing", "names the missing type");
	}
	if (test__start_subtest("decoder_events")) {
		const char *gone = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p\",\"resourceVersion\":\"20\"}}}\n"
				   "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
				   "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (20)\","
				   "\"reason\":\"Expired\",\"code\":410}}\n";

		rc = decode_all(gone, false, "1", &r, err, sizeof(err), rv);
		ASSERT_EQ(rc, KUBE_WATCH_GONE, "ERROR 410 is GONE");
		ASSERT_STRHAS(err, "too old resource version", "message kept");
		ASSERT_EQ(strcmp(r.log, "ADDED:p:20;"), 0, "event before it delivered");
		ASSERT_EQ(strcmp(rv, "20"), 0, "rv of that event");
		rc = decode_all("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd down\"}}\n",
				false, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EPROTO, "ERROR 500");
		ASSERT_STRHAS(err, "code 500: etcd down", "status message");
		rc = decode_all("{\"type\":\"SURPRISE\",\"object\":{}}\n"
				"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"q\",\"resourceVersion\":\"3\"}},"
				"\"unknownField\":[1,2]}\n", false, NULL, &r, err, sizeof(err), rv);
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "unknown type skipped, unknown field ignored");
		ASSERT_EQ(strcmp(r.log, "ADDED:q:3;"), 0, "the next event delivered");
		rc = decode_all("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"q\"}}", false, NULL, &r,
				err, sizeof(err), NULL);
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "a truncated last line of an identity stream is a drop");
		ASSERT_STRHAS(err, "dropped mid-event", "dropped");
		rc = decode_all("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"q\"}}\n{\"type\":1}\n", false,
				NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EBADMSG, "malformed JSON line");
		ASSERT_STRHAS(err, "watch event 1 (stream byte 0)", "context");
		rc = decode_all("[1,2]\n", false, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EBADMSG, "array event");
		ASSERT_STRHAS(err, "not an object", "says so");
		rc = decode_all("{\"type\":\"ADDED\",\"object\":\"str\"}\n", false, NULL, &r, err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EBADMSG, "object not an object");
		rc = decode_all("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":7}}}\n", false, NULL, &r,
				err, sizeof(err), NULL);
		ASSERT_EQ(rc, -EBADMSG, "numeric resourceVersion");
		rc = decode_all("\n\r\n  \n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"99\"}}}", false,
				"1", &r, err, sizeof(err), rv);
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "blank lines and a final line without newline");
		ASSERT_EQ(strcmp(rv, "99"), 0, "bookmark moves rv");
		ASSERT_EQ(r.n, 0, "bookmark not delivered");
		/* a callback's stop value ends decoding and sticks */
		{
			struct kube_watch_decoder d;
			char stream[4096];
			size_t len = build_stream(stream, sizeof(stream));

			memset(&r, 0, sizeof(r));
			r.stop_at = 2;
			kube_watch_decoder_init(&d, true, 0, NULL);
			rc = kube_watch_decoder_feed(&d, stream, len, rec_event, &r, err, sizeof(err));
			ASSERT_EQ(rc, 99, "stop value returned");
			ASSERT_EQ(strcmp(d.rv, "9"), 0, "rv of the stopping event");
			rc = kube_watch_decoder_feed(&d, "", 0, rec_event, &r, err, sizeof(err));
			ASSERT_EQ(rc, 99, "sticky");
			kube_watch_decoder_free(&d);
		}
	}
}

struct items {
	char log[2048];
	int n;
};

static int rec_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct items *it = arg;
	char name[64] = "?";
	size_t l = strlen(it->log);

	if (!json) {
		snprintf(it->log + l, sizeof(it->log) - l, "RESET;");
		return 0;
	}
	ks_json_string(j, ks_json_path(j, "metadata.name"), name, sizeof(name));
	if (len < 2 || json[0] != '{' || json[len - 1] != '}')
		snprintf(name, sizeof(name), "BADTEXT");
	snprintf(it->log + l, sizeof(it->log) - l, "%s;", name);
	it->n++;
	return 0;
}

static int split(const char *s, struct items *it, char *rv, char *cont, char *err)
{
	memset(it, 0, sizeof(*it));
	return kube_list_split(s, strlen(s), rec_item, it, rv, KUBE_RV_MAX, cont, 256, err, 512);
}

static void test_list_split(void)
{
	char rv[KUBE_RV_MAX], cont[256], err[512];
	struct items it;
	int rc;

	if (!test__start_subtest("list_split"))
		return;
	rc = split(" {\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"55\","
		   "\"continue\":\"eyJ2Ijoi\\u003d\"},\"items\":[{\"metadata\":{\"name\":\"a\",\"x\":\"]}\\\"\"}},"
		   " {\"metadata\":{\"name\":\"b\"},\"spec\":{\"l\":[[],{}]}} ] , \"extra\":[1,{\"k\":null}]}\n",
		   &it, rv, cont, err);
	if (!ASSERT_OK(rc, "split"))
		printf("  err: %s\n", err);
	ASSERT_EQ(strcmp(it.log, "a;b;"), 0, "items, brackets in strings ignored");
	ASSERT_EQ(strcmp(rv, "55"), 0, "rv");
	ASSERT_EQ(strcmp(cont, "eyJ2Ijoi="), 0, "continue unescaped");
	rc = split("{\"items\":null,\"metadata\":{}}", &it, rv, cont, err);
	ASSERT_OK(rc, "null items");
	ASSERT_EQ(it.n, 0, "no items");
	ASSERT_EQ(rv[0], 0, "no rv");
	rc = split("{\"kind\":\"Status\",\"code\":500}", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "not a list");
	ASSERT_STRHAS(err, "no \"items\"", "message");
	rc = split("{\"items\":[{\"a\":1},{\"b\" 2}]}", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "bad item");
	ASSERT_STRHAS(err, "list item 1", "names the item");
	ASSERT_EQ(it.n, 1, "the good item before it was delivered");
	rc = split("{\"items\":[{\"a\":1}", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "truncated");
	rc = split("{\"items\":[]} x", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "trailing junk");
	rc = split("{\"items\":{}}", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "items an object");
	rc = split("{\"items\":[1]}", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "item not an object");
	rc = split("{\"items\":[{\"a\":[}]}", &it, rv, cont, err);
	ASSERT_EQ(rc, -EBADMSG, "mismatched brackets");
}

KS_TEST(kube_decoder)
{
	test_decoder_splits();
	test_decoder_errors();
	test_list_split();
}

KS_TEST(kube_backoff)
{
	unsigned int a, i, d, max_seen = 0;
	unsigned long long sum = 0;

	for (a = 0; a < 40; a++)
		for (i = 0; i < 200; i++) {
			unsigned int ceil = a < 20 && (100u << a) < 30000 ? 100u << a : 30000;

			d = kube_backoff_ms(a, 100, 30000);
			if (!ASSERT_LE(d, ceil, "within min(cap, base*2^attempt)"))
				return;
			if (a == 30) {
				sum += d;
				if (d > max_seen)
					max_seen = d;
			}
		}
	/* full jitter: uniform over [0, cap], so the mean is near cap/2 */
	ASSERT_GT(sum / 200, 10000, "mean at the cap above cap/3");
	ASSERT_LT(sum / 200, 20000, "mean at the cap below 2cap/3");
	ASSERT_GT(max_seen, 20000, "reaches high in the range");
	ASSERT_EQ(kube_backoff_ms(5, 0, 1000), 0, "zero base");
	ASSERT_LE(kube_backoff_ms(4000000000u, 1000, 5000), 5000, "huge attempt capped");
}

/* ---- the client against a canned server ---- */

struct shared {
	int conns;
	int reqs;
	int expire_hits;
	int list_pages;
};

static struct shared *shm;
static pid_t srv_pid = -1;
static int srv_port;

static void srv_write(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void srv_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void srv_printf(int fd, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		srv_write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void send_cl(int fd, int status, const char *body, const char *extra)
{
	srv_printf(fd, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n", status,
		   strlen(body), extra ? extra : "");
	srv_write(fd, body, strlen(body));
}

static void send_chunk(int fd, const char *s)
{
	srv_printf(fd, "%zx\r\n", strlen(s));
	srv_write(fd, s, strlen(s));
	srv_write(fd, "\r\n", 2);
}

static const char *chunked_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n";

static const char *pod_item(const char *name)
{
	static char buf[4][256];
	static int n;
	char *b = buf[n++ % 4];

	snprintf(b, 256, "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{}}", name);
	return b;
}

/* One request's answer; false closes the connection. */
static bool route(int fd, const char *method, const char *target, const char *head, const char *body,
		  size_t body_len)
{
	char buf[8192];

	(void)method;
	if (!strcmp(target, "/cl")) {
		send_cl(fd, 200, "{\"ok\":1}", NULL);
	} else if (!strcmp(target, "/stats")) {
		snprintf(buf, sizeof(buf), "{\"conns\":%d,\"reqs\":%d}", __atomic_load_n(&shm->conns, __ATOMIC_SEQ_CST),
			 __atomic_load_n(&shm->reqs, __ATOMIC_SEQ_CST));
		send_cl(fd, 200, buf, NULL);
	} else if (!strcmp(target, "/echo")) {
		snprintf(buf, sizeof(buf), "%.4000s|%.*s", head, (int)(body_len < 2000 ? body_len : 2000), body);
		send_cl(fd, 200, buf, NULL);
	} else if (!strcmp(target, "/chunked")) {
		srv_write(fd, chunked_head, strlen(chunked_head));
		srv_printf(fd, "6;a=b\r\n{\"k\":[\r\n3\r\n1,2\r\n");
		send_chunk(fd, "]}");
		srv_printf(fd, "0\r\nX-Checksum: 1\r\n\r\n");
	} else if (!strcmp(target, "/missing")) {
		send_cl(fd, 404, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			"\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}", NULL);
	} else if (!strcmp(target, "/close")) {
		send_cl(fd, 200, "{\"closing\":true}", "Connection: close\r\n");
		return false;
	} else if (!strcmp(target, "/idle-close")) {
		/* a keep-alive answer, then the server drops the idle connection */
		send_cl(fd, 200, "{}", NULL);
		usleep(100 * 1000);
		return false;
	} else if (!strcmp(target, "/dropmid")) {
		srv_write(fd, chunked_head, strlen(chunked_head));
		srv_printf(fd, "10\r\n{\"partial\"");
		return false;
	} else if (!strcmp(target, "/silent")) {
		sleep(2);
		return false;
	} else if (!strcmp(target, "/http10")) {
		srv_printf(fd, "HTTP/1.0 200 OK\r\n\r\n{\"old\":true}");
		return false;
	} else if (!strcmp(target, "/big")) {
		size_t n = 2 * 1000 * 1000;
		char *b = malloc(n + 3);

		if (!b)
			return false;
		memset(b, 'x', n + 2);
		b[0] = b[n + 1] = '"';
		b[n + 2] = '\0';
		send_cl(fd, 200, b, NULL);
		free(b);
	} else if (!strncmp(target, "/api/v1/pods?", 13)) {
		__atomic_add_fetch(&shm->list_pages, 1, __ATOMIC_SEQ_CST);
		if (!strstr(target, "limit=2"))
			send_cl(fd, 400, "{\"kind\":\"Status\",\"message\":\"no limit\"}", NULL);
		else if (!strstr(target, "continue="))
			snprintf(buf, sizeof(buf), "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"100\","
				 "\"continue\":\"tok-1\"},\"items\":[%s,%s]}", pod_item("p1"), pod_item("p2"));
		else if (strstr(target, "continue=tok-1"))
			snprintf(buf, sizeof(buf), "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"100\","
				 "\"continue\":\"tok/2=\"},\"items\":[%s,%s]}", pod_item("p3"), pod_item("p4"));
		else if (strstr(target, "continue=tok%2F2%3D"))
			snprintf(buf, sizeof(buf), "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"100\"},"
				 "\"items\":[%s]}", pod_item("p5"));
		else
			snprintf(buf, sizeof(buf), "{\"kind\":\"Status\",\"message\":\"bad continue\"}");
		send_cl(fd, strncmp(buf, "{\"kind\":\"PodList\"", 17) ? 400 : 200, buf, NULL);
	} else if (!strncmp(target, "/api/v1/expiring?", 17)) {
		if (!strstr(target, "continue="))
			snprintf(buf, sizeof(buf), "{\"metadata\":{\"resourceVersion\":\"200\",\"continue\":\"old\"},"
				 "\"items\":[%s]}", pod_item("e1"));
		else if (__atomic_fetch_add(&shm->expire_hits, 1, __ATOMIC_SEQ_CST) == 0) {
			send_cl(fd, 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"message\":\"continue token "
				"expired\",\"code\":410}", NULL);
			return true;
		} else
			snprintf(buf, sizeof(buf), "{\"metadata\":{\"resourceVersion\":\"201\"},\"items\":[%s]}",
				 pod_item("e2"));
		send_cl(fd, 200, buf, NULL);
	} else if (!strncmp(target, "/api/v1/badlist?", 16)) {
		send_cl(fd, 200, "{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"broken\" 1}]}", NULL);
	} else if (!strncmp(target, "/w/ok?", 6)) {
		if (!strstr(target, "watch=1") || !strstr(target, "resourceVersion=7") ||
		    !strstr(target, "allowWatchBookmarks=true") || !strstr(target, "timeoutSeconds=5") ||
		    !strstr(target, "fieldSelector=spec.nodeName%3D")) {
			send_cl(fd, 400, "{\"kind\":\"Status\",\"message\":\"bad watch query\"}", NULL);
			return true;
		}
		srv_write(fd, chunked_head, strlen(chunked_head));
		send_chunk(fd, ev_added);
		usleep(20 * 1000);
		snprintf(buf, sizeof(buf), "%s%s", ev_modified, ev_bookmark);
		send_chunk(fd, buf);
		snprintf(buf, sizeof(buf), "%.20s", ev_deleted);
		send_chunk(fd, buf);
		usleep(20 * 1000);
		send_chunk(fd, ev_deleted + 20);
		srv_printf(fd, "0\r\n\r\n");
	} else if (!strncmp(target, "/w/gone?", 8)) {
		send_cl(fd, 410, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
			"\"too old resource version: 7 (300)\",\"reason\":\"Expired\",\"code\":410}", NULL);
	} else if (!strncmp(target, "/w/forbidden?", 13)) {
		send_cl(fd, 403, "{\"kind\":\"Status\",\"message\":\"pods is forbidden: User \\\"x\\\" cannot watch\","
			"\"reason\":\"Forbidden\",\"code\":403}", NULL);
	} else if (!strncmp(target, "/w/error410?", 12)) {
		srv_write(fd, chunked_head, strlen(chunked_head));
		send_chunk(fd, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"e\",\"resourceVersion\":\"20\"}}}\n");
		send_chunk(fd, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
			   "\"status\":\"Failure\",\"message\":\"too old resource version: 1 (20)\",\"reason\":\"Expired\","
			   "\"code\":410}}\n");
		srv_printf(fd, "0\r\n\r\n");
	} else if (!strncmp(target, "/w/drop?", 8)) {
		srv_write(fd, chunked_head, strlen(chunked_head));
		send_chunk(fd, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"d\",\"resourceVersion\":\"30\"}}}\n");
		srv_printf(fd, "40\r\n{\"type\":\"MODIFIED\",\"obj");
		return false;
	} else if (!strncmp(target, "/w/slow?", 8)) {
		srv_write(fd, chunked_head, strlen(chunked_head));
		send_chunk(fd, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"40\"}}}\n");
		usleep(600 * 1000);
		send_chunk(fd, "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"41\"}}}\n");
		srv_printf(fd, "0\r\n\r\n");
	} else if (!strncmp(target, "/w/identity?", 12)) {
		srv_printf(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
			   "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"i\",\"resourceVersion\":\"50\"}}}\n"
			   "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"i\",\"resourceVersion\":\"51\"}}}");
		return false;
	} else if (!strncmp(target, "/w/garbage?", 11)) {
		srv_write(fd, chunked_head, strlen(chunked_head));
		srv_printf(fd, "zz\r\n");
		usleep(200 * 1000);
		return false;
	} else {
		send_cl(fd, 404, "{\"kind\":\"Status\",\"message\":\"no route\",\"reason\":\"NotFound\",\"code\":404}", NULL);
	}
	return true;
}

static void serve_conn(int fd)
{
	char req[65536];
	size_t len = 0;

	for (;;) {
		char *end, method[16], target[8192], *cl;
		size_t head_len, body_len = 0;
		ssize_t n;

		while (!(end = memmem(req, len, "\r\n\r\n", 4))) {
			if (len == sizeof(req) - 1)
				return;
			n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
			if (n <= 0)
				return;
			len += (size_t)n;
		}
		head_len = (size_t)(end - req) + 4;
		req[head_len - 2] = '\0';
		cl = strcasestr(req, "\r\nContent-Length:");
		if (cl)
			body_len = strtoul(cl + 17, NULL, 10);
		while (len < head_len + body_len && len < sizeof(req) - 1) {
			n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
			if (n <= 0)
				return;
			len += (size_t)n;
		}
		if (sscanf(req, "%15s %8191s", method, target) != 2)
			return;
		__atomic_add_fetch(&shm->reqs, 1, __ATOMIC_SEQ_CST);
		if (!route(fd, method, target, req, req + head_len, body_len))
			return;
		memmove(req, req + head_len + body_len, len - head_len - body_len);
		len -= head_len + body_len;
	}
}

static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* The canned server: its own process group, one forked handler per
 * connection (a keep-alive connection must not block a watch). */
static int start_canned_server(void)
{
	int lfd = listen_loopback(&srv_port);

	if (lfd < 0)
		return -1;
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		close(lfd);
		return -1;
	}
	memset(shm, 0, sizeof(*shm));
	srv_pid = fork();
	if (srv_pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			__atomic_add_fetch(&shm->conns, 1, __ATOMIC_SEQ_CST);
			/* headers and body go out in separate writes: without
			 * this, Nagle and delayed ACK add 40 ms to each answer */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
			if (fork() == 0) {
				alarm(20); /* a handler never outlives the test */
				close(lfd);
				serve_conn(fd);
				shutdown(fd, SHUT_RDWR);
				close(fd);
				_exit(0);
			}
			close(fd);
		}
	}
	setpgid(srv_pid, srv_pid);
	close(lfd);
	return srv_pid > 0 ? 0 : -1;
}

static void stop_server(pid_t *pid)
{
	if (*pid > 0) {
		kill(-*pid, SIGKILL); /* the group we made: server and its handlers */
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

static struct kube_client *plain_client(int port, const char *token, double qps, int burst)
{
	struct kube_config c;
	struct kube_client *k;
	char err[512];

	memset(&c, 0, sizeof(c));
	snprintf(c.host, sizeof(c.host), "127.0.0.1");
	c.port = port;
	snprintf(c.server, sizeof(c.server), "http://127.0.0.1:%d", port);
	if (token)
		snprintf(c.token, sizeof(c.token), "%s", token);
	k = kube_client_new(&c, qps, burst, err, sizeof(err));
	if (!k)
		printf("  client: %s\n", err);
	return k;
}

static int stat_field(struct kube_client *k, const char *field)
{
	struct ks_buf b;
	struct ks_json j;
	char err[512], num[16] = "-1";
	int status = 0, i;

	ks_buf_init(&b, 4096);
	if (!kube_request(k, "GET", "/stats", NULL, NULL, 0, &status, &b, err, sizeof(err)) &&
	    !ks_json_parse(&j, b.data, b.len, err, sizeof(err))) {
		i = ks_json_path(&j, field);
		if (i >= 0)
			snprintf(num, sizeof(num), "%.*s", j.tok[i].end - j.tok[i].start, b.data + j.tok[i].start);
		ks_json_free(&j);
	}
	ks_buf_free(&b);
	return atoi(num);
}

static void test_client_requests(struct kube_client *k)
{
	struct ks_buf b;
	char err[1024], msg[256];
	int status, rc, c0, i;
	long long t0;

	ks_buf_init(&b, 8 << 20);
	if (test__start_subtest("client_content_length_and_keepalive")) {
		c0 = stat_field(k, "conns");
		for (i = 0; i < 3; i++) {
			rc = kube_request(k, "GET", "/cl", NULL, NULL, 0, &status, &b, err, sizeof(err));
			if (!ASSERT_OK(rc, "GET /cl"))
				printf("  err: %s\n", err);
			ASSERT_EQ(status, 200, "status");
			ASSERT_EQ(strcmp(b.data, "{\"ok\":1}"), 0, "body");
		}
		ASSERT_EQ(stat_field(k, "conns"), c0, "one connection for all (keep-alive)");
	}
	if (test__start_subtest("client_headers_and_post")) {
		rc = kube_request(k, "POST", "/echo", NULL, "{\"x\":1}", 7, &status, &b, err, sizeof(err));
		if (ASSERT_OK(rc, "POST /echo")) {
			char host[64];

			snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", srv_port);
			ASSERT_STRHAS(b.data, "POST /echo HTTP/1.1\r\n", "request line");
			ASSERT_STRHAS(b.data, host, "Host");
			ASSERT_STRHAS(b.data, "Authorization: Bearer tok-123\r\n", "bearer token");
			ASSERT_STRHAS(b.data, "User-Agent: ksense/1\r\n", "user agent");
			ASSERT_STRHAS(b.data, "Accept: application/json\r\n", "accept");
			ASSERT_STRHAS(b.data, "Content-Type: application/json\r\nContent-Length: 7\r\n", "body headers");
			ASSERT_STRHAS(b.data, "|{\"x\":1}", "body");
		}
		rc = kube_request(k, "PATCH", "/echo", "application/merge-patch+json", "{}", 2, &status, &b, err,
				  sizeof(err));
		if (ASSERT_OK(rc, "PATCH"))
			ASSERT_STRHAS(b.data, "Content-Type: application/merge-patch+json", "patch content type");
		ASSERT_EQ(kube_client_set_user_agent(k, "ksense-scheduler/1 (a\r\nEvil: 1)"), -EINVAL,
			  "CRLF in the user agent refused");
		ASSERT_EQ(kube_client_set_user_agent(k, ""), -EINVAL, "empty user agent refused");
		ASSERT_OK(kube_client_set_user_agent(k, "ksense-test/2 (replica-a)"), "user agent set");
		rc = kube_request(k, "GET", "/echo", NULL, NULL, 0, &status, &b, err, sizeof(err));
		if (ASSERT_OK(rc, "GET /echo"))
			ASSERT_STRHAS(b.data, "User-Agent: ksense-test/2 (replica-a)\r\n", "the set user agent");
		kube_client_set_user_agent(k, "ksense/1");
		rc = kube_request(k, "GET", "/bad path", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_EQ(rc, -EINVAL, "space in path refused");
		rc = kube_request(k, "GET", "/x\r\nEvil: 1", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_EQ(rc, -EINVAL, "CRLF in path refused");
	}
	if (test__start_subtest("client_chunked_body_and_status")) {
		rc = kube_request(k, "GET", "/chunked", NULL, NULL, 0, &status, &b, err, sizeof(err));
		if (ASSERT_OK(rc, "chunked"))
			ASSERT_EQ(strcmp(b.data, "{\"k\":[1,2]}"), 0, "dechunked, extension and trailer skipped");
		rc = kube_request(k, "GET", "/missing", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_OK(rc, "a 404 is a response");
		ASSERT_EQ(status, 404, "404");
		kube_status_message(b.data, b.len, msg, sizeof(msg));
		ASSERT_EQ(strcmp(msg, "NotFound: pods \"x\" not found"), 0, "status message");
		ASSERT_EQ(kube_status_errno(404), -ENOENT, "404 errno");
		ASSERT_EQ(kube_status_errno(409), -EEXIST, "409 errno");
		rc = kube_request(k, "GET", "/http10", NULL, NULL, 0, &status, &b, err, sizeof(err));
		if (ASSERT_OK(rc, "HTTP/1.0 close-delimited"))
			ASSERT_EQ(strcmp(b.data, "{\"old\":true}"), 0, "body to EOF");
	}
	if (test__start_subtest("client_body_limits")) {
		struct ks_buf small;

		ks_buf_init(&small, 1 << 20);
		rc = kube_request(k, "GET", "/big", NULL, NULL, 0, &status, &small, err, sizeof(err));
		ASSERT_EQ(rc, -E2BIG, "2 MB body into a 1 MiB buffer");
		ASSERT_STRHAS(err, "over the 1048576 byte limit", "limit named");
		ks_buf_free(&small);
		rc = kube_request(k, "GET", "/big", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_OK(rc, "2 MB body");
		ASSERT_EQ(b.len, 2000002, "all of it");
	}
	if (test__start_subtest("client_drops_and_reconnects")) {
		c0 = stat_field(k, "conns");
		rc = kube_request(k, "GET", "/dropmid", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_EQ(rc, -ECONNRESET, "dropped mid-chunk");
		ASSERT_STRHAS(err, "closed mid-response", "says so");
		rc = kube_request(k, "GET", "/cl", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_OK(rc, "next request reconnects");
		rc = kube_request(k, "GET", "/close", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_OK(rc, "Connection: close");
		rc = kube_request(k, "GET", "/idle-close", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_OK(rc, "idle-close answer");
		usleep(300 * 1000);
		rc = kube_request(k, "POST", "/echo", NULL, "{}", 2, &status, &b, err, sizeof(err));
		if (!ASSERT_OK(rc, "a POST after the server closed the idle connection"))
			printf("  err: %s\n", err);
		ASSERT_EQ(stat_field(k, "conns"), c0 + 3, "three new connections");
	}
	if (test__start_subtest("client_timeouts_and_refused")) {
		kube_client_set_timeouts(k, 1000, 300);
		t0 = ms_now();
		rc = kube_request(k, "GET", "/silent", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_EQ(rc, -ETIMEDOUT, "silent server");
		ASSERT_STRHAS(err, "no response within 300 ms", "timeout message");
		ASSERT_LT(ms_now() - t0, 1500, "gave up in time");
		kube_client_set_timeouts(k, 5000, 30000);
		rc = kube_request(k, "GET", "/cl", NULL, NULL, 0, &status, &b, err, sizeof(err));
		ASSERT_OK(rc, "works after a timeout");
		{
			int p, fd = listen_loopback(&p);
			struct kube_client *dead;

			close(fd); /* nothing listens there now */
			dead = plain_client(p, NULL, 0, 1);
			if (dead) {
				rc = kube_request(dead, "GET", "/cl", NULL, NULL, 0, &status, &b, err, sizeof(err));
				ASSERT_EQ(rc, -ECONNREFUSED, "refused");
				ASSERT_STRHAS(err, "connect: Connection refused", "refused message");
				kube_client_free(dead);
			}
		}
	}
	ks_buf_free(&b);
}

static void test_client_list(struct kube_client *k)
{
	struct items it;
	char err[1024], rv[KUBE_RV_MAX];
	int rc;

	if (!test__start_subtest("client_list_pagination"))
		return;
	memset(&it, 0, sizeof(it));
	rc = kube_list(k, "/api/v1/pods", 2, rec_item, &it, rv, sizeof(rv), err, sizeof(err));
	if (!ASSERT_OK(rc, "list"))
		printf("  err: %s\n", err);
	ASSERT_EQ(strcmp(it.log, "p1;p2;p3;p4;p5;"), 0, "three pages, continue escaped");
	ASSERT_EQ(strcmp(rv, "100"), 0, "list rv");
	memset(&it, 0, sizeof(it));
	rc = kube_list(k, "/api/v1/expiring", 2, rec_item, &it, rv, sizeof(rv), err, sizeof(err));
	ASSERT_OK(rc, "list with an expired continue");
	ASSERT_EQ(strcmp(it.log, "e1;RESET;e1;e2;"), 0, "restarted from scratch, told to forget");
	ASSERT_EQ(strcmp(rv, "200"), 0, "rv of the fresh list");
	rc = kube_list(k, "/api/v1/badlist", 2, rec_item, &it, rv, sizeof(rv), err, sizeof(err));
	ASSERT_EQ(rc, -EBADMSG, "malformed list");
	ASSERT_STRHAS(err, "list item 1", "names the item");
	rc = kube_list(k, "/api/v1/nothere", 2, rec_item, &it, rv, sizeof(rv), err, sizeof(err));
	ASSERT_EQ(rc, -ENOENT, "404 list");
	ASSERT_STRHAS(err, "HTTP 404: NotFound: no route", "status message");
}

static void test_client_watch(struct kube_client *k)
{
	char err[1024], rv[KUBE_RV_MAX];
	struct kube_watch *w;
	struct rec r;
	int rc;

	if (test__start_subtest("client_watch_stream")) {
		memset(&r, 0, sizeof(r));
		snprintf(rv, sizeof(rv), "7");
		rc = kube_watch(k, "/w/ok?fieldSelector=spec.nodeName%3D", rv, sizeof(rv), true, 5, rec_event, &r,
				err, sizeof(err));
		if (!ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "stream ends cleanly"))
			printf("  err: %s\n", err);
		ASSERT_EQ(strcmp(r.log, want_log), 0, "events");
		ASSERT_EQ(strcmp(rv, "13"), 0, "rv of the last event");
	}
	if (test__start_subtest("client_watch_gone")) {
		snprintf(rv, sizeof(rv), "7");
		memset(&r, 0, sizeof(r));
		rc = kube_watch(k, "/w/gone", rv, sizeof(rv), true, 5, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_GONE, "410 status");
		ASSERT_STRHAS(err, "too old resource version", "message");
		rc = kube_watch(k, "/w/error410", rv, sizeof(rv), true, 5, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_GONE, "ERROR event 410");
		ASSERT_EQ(strcmp(rv, "20"), 0, "rv of the event before it");
		rc = kube_watch(k, "/w/forbidden", rv, sizeof(rv), true, 5, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, -EACCES, "403");
		ASSERT_STRHAS(err, "HTTP 403: Forbidden: pods is forbidden", "403 message");
	}
	if (test__start_subtest("client_watch_dropped")) {
		memset(&r, 0, sizeof(r));
		snprintf(rv, sizeof(rv), "29");
		rc = kube_watch(k, "/w/drop", rv, sizeof(rv), true, 5, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "dropped is a close");
		ASSERT_STRHAS(err, "dropped mid-event", "says dropped");
		ASSERT_EQ(strcmp(rv, "30"), 0, "resume from the last whole event");
		ASSERT_EQ(r.n, 1, "the whole event delivered");
		memset(&r, 0, sizeof(r));
		rc = kube_watch(k, "/w/identity", rv, sizeof(rv), false, 5, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "identity stream");
		ASSERT_EQ(strcmp(r.log, "ADDED:i:50;DELETED:i:51;"), 0, "identity events");
		rc = kube_watch(k, "/w/garbage", rv, sizeof(rv), false, 5, rec_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, -EPROTO, "malformed framing is an error");
		ASSERT_STRHAS(err, "expected a hex chunk size", "framing message");
	}
	if (test__start_subtest("client_watch_poll_loop")) {
		long long t0 = ms_now();
		int zeros = 0;

		memset(&r, 0, sizeof(r));
		rc = kube_watch_open(k, "/w/slow", "39", true, 5, &w, err, sizeof(err));
		if (!ASSERT_OK(rc, "open")) {
			printf("  err: %s\n", err);
			return;
		}
		ASSERT_GE(kube_watch_fd(w), 0, "fd to poll");
		while (!(rc = kube_watch_next(w, 100, rec_event, &r, err, sizeof(err))))
			zeros++;
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "ended");
		ASSERT_GE(zeros, 3, "came back while the stream was quiet");
		ASSERT_EQ(strcmp(r.log, "ADDED:s:40;MODIFIED:s:41;"), 0, "both events");
		ASSERT_EQ(strcmp(kube_watch_rv(w), "41"), 0, "rv");
		ASSERT_LT(ms_now() - t0, 3000, "no long stall");
		kube_watch_close(w);
	}
}

static void test_client_qps(void)
{
	struct kube_client_stats st;
	struct kube_client *k;
	char err[512];
	long long t0, elapsed;
	int i, status;

	if (!test__start_subtest("client_qps_limit"))
		return;
	k = plain_client(srv_port, NULL, 20, 2);
	if (!ASSERT_OK_PTR(k, "client"))
		return;
	t0 = ms_now();
	for (i = 0; i < 7; i++)
		kube_request(k, "GET", "/cl", NULL, NULL, 0, &status, NULL, err, sizeof(err));
	/* burst 2, then one each 50 ms: 5 waits */
	elapsed = ms_now() - t0;
	ASSERT_GE(elapsed, 230, "rate held to 20/s after the burst");
	ASSERT_LT(elapsed, 1500, "but not much slower");
	kube_client_stats(k, &st);
	ASSERT_EQ(st.requests, 7, "requests counted");
	/* a slow request (a loaded machine) refills the bucket meanwhile:
	 * the wait is what the requests themselves did not take */
	ASSERT_GT(st.throttled_ms, 0, "throttle time counted");
	ASSERT_LE(st.throttled_ms, elapsed, "within the time it took");
	kube_client_free(k);
}

KS_TEST(kube_client)
{
	struct kube_client *k;

	if (!ASSERT_OK(start_canned_server(), "canned server"))
		return;
	k = plain_client(srv_port, "tok-123", 0, 1);
	if (ASSERT_OK_PTR(k, "client")) {
		test_client_requests(k);
		test_client_list(k);
		test_client_watch(k);
		kube_client_free(k);
	}
	test_client_qps();
	stop_server(&srv_pid);
	munmap(shm, sizeof(*shm));
}

/* ---- TLS ---- */

#define sh(...) fx_sh(shout, sizeof(shout), __VA_ARGS__)

static int make_certs(void)
{
	const char *d = test_dir();
	int rc = 0;

	write_file("srv.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
	write_file("srv2.ext", "subjectAltName=IP:127.0.0.2,DNS:other.example\n");
	write_file("cli.ext", "extendedKeyUsage=clientAuth\n");
	rc |= sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
		 "-out ca.crt -days 2 -subj /CN=test-ca 2>&1", d);
	rc |= sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca2.key "
		 "-out ca2.crt -days 2 -subj /CN=other-ca 2>&1", d);
	rc |= sh("cd %s && for n in srv srv2 cli; do openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>&1 && openssl x509 -req -in $n.csr -CA ca.crt "
		 "-CAkey ca.key -CAcreateserial -days 2 -extfile $n.ext -out $n.crt 2>&1 || exit 1; done", d);
	return rc;
}

struct tls_srv {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert, ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static int tls_send(void *ctx, const unsigned char *b, size_t n)
{
	ssize_t w = send(*(int *)ctx, b, n, MSG_NOSIGNAL);

	return w < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)w;
}

static int tls_recv(void *ctx, unsigned char *b, size_t n)
{
	ssize_t r = recv(*(int *)ctx, b, n, 0);

	return r < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)r;
}

/* An mbedTLS server: answers every request on a connection with a small
 * JSON body; require_client demands a certificate from the test CA. */
static void tls_server_loop(int lfd, const char *cert, const char *key, bool require_client)
{
	struct tls_srv s;

	mbedtls_ssl_config_init(&s.conf);
	mbedtls_x509_crt_init(&s.cert);
	mbedtls_x509_crt_init(&s.ca);
	mbedtls_pk_init(&s.key);
	mbedtls_entropy_init(&s.entropy);
	mbedtls_ctr_drbg_init(&s.drbg);
	if (mbedtls_ctr_drbg_seed(&s.drbg, mbedtls_entropy_func, &s.entropy, NULL, 0) ||
	    mbedtls_x509_crt_parse_file(&s.cert, cert) || mbedtls_pk_parse_keyfile(&s.key, key, NULL) ||
	    mbedtls_x509_crt_parse_file(&s.ca, tpath("ca.crt")) ||
	    mbedtls_ssl_config_defaults(&s.conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT))
		_exit(2);
	mbedtls_ssl_conf_rng(&s.conf, mbedtls_ctr_drbg_random, &s.drbg);
	mbedtls_ssl_conf_own_cert(&s.conf, &s.cert, &s.key);
	if (require_client) {
		mbedtls_ssl_conf_authmode(&s.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&s.conf, &s.ca, NULL);
	}
	for (;;) {
		mbedtls_ssl_context ssl;
		unsigned char buf[8192];
		int fd = accept(lfd, NULL, NULL), n;

		if (fd < 0)
			continue;
		mbedtls_ssl_init(&ssl);
		mbedtls_ssl_setup(&ssl, &s.conf);
		mbedtls_ssl_set_bio(&ssl, &fd, tls_send, tls_recv, NULL);
		if (!mbedtls_ssl_handshake(&ssl)) {
			while ((n = mbedtls_ssl_read(&ssl, buf, sizeof(buf) - 1)) > 0) {
				static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"tls\":true}\n";

				buf[n] = '\0';
				if (strstr((char *)buf, "\r\n\r\n"))
					mbedtls_ssl_write(&ssl, (const unsigned char *)resp, sizeof(resp) - 1);
			}
		}
		mbedtls_ssl_free(&ssl);
		close(fd);
	}
}

static pid_t start_tls_server(int *port, const char *cert, const char *key, bool require_client)
{
	int lfd = listen_loopback(port);
	pid_t pid;

	if (lfd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		alarm(60);
		tls_server_loop(lfd, tpath(cert), tpath(key), require_client);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static char *slurp(const char *name)
{
	FILE *f = fopen(tpath(name), "r");
	char *b = calloc(1, 65536);

	if (f && b)
		b[fread(b, 1, 65535, f)] = '\0';
	if (f)
		fclose(f);
	return b;
}

/* A GET of / through a fresh client on host:port with the given CA file
 * (NULL: insecure) and client certificate (NULL: none). */
static int tls_get(const char *host, int port, const char *ca, const char *cert, const char *key, char *err,
		   size_t errlen)
{
	struct kube_config c;
	struct kube_client *k;
	struct ks_buf b;
	int status = 0, rc;

	memset(&c, 0, sizeof(c));
	snprintf(c.source, sizeof(c.source), "test");
	snprintf(c.host, sizeof(c.host), "%s", host);
	c.port = port;
	c.https = true;
	c.insecure = !ca;
	if (ca) {
		c.ca_pem = slurp(ca);
		c.ca_len = strlen(c.ca_pem);
	}
	if (cert) {
		c.cert_pem = slurp(cert);
		c.cert_len = strlen(c.cert_pem);
		c.key_pem = slurp(key);
		c.key_len = strlen(c.key_pem);
	}
	k = kube_client_new(&c, 0, 1, err, errlen);
	kube_config_free(&c);
	if (!k)
		return -1000;
	kube_client_set_timeouts(k, 3000, 3000);
	ks_buf_init(&b, 4096);
	rc = kube_request(k, "GET", "/", NULL, NULL, 0, &status, &b, err, errlen);
	if (!rc && (status != 200 || !b.data || !strstr(b.data, "\"tls\":true")))
		rc = -2000;
	if (!rc)
		rc = kube_request(k, "GET", "/again", NULL, NULL, 0, &status, &b, err, errlen);
	ks_buf_free(&b);
	kube_client_free(k);
	return rc;
}

KS_TEST(kube_tls)
{
	pid_t s1 = -1, s2 = -1, s3 = -1;
	int p1, p2, p3, rc;
	char err[1024];

	if (system("command -v openssl >/dev/null 2>&1")) {
		test__skip("openssl not installed");
		return;
	}
	if (!ASSERT_OK(make_certs(), "openssl certificates")) {
		printf("%s\n", shout);
		return;
	}
	s1 = start_tls_server(&p1, "srv.crt", "srv.key", false);
	s2 = start_tls_server(&p2, "srv2.crt", "srv2.key", false);
	s3 = start_tls_server(&p3, "srv.crt", "srv.key", true);
	if (!ASSERT_GT(s1, 0, "server") || !ASSERT_GT(s2, 0, "server") || !ASSERT_GT(s3, 0, "server"))
		goto out;
	if (test__start_subtest("tls_verified")) {
		rc = tls_get("127.0.0.1", p1, "ca.crt", NULL, NULL, err, sizeof(err));
		if (!ASSERT_OK(rc, "IP SAN 127.0.0.1"))
			printf("  err: %s\n", err);
		rc = tls_get("localhost", p1, "ca.crt", NULL, NULL, err, sizeof(err));
		if (!ASSERT_OK(rc, "DNS SAN localhost"))
			printf("  err: %s\n", err);
	}
	if (test__start_subtest("tls_rejected")) {
		rc = tls_get("127.0.0.1", p1, "ca2.crt", NULL, NULL, err, sizeof(err));
		ASSERT_EQ(rc, -EACCES, "unknown CA");
		ASSERT_STRHAS(err, "server certificate rejected", "verify message");
		rc = tls_get("127.0.0.1", p2, "ca.crt", NULL, NULL, err, sizeof(err));
		ASSERT_EQ(rc, -EACCES, "IP not in the certificate");
		ASSERT_STRHAS(err, "CN", "name mismatch named");
		rc = tls_get("localhost", p2, "ca.crt", NULL, NULL, err, sizeof(err));
		ASSERT_EQ(rc, -EACCES, "DNS name not in the certificate");
		rc = tls_get("127.0.0.1", p2, NULL, NULL, NULL, err, sizeof(err));
		ASSERT_OK(rc, "insecure-skip-tls-verify accepts it");
	}
	if (test__start_subtest("tls_client_certificate")) {
		rc = tls_get("127.0.0.1", p3, "ca.crt", "cli.crt", "cli.key", err, sizeof(err));
		if (!ASSERT_OK(rc, "with client certificate"))
			printf("  err: %s\n", err);
		rc = tls_get("127.0.0.1", p3, "ca.crt", NULL, NULL, err, sizeof(err));
		ASSERT_LT(rc, 0, "without one the server refuses");
		rc = tls_get("127.0.0.1", p3, "ca.crt", "cli.crt", "srv.key", err, sizeof(err));
		ASSERT_EQ(rc, -1000, "mismatched key refused at client creation");
		ASSERT_STRHAS(err, "does not match", "mismatch message");
	}
out:
	stop_server(&s1);
	stop_server(&s2);
	stop_server(&s3);
}

/* ---- end to end against selftests/fake_apiserver.py ---- */

#define FAKE_SERVER "selftests/fake_apiserver.py"

static pid_t start_fake(int *port)
{
	char portfile[512], log[512];
	char *argv[] = { "python3", FAKE_SERVER, "--port", "0", "--port-file", portfile, "--tls-cert", NULL,
			 "--tls-key", NULL, "--token", "e2e-token", "--bookmark-interval", "1", NULL };

	snprintf(portfile, sizeof(portfile), "%s", tpath("fake.port"));
	snprintf(log, sizeof(log), "%s", tpath("fake.log"));
	argv[7] = (char *)tpath("srv.crt");
	argv[9] = (char *)tpath("srv.key");
	return fx_spawn_port(log, portfile, argv, port);
}

static int api(struct kube_client *k, const char *method, const char *path, const char *body, struct ks_buf *out)
{
	char err[1024];
	int status = 0, rc;

	rc = kube_request(k, method, path, NULL, body, body ? strlen(body) : 0, &status, out, err, sizeof(err));
	if (rc) {
		printf("  %s %s: %s\n", method, path, err);
		return rc;
	}
	return status;
}

/* Events as "TYPE:name:node;" */
static int e2e_event(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j)
{
	struct rec *r = arg;
	char name[128] = "?", node[128] = "";
	size_t l = strlen(r->log);

	(void)json;
	(void)len;
	ks_json_string(j, ks_json_path(j, "metadata.name"), name, sizeof(name));
	ks_json_string(j, ks_json_path(j, "spec.nodeName"), node, sizeof(node));
	if (l < sizeof(r->log) - 300)
		snprintf(r->log + l, sizeof(r->log) - l, "%s:%s:%s;", type, name, node);
	r->n++;
	return 0;
}

/* Drive the watch until `want` is in the log, it ends, or ms pass: the
 * watch's result (0 while open). */
static int pump(struct kube_watch *w, struct rec *r, const char *want, int ms, char *err, size_t errlen)
{
	long long end = ms_now() + ms;
	int rc = 0;

	while (ms_now() < end && !(want && strstr(r->log, want))) {
		rc = kube_watch_next(w, 50, e2e_event, r, err, errlen);
		if (rc)
			break;
	}
	return rc;
}

static const char *pod_json(const char *name)
{
	static char b[512];

	snprintf(b, sizeof(b), "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":"
		 "\"default\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",\"containers\":[{\"name\":\"c\","
		 "\"image\":\"registry.k8s.io/pause:3.9\"}]}}", name);
	return b;
}

static const char *binding_json(const char *pod, const char *node)
{
	static char b[512];

	snprintf(b, sizeof(b), "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"%s\"},"
		 "\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"%s\"}}", pod, node);
	return b;
}

struct compact_once {
	struct kube_client *other;
	bool done;
	struct items it;
};

/* List callback that expires the list's snapshot under it, once. */
static int compact_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct compact_once *c = arg;
	struct ks_buf b;

	if (!c->done && json) {
		c->done = true;
		ks_buf_init(&b, 1 << 20);
		api(c->other, "POST", "/api/v1/nodes", "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":"
		    "{\"name\":\"node-bump\"}}", &b);
		api(c->other, "POST", "/fake/control", "{\"compact\":true}", &b);
		ks_buf_free(&b);
	}
	return rec_item(&c->it, json, len, j);
}

static void e2e(struct kube_client *k, struct kube_client *k2)
{
	char err[1024], rv0[KUBE_RV_MAX], rv[KUBE_RV_MAX], msg[256];
	struct kube_watch *w = NULL;
	struct ks_buf b;
	struct items it;
	struct rec r;
	int rc, i;

	ks_buf_init(&b, 8 << 20);
	rc = api(k, "POST", "/fake/objects", "{\"defaults\":true,\"objects\":["
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-1\"}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-2\"}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-3\"}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p2\",\"namespace\":\"default\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p3\",\"namespace\":\"team-a\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p4\",\"namespace\":\"team-a\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}},"
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p5\",\"namespace\":\"team-b\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\"}]}}]}", &b);
	if (!ASSERT_EQ(rc, 200, "seed objects")) {
		printf("  %s\n", b.data ? b.data : "");
		goto out;
	}
	if (test__start_subtest("e2e_list_pagination")) {
		memset(&it, 0, sizeof(it));
		rc = kube_list(k, "/api/v1/nodes", 2, rec_item, &it, rv, sizeof(rv), err, sizeof(err));
		if (!ASSERT_OK(rc, "list nodes"))
			printf("  err: %s\n", err);
		ASSERT_EQ(strcmp(it.log, "node-1;node-2;node-3;"), 0, "3 nodes over 2 pages");
		memset(&it, 0, sizeof(it));
		rc = kube_list(k, "/api/v1/pods?fieldSelector=spec.nodeName%3D", 2, rec_item, &it, rv0, sizeof(rv0), err,
			       sizeof(err));
		if (!ASSERT_OK(rc, "list pods"))
			printf("  err: %s\n", err);
		ASSERT_EQ(strcmp(it.log, "p1;p2;p3;p4;p5;"), 0, "5 pods over 3 pages");
		ASSERT_GT(atoi(rv0), 0, "list resourceVersion");
	}
	if (test__start_subtest("e2e_watch_bind_conflict_bookmark")) {
		memset(&r, 0, sizeof(r));
		rc = kube_watch_open(k, "/api/v1/pods", rv0, true, 60, &w, err, sizeof(err));
		if (!ASSERT_OK(rc, "watch from the list rv")) {
			printf("  err: %s\n", err);
			goto out;
		}
		rc = api(k, "POST", "/api/v1/namespaces/default/pods", pod_json("new-1"), &b);
		ASSERT_EQ(rc, 201, "create pod");
		rc = pump(w, &r, "ADDED:new-1:;", 5000, err, sizeof(err));
		ASSERT_OK(rc, "watch open");
		ASSERT_STRHAS(r.log, "ADDED:new-1:;", "ADDED seen");
		rc = api(k, "POST", "/api/v1/namespaces/default/pods/new-1/binding", binding_json("new-1", "node-2"), &b);
		ASSERT_EQ(rc, 201, "bind");
		pump(w, &r, "MODIFIED:new-1:node-2;", 5000, err, sizeof(err));
		ASSERT_STRHAS(r.log, "MODIFIED:new-1:node-2;", "bound pod seen");
		rc = api(k, "POST", "/api/v1/namespaces/default/pods/new-1/binding", binding_json("new-1", "node-3"), &b);
		ASSERT_EQ(rc, 409, "second binding conflicts");
		kube_status_message(b.data, b.len, msg, sizeof(msg));
		ASSERT_STRHAS(msg, "already assigned to node \"node-2\"", "conflict message");
		ASSERT_EQ(kube_status_errno(409), -EEXIST, "errno of 409");
		/* a write elsewhere moves the global rv; only a bookmark tells
		 * the pod watch about it */
		rc = api(k, "POST", "/api/v1/nodes", "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":"
			 "{\"name\":\"node-x\"}}", &b);
		ASSERT_EQ(rc, 201, "create node");
		{
			struct ks_json j;
			long long node_rv = 0;

			if (!ks_json_parse(&j, b.data, b.len, err, sizeof(err))) {
				ks_json_string(&j, ks_json_path(&j, "metadata.resourceVersion"), rv, sizeof(rv));
				node_rv = atoll(rv);
				ks_json_free(&j);
			}
			for (i = 0; i < 60 && atoll(kube_watch_rv(w)) < node_rv; i++)
				pump(w, &r, NULL, 50, err, sizeof(err));
			ASSERT_GE(atoll(kube_watch_rv(w)), node_rv, "a bookmark carried the newer rv");
		}
	}
	if (w && test__start_subtest("e2e_drop_and_resume")) {
		int n_before;

		rc = api(k2, "POST", "/fake/control", "{\"drop_watches\":true}", &b);
		ASSERT_EQ(rc, 200, "drop watches");
		rc = pump(w, &r, NULL, 5000, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "dropped watch reports closed");
		ASSERT_STRHAS(err, "dropped", "says dropped");
		snprintf(rv, sizeof(rv), "%s", kube_watch_rv(w));
		kube_watch_close(w);
		w = NULL;
		n_before = r.n;
		rc = api(k, "POST", "/api/v1/namespaces/default/pods", pod_json("new-2"), &b);
		ASSERT_EQ(rc, 201, "create while disconnected");
		rc = kube_watch_open(k, "/api/v1/pods", rv, true, 60, &w, err, sizeof(err));
		if (ASSERT_OK(rc, "reconnect from the last rv")) {
			memset(r.log, 0, sizeof(r.log));
			pump(w, &r, "ADDED:new-2:;", 5000, err, sizeof(err));
			ASSERT_STRHAS(r.log, "ADDED:new-2:;", "the change made while away");
			ASSERT_FALSE(strstr(r.log, "new-1"), "nothing replayed");
			ASSERT_GT(r.n, n_before, "events counted");
		} else {
			printf("  err: %s\n", err);
		}
	}
	kube_watch_close(w);
	w = NULL;
	if (test__start_subtest("e2e_compaction_gone_relist")) {
		rc = api(k2, "POST", "/fake/control", "{\"compact\":true}", &b);
		ASSERT_EQ(rc, 200, "compact");
		memset(&r, 0, sizeof(r));
		snprintf(rv, sizeof(rv), "%s", rv0);
		rc = kube_watch(k, "/api/v1/pods", rv, sizeof(rv), true, 5, e2e_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_GONE, "ERROR event 410 from an old rv");
		api(k2, "POST", "/fake/control", "{\"watch_410\":\"status\"}", &b);
		rc = kube_watch_open(k, "/api/v1/pods", rv0, true, 5, &w, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_GONE, "HTTP 410 from an old rv");
		memset(&it, 0, sizeof(it));
		rc = kube_list(k, "/api/v1/pods", 500, rec_item, &it, rv, sizeof(rv), err, sizeof(err));
		ASSERT_OK(rc, "relist");
		ASSERT_EQ(it.n, 7, "all pods");
		ASSERT_GT(atoll(rv), atoll(rv0), "newer rv");
		rc = kube_watch_open(k, "/api/v1/pods", rv, true, 5, &w, err, sizeof(err));
		ASSERT_OK(rc, "watch from the fresh list");
		kube_watch_close(w);
		w = NULL;
	}
	if (test__start_subtest("e2e_list_continue_expired")) {
		struct compact_once c = { .other = k2 };

		rc = kube_list(k, "/api/v1/pods", 3, compact_item, &c, rv, sizeof(rv), err, sizeof(err));
		if (!ASSERT_OK(rc, "list across a compaction"))
			printf("  err: %s\n", err);
		ASSERT_STRHAS(c.it.log, "RESET;", "told to start over");
		ASSERT_EQ(strcmp(strstr(c.it.log, "RESET;") + 6, "new-1;new-2;p1;p2;p3;p4;p5;"), 0,
			  "the whole list after the restart");
	}
	if (test__start_subtest("e2e_split_chunks_initial_events")) {
		rc = api(k2, "POST", "/fake/control", "{\"split_chunks\":true}", &b);
		ASSERT_EQ(rc, 200, "split chunks on");
		memset(&r, 0, sizeof(r));
		rv[0] = '\0';
		rc = kube_watch(k, "/api/v1/pods", rv, sizeof(rv), true, 2, e2e_event, &r, err, sizeof(err));
		ASSERT_EQ(rc, KUBE_WATCH_CLOSED, "ends at timeoutSeconds");
		ASSERT_EQ(r.n, 7, "a synthetic ADDED per pod, whatever the chunking");
		ASSERT_GT(atoll(rv), 0, "rv");
	}
	if (test__start_subtest("e2e_auth")) {
		struct kube_config c;
		struct kube_client *anon;
		int status;

		memset(&c, 0, sizeof(c));
		if (!kube_config_load(&c, tpath("kc-e2e"), NULL, err, sizeof(err))) {
			c.token[0] = '\0';
			anon = kube_client_new(&c, 0, 1, err, sizeof(err));
			kube_config_free(&c);
			if (ASSERT_OK_PTR(anon, "client without token")) {
				rc = kube_request(anon, "GET", "/api/v1/pods", NULL, NULL, 0, &status, &b, err, sizeof(err));
				ASSERT_OK(rc, "answered");
				ASSERT_EQ(status, 401, "unauthorized without the token");
				kube_client_free(anon);
			}
		}
	}
out:
	kube_watch_close(w);
	ks_buf_free(&b);
}

KS_TEST(kube_e2e)
{
	struct kube_client *k = NULL, *k2 = NULL;
	struct kube_config c;
	char err[1024];
	pid_t pid;
	int port;

	if (access(FAKE_SERVER, R_OK) || system("command -v python3 >/dev/null 2>&1") ||
	    system("command -v openssl >/dev/null 2>&1")) {
		test__skip("needs " FAKE_SERVER ", python3 and openssl");
		return;
	}
	if (access(tpath("srv.crt"), R_OK) && !ASSERT_OK(make_certs(), "openssl certificates"))
		return;
	pid = start_fake(&port);
	if (!ASSERT_GT(pid, 0, "fake API server started")) {
		sh("tail -20 %s", tpath("fake.log"));
		printf("%s\n", shout);
		return;
	}
	/* what a user has: a kubeconfig with a CA file and a token */
	write_file("kc-e2e", "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
		   "clusters:\n- name: fake\n  cluster:\n    server: https://127.0.0.1:%d\n"
		   "    certificate-authority: ca.crt\n"
		   "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: u\n"
		   "users:\n- name: u\n  user:\n    token: e2e-token\n", port);
	if (!ASSERT_OK(kube_config_load(&c, tpath("kc-e2e"), NULL, err, sizeof(err)), "kubeconfig")) {
		printf("  err: %s\n", err);
		goto out;
	}
	k = kube_client_new(&c, 0, 1, err, sizeof(err));
	k2 = kube_client_new(&c, 0, 1, err, sizeof(err));
	kube_config_free(&c);
	if (ASSERT_OK_PTR(k, "client") && ASSERT_OK_PTR(k2, "second client"))
		e2e(k, k2);
	else
		printf("  err: %s\n", err);
out:
	kube_client_free(k);
	kube_client_free(k2);
	fx_stop(pid);
}
