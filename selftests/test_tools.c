// SPDX-License-Identifier: GPL-2.0
/* tools/gen-webhook-certs and tools/plot. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "fixture.h"

static char out[1 << 16];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

KS_TEST(tools_gen_webhook_certs)
{
	char d[128];

	snprintf(d, sizeof(d), "/tmp/ksense-certs-%d", getpid());
	sh("rm -rf %s", d);
	if (!ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/c --k8s-dir %s/k --service wh --namespace ns "
			  "--san DNS:extra.example 2>&1", d, d), 0, "generate")) {
		printf("%s\n", out);
		return;
	}
	ASSERT_EQ(sh("openssl verify -CAfile %s/c/ca.crt %s/c/tls.crt 2>&1", d, d), 0, "chain verifies");
	sh("openssl x509 -in %s/c/tls.crt -noout -ext subjectAltName,extendedKeyUsage,basicConstraints", d);
	ASSERT_STRHAS(out, "DNS:wh.ns.svc", "service DNS name");
	ASSERT_STRHAS(out, "DNS:wh.ns.svc.cluster.local", "cluster-local name");
	ASSERT_STRHAS(out, "IP Address:127.0.0.1", "loopback for local tests");
	ASSERT_STRHAS(out, "DNS:extra.example", "extra SAN");
	ASSERT_STRHAS(out, "TLS Web Server Authentication", "serverAuth");
	ASSERT_STRHAS(out, "CA:FALSE", "not a CA");
	sh("cat %s/k/webhook-tls-secret.yaml %s/k/caBundle-patch.yaml", d, d);
	ASSERT_STRHAS(out, "type: kubernetes.io/tls", "TLS secret");
	ASSERT_STRHAS(out, "/webhooks/0/clientConfig/caBundle", "caBundle patch");
	ASSERT_NEQ(sh("tools/gen-webhook-certs --out %s/c --k8s-dir %s/k 2>&1", d, d), 0, "no overwrite");
	ASSERT_STRHAS(out, "--force", "suggests --force");
	ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/c --k8s-dir %s/k --force 2>&1", d, d), 0, "--force");
	ASSERT_EQ(sh("tools/gen-webhook-certs --bogus 2>&1"), 2, "bad flag");
	ASSERT_EQ(sh("tools/gen-webhook-certs --san 'WHAT:x' --out %s/x 2>&1", d), 2, "bad SAN");
	if (!system("command -v kubectl >/dev/null 2>&1")) {
		ASSERT_EQ(sh("tools/gen-webhook-certs --out %s/c2 --k8s-dir %s/overlay 2>&1 && "
			     "kubectl kustomize %s/overlay 2>&1", d, d, d), 0, "overlay renders");
		ASSERT_STRHAS(out, "caBundle: LS0t", "caBundle filled");
	}
	sh("rm -rf %s", d);
}

KS_TEST(tools_plot)
{
	char d[128];
	FILE *f;
	int i;

	if (system("command -v gnuplot >/dev/null 2>&1")) {
		test__skip("gnuplot not installed (make deps)");
		return;
	}
	snprintf(d, sizeof(d), "/tmp/ksense-plot-%d", getpid());
	sh("rm -rf %s && mkdir -p %s", d, d);
	snprintf(out, sizeof(out), "%s/fuzzy_monitor.csv", d);
	f = fopen(out, "w");
	if (!ASSERT_OK_PTR(f, "monitor csv"))
		return;
	fprintf(f, "timestamp,seq,baseline_state,friction,direction,energy,cpu_util_pct,psi_pct,"
		   "rq_p99_us,dstate_ms_per_s,netrx_ms_per_s,score,band,decision\n");
	for (i = 0; i < 40; i++) /* warm-up rows leave friction/direction/energy empty */
		fprintf(f, "2026-11-23T07:30:%02d.250Z,%d,%s,%s,%s,%s,%d.0,%d.0,300.0,1.000,0.100,%d,%s,%s\n",
			i, i + 1, i < 10 ? "warmup" : "frozen", i < 10 ? "" : "12.5", i < 10 ? "" : "0",
			i < 10 ? "" : "20.0", 10 + i, i, 10 + i * 2, i * 2 + 10 >= 70 ? "high" : "low",
			i * 2 + 10 >= 70 ? "deny" : "allow");
	fclose(f);
	snprintf(out, sizeof(out), "%s/fuzzy_score.csv", d);
	f = fopen(out, "w");
	if (ASSERT_OK_PTR(f, "score csv")) {
		fprintf(f, "timestamp,namespace,pod,uid,score,band,decision\n"
			   "2026-11-23T07:30:05.000Z,default,p1,u1,20,low,allow\n"
			   "2026-11-23T07:30:35.000Z,default,p2,u2,80,high,deny\n");
		fclose(f);
	}
	if (!ASSERT_EQ(sh("tools/plot --data-dir %s --out %s/x.png 2>&1", d, d), 0, "plot")) {
		printf("%s\n", out);
		return;
	}
	ASSERT_EQ(sh("head -c 8 %s/x.png | od -An -tx1 | tr -d ' \\n'", d), 0, "read png");
	ASSERT_OK(strcmp(out, "89504e470d0a1a0a"), "PNG signature");
	sh("head -n1 %s/fuzzy_monitor.csv > %s/empty.csv", d, d);
	ASSERT_EQ(sh("tools/plot --out %s/y.png %s/empty.csv 2>&1", d, d), 1, "header-only CSV refused");
	ASSERT_STRHAS(out, "data rows", "says why");
	ASSERT_EQ(sh("tools/plot --data-dir %s/none 2>&1", d), 1, "missing CSV");
	ASSERT_EQ(sh("tools/plot --bogus 2>&1"), 2, "bad flag");
	sh("rm -rf %s", d);
}
