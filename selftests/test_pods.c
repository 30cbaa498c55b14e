// SPDX-License-Identifier: GPL-2.0
/*
 * GET /pods end to end: kubelet-style pod cgroups on the cgroup2 mount (a
 * CPU burner with a named hot function, an idle sleeper), the ksense
 * fixture's pins, and build/ksense-webhook on a free agent port, asked with
 * curl.  Then names from the fake API server, an excluded namespace, and
 * bad input: missing pins, cgroups that vanish under the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fakeapi.h"
#include "test_progs.h"
#include "loopback.h"
#include "fixture.h"
#include "fsutil.h"
#include "json.h"
#include "pods_fixture.h"

/* test_cgroups.c's burner loop: its name must come back in "top" */
void ksense_burn_cycles(void);

#define CID_FMT "%08x%056d"
#define UID_FMT "%08x-0000-4000-8000-%012d"

struct pod_cg {
	char uid[40], uid_sd[40], cid[72];
	char pod_dir[1024], ctr_dir[1200];
	pid_t pid;
};

static bool top_has(const struct ks_json *j, int pod, const char *fn)
{
	int arr = ks_json_member(j, pod, "top"), k, e;

	for (k = 0; (e = ks_json_index(j, arr, k)) >= 0; k++)
		if (pods_str_is(j, ks_json_member(j, e, "function"), fn))
			return true;
	return false;
}

static int join_cgroup(const char *dir)
{
	char procs[1300], pid_s[16];
	int fd, err;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	fd = open(procs, O_WRONLY);
	if (fd < 0)
		return -errno;
	err = ks_write_all(fd, pid_s, strlen(pid_s));
	close(fd);
	return err;
}

/* Pod i's cgroups under base: burstable when qos_dir, else Guaranteed. */
static int make_pod(struct pod_cg *p, const char *base, int i, bool burstable)
{
	size_t k;

	snprintf(p->uid, sizeof(p->uid), UID_FMT, (unsigned int)getpid(), i);
	snprintf(p->cid, sizeof(p->cid), CID_FMT, (unsigned int)getpid(), i);
	for (k = 0; k <= strlen(p->uid); k++)
		p->uid_sd[k] = p->uid[k] == '-' ? '_' : p->uid[k];
	if (burstable)
		snprintf(p->pod_dir, sizeof(p->pod_dir), "%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice",
			 base, p->uid_sd);
	else
		snprintf(p->pod_dir, sizeof(p->pod_dir), "%s/kubepods.slice/kubepods-pod%s.slice", base, p->uid_sd);
	snprintf(p->ctr_dir, sizeof(p->ctr_dir), "%s/cri-containerd-%s.scope", p->pod_dir, p->cid);
	if (mkdir(p->pod_dir, 0755) || mkdir(p->ctr_dir, 0755))
		return -errno;
	return 0;
}

static pid_t run_in(const char *dir, bool burn)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (join_cgroup(dir))
			_exit(2);
		if (burn)
			for (;;)
				ksense_burn_cycles();
		for (;;)
			pause();
	}
	return pid;
}

static void remove_pod(struct pod_cg *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	if (p->ctr_dir[0])
		rmdir(p->ctr_dir);
	if (p->pod_dir[0])
		rmdir(p->pod_dir);
}

static char base[512];
static struct pod_cg burner, sleeper;
/* a second, idle container in the burner's pod */
static char side_dir[1300], side_cid[72];
static pid_t side_pid;

static void remove_tree(void)
{
	char d[700];

	if (side_pid > 0) {
		kill(side_pid, SIGKILL);
		waitpid(side_pid, NULL, 0);
		side_pid = 0;
	}
	if (side_dir[0])
		rmdir(side_dir);
	remove_pod(&burner);
	remove_pod(&sleeper);
	snprintf(d, sizeof(d), "%s/kubepods.slice/kubepods-burstable.slice", base);
	rmdir(d);
	snprintf(d, sizeof(d), "%s/kubepods.slice", base);
	rmdir(d);
	rmdir(base);
	base[0] = '\0';
}

/* The burner and the sleeper, each in its pod's container cgroup, under a
 * per-process prefix of the cgroup2 mount (the parser takes the innermost
 * kubepods tree, so the prefix does not matter). */
