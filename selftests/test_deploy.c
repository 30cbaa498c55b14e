// SPDX-License-Identifier: GPL-2.0
/*
 * ksense as deployed.  The one apply path: the README's install commands,
 * tools/gen-webhook-certs' overlay rendered by kubectl with its Secret, a
 * non-empty caBundle and versioned images.  And the DaemonSet's view: the
 * node image run with the rendered manifest's mounts and capabilities in
 * new mount and cgroup namespaces (selftests/daemonset-view): the init
 * container loads the sensors, the webhook's /pods finds labeled workload
 * pods with their classes and hot functions (a binary in a directory only
 * its owner may enter included), the collector writes rows -- and without
 * SYS_PTRACE, CHECKPOINT_RESTORE or BPF the view shows what breaks.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "fakeapi.h"
#include "fixture.h"
#include "fsutil.h"
#include "test_progs.h"

static char out[1 << 18];
static char cgbase[256], pins[192], version[128];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static const char *scratch(void)
{
	return fx_tmpdir("deploy-test");
}

static bool have_kubectl(void)
{
	return !system("command -v kubectl >/dev/null 2>&1");
}

/* The overlay the README's commands make, rendered into scratch/rendered.yaml. */
static bool render_overlay(void)
{
	if (sh("tools/gen-webhook-certs --out %s/certs --k8s-dir %s/k8s-tls --registry registry.example:5000/team "
	       "--force 2>&1", scratch(), scratch())) {
		printf("%s", out);
		return false;
	}
	if (sh("kubectl kustomize %s/k8s-tls > %s/rendered.yaml 2>&1 || cat %s/rendered.yaml", scratch(), scratch(),
	       scratch())) {
		printf("%s", out);
		return false;
	}
	return !sh("cat %s/rendered.yaml", scratch());
}

static void test_overlay(void)
{
	char want[512], ca[4096];

	/* the README installs with exactly these, and the test runs them */
	ASSERT_OK(sh("grep -c -x -e '   tools/gen-webhook-certs --registry REGISTRY' "
		     "-e '   kubectl apply -k build/k8s-tls' -e '   make images' README.md | grep -qx 3"),
		  "README's install commands");
	ASSERT_OK(sh("grep -q 'tools/gen-webhook-certs --registry REGISTRY' k8s/kustomization.yaml && "
		     "grep -q 'kubectl apply -k build/k8s-tls' k8s/kustomization.yaml"),
		  "the base's comment says the same");
	if (!ASSERT_TRUE(render_overlay(), "gen-webhook-certs and kubectl kustomize"))
		return;
	ASSERT_STRHAS(out, "kind: Secret", "the TLS Secret");
	ASSERT_STRHAS(out, "name: ksense-webhook-tls", "named as the DaemonSet mounts it");
	snprintf(want, sizeof(want), "image: registry.example:5000/team/ksense/node:%s\n", version);
	ASSERT_STRHAS(out, want, "node image by version");
	snprintf(want, sizeof(want), "image: registry.example:5000/team/ksense/scheduler:%s\n", version);
	ASSERT_STRHAS(out, want, "scheduler image by version");
	snprintf(want, sizeof(want), "image: registry.example:5000/team/ksense/scaler:%s\n", version);
	ASSERT_STRHAS(out, want, "scaler image by version");
	ASSERT_FALSE(strstr(out, "image: ksense/"), "no image left untagged");
	ASSERT_FALSE(strstr(out, "caBundle: \"\""), "caBundle filled");
	if (ASSERT_OK(fx_sh(ca, sizeof(ca), "base64 -w0 < %s/certs/ca.crt", scratch()), "ca.crt")) {
		snprintf(want, sizeof(want), "caBundle: %.400s", ca);
		ASSERT_STRHAS(out, want, "caBundle is the CA");
	}
}

/* ---- the DaemonSet's view ---- */

