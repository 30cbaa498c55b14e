// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-webhook over loopback with real TLS clients (curl, openssl): every
 * endpoint, AdmissionReview round trips, CSV rows, /score against the
 * history pin, certificate reload, 503 without pins, and bad input that
 * must get a 4xx while the daemon keeps serving.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "fixture.h"
#include "pods_fixture.h"
#include "pins.h"
#include "agent_client.h"
#include "tlsc.h"

static char out[1 << 16];
static char dir[128];
static int tls_port, agent_port;

static const char *webhook_bin(void)
{
	const char *b = getenv("KSENSE_WEBHOOK_BIN");

	return b && *b ? b : "build/ksense-webhook";
}

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static int make_cert(const char *name, const char *cn)
{
	return sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		  "-keyout %s/%s.key -out %s/%s.crt -days 1 -subj /CN=%s "
		  "-addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>&1", dir, name, dir, name, cn);
}

static pid_t start_daemon(int tport, int aport, const char *extra_env)
{
	char tp[16], ap[16], cert[256], key[256];
	pid_t pid;

	snprintf(tp, sizeof(tp), "%d", tport);
	snprintf(ap, sizeof(ap), "%d", aport);
	snprintf(cert, sizeof(cert), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	pid = fork();
	if (pid == 0) {
		char log[256];
		int fd;

		snprintf(log, sizeof(log), "%s/webhook-%d.log", dir, tport);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		if (extra_env)
			putenv((char *)extra_env);
		execl(webhook_bin(), webhook_bin(), "--tls-addr", "127.0.0.1", "--tls-port", tp,
		      "--agent-addr", "127.0.0.1", "--agent-port", ap, "--cert", cert, "--key", key,
		      "--data-dir", dir, "--namespaces", "default,team-a", "--node", "node-test",
		      "--request-timeout-ms", "1500", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int curl(const char *method, const char *url, const char *body_file)
{
	return sh("curl -sk --max-time 5 -X %s %s%s%s -H 'Content-Type: application/json' "
		  "-w '\\nHTTP=%%{http_code}' '%s' 2>&1", method, body_file ? "--data-binary @" : "",
		  body_file ? body_file : "", "", url);
}

static bool wait_healthy(int port)
{
	char url[128];
	int i;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", port);
	for (i = 0; i < 100; i++) {
		curl("GET", url, NULL);
		if (strstr(out, "HTTP=200"))
			return true;
		usleep(100000);
	}
	return false;
}

static const char *review_fmt =
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
	"\"uid\":\"%s\",\"kind\":{\"group\":\"%s\",\"version\":\"v1\",\"kind\":\"%s\"},"
	"\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
	"\"namespace\":\"%s\",\"operation\":\"%s\",\"userInfo\":{\"username\":\"admin\"},"
	"\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
	"\"namespace\":\"%s\"},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",\"containers\":"
	"[{\"name\":\"c\",\"image\":\"pause\"}]}},\"oldObject\":null,\"dryRun\":false}}";

static void write_review(const char *path, const char *uid, const char *group, const char *kind,
			 const char *ns, const char *op, const char *name)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fprintf(f, review_fmt, uid, group, kind, ns, op, name, ns);
	fclose(f);
}

static int count_in_file(const char *path, const char *needle)
{
	char line[2048];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static int raw_request(int port, const char *data, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n, got = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (len) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		data += n;
		len -= (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while ((n = recv(fd, out + got, sizeof(out) - 1 - got, 0)) > 0 && got < (ssize_t)sizeof(out) - 1)
		got += n;
	out[got] = '\0';
	close(fd);
	return 0;
}

KS_TEST(webhook)
{
	char url[256], path[256], csv[256], uid[64];
	struct ksense_window w;
	pid_t pid = -1, pid2 = -1;
	unsigned long long seq = 0;
	unsigned int score = 0;
	int hist;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	snprintf(dir, sizeof(dir), "/tmp/ksense-webhook-test-%d", getpid());
	sh("rm -rf %s && mkdir -p %s", dir, dir);
	if (!ASSERT_EQ(make_cert("tls", "ksense-one"), 0, "openssl cert")) {
		printf("%s\n", out);
		return;
	}
	/* ports free a moment ago, never fixed ones: other runs share the machine */
	tls_port = pods_free_port();
	do
		agent_port = pods_free_port();
	while (agent_port == tls_port);
	/* the shared fixture tree warms up for warmup_s from its load: start a
	 * fresh warm-up so /score and the monitor CSV are checked in it,
	 * however long the tests before this one took */
	if (!ASSERT_EQ(sh("%s baseline reset 2>&1", fx_bin()), 0, "baseline reset"))
		return;
	usleep(2 * FIXTURE_WINDOW_MS * 1000);
	pid = start_daemon(tls_port, agent_port, NULL);
	if (!ASSERT_TRUE(wait_healthy(tls_port), "daemon healthy")) {
		sh("cat %s/webhook-%d.log", dir, tls_port);
		printf("%s\n", out);
		goto out;
	}

	if (test__start_subtest("healthz")) {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", tls_port);
		curl("GET", url, NULL);
		ASSERT_STRHAS(out, "\"status\":\"ok\"", "ok");
		ASSERT_STRHAS(out, "HTTP=200", "200");
	}
	if (test__start_subtest("score_matches_pins")) {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/score", tls_port);
		curl("GET", url, NULL);
		ASSERT_STRHAS(out, "HTTP=200", "200");
		ASSERT_STRHAS(out, "\"node\":\"node-test\"", "node name");
		ASSERT_STRHAS(out, "\"baseline\":{\"state\":\"warmup\"", "baseline state");
		ASSERT_STRHAS(out, "\"friction\":null", "friction empty in warm-up");
		/* the baseline read with the window, not left out as torn */
		ASSERT_FALSE(strstr(out, "\"warmup_remaining_s\":null"), "the baseline of the same window");
		ASSERT_STRHAS(out, "\"runq_p99_us\":", "inputs");
		if (ASSERT_TRUE(sscanf(strstr(out, "\"seq\":") ?: "", "\"seq\":%llu", &seq) == 1, "seq") &&
		    ASSERT_TRUE(sscanf(strstr(out, "\"score\":") ?: "", "\"score\":%u", &score) == 1, "score")) {
			hist = ks_pin_open(KSENSE_PIN_HISTORY);
			if (ASSERT_GE(hist, 0, "history") && ASSERT_OK(ks_read_history(hist, seq, &w), "slot")) {
				char want[64];

				ASSERT_EQ(score, w.verdict.score, "score = pinned window's score");
				snprintf(want, sizeof(want), "\"runq_p99_us\":%.1f", w.runq.p99_ns / 1000.0);
				ASSERT_STRHAS(out, want, "runq p99 = pinned window's");
			}
			if (hist >= 0)
				close(hist);
		}
	}
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/validate", tls_port);
	snprintf(path, sizeof(path), "%s/review.json", dir);
	snprintf(csv, sizeof(csv), "%s/fuzzy_score.csv", dir);
	if (test__start_subtest("validate_pod_create_recorded")) {
		snprintf(uid, sizeof(uid), "uid-create-%d", getpid());
		write_review(path, uid, "", "Pod", "default", "CREATE", "p1");
		curl("POST", url, path);
		ASSERT_STRHAS(out, "HTTP=200", "200");
		ASSERT_STRHAS(out, "\"allowed\":true", "always allowed");
		ASSERT_STRHAS(out, uid, "uid echoed");
		/* the API server prefixes keys with the webhook's name */
		ASSERT_STRHAS(out, "\"auditAnnotations\":{\"score\":", "audit annotation");
		ASSERT_EQ(count_in_file(csv, uid), 1, "one CSV row");
	}
	if (test__start_subtest("validate_not_recorded")) {
		write_review(path, "uid-other-ns", "", "Pod", "kube-system", "CREATE", "p2");
		curl("POST", url, path);
		ASSERT_STRHAS(out, "\"allowed\":true", "other namespace allowed");
		write_review(path, "uid-update", "", "Pod", "default", "UPDATE", "p3");
		curl("POST", url, path);
		ASSERT_STRHAS(out, "\"allowed\":true", "update allowed");
		write_review(path, "uid-deploy", "apps", "Deployment", "default", "CREATE", "d1");
		curl("POST", url, path);
		ASSERT_STRHAS(out, "\"allowed\":true", "non-pod allowed");
		ASSERT_EQ(count_in_file(csv, "uid-other-ns"), 0, "not recorded: namespace");
		ASSERT_EQ(count_in_file(csv, "uid-update"), 0, "not recorded: update");
		ASSERT_EQ(count_in_file(csv, "uid-deploy"), 0, "not recorded: deployment");
	}
	if (test__start_subtest("validate_bad_input")) {
		FILE *f = fopen(path, "w");

		if (f) {
			fputs("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{", f);
			fclose(f);
		}
		curl("POST", url, path);
		ASSERT_STRHAS(out, "HTTP=400", "truncated JSON 400");
		f = fopen(path, "w");
		if (f) {
			fputs("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
			      "{\"operation\":\"CREATE\"}}", f);
			fclose(f);
		}
		curl("POST", url, path);
		ASSERT_STRHAS(out, "HTTP=400", "no uid 400");
		ASSERT_STRHAS(out, "uid", "says uid");
	}
	if (test__start_subtest("methods_and_paths")) {
		curl("GET", url, NULL);
		ASSERT_STRHAS(out, "HTTP=405", "GET /validate 405");
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/score", tls_port);
		curl("POST", url, NULL);
		ASSERT_STRHAS(out, "HTTP=405", "POST /score 405");
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/nope", tls_port);
		curl("GET", url, NULL);
		ASSERT_STRHAS(out, "HTTP=404", "404");
	}
	if (test__start_subtest("metrics")) {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/metrics", tls_port);
		curl("GET", url, NULL);
		ASSERT_STRHAS(out, "# TYPE ksense_score gauge", "score gauge");
		ASSERT_STRHAS(out, "ksense_webhook_requests_total{path=\"validate\",code=\"2xx\"}", "counter");
		ASSERT_STRHAS(out, "ksense_webhook_request_duration_seconds_bucket", "latency histogram");
		ASSERT_STRHAS(out, "ksense_psi_stall_seconds_total{resource=\"cpu\",kind=\"some\"}", "psi");
		ASSERT_STRHAS(out, "ksense_runqueue_latency_seconds_bucket{le=", "run-queue histogram");
		ASSERT_STRHAS(out, "ksense_decision{decision=\"deny\"}", "decision as a label");
	}
	if (test__start_subtest("agent_port_plain_http")) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/score", agent_port);
		curl("GET", url, NULL);
		ASSERT_STRHAS(out, "HTTP=200", "plain /score");
		ASSERT_STRHAS(out, "\"score\":", "score json");
	}
	if (test__start_subtest("agent_client")) {
		struct ks_agent_score sc;
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);
		char err[256];
		int lfd;

		if (ASSERT_OK(ks_agent_score_get("127.0.0.1", agent_port, 1000, &sc, err, sizeof(err)), err)) {
			ASSERT_LE(sc.score, 100, "score in range");
			ASSERT_GT(sc.seq, 0, "window seq");
			ASSERT_TRUE(!strcmp(sc.decision, "allow") || !strcmp(sc.decision, "deny"), "decision");
		}
		ASSERT_NEQ(ks_agent_score_get("127.0.0.1", 1, 500, &sc, err, sizeof(err)), 0, "refused");
		ASSERT_STRHAS(err, "connect", "says connect");
		/* a peer that accepts but never answers: the limit holds */
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), "bind") &&
		    ASSERT_OK(listen(lfd, 4), "listen") &&
		    ASSERT_OK(getsockname(lfd, (struct sockaddr *)&sa, &sl), "name")) {
			ASSERT_EQ(ks_agent_score_get("127.0.0.1", ntohs(sa.sin_port), 300, &sc, err, sizeof(err)),
				  -ETIMEDOUT, "slow node times out");
			ASSERT_STRHAS(err, "within 300 ms", "says how long");
		}
		close(lfd);
		ASSERT_NEQ(ks_agent_score_parse("{\"score\":500,\"decision\":\"allow\"}", 34, &sc, err, sizeof(err)), 0,
			   "score out of range");
		ASSERT_NEQ(ks_agent_score_parse("{\"score\":5,\"decision\":\"maybe\"}", 32, &sc, err, sizeof(err)), 0,
			   "bad decision");
	}
	if (test__start_subtest("malformed_http")) {
		static char big[9000 + 64], body_hdr[128];

		raw_request(agent_port, "GARBAGE\r\n\r\n", 11);
		ASSERT_STRHAS(out, "HTTP/1.1 400", "garbage request line 400");
		memset(big, 'a', sizeof(big));
		memcpy(big, "GET /score HTTP/1.1\r\nHost: x\r\nX: ", 33);
		memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
		raw_request(agent_port, big, sizeof(big));
		ASSERT_STRHAS(out, "HTTP/1.1 431", "headers over 8 KiB 431");
		snprintf(body_hdr, sizeof(body_hdr),
			 "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
		raw_request(agent_port, body_hdr, strlen(body_hdr));
		ASSERT_STRHAS(out, "HTTP/1.1 413", "body over 1 MiB 413");
		raw_request(agent_port, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 55);
		ASSERT_STRHAS(out, "HTTP/1.1 400", "bad Content-Length 400");
		raw_request(tls_port, "\x16\x03\x01\x00\x05garbage-not-tls", 20);
		ASSERT_TRUE(wait_healthy(tls_port), "still serving after TLS garbage");
	}
	if (test__start_subtest("chunked_body")) {
		char req[2048], body[1024];
		int n;

		n = snprintf(body, sizeof(body), review_fmt, "uid-chunked", "", "Pod", "default", "CREATE",
			     "pc", "default");
		snprintf(req, sizeof(req), "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%.*s\r\n%x\r\n%s\r\n0\r\n\r\n",
			 n / 2, n / 2, body, n - n / 2, body + n / 2);
		tlsc_request(tls_port, req, strlen(req), out, sizeof(out), 5000);
		ASSERT_STRHAS(out, "HTTP/1.1 200", "chunked AdmissionReview 200");
		ASSERT_STRHAS(out, "uid-chunked", "uid echoed");
	}
	if (test__start_subtest("memory_bounded")) {
		static char big[1024 * 1024 + 256];
		char status[64];
		long rss_kb = 0;
		FILE *f;
		int i, hlen;

		/* many near-limit bodies and pipelined requests: the daemon frees
		 * what a request needed and keeps no more */
		hlen = snprintf(big, 256, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				"Content-Length: %d\r\nConnection: close\r\n\r\n", 1024 * 1024 - 64);
		memset(big + hlen, ' ', 1024 * 1024 - 64);
		for (i = 0; i < 20; i++)
			tlsc_request(tls_port, big, (size_t)hlen + 1024 * 1024 - 64, out, sizeof(out), 5000);
		snprintf(status, sizeof(status), "/proc/%d/status", pid);
		f = fopen(status, "r");
		if (ASSERT_OK_PTR(f, "proc status")) {
			char line[256];

			while (fgets(line, sizeof(line), f))
				if (sscanf(line, "VmRSS: %ld", &rss_kb) == 1)
					break;
			fclose(f);
		}
		printf("    RSS after 20 bodies of 1 MiB: %ld KiB\n", rss_kb);
		ASSERT_GT(rss_kb, 0, "RSS read");
		ASSERT_LT(rss_kb, 16 * 1024, "RSS stays under 16 MiB");
		ASSERT_TRUE(wait_healthy(tls_port), "still serving");
	}
	if (test__start_subtest("slow_client_timeout")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(agent_port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		ssize_t n = 0;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), "connect")) {
			send(fd, "GET /score HTTP/1.1\r\nHo", 23, 0);
			n = recv(fd, out, sizeof(out) - 1, 0); /* the daemon answers 408 after 1.5 s */
			out[n > 0 ? n : 0] = '\0';
			ASSERT_STRHAS(out, "408", "slow client gets 408");
		}
		close(fd);
		ASSERT_TRUE(wait_healthy(tls_port), "still serving");
	}
	if (test__start_subtest("cert_reload_sighup")) {
		sh("echo | openssl s_client -connect 127.0.0.1:%d 2>/dev/null | openssl x509 -noout -subject", tls_port);
		ASSERT_STRHAS(out, "ksense-one", "first certificate");
		make_cert("tls", "ksense-two");
		kill(pid, SIGHUP);
		usleep(300000);
		sh("echo | openssl s_client -connect 127.0.0.1:%d 2>/dev/null | openssl x509 -noout -subject", tls_port);
		ASSERT_STRHAS(out, "ksense-two", "reloaded certificate");
		ASSERT_TRUE(wait_healthy(tls_port), "serving after reload");
	}
	if (test__start_subtest("tls_1_2_only")) {
		ASSERT_EQ(sh("echo | openssl s_client -tls1_2 -connect 127.0.0.1:%d 2>&1", tls_port), 0,
			  "TLS 1.2 handshake works");
		/* SECLEVEL=0 lets this client offer 1.1: the refusal is the server's */
		ASSERT_NEQ(sh("echo | openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' "
			      "-connect 127.0.0.1:%d 2>&1", tls_port), 0, "TLS 1.1 refused");
		ASSERT_STRHAS(out, "alert", "server alerts on 1.1");
	}
	if (test__start_subtest("monitor_csv")) {
		unsigned long long a = 0, b = 0;
		char mon[256];

		snprintf(mon, sizeof(mon), "%s/fuzzy_monitor.csv", dir);
		usleep(600000);
		ASSERT_EQ(count_in_file(mon, "timestamp,seq,baseline_state,friction"), 1, "header once");
		sh("tail -n 2 %s | cut -d, -f2 | tr '\\n' ' '", mon);
		ASSERT_EQ(sscanf(out, "%llu %llu", &a, &b), 2, "two rows");
		ASSERT_EQ(b, a + 1, "consecutive windows");
		sh("tail -n 1 %s", mon);
		ASSERT_STRHAS(out, ",warmup,,,,", "friction, direction, energy empty in warm-up");
	}
	if (test__start_subtest("deny_warns")) {
		char restore[512] = "", *r;

		/* every PSI level scores 100: the node denies from the next window */
		sh("%s config show --json", fx_bin());
		r = strstr(out, "\"rules\":\"");
		if (ASSERT_OK_PTR(r, "current rules")) {
			r += 9;
			snprintf(restore, sizeof(restore), "rules=%.*s", (int)strcspn(r, "\""), r);
		}
		ASSERT_EQ(sh("%s config set 'rules=---L:100;---M:100;---H:100' 2>&1", fx_bin()), 0, "config set");
		usleep(3 * FIXTURE_WINDOW_MS * 1000);
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/validate", tls_port);
		snprintf(uid, sizeof(uid), "uid-deny-%d", getpid());
		write_review(path, uid, "", "Pod", "team-a", "CREATE", "p9");
		curl("POST", url, path);
		if (!ASSERT_STRHAS(out, "\"allowed\":true", "still allowed"))
			printf("%s\n", out);
		ASSERT_STRHAS(out, "\"warnings\":[", "warning when the node denies");
		ASSERT_STRHAS(out, "\"decision\":\"deny\"", "audit decision deny");
		ASSERT_EQ(count_in_file(csv, uid), 1, "one CSV row");
		sh("grep '%s' %s", uid, csv);
		ASSERT_STRHAS(out, ",deny", "CSV row says deny");
		if (restore[0])
			ASSERT_EQ(sh("%s config set '%s' 2>&1", fx_bin(), restore), 0, "restore rules");
	}
	if (test__start_subtest("no_pins_503")) {
		int i;

		pid2 = start_daemon(tls_port + 2, tls_port + 3, "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-nowhere");
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", tls_port + 2);
		/* asked until it listens (a loaded machine starts it late) */
		for (i = 0; i < 100; i++) {
			curl("GET", url, NULL);
			if (!strstr(out, "HTTP=000"))
				break;
			usleep(100 * 1000);
		}
		ASSERT_STRHAS(out, "HTTP=503", "503 without pins");
		ASSERT_STRHAS(out, "pins unreadable", "says why");
	}
	if (test__start_subtest("sigterm_exits_cleanly")) {
		int st = 0;

		kill(pid, SIGTERM);
		ASSERT_EQ(waitpid(pid, &st, 0), pid, "reaped");
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0 on SIGTERM");
		pid = -1;
	}
