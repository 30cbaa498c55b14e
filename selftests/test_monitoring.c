// SPDX-License-Identifier: GPL-2.0
/*
 * k8s/monitoring, the kit for Prometheus Operator users: it renders as a
 * kustomize component, its rules pass `promtool check rules` and their
 * unit tests (tests/rules_test.yaml: each alert fires when it should and
 * not before), and the dashboard is JSON that queries only metrics the
 * daemons export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"

static char out[1 << 17];
static char dir[128];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

static void rules(void)
{
	/* the rule file is everything under the PrometheusRule's spec: */
	if (!ASSERT_EQ(sh("sed -n '/^spec:/,$p' k8s/monitoring/prometheusrule.yaml | tail -n +2 | sed 's/^  //' "
			  "> %s/ksense-rules.yaml && cp k8s/monitoring/tests/rules_test.yaml %s/", dir, dir), 0,
		       "extract the rule file"))
		return;
	if (!ASSERT_EQ(sh("%s check rules %s/ksense-rules.yaml 2>&1", fx_promtool(), dir), 0, "promtool check rules"))
		printf("%s\n", out);
	ASSERT_STRHAS(out, "SUCCESS", "rules found");
	if (!ASSERT_EQ(sh("cd %s && %s test rules rules_test.yaml 2>&1", dir, fx_promtool()), 0,
		       "promtool test rules (each alert fires when it should)"))
		printf("%s\n", out);
}

static void render(void)
{
	if (system("command -v kubectl >/dev/null 2>&1")) {
		test__skip("kubectl not installed");
		return;
	}
	/* an overlay that adds the component to the base, as the README says */
	sh("mkdir -p %s/overlay && ln -sfn %s/k8s %s/k8s", dir, getcwd(out, sizeof(out)), dir);
	sh("printf 'apiVersion: kustomize.config.k8s.io/v1beta1\\nkind: Kustomization\\n"
	   "resources: [../k8s]\\ncomponents: [../k8s/monitoring]\\n' > %s/overlay/kustomization.yaml", dir);
	if (!ASSERT_EQ(sh("kubectl kustomize --load-restrictor LoadRestrictionsNone %s/overlay 2>&1", dir), 0,
		       "kubectl kustomize with the monitoring component")) {
		printf("%s\n", out);
		return;
	}
	ASSERT_EQ(count(out, "kind: PodMonitor\n"), 4, "a PodMonitor per daemon and the extender");
	ASSERT_STRHAS(out, "  name: ksense-scheduler-extender\n  namespace: ksense-system\nspec:\n  podMetricsEndpoints:\n"
		      "  - interval: 30s\n    path: /metrics\n    port: metrics\n", "the extender's status port scraped");
	ASSERT_EQ(count(out, "kind: PrometheusRule\n"), 1, "the rules");
	ASSERT_STRHAS(out, "grafana_dashboard: \"1\"", "the dashboard for Grafana's sidecar");
	ASSERT_STRHAS(out, "ksense.json: ", "the dashboard's JSON");
	ASSERT_STRHAS(out, "targetLabel: node", "node label on the node daemon's series");
}

KS_TEST_F(monitoring_kit, KS_HOST)
{
	if (!ASSERT_EQ(access(fx_promtool(), X_OK), 0, "promtool (make test fetches it: tools/fetch-deb prometheus)"))
		return;
	snprintf(dir, sizeof(dir), "/tmp/ksense-monitoring-%d", getpid());
	sh("rm -rf %s && mkdir -p %s", dir, dir);
	if (test__start_subtest("rules"))
		rules();
	if (test__start_subtest("component_renders"))
		render();
	if (!test__failed())
		sh("rm -rf %s", dir);
}