static bool setup_pods(void)
{
	char mnt[256], d[700];

	if (base[0])
		return true;
	if (ks_cgroup2_mount(mnt, sizeof(mnt)))
		return false;
	snprintf(base, sizeof(base), "%s/ksense-pods-%d", mnt, getpid());
	snprintf(d, sizeof(d), "%s/kubepods.slice/kubepods-burstable.slice", base);
	if (!ASSERT_OK(fx_sh(pods_out, sizeof(pods_out), "mkdir -p %s", d), "mkdir kubepods") ||
	    !ASSERT_OK(make_pod(&burner, base, 1, true), "burner pod cgroups") ||
	    !ASSERT_OK(make_pod(&sleeper, base, 2, false), "sleeper pod cgroups")) {
		remove_tree();
		return false;
	}
	burner.pid = run_in(burner.ctr_dir, true);
	sleeper.pid = run_in(sleeper.ctr_dir, false);
	snprintf(side_cid, sizeof(side_cid), CID_FMT, (unsigned int)getpid(), 3);
	snprintf(side_dir, sizeof(side_dir), "%s/cri-containerd-%s.scope", burner.pod_dir, side_cid);
	if (ASSERT_OK(mkdir(side_dir, 0755), "second container of the burner's pod"))
		side_pid = run_in(side_dir, false);
	return true;
}

__attribute__((destructor)) static void teardown_pods(void)
{
	if (base[0])
		remove_tree();
}

static bool classes_settled(const struct ks_json *j)
{
	int b = pods_find(j, burner.uid), s = pods_find(j, sleeper.uid);

	/* the idle second container is in the pin once a window saw it run
	 * (joining the cgroup): wait for it too */
	return b >= 0 && s >= 0 && pods_str_is(j, ks_json_member(j, b, "class"), "CPU") &&
	       top_has(j, b, "ksense_burn_cycles") && pods_str_is(j, ks_json_member(j, s, "class"), "IDLE") &&
	       ks_json_index(j, ks_json_member(j, b, "containers"), 1) >= 0;
}

static bool root_fixture(void)
{
	return pods_root_ready() && setup_pods();
}