static pid_t workloads_pid = -1;
/* The API server the view's pods reach in-cluster (TLS, a token). */
static pid_t api_pid = -1;
static char api_addr[64], sa_dir[200];

static bool node_root(void)
{
	int rc = sh("selftests/image-check build/images/ksense-node.oci.tar %s/image --tag %s 2>&1", scratch(),
		    version);

	if (rc)
		printf("%s", out);
	return rc == 0;
}

/* daemonset-view of container `c` in the background (its pid; the log in
 * scratch/c-<tag>.log), extra args after "--". */
static pid_t view(const char *c, const char *tag, const char *drop, const char *const *args)
{
	char rendered[256], root[256], cg[320], envpin[256], map[300], log[300];
	const char *argv[40];
	int n = 0;

	snprintf(rendered, sizeof(rendered), "%s/rendered.yaml", scratch());
	snprintf(root, sizeof(root), "%s/image/bundle/rootfs", scratch());
	snprintf(cg, sizeof(cg), "%s/%s-%s", cgbase, c, tag);
	snprintf(envpin, sizeof(envpin), "KSENSE_PIN_ROOT=%s", pins);
	snprintf(map, sizeof(map), "/var/lib/ksense=%s/data", scratch());
	snprintf(log, sizeof(log), "%s/%s-%s.log", scratch(), c, tag);
	argv[n++] = "selftests/daemonset-view";
	argv[n++] = rendered;
	argv[n++] = c;
	argv[n++] = root;
	argv[n++] = cg;
	argv[n++] = "--env";
	argv[n++] = envpin;
	argv[n++] = "--map";
	argv[n++] = map;
	if (drop) {
		argv[n++] = "--drop-cap";
		argv[n++] = drop;
	}
	if (api_addr[0]) {
		argv[n++] = "--serviceaccount";
		argv[n++] = sa_dir;
		argv[n++] = "--apiserver";
		argv[n++] = api_addr;
	}
	argv[n++] = "--";
	for (; args && *args && n < 39; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return fx_spawn(log, (char *const *)argv, NULL);
}

static int view_wait(pid_t pid)
{
	int st = 0, i;

	for (i = 0; i < 600 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(50 * 1000);
	if (i == 600) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void show_log(const char *c, const char *tag)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "tail -n 15 %s/%s-%s.log", scratch(), c, tag);
	if (system(cmd)) {
	}
}

/* The agent port the webhook in the view logged, or 0. */
static int view_port(const char *tag)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!sh("sed -n 's/.*agent_port=\\([0-9]*\\).*/\\1/p' %s/webhook-%s.log | head -n1", scratch(), tag) &&
		    atoi(out) > 0)
			return atoi(out);
		usleep(100 * 1000);
	}
	return 0;
}

/* Why the last pods_summary did not give 200, for the failed check's
 * line (a CI log's tail shows that line, not the output above it). */
static char pods_why[96];

/* /pods as "uid class fn,fn,..." lines, into out; the HTTP status, or -1
 * (pods_why says why: curl's exit, the body's start, unparsable JSON). */
static int pods_summary(int port)
{
	int rc = sh("curl -s --max-time 10 -o %s/pods.json -w '%%{http_code}' http://127.0.0.1:%d/pods", scratch(), port),
	    code = atoi(out);

	if (rc) {
		snprintf(pods_why, sizeof(pods_why), "curl exit %d", rc);
		return -1;
	}
	if (code != 200) {
		sh("head -c 70 %s/pods.json", scratch());
		snprintf(pods_why, sizeof(pods_why), "%d %.70s", code, out);
		return code;
	}
	if (sh("python3 -c 'import json,sys\nfor p in json.load(open(sys.argv[1]))[\"pods\"]:\n"
	       "  print(p[\"uid\"], p[\"class\"], \",\".join(t[\"function\"] for t in p[\"top\"]),\n"
	       "        \"oncpu=%%s runq=%%s d=%%.0f\" %% (p[\"oncpu_permille\"], p[\"runq_wait_permille\"], p[\"d_ms_per_s\"]))' "
	       "%s/pods.json 2>&1",
	       scratch())) {
		snprintf(pods_why, sizeof(pods_why), "unparsable: %.70s", out);
		return -1;
	}
	pods_why[0] = '\0';
	return code;
}