out:
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (pid2 > 0) {
		kill(pid2, SIGTERM);
		waitpid(pid2, NULL, 0);
	}
	if (!test__verbose())
		sh("rm -rf %s", dir);
}

KS_TEST(webhook_cli)
{
	ASSERT_EQ(sh("%s --help", webhook_bin()), 0, "--help");
	ASSERT_STRHAS(out, "Usage: ksense-webhook", "usage text");
	ASSERT_EQ(sh("%s --tls-port 70000 2>&1", webhook_bin()), 2, "bad port");
	ASSERT_STRHAS(out, "not a port number", "says why");
	ASSERT_EQ(sh("KSENSE_AGENT_PORT=abc %s 2>&1", webhook_bin()), 2, "bad env port");
	ASSERT_EQ(sh("%s --frob 2>&1", webhook_bin()), 2, "unknown flag");
	ASSERT_EQ(sh("%s --verbose=1 2>&1", webhook_bin()), 2, "value on a switch");
	ASSERT_EQ(sh("%s --no-tls --no-agent 2>&1", webhook_bin()), 2, "nothing to serve");
	ASSERT_EQ(sh("%s --cert=/nonexistent.crt --key=/nonexistent.key --no-agent --tls-port 0 "
		     "--data-dir /tmp 2>&1", webhook_bin()), 1, "missing certificate");
	ASSERT_STRHAS(out, "/nonexistent.crt", "names the file");
	ASSERT_STRHAS(out, "tools/gen-webhook-certs", "says how to make one");
	ASSERT_STRHAS(out, "--no-tls", "and how to do without");
	ASSERT_FALSE(strstr(out, "Invalid argument"), "no errno of its own making");
	ASSERT_EQ(sh("%s --no-tls --agent-port 0 --data-dir /proc/nope 2>&1", webhook_bin()), 1, "bad data dir");
}
