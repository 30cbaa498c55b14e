// SPDX-License-Identifier: GPL-2.0
/*
 * tools/gen-webhook-certs, tools/plot, ksense-workloads and tools/bench_scheduler's arguments, run
 * as a user would (from the repository root, as every test is).  Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"
#include "fsutil.h"

static char out[1 << 16];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static bool have(const char *cmd)
{
	char c[128];

	snprintf(c, sizeof(c), "command -v %s >/dev/null 2>&1", cmd);
	return system(c) == 0;
}

KS_TEST_F(tools_gen_webhook_certs, KS_HOST)
{
	char d[128];

	if (!have("openssl")) {
		test__skip("openssl not installed (make deps)");
		return;
	}
	snprintf(d, sizeof(d), "/tmp/ksense-certs-%d", getpid());
	sh("rm -rf %s", d);

	if (test__start_subtest("generate")) {
		if (!ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/c --k8s-dir %s/k --service wh --namespace ns "
				  "--san DNS:extra.example --san IP:10.1.2.3 2>&1", d, d), 0, "generate")) {
			printf("%s\n", out);
			goto done;
		}
		ASSERT_EQ(sh("cd %s && ls c/ca.crt c/ca.key c/tls.crt c/tls.key k/webhook-tls-secret.yaml "
			     "k/caBundle.txt k/caBundle-patch.yaml k/kustomization.yaml 2>&1", d), 0, "files exist");
		ASSERT_EQ(sh("stat -c %%a %s/c/tls.key %s/c/ca.key", d, d), 0, "stat keys");
		ASSERT_OK(strcmp(out, "600\n600\n"), "keys are 0600");
		ASSERT_EQ(sh("openssl verify -CAfile %s/c/ca.crt %s/c/tls.crt 2>&1", d, d), 0, "chain verifies");
		ASSERT_STRHAS(out, "tls.crt: OK", "verify says OK");
		sh("openssl x509 -in %s/c/tls.crt -noout -ext subjectAltName,extendedKeyUsage,basicConstraints", d);
		ASSERT_STRHAS(out, "DNS:wh,", "service name");
		ASSERT_STRHAS(out, "DNS:wh.ns,", "service.namespace");
		ASSERT_STRHAS(out, "DNS:wh.ns.svc,", "service DNS name");
		ASSERT_STRHAS(out, "DNS:wh.ns.svc.cluster.local", "cluster-local name");
		ASSERT_STRHAS(out, "DNS:localhost", "localhost for local tests");
		ASSERT_STRHAS(out, "IP Address:127.0.0.1", "loopback for local tests");
		ASSERT_STRHAS(out, "DNS:extra.example", "extra DNS SAN");
		ASSERT_STRHAS(out, "IP Address:10.1.2.3", "extra IP SAN");
		ASSERT_STRHAS(out, "TLS Web Server Authentication", "serverAuth");
		ASSERT_STRHAS(out, "CA:FALSE", "not a CA");
		sh("cat %s/k/webhook-tls-secret.yaml %s/k/caBundle-patch.yaml", d, d);
		ASSERT_STRHAS(out, "type: kubernetes.io/tls", "TLS secret");
		ASSERT_STRHAS(out, "name: ksense-webhook-tls", "secret name");
		ASSERT_STRHAS(out, "namespace: ns", "secret namespace");
		ASSERT_STRHAS(out, "/webhooks/0/clientConfig/caBundle", "caBundle patch");
		/* caBundle.txt is one line, and decodes to ca.crt */
		ASSERT_EQ(sh("wc -l < %s/k/caBundle.txt", d), 0, "count lines");
		ASSERT_OK(strcmp(out, "1\n"), "caBundle.txt is one line");
		ASSERT_EQ(sh("base64 -d %s/k/caBundle.txt | cmp - %s/c/ca.crt 2>&1", d, d), 0, "caBundle is ca.crt");
		if (have("kubectl")) {
			ASSERT_EQ(sh("kubectl kustomize %s/k 2>&1", d), 0, "overlay renders");
			ASSERT_STRHAS(out, "caBundle: LS0t", "caBundle filled");
		}
	}
	if (test__start_subtest("refuse_overwrite")) {
		ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/c --k8s-dir %s/k 2>&1", d, d), 1, "no overwrite");
		ASSERT_STRHAS(out, "--force", "suggests --force");
		sh("md5sum < %s/c/tls.crt", d);
		{
			char before[64];

			strncpy(before, out, sizeof(before) - 1);
			before[sizeof(before) - 1] = '\0';
			ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/c --k8s-dir %s/k --force 2>&1", d, d), 0,
				  "--force");
			sh("md5sum < %s/c/tls.crt", d);
			ASSERT_NEQ(strcmp(before, out), 0, "--force made a new certificate");
		}
	}
	if (test__start_subtest("bad_usage")) {
		ASSERT_EQ(sh("tools/gen-webhook-certs --bogus 2>&1"), 2, "bad flag");
		ASSERT_STRHAS(out, "unknown option", "says why");
		ASSERT_EQ(sh("tools/gen-webhook-certs --san 2>&1"), 2, "flag without value");
		ASSERT_EQ(sh("tools/gen-webhook-certs --san WHAT:x --out %s/x 2>&1", d), 2, "bad SAN kind");
		ASSERT_EQ(sh("tools/gen-webhook-certs --san IP:300.1.1.1 --out %s/x 2>&1", d), 2, "bad IP");
		ASSERT_EQ(sh("tools/gen-webhook-certs --days 0 --out %s/x 2>&1", d), 2, "bad days");
		ASSERT_EQ(sh("tools/gen-webhook-certs --service Bad_Name --out %s/x 2>&1", d), 2, "bad service");
		ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/x --k8s-dir k8s/generated 2>&1", d), 2,
			  "overlay inside the base");
		ASSERT_EQ(sh("test -e %s/x", d), 1, "nothing written on bad usage");
		ASSERT_EQ(sh("tools/gen-webhook-certs --help"), 0, "--help");
		ASSERT_STRHAS(out, "Examples:", "help has examples");
	}
	if (test__start_subtest("runtime_failure")) {
		sh("touch %s/file", d);
		ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/file/c --k8s-dir %s/k2 2>&1", d, d), 1,
			  "out under a file");
		ASSERT_STRHAS(out, "cannot create directory", "says why");
		ASSERT_EQ(sh("test -e %s/k2/caBundle.txt", d), 1, "nothing half-written");
	}