/* The check "/pods answers" with the reason it did not, and whether the
 * view's process is still there. */
static void assert_pods_answer(int code, pid_t pid, const char *tag)
{
	char what[200];
	int st;

	if (code == 200)
		return;
	snprintf(what, sizeof(what), "/pods answers (%s%s)", pods_why,
		 waitpid(pid, &st, WNOHANG) == pid ? "; the webhook exited" : "");
	ASSERT_EQ(code, 200, what);
	show_log("webhook", tag);
}

#define UID(n) "6b73656e-7365-4000-8000-00000000000" #n

/* The fake API server over TLS with the overlay's certificate (it names
 * 127.0.0.1), a service account directory as the kubelet mounts it, and
 * the workloads' pods on node dsview-node, named. */
static bool start_api(void)
{
	char portfile[300], log[300], cert[300], key[300];
	int port = 0, i;
	char *argv[] = { "python3", "selftests/fake_apiserver.py", "--port", "0", "--port-file", portfile,
			 "--tls-cert", cert, "--tls-key", key, "--token", "view-token", NULL };
	static const char *const names[] = { "burner", "writer", "waiter", "sleeper" };
	char seed[4096];
	size_t n;

	if (fakeapi_missing())
		return false;
	snprintf(portfile, sizeof(portfile), "%s/api.port", scratch());
	snprintf(log, sizeof(log), "%s/api.log", scratch());
	snprintf(cert, sizeof(cert), "%s/certs/tls.crt", scratch());
	snprintf(key, sizeof(key), "%s/certs/tls.key", scratch());
	api_pid = fx_spawn_port(log, portfile, argv, &port);
	if (api_pid <= 0) {
		sh("tail -n 20 %s", log);
		printf("    the fake API server did not start; its log:\n%s\n", out);
		return false;
	}
	snprintf(api_addr, sizeof(api_addr), "127.0.0.1:%d", port);
	snprintf(sa_dir, sizeof(sa_dir), "%s/serviceaccount", scratch());
	if (sh("mkdir -p %s && printf view-token > %s/token && printf ksense-system > %s/namespace && "
	       "cp %s/certs/ca.crt %s/ca.crt", sa_dir, sa_dir, sa_dir, scratch(), sa_dir))
		return false;
	n = (size_t)snprintf(seed, sizeof(seed), "{\"defaults\":true,\"objects\":[{\"apiVersion\":\"v1\",\"kind\":\"Node\","
			     "\"metadata\":{\"name\":\"dsview-node\"}}");
	for (i = 0; i < 4 && n < sizeof(seed); i++)
		n += (size_t)snprintf(seed + n, sizeof(seed) - n,
				      ",{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\","
				      "\"uid\":\"6b73656e-7365-4000-8000-00000000000%d\"},\"spec\":{\"nodeName\":\"dsview-node\","
				      "\"containers\":[{\"name\":\"main\",\"image\":\"x\"}]}}", names[i], i + 1);
	snprintf(seed + n, sizeof(seed) - n, "]}");
	/* the seed takes a TLS handshake with a Python server on a loaded
	 * machine: a generous timeout */
	return !sh("curl -s --max-time 20 --cacert %s/certs/ca.crt -o /dev/null -w '%%{http_code}' "
		   "https://%s/fake/objects -d '%s' | grep -qx 200", scratch(), api_addr, seed);
}