KS_TEST_F(pods_endpoint, KS_SAN | KS_LIVE)
{
	struct ks_json j = {};
	char log[256];
	int port, b, s, c0;
	pid_t wh;

	if (!root_fixture())
		return;
	snprintf(log, sizeof(log), "%s/webhook-endpoint.log", pods_test_dir());
	port = pods_free_port();
	wh = pods_start_webhook(port, log, NULL, NULL);
	if (!ASSERT_TRUE(pods_wait_listening(port), "webhook listening"))
		goto out;
	if (!ASSERT_OK(pods_poll(port, 15000, classes_settled, &j), "burner CPU with its hot function, sleeper IDLE")) {
		printf("    last /pods: %.2000s\n", pods_out);
		fx_sh(pods_out, sizeof(pods_out), "tail -40 %s", log);
		printf("    webhook log:\n%s\n", pods_out);
		goto out;
	}
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, 0, "node"), "node-pods"), "node name");
	ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, 0, "seq")), "seq");
	ASSERT_TRUE(ks_json_is_literal(&j, ks_json_member(&j, 0, "window_ms"), "250"), "window_ms of the fixture");
	b = pods_find(&j, burner.uid);
	s = pods_find(&j, sleeper.uid);
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, b, "namespace"), ""), "no API: empty namespace");
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, b, "name"), ""), "no API: empty name");
	{
		static const char *const pod_fields[] = {
			"oncpu_permille", "d_ms_per_s", "s_ms_per_s", "block_ios_per_s", "block_bytes_per_s",
			"block_ms_per_s", "block_lat_avg_us", "samples", "runq_wait_permille",
		};
		static const char *const ctr_fields[] = {
			"cgroup_id", "oncpu_permille", "d_ms_per_s", "s_ms_per_s", "block_ios_per_s", "runq_wait_permille",
			"block_ms_per_s", "block_lat_avg_us", "samples",
		};
		int top0 = ks_json_index(&j, ks_json_member(&j, b, "top"), 0);
		size_t k;

		for (k = 0; k < sizeof(pod_fields) / sizeof(pod_fields[0]); k++)
			ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, b, pod_fields[k])), pod_fields[k]);
		c0 = ks_json_index(&j, ks_json_member(&j, b, "containers"), 0);
		for (k = 0; k < sizeof(ctr_fields) / sizeof(ctr_fields[0]); k++)
			ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, c0, ctr_fields[k])), ctr_fields[k]);
		ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c0, "id"), burner.cid), "container id");
		ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c0, "name"), ""), "no API: empty container name");
		ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c0, "class"), "CPU"), "container class");
		/* the pod is the sum of its containers; its class is the busiest's */
		{
			int c1 = ks_json_index(&j, ks_json_member(&j, b, "containers"), 1);
			long long on0 = atoll(j.src + j.tok[ks_json_member(&j, c0, "oncpu_permille")].start);
			long long on1 = atoll(j.src + j.tok[ks_json_member(&j, c1, "oncpu_permille")].start);
			long long onp = atoll(j.src + j.tok[ks_json_member(&j, b, "oncpu_permille")].start);
			long long sm0 = atoll(j.src + j.tok[ks_json_member(&j, c0, "samples")].start);
			long long sm1 = atoll(j.src + j.tok[ks_json_member(&j, c1, "samples")].start);
			long long smp = atoll(j.src + j.tok[ks_json_member(&j, b, "samples")].start);

			if (ASSERT_GE(c1, 0, "two containers")) {
				ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c1, "id"), side_cid), "second container id");
				ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c1, "class"), "IDLE"), "second container idle");
				ASSERT_EQ(onp, on0 + on1, "pod on-CPU is the containers' sum");
				ASSERT_EQ(smp, sm0 + sm1, "pod samples are the containers' sum");
			}
			ASSERT_EQ(ks_json_index(&j, ks_json_member(&j, b, "containers"), 2), -1, "no third container");
		}
		/* the burner spins in one function */
		ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, top0, "function"), "ksense_burn_cycles"), "hottest first");
		ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, top0, "share_permille")), "share");
		ASSERT_TRUE(ks_json_is_string(&j, ks_json_member(&j, top0, "module")), "module");
		ASSERT_TRUE(ks_json_is_array(&j, ks_json_member(&j, s, "top")), "sleeper top");
		printf("    burner pod: %.*s\n", j.tok[b].end - j.tok[b].start > 600 ? 600 : j.tok[b].end - j.tok[b].start,
		       j.src + j.tok[b].start);
	}
	if (test__start_subtest("pods_metrics")) {
		static char m[1 << 17];
		char series[512], file[300];

		/* the same pods as Prometheus series: the burner's container
		 * with its class as a label, the idle one IDLE */
		if (ASSERT_TRUE(lb_get_ok(port, "/metrics", m, sizeof(m), 5000), "/metrics")) {
			snprintf(series, sizeof(series), "ksense_pod_class{namespace=\"\",pod=\"%s\",container=\"%s\","
				 "class=\"CPU\"}", burner.uid, burner.cid);
			ASSERT_EQ(lb_metric(m, series), 1, "the burner's container: class CPU");
			snprintf(series, sizeof(series), "ksense_pod_class{namespace=\"\",pod=\"%s\",container=\"%s\","
				 "class=\"IDLE\"}", burner.uid, side_cid);
			ASSERT_EQ(lb_metric(m, series), 1, "its second container: IDLE");
			snprintf(series, sizeof(series), "ksense_pod_cpu_ratio{namespace=\"\",pod=\"%s\",container=\"%s\"}",
				 burner.uid, burner.cid);
			/* a ratio of one CPU, not ‰ (how much the burner got of a
			 * shared machine's CPU is not the point) */
			ASSERT_TRUE(lb_metric(m, series) > 0.05 && lb_metric(m, series) <= 2.0,
				    "the burner's on-CPU share, of one CPU");
			snprintf(series, sizeof(series), "ksense_pod_runqueue_wait_ratio{namespace=\"\",pod=\"%s\","
				 "container=\"%s\"}", burner.uid, burner.cid);
			ASSERT_TRUE(lb_metric(m, series) >= 0, "the burner's run-queue wait");
			snprintf(file, sizeof(file), "%s/metrics.txt", pods_test_dir());
			if (!access(fx_promtool(), X_OK)) {
				FILE *f = fopen(file, "w");

				if (f) {
					fputs(strstr(m, "\r\n\r\n") ? strstr(m, "\r\n\r\n") + 4 : m, f);
					fclose(f);
				}
				if (!ASSERT_EQ(fx_sh(pods_out, sizeof(pods_out), "%s check metrics < %s 2>&1", fx_promtool(),
						     file), 0, "promtool check metrics with the pod series"))
					printf("%s\n", pods_out);
			}
		}
	}
	if (test__start_subtest("pods_methods")) {
		ASSERT_EQ(pods_get(port, "POST"), 405, "POST /pods");
		ASSERT_EQ(pods_get(port, "HEAD"), 200, "HEAD /pods");
	}
	if (test__start_subtest("pods_vanishing_cgroups")) {
		char d[1400];
		int i, ok = 0;

		/* cgroups with a process in them for a moment, removed while
		 * /pods is asked: their ids are in the pin, their paths gone */
		for (i = 0; i < 20; i++) {
			snprintf(d, sizeof(d), "%s/cri-containerd-%08x%056d.scope", burner.pod_dir, (unsigned int)getpid(),
				 100 + i);
			if (!mkdir(d, 0755)) {
				pid_t p = fork();

				if (p == 0) {
					if (join_cgroup(d))
						_exit(2);
					_exit(0);
				}
				waitpid(p, NULL, 0);
			}
			if (i % 4 == 3)
				usleep(300 * 1000);
			ok += pods_get(port, "GET") == 200;
			rmdir(d);
		}
		ASSERT_EQ(ok, 20, "every /pods answered while cgroups vanished");
		ASSERT_EQ(kill(wh, 0), 0, "webhook still running");
	}
	if (test__start_subtest("pods_metrics_gone")) {
		static char m[1 << 17];
		bool seen, gone = false;
		int i;

		/* a pod that goes leaves no series behind: nothing is
		 * remembered for it past its cgroup's last windows */
		seen = lb_get_ok(port, "/metrics", m, sizeof(m), 5000) && strstr(m, sleeper.uid);
		ASSERT_TRUE(seen, "the sleeper's series before it goes");
		remove_pod(&sleeper);
		for (i = 0; seen && i < 40 && !gone; i++) {
			usleep(250 * 1000);
			gone = lb_get_ok(port, "/metrics", m, sizeof(m), 5000) && !strstr(m, sleeper.uid) &&
			       strstr(m, burner.uid);
		}
		ASSERT_TRUE(gone, "no sleeper series within 10 s of its cgroup's removal, the burner's still there");
	}