done:
	sh("rm -rf %s", d);
}

KS_TEST_F(tools_plot, KS_HOST)
{
	char d[128];

	if (!have("gnuplot")) {
		test__skip("gnuplot not installed (make test-deps installs gnuplot-nox)");
		return;
	}
	snprintf(d, sizeof(d), "/tmp/ksense-plot-%d", getpid());
	sh("rm -rf %s && mkdir -p %s", d, d);

	if (test__start_subtest("testdata")) {
		if (ASSERT_EQ(sh("tools/plot --data-dir tools/testdata --out %s/x.png 2>&1", d), 0, "plot")) {
			ASSERT_STRHAS(out, "120 windows, 25 admissions", "counts rows");
			ASSERT_EQ(sh("head -c 8 %s/x.png | od -An -tx1 | tr -d ' \\n'", d), 0, "read png");
			ASSERT_OK(strcmp(out, "89504e470d0a1a0a"), "PNG signature");
		} else {
			printf("%s\n", out);
		}
		/* files as arguments, thresholds from flags, default out beside the CSV */
		sh("cp tools/testdata/*.csv %s/", d);
		ASSERT_EQ(sh("tools/plot --low 40 --high 80 %s/fuzzy_monitor.csv %s/fuzzy_score.csv 2>&1", d, d), 0,
			  "plot files");
		ASSERT_EQ(sh("test -s %s/fuzzy.png", d), 0, "default out");
		/* a monitor log without admissions is still a plot */
		ASSERT_EQ(sh("tools/plot --out %s/m.png tools/testdata/fuzzy_monitor.csv 2>&1", d), 0, "no scores");
	}
	if (test__start_subtest("warmup_only")) {
		/* friction, direction and energy empty in every row */
		sh("mkdir -p %s/w && head -n 12 tools/testdata/fuzzy_monitor.csv > %s/w/fuzzy_monitor.csv", d, d);
		ASSERT_EQ(sh("tools/plot --data-dir %s/w 2>&1", d), 0, "all warm-up");
		ASSERT_EQ(sh("test -s %s/w/fuzzy.png", d), 0, "png written");
	}
	if (test__start_subtest("bad_input")) {
		sh("mkdir -p %s/h && head -n1 tools/testdata/fuzzy_monitor.csv > %s/h/fuzzy_monitor.csv", d, d);
		ASSERT_EQ(sh("tools/plot --data-dir %s/h --out %s/h.png 2>&1", d, d), 1, "header-only CSV refused");
		ASSERT_STRHAS(out, "0 data rows", "says why");
		ASSERT_EQ(sh("test -e %s/h.png", d), 1, "no PNG");
		sh("mkdir -p %s/e && : > %s/e/fuzzy_monitor.csv", d, d);
		ASSERT_EQ(sh("tools/plot --data-dir %s/e 2>&1", d), 1, "empty CSV refused");
		ASSERT_STRHAS(out, "is empty", "says why");
		ASSERT_EQ(sh("tools/plot --data-dir %s/none 2>&1", d), 1, "missing CSV");
		ASSERT_STRHAS(out, "not found", "says why");
		ASSERT_EQ(sh("tools/plot --out %s/f.png tools/testdata/fuzzy_score.csv 2>&1", d), 1, "wrong CSV");
		ASSERT_STRHAS(out, "not a fuzzy_monitor.csv", "says why");
		ASSERT_EQ(sh("tools/plot tools/testdata/fuzzy_monitor.csv %s/nope.csv 2>&1", d), 1,
			  "named score CSV missing");
	}
	if (test__start_subtest("bad_usage")) {
		ASSERT_EQ(sh("tools/plot --bogus 2>&1"), 2, "bad flag");
		ASSERT_EQ(sh("tools/plot --low 2>&1"), 2, "flag without value");
		ASSERT_EQ(sh("tools/plot --low 70 --high 45 --data-dir tools/testdata 2>&1"), 2, "low >= high");
		ASSERT_EQ(sh("tools/plot a b c 2>&1"), 2, "three files");
		ASSERT_EQ(sh("tools/plot --help"), 0, "--help");
		ASSERT_STRHAS(out, "timestamp,namespace,pod,uid,score,band,decision", "help documents the CSVs");
	}
	sh("rm -rf %s", d);
}