/* The KernelStress condition of dsview-node as "STATUS REASON | MESSAGE" in out. */
static int node_condition(void)
{
	return sh("curl -s --max-time 5 --cacert %s/certs/ca.crt -H 'Authorization: Bearer view-token' "
		  "https://%s/api/v1/nodes/dsview-node | python3 -c 'import json,sys\n"
		  "for c in json.load(sys.stdin)[\"status\"].get(\"conditions\", []):\n"
		  "  if c[\"type\"] == \"KernelStress\": print(c[\"status\"], c[\"reason\"], \"|\", c[\"message\"])'",
		  scratch(), api_addr);
}

static bool workloads_settled(void)
{
	return strstr(out, UID(1) " CPU ") && strstr(out, UID(2) " BLOCK") && strstr(out, UID(3) " OFFCPU") &&
	       strstr(out, UID(4) " IDLE") && strstr(out, "ksense_burn_cycles");
}

/* The check that out has "uid CLASS"; when not, its name carries the
 * pod's line (class and the numbers behind it), which a CI log's tail
 * shows. */
static void assert_pod_class(const char *uid_class, const char *what)
{
	const char *line;
	char uid[37], name[240];

	snprintf(uid, sizeof(uid), "%.36s", uid_class);
	line = strstr(out, uid);
	snprintf(name, sizeof(name), "%s (was '%.*s')", what, line ? (int)strcspn(line + 37, "\n") : 4,
		 line ? line + 37 : "gone");
	ASSERT_STRHAS(out, uid_class, name);
}

static void test_webhook_view(void)
{
	static const char *const args[] = { "--no-tls", "--agent-addr", "127.0.0.1", "--agent-port", "0", NULL };
	pid_t pid = view("webhook", "full", NULL, args);
	int port = view_port("full"), i, code = 0;

	if (!ASSERT_GT(port, 0, "webhook in the view listens")) {
		show_log("webhook", "full");
		fx_stop(pid);
		return;
	}
	/* classes need the kernel's hysteresis (3 windows) after a first sample */
	for (i = 0; i < 60; i++) {
		code = pods_summary(port);
		if (code == 200 && workloads_settled())
			break;
		sleep(1);
	}
	if (code != 200) {
		/* the five checks below would only repeat it */
		assert_pods_answer(code, pid, "full");
		fx_stop(pid);
		return;
	}
	assert_pod_class(UID(1) " CPU ", "burner pod: CPU");
	assert_pod_class(UID(2) " BLOCK", "writer pod: BLOCK");
	assert_pod_class(UID(3) " OFFCPU", "waiter pod: OFFCPU");
	assert_pod_class(UID(4) " IDLE", "sleeper pod: IDLE");
	ASSERT_STRHAS(out, "ksense_burn_cycles", "the burner's hot function, named");
	if (test__failed())
		printf("%s", out);
	if (api_addr[0]) {
		/* in-cluster config as the kubelet gives it: pod names from the
		 * API, and the node's condition written there from the pins */
		ASSERT_OK(sh("python3 -c 'import json,sys\nfor p in json.load(open(sys.argv[1]))[\"pods\"]:\n"
			     "  print(p[\"namespace\"] + \"/\" + p[\"name\"], p[\"class\"])' %s/pods.json", scratch()),
			  "names");
		ASSERT_STRHAS(out, "shop/burner CPU", "the burner pod named through the service account");
		for (i = 0; i < 50 && (node_condition() || !out[0]); i++)
			usleep(200 * 1000);
		if (ASSERT_TRUE(!strncmp(out, "True ", 5) || !strncmp(out, "False ", 6), "KernelStress on the Node"))
			ASSERT_STRHAS(out, "| ksense score ", "with the kernel's score");
		else
			printf("    condition: '%s'\n", out);
	}
	ASSERT_EQ(fx_stop(pid), 0, "SIGTERM stops it cleanly");
}