out:
	ks_json_free(&j);
	pods_stop_checked(wh, log);
	remove_tree(); /* the burner must not outlive its test: it would load every later one */
}

/* The same endpoint over HTTPS: the TLS listener routes it too. */
KS_TEST_F(pods_https, KS_SAN)
{
	char log[256], cert[256], key[256], tp[16];
	const char *args[] = { "--tls-addr", "127.0.0.1", "--tls-port", tp, "--cert", cert, "--key", key, NULL };
	int port, tport, i;
	pid_t wh = -1;

	if (!root_fixture())
		return;
	snprintf(cert, sizeof(cert), "%s/tls.crt", pods_test_dir());
	snprintf(key, sizeof(key), "%s/tls.key", pods_test_dir());
	if (!ASSERT_OK(fx_sh(pods_out, sizeof(pods_out), "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			     "-keyout %s -out %s -days 1 -subj /CN=localhost "
			     "-addext subjectAltName=IP:127.0.0.1 2>&1", key, cert), "self-signed certificate"))
		return;
	tport = pods_free_port();
	snprintf(tp, sizeof(tp), "%d", tport);
	snprintf(log, sizeof(log), "%s/webhook-https.log", pods_test_dir());
	port = pods_free_port();
	/* pods_start_webhook passes --no-tls first; --tls-addr after it wins */
	wh = pods_start_webhook(port, log, NULL, args);
	if (!ASSERT_TRUE(pods_wait_listening(port), "webhook listening"))
		goto out;
	/* the burner's cgroup is in the pin once a window has closed on it */
	for (i = 0; i < 40; i++) {
		if (fx_sh(pods_out, sizeof(pods_out), "curl -sk --max-time 10 -w '\\nHTTP=%%{http_code}' https://127.0.0.1:%d/pods",
			  tport) == 0 && strstr(pods_out, "HTTP=200") && strstr(pods_out, burner.uid))
			break;
		usleep(250 * 1000);
	}
	ASSERT_STRHAS(pods_out, "HTTP=200", "200 over HTTPS");
	ASSERT_STRHAS(pods_out, burner.uid, "the burner's pod over HTTPS");
out:
	pods_stop_checked(wh, log);
	remove_tree(); /* the burner must not outlive its test: it would load every later one */
}