KS_TEST_F(tools_workloads, KS_HOST)
{
	const char *bin = "build/ksense-workloads";
	char mnt[256], dir[512];

	if (access(bin, X_OK)) {
		test__skip("%s not built (make)", bin);
		return;
	}
	if (test__start_subtest("usage")) {
		ASSERT_EQ(sh("%s --help 2>&1", bin), 0, "--help exits 0");
		ASSERT_STRHAS(out, "OFFCPU", "names the classes it makes");
		ASSERT_EQ(sh("%s --seconds soon 2>&1", bin), 2, "bad --seconds");
		ASSERT_EQ(sh("%s --prefix ../escape 2>&1", bin), 2, "prefix with ..");
		ASSERT_STRHAS(out, "plain name", "says why");
		ASSERT_EQ(sh("%s --frob 2>&1", bin), 2, "unknown argument");
		ASSERT_EQ(sh("%s --only burner,nosuch 2>&1", bin), 2, "--only with an unknown name");
		ASSERT_STRHAS(out, "names of workloads", "says what it takes");
		ASSERT_EQ(sh("%s --only '' 2>&1", bin), 2, "--only with nothing");
	}
	if (test__start_subtest("runs_and_cleans_up")) {
		if (!fx_is_root() || ks_cgroup2_mount(mnt, sizeof(mnt))) {
			test__skip("needs root and a cgroup2 mount");
			return;
		}
		snprintf(dir, sizeof(dir), "%s/ksense-tooltest-%d", mnt, getpid());
		ASSERT_EQ(sh("%s --json --seconds 1 --go /none --prefix ksense-tooltest-%d", bin, getpid()), 0,
			  "exit 0 after its time");
		ASSERT_STRHAS(out, "{\"name\":\"burner\",", "burner started");
		ASSERT_STRHAS(out, "\"expect\":\"BLOCK\"", "writer started");
		ASSERT_STRHAS(out, "\"expect\":\"OFFCPU\"", "waiter started");
		ASSERT_STRHAS(out, "cri-containerd-", "kubelet-style containerd scope");
		ASSERT_STRHAS(out, "ready", "ready line");
		ASSERT_TRUE(access(dir, F_OK) != 0, "its cgroups are gone afterwards");
		ASSERT_EQ(sh("%s --json --seconds 1 --go /none --only napper,capped --prefix ksense-tooltest-%d", bin,
			     getpid()), 0, "--only: exit 0");
		ASSERT_STRHAS(out, "{\"name\":\"napper\",", "napper started");
		ASSERT_FALSE(strstr(out, "{\"name\":\"burner\","), "the burner was left out");
		ASSERT_TRUE(access(dir, F_OK) != 0, "its cgroups are gone afterwards");
	}
}

/* Only the argument checks: the bench itself is run by make bench, never timed in a test. */
KS_TEST_F(tools_bench_scheduler, KS_HOST)
{
	if (test__start_subtest("bad_usage")) {
		ASSERT_EQ(sh("tools/bench_scheduler --rounds 0 2>&1"), 2, "--rounds 0");
		ASSERT_STRHAS(out, "--rounds must be at least 1", "says why");
		ASSERT_EQ(sh("tools/bench_scheduler --rounds -3 2>&1"), 2, "negative --rounds");
		ASSERT_STRHAS(out, "--rounds must be at least 1", "says why");
		ASSERT_EQ(sh("tools/bench_scheduler --rounds seven 2>&1"), 2, "--rounds not a number");
		ASSERT_STRHAS(out, "--rounds: invalid int value", "says why");
		ASSERT_EQ(sh("tools/bench_scheduler --rounds 2>&1"), 2, "--rounds without a value");
		ASSERT_EQ(sh("tools/bench_scheduler --pods 0 2>&1"), 2, "--pods 0");
		ASSERT_STRHAS(out, "must be positive", "says why");
		ASSERT_EQ(sh("tools/bench_scheduler --seed-pods -1 2>&1"), 2, "negative --seed-pods");
		ASSERT_EQ(sh("tools/bench_scheduler --only medium 2>&1"), 2, "--only with an unknown cluster");
		ASSERT_EQ(sh("tools/bench_scheduler --bogus 2>&1"), 2, "unknown flag");
	}
	if (test__start_subtest("help")) {
		ASSERT_EQ(sh("tools/bench_scheduler --help 2>&1"), 0, "--help");
		ASSERT_STRHAS(out, "--rounds", "documents --rounds");
		ASSERT_STRHAS(out, "default 7", "the default rounds");
		ASSERT_STRHAS(out, "median (min..max)", "how cells are printed");
		ASSERT_STRHAS(out, "--only", "documents --only");
	}
}