static void test_without(const char *cap)
{
	static const char *const args[] = { "--no-tls", "--agent-addr", "127.0.0.1", "--agent-port", "0", NULL };
	pid_t pid = view("webhook", cap, cap, args);
	int port = view_port(cap), code, i;

	if (!ASSERT_GT(port, 0, "webhook in the view listens")) {
		show_log("webhook", cap);
		fx_stop(pid);
		return;
	}
	if (strcmp(cap, "BPF")) {
		/* without SYS_PTRACE other processes' maps are closed to it:
		 * "[unknown]"; without CHECKPOINT_RESTORE their maps are open
		 * but the burner's file, in a directory only its owner may
		 * enter, is not: file+offset */
		const char *instead = !strcmp(cap, "SYS_PTRACE") ? "[unknown]" : "ksense-workloads+0x";

		/* the burner's class is not the point (it shares two CPUs with
		 * the others and the view's daemons); that it is seen, sampled
		 * and not named is */
		for (i = 0; i < 10; i++) {
			code = pods_summary(port);
			if (code == 200 && strstr(out, UID(1) " ") && strstr(out, instead))
				break;
			sleep(1);
		}
		assert_pods_answer(code, pid, cap);
		if (!ASSERT_STRHAS(out, UID(1) " ", "the burner is still seen"))
			printf("%s", out);
		ASSERT_FALSE(strstr(out, "ksense_burn_cycles"), "but its function is not named");
		ASSERT_STRHAS(out, instead, "what it shows instead");
	} else {
		struct utsname u;
		int major = 0, minor = 0;
		/* before 6.5 (and kernel.unprivileged_bpf_disabled set) every
		 * bpf() call needs CAP_BPF; since, only map creation and program
		 * loads do, and reading pins by fd works without it.  The
		 * manifest keeps BPF for the older kernels. */
		bool needs_bpf;
		char what[160];

		uname(&u);
		sscanf(u.release, "%d.%d", &major, &minor);
		needs_bpf = (major < 6 || (major == 6 && minor < 5)) && !sh("sysctl -n kernel.unprivileged_bpf_disabled | grep -qvx 0");

		code = pods_summary(port);
		snprintf(what, sizeof(what), "%s (%s)", needs_bpf ? "/pods 503 without BPF" : "/pods 200 on 6.5+ without BPF",
			 pods_why);
		ASSERT_EQ(code, needs_bpf ? 503 : 200, what);
		ASSERT_OK(sh("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/healthz | grep -qx %d", port,
			     needs_bpf ? 503 : 200), "/healthz");
	}
	fx_stop(pid);
}