/* A tree with the window pins but no cgroups pin (a ksense before schema
 * 3, or a half-removed tree): 503 naming the missing pin. */
KS_TEST_F(pods_partial_pins, KS_SAN)
{
	static const char *const pins[] = { "config", "state", "history" };
	char partial[128], env_root[200], log[256];
	const char *env[] = { env_root, NULL };
	struct ksense_window w;
	int port;
	size_t i;
	pid_t wh = -1;

	if (!root_fixture() || !ASSERT_OK(fx_wait_window(0, &w, 3000), "a window closed"))
		return;
	snprintf(partial, sizeof(partial), "/sys/fs/bpf/ksense-pods-partial-%d", getpid());
	ks_remove_tree(partial);
	if (!ASSERT_OK(mkdir(partial, 0700), "mkdir partial tree"))
		return;
	for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		if (!ASSERT_OK(fx_sh(pods_out, sizeof(pods_out), "bpftool map pin pinned %s/%s %s/%s 2>&1", fx_root(), pins[i],
				     partial, pins[i]), pins[i]))
			goto out;
	snprintf(env_root, sizeof(env_root), "KSENSE_PIN_ROOT=%s", partial);
	snprintf(log, sizeof(log), "%s/webhook-partial.log", pods_test_dir());
	port = pods_free_port();
	wh = pods_start_webhook(port, log, env, NULL);
	if (ASSERT_TRUE(pods_wait_listening(port), "webhook listening")) {
		ASSERT_EQ(pods_get(port, "GET"), 503, "503 without the cgroups pin");
		if (!ASSERT_STRHAS(pods_out, "/cgroups missing", "names the missing pin"))
			printf("    /pods: %s\n", pods_out);
		ASSERT_EQ(kill(wh, 0), 0, "still running");
	}
out:
	pods_stop_checked(wh, log);
	ks_remove_tree(partial);
	remove_tree(); /* the burner must not outlive its test: it would load every later one */
}

KS_TEST_F(pods_no_pins, KS_SAN)
{
	static const char *const env[] = { "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-nonexistent-pods-test", NULL };
	char log[256];
	int port = pods_free_port();
	pid_t wh;

	snprintf(log, sizeof(log), "%s/webhook-nopins.log", pods_test_dir());
	wh = pods_start_webhook(port, log, env, NULL);
	if (ASSERT_TRUE(pods_wait_listening(port), "webhook listening")) {
		ASSERT_EQ(pods_get(port, "GET"), 503, "503 without pins");
		ASSERT_STRHAS(pods_out, "pins unreadable at /sys/fs/bpf/ksense-nonexistent-pods-test", "says which tree");
		ASSERT_EQ(pods_get(port, "GET"), 503, "and again");
		ASSERT_EQ(kill(wh, 0), 0, "still running");
	}
	pods_stop_checked(wh, log);
}

/* ---- names from the API: selftests/fake_apiserver.py ---- */

static int fake_port;

static pid_t start_fake(void)
{
	char portfile[256], log[256];
	char *argv[] = { "python3", FAKEAPI_SCRIPT, "--port", "0", "--port-file", portfile, "--bookmark-interval", "1",
			 NULL };

	snprintf(portfile, sizeof(portfile), "%s/fake.port", pods_test_dir());
	snprintf(log, sizeof(log), "%s/fake.log", pods_test_dir());
	return fx_spawn_port(log, portfile, argv, &fake_port);
}

/* POST a JSON body to the fake server's control API; curl's exit status. */
static int fake_post(const char *path, const char *body)
{
	char file[256];
	FILE *f;

	snprintf(file, sizeof(file), "%s/post.json", pods_test_dir());
	f = fopen(file, "w");
	if (!f)
		return -1;
	fputs(body, f);
	fclose(f);
	return fx_sh(pods_out, sizeof(pods_out), "curl -sf --max-time 5 -X POST -H 'Content-Type: application/json' "
		     "--data-binary @%s http://127.0.0.1:%d%s", file, fake_port, path);
}

static int seed_pod(const struct pod_cg *p, const char *ns, const char *name, const char *node, const char *cname)
{
	char body[2048];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
		 "\"uid\":\"%s\"},\"spec\":{\"nodeName\":\"%s\",\"containers\":[{\"name\":\"%s\",\"image\":\"x\"}]},"
		 "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"%s\",\"containerID\":"
		 "\"containerd://%s\",\"ready\":true}]}}",
		 name, ns, p->uid, node, cname, cname, p->cid);
	return fake_post("/fake/objects", body);
}

static const char *want_cname;

static bool burner_named(const struct ks_json *j)
{
	int b = pods_find(j, burner.uid), c0 = ks_json_index(j, ks_json_member(j, b, "containers"), 0);

	return b >= 0 && pods_str_is(j, ks_json_member(j, b, "namespace"), "team-a") &&
	       pods_str_is(j, ks_json_member(j, b, "name"), "burner-1") && pods_str_is(j, ks_json_member(j, c0, "name"), want_cname);
}

static bool sleeper_unnamed(const struct ks_json *j)
{
	int s = pods_find(j, sleeper.uid);

	return s >= 0 && pods_str_is(j, ks_json_member(j, s, "namespace"), "");
}

static bool sleeper_gone(const struct ks_json *j)
{
	return pods_find(j, sleeper.uid) < 0 && pods_find(j, burner.uid) >= 0;
}