KS_TEST_F(deploy, KS_LIVE) /* the view classes live workloads */
{
	pid_t load;

	if (sh("tools/gen-version 2>/dev/null | cut -d' ' -f1") || !out[0]) {
		ASSERT_TRUE(false, "tools/gen-version");
		return;
	}
	snprintf(version, sizeof(version), "%.*s", (int)strcspn(out, "\n"), out);
	/* a second attempt starts from nothing the first one left: the
	 * logs (appended to) would name the first attempt's ports */
	sh("rm -f %s/*.log %s/pods.json", scratch(), scratch());
	api_addr[0] = '\0';
	api_pid = workloads_pid = -1;
	if (!have_kubectl()) {
		test__skip("kubectl not installed (it renders the manifests)");
		return;
	}
	if (test__start_subtest("overlay"))
		test_overlay();

	if (!fx_is_root()) {
		test__skip("the DaemonSet's view needs root (namespaces, mounts, cgroups)");
		return;
	}
	if (!ASSERT_TRUE(render_overlay(), "rendered manifest") || !ASSERT_TRUE(node_root(), "node image unpacked"))
		return;
	if (sh("sed -n 's/^cgroup2 \\([^ ]*\\) .*/\\1/p' /proc/mounts | head -n1") || !out[0]) {
		test__skip("no cgroup2 mount");
		return;
	}
	snprintf(cgbase, sizeof(cgbase), "%.*s/ksense-deploy-%d", (int)strcspn(out, "\n"), out, getpid());
	mkdir(cgbase, 0755);
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/ksense-deploy-%d", getpid());
	ks_ensure_bpffs("/sys/fs/bpf");
	{
		char dd[200];

		snprintf(dd, sizeof(dd), "%s/data", scratch());
		mkdir(dd, 0755);
	}

	if (test__start_subtest("load_view")) {
		static const char *const args[] = { "--window-ms", "250", NULL };

		load = view("load", "init", NULL, args);
		if (!ASSERT_EQ(view_wait(load), 0, "ksense load with BPF and PERFMON only"))
			show_log("load", "init");
		ASSERT_OK(sh("test -e %s/" KSENSE_PIN_HISTORY, pins), "pins on the host's bpffs");
	}
	if (test__start_subtest("load_view_without_perfmon")) {
		static const char *const args[] = { "--window-ms", "250", NULL };
		char p2[sizeof(pins) - 16];

		/* a tree of its own: the first one stays */
		snprintf(p2, sizeof(p2), "%.*s", (int)sizeof(p2) - 1, pins);
		snprintf(pins, sizeof(pins), "%s-noperfmon", p2);
		load = view("load", "noperfmon", "PERFMON", args);
		ASSERT_NEQ(view_wait(load), 0, "ksense load fails without PERFMON");
		sh("KSENSE_PIN_ROOT=%s build/ksense unload 2>&1", pins);
		snprintf(pins, sizeof(pins), "%s", p2);
	}

	if (access(pins, F_OK)) {
		test__skip("no pins loaded in the view");
		goto out;
	}
	{
		char log[300], prefix[64], bin[300];
		/* only the four the view checks: with all ten on two CPUs the
		 * writer waits for a CPU about as long as for its disk (on-CPU
		 * plus run-queue 300-470 permille against D 520-720 here), and
		 * a faster disk makes it CPU-starved, rightly, not BLOCK */
		char only[] = "burner,writer,waiter,sleeper";
		char *argv[] = { bin, "--seconds", "600", "--prefix", prefix, "--only", only, NULL };

		/* run from a directory only its owner (not root) may enter, as
		 * a non-root container's binary in its 0700 home: the webhook,
		 * root without DAC overrides, names its functions all the same
		 * (through map_files), and wherever the checkout lies */
		snprintf(bin, sizeof(bin), "%s/home/ksense-workloads", scratch());
		if (!ASSERT_OK(sh("install -d -m 0700 -o 65534 %s/home && install -m 0755 build/ksense-workloads %s",
				  scratch(), bin), "the workloads' private directory"))
			goto out;
		snprintf(prefix, sizeof(prefix), "ksense-deploy-wl-%d", getpid());
		snprintf(log, sizeof(log), "%s/workloads.log", scratch());
		workloads_pid = fx_spawn(log, argv, NULL);
	}
	if (!ASSERT_TRUE(start_api(), "the fake API server, in-cluster"))
		api_addr[0] = '\0';
	if (test__start_subtest("webhook_view"))
		test_webhook_view();
	if (test__start_subtest("webhook_view_without_sys_ptrace"))
		test_without("SYS_PTRACE");
	if (test__start_subtest("webhook_view_without_checkpoint_restore"))
		test_without("CHECKPOINT_RESTORE");
	if (test__start_subtest("webhook_view_without_bpf"))
		test_without("BPF");
	if (test__start_subtest("collect_view")) {
		static const char *const args[] = { "--output", "/var/lib/ksense/view.csv", "-n", "2", NULL };
		pid_t pid = view("collect", "rows", NULL, args);

		if (!ASSERT_EQ(view_wait(pid), 0, "ksense collect with BPF only"))
			show_log("collect", "rows");
		ASSERT_OK(sh("test $(wc -l < %s/data/view.csv) -ge 3", scratch()), "header and two rows");
	}
	fx_stop(workloads_pid);
	fx_stop(api_pid);
out:
	sh("KSENSE_PIN_ROOT=%s build/ksense unload 2>&1; for d in %s/*/; do rmdir $d; done; rmdir %s", pins, cgbase,
	   cgbase);
}