KS_TEST_F(pods_names, KS_SAN)
{
	struct ks_json j = {};
	char log[256], kc[256], arg_kc[300];
	const char *args[] = { arg_kc, NULL };
	pid_t fake = -1, wh = -1;
	int port;
	FILE *f;

	if (!root_fixture())
		return;
	if (fx_sh(pods_out, sizeof(pods_out), "command -v python3 >/dev/null")) {
		test__skip("no python3 for the fake API server");
		return;
	}
	fake = start_fake();
	if (!ASSERT_GT(fake, 0, "fake API server"))
		return;
	/* the burner is on this node; a pod of another node must not be
	 * listed (the field selector) */
	want_cname = "burn";
	if (!ASSERT_OK(seed_pod(&burner, "team-a", "burner-1", "node-pods", "burn"), "seed burner pod"))
		goto out;
	snprintf(kc, sizeof(kc), "%s/kubeconfig", pods_test_dir());
	f = fopen(kc, "w");
	if (!ASSERT_OK_PTR(f, "kubeconfig"))
		goto out;
	fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:%d\n"
		"contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: u\ncurrent-context: fake\n"
		"users:\n- name: u\n  user:\n    token: t\n", fake_port);
	fclose(f);
	snprintf(arg_kc, sizeof(arg_kc), "--kubeconfig=%s", kc);
	snprintf(log, sizeof(log), "%s/webhook-names.log", pods_test_dir());
	port = pods_free_port();
	wh = pods_start_webhook(port, log, NULL, args);
	if (!ASSERT_TRUE(pods_wait_listening(port), "webhook listening"))
		goto out;
	if (!ASSERT_OK(pods_poll(port, 15000, burner_named, &j), "namespace, name and container name from the list")) {
		printf("    last /pods: %.1500s\n", pods_out);
		fx_sh(pods_out, sizeof(pods_out), "tail -20 %s", log);
		printf("%s\n", pods_out);
		goto out;
	}
	ASSERT_OK(pods_poll(port, 5000, sleeper_unnamed, &j), "a pod the API does not know: empty names");

	if (test__start_subtest("pods_names_watch_exclude")) {
		/* the sleeper shows up in kube-system: known through the watch,
		 * then left out by the default exclusion */
		ASSERT_OK(seed_pod(&sleeper, "kube-system", "sleeper-1", "node-pods", "sleep"), "seed sleeper pod");
		ASSERT_OK(pods_poll(port, 10000, sleeper_gone, &j), "kube-system pod filtered out");
	}
	if (test__start_subtest("pods_names_dropped_watch")) {
		/* a dropped watch is reconnected from its resourceVersion */
		ASSERT_OK(fake_post("/fake/control", "{\"drop_watches\":true}"), "drop watches");
		want_cname = "burn2";
		ASSERT_OK(seed_pod(&burner, "team-a", "burner-1", "node-pods", "burn2"), "rename container");
		ASSERT_OK(pods_poll(port, 15000, burner_named, &j), "change seen after the reconnect");
	}
	if (test__start_subtest("pods_names_relist_410")) {
		/* history compacted and the watch dropped: the reconnect gets
		 * 410 and the agent lists again */
		ASSERT_OK(fake_post("/fake/control", "{\"fail_next\":{\"method\":\"GET\",\"path_regex\":\"watch=\","
				    "\"code\":500,\"count\":3},\"drop_watches\":true}"),
			  "fail the next watches, drop the open one");
		want_cname = "burn3";
		ASSERT_OK(seed_pod(&burner, "team-a", "burner-1", "node-pods", "burn3"), "rename container again");
		ASSERT_OK(fake_post("/fake/control", "{\"compact\":true}"), "compact");
		ASSERT_OK(pods_poll(port, 20000, burner_named, &j), "change seen after the relist");
	}
	if (test__start_subtest("pods_names_other_node")) {
		struct pod_cg other = burner;

		/* the burner's pod moved to another node in the API: its names
		 * go (DELETED through the field selector), the cgroup stays */
		ASSERT_OK(seed_pod(&other, "team-a", "burner-1", "node-other", "burn3"), "move pod");
		want_cname = "";
		ASSERT_OK(pods_poll(port, 10000, sleeper_gone, &j), "still listed");
		{
			int k;
			bool unnamed = false;

			for (k = 0; k < 40 && !unnamed; k++) {
				int b;

				if (pods_poll(port, 250, sleeper_gone, &j))
					break;
				b = pods_find(&j, burner.uid);
				unnamed = pods_str_is(&j, ks_json_member(&j, b, "namespace"), "");
				usleep(250 * 1000);
			}
			ASSERT_TRUE(unnamed, "names dropped for a pod of another node");
		}
	}
	if (test__start_subtest("pods_names_relist_logged")) {
		fx_sh(pods_out, sizeof(pods_out), "grep -c 'resourceVersion expired' %s", log);
		ASSERT_GE(atoi(pods_out), 1, "the 410 relist happened");
	}
out:
	ks_json_free(&j);
	pods_stop_checked(wh, log);
	pods_stop(fake);
	remove_tree(); /* the burner must not outlive its test: it would load every later one */
}

KS_TEST_F(pods_bad_kubeconfig, KS_SAN)
{
	static const char *const args[] = { "--kubeconfig", "/nonexistent/ksense-kubeconfig", NULL };
	char log[256];
	int status = -1;
	pid_t wh;

	snprintf(log, sizeof(log), "%s/webhook-badkc.log", pods_test_dir());
	wh = pods_start_webhook(pods_free_port(), log, NULL, args);
	for (int i = 0; wh > 0 && i < 50 && waitpid(wh, &status, WNOHANG) != wh; i++)
		usleep(100 * 1000);
	if (wh > 0 && !WIFEXITED(status)) {
		kill(wh, SIGKILL);
		waitpid(wh, NULL, 0);
	}
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exits 2 on an unusable kubeconfig");
	fx_sh(pods_out, sizeof(pods_out), "cat %s", log);
	ASSERT_STRHAS(pods_out, "/nonexistent/ksense-kubeconfig", "names the file");
}
