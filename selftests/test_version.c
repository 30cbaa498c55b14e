// SPDX-License-Identifier: GPL-2.0
/*
 * Versions: every binary's --version is the tree's tools/gen-version, the
 * stamp survives a `git archive` tarball, a tree with neither says
 * "unknown" with a warning, the generated file changes only when the
 * version does, and /metrics carries ksense_build_info.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fakeapi.h"
#include "fixture.h"
#include "test_progs.h"

static char out[1 << 16];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static const char *bin_of(const char *env, const char *def)
{
	const char *b = getenv(env);

	return b && *b ? b : def;
}

static const char *scratch(void)
{
	return fx_tmpdir("version-test");
}

/* "VERSION COMMIT SOURCE" of tools/gen-version in dir, with env prefix. */
static bool gen_version(const char *dir, const char *env, char *version, char *commit, char *source)
{
	if (sh("cd %s && %s tools/gen-version 2>/dev/null", dir, env ? env : ""))
		return false;
	return sscanf(out, "%127s %127s %15s", version, commit, source) == 3;
}

KS_TEST_F(version, KS_HOST)
{
	char version[128], commit[128], source[16], want[512];

	if (!ASSERT_TRUE(gen_version(".", NULL, version, commit, source), "gen-version runs"))
		return;

	if (test__start_subtest("every_binary")) {
		static const struct {
			const char *name, *env, *def;
		} bins[] = {
			{ "ksense", "KSENSE_BIN", "build/ksense" },
			{ "ksense-webhook", "KSENSE_WEBHOOK_BIN", "build/ksense-webhook" },
			{ "ksense-scheduler", "KSENSE_SCHEDULER_BIN", "build/ksense-scheduler" },
			{ "ksense-scaler", "KSENSE_SCALER_BIN", "build/ksense-scaler" },
			{ "ksense-workloads", "KSENSE_WORKLOADS_BIN", "build/ksense-workloads" },
		};
		size_t i;

		for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
			int rc = sh("%s --version 2>&1", bin_of(bins[i].env, bins[i].def));

			snprintf(want, sizeof(want), "%s %s (commit %s, pin schema %u)\n", bins[i].name, version, commit,
				 (unsigned int)KSENSE_SCHEMA_VERSION);
			ASSERT_EQ(rc, 0, bins[i].name);
			ASSERT_STREQ(out, want, bins[i].name);
		}
		/* the build says what the tree says: a checkout here is git */
		if (!access(".git", F_OK))
			ASSERT_STREQ(source, "git", "version from git in a checkout");
	}

	if (test__start_subtest("git_archive_tarball")) {
		char v2[128], c2[128], s2[16], head[128];

		if (access(".git", F_OK) || sh("git rev-parse HEAD")) {
			test__skip("not a git checkout");
		} else {
			snprintf(head, sizeof(head), "%.*s", (int)strcspn(out, "\n"), out);
			/* the tree as `git archive` ships it: no .git, the stamp expanded */
			ASSERT_OK(sh("rm -rf %s/archive && mkdir -p %s/archive && git archive HEAD | tar -x -C %s/archive 2>&1",
				     scratch(), scratch(), scratch()), "git archive | tar x");
			snprintf(want, sizeof(want), "%s/archive", scratch());
			if (ASSERT_TRUE(gen_version(want, NULL, v2, c2, s2), "gen-version in the tarball")) {
				ASSERT_STREQ(s2, "archive", "version from the stamp");
				ASSERT_STREQ(c2, head, "the stamp's commit is HEAD");
				ASSERT_OK(sh("git describe --tags --always --abbrev=12 HEAD"), "git describe HEAD");
				out[strcspn(out, "\n")] = '\0';
				ASSERT_STREQ(v2, out, "the stamp's version is HEAD's description");
			}
		}
	}

	if (test__start_subtest("no_git_no_stamp")) {
		char v2[128], c2[128], s2[16];

		/* a plain copy of the sources: nothing says which version it is */
		ASSERT_OK(sh("rm -rf %s/plain && mkdir -p %s/plain/tools && cp tools/gen-version tools/version-stamp %s/plain/tools/",
			     scratch(), scratch(), scratch()), "copy");
		snprintf(want, sizeof(want), "%s/plain", scratch());
		if (ASSERT_TRUE(gen_version(want, NULL, v2, c2, s2), "gen-version without git")) {
			ASSERT_STREQ(v2, "unknown", "version unknown");
			ASSERT_STREQ(s2, "none", "source none");
		}
		sh("cd %s && tools/gen-version 2>&1 >/dev/null", want);
		ASSERT_STRHAS(out, "set KSENSE_VERSION", "the warning says what to do");
		/* a packager's override wins over everything */
		if (ASSERT_TRUE(gen_version(want, "KSENSE_VERSION=1.2.3 KSENSE_COMMIT=abc", v2, c2, s2), "override")) {
			ASSERT_STREQ(v2, "1.2.3", "KSENSE_VERSION");
			ASSERT_STREQ(c2, "abc", "KSENSE_COMMIT");
		}
	}

	if (test__start_subtest("regenerated_only_on_change")) {
		struct stat a, b;
		char f[256];

		snprintf(f, sizeof(f), "%s/version.c", scratch());
		ASSERT_OK(sh("KSENSE_VERSION=9.9 tools/gen-version --c %s", f), "write");
		ASSERT_OK(stat(f, &a), "stat");
		usleep(20 * 1000);
		ASSERT_OK(sh("KSENSE_VERSION=9.9 tools/gen-version --c %s", f), "write again");
		ASSERT_OK(stat(f, &b), "stat");
		ASSERT_TRUE(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec,
			    "same version: file untouched (nothing relinks)");
		ASSERT_OK(sh("KSENSE_VERSION='9.10\"x' tools/gen-version --c %s && cat %s", f, f), "new version");
		ASSERT_STRHAS(out, "ks_build_version[] = \"9.10_x\"", "rewritten, quote made harmless");
	}

	if (test__start_subtest("metrics_build_info")) {
		char log[256], portfile[256], home[200];
		int port = 0, i;
		pid_t pid;

		snprintf(log, sizeof(log), "%s/webhook.log", scratch());
		snprintf(portfile, sizeof(portfile), "%s/data", scratch());
		{
			char *argv[] = { (char *)bin_of("KSENSE_WEBHOOK_BIN", "build/ksense-webhook"), "--no-tls",
					 "--agent-addr", "127.0.0.1", "--agent-port", "0", "--data-dir", portfile,
					 "--node", "node-version", NULL };
			/* no kube config of the machine's sneaks in */
			const char *env[] = { "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-none-for-version-test",
					      "KUBECONFIG=", home, NULL };

			snprintf(home, sizeof(home), "HOME=%s", scratch());

			pid = fx_spawn(log, argv, env);
		}
		for (i = 0; pid > 0 && i < 100 && port <= 0; i++) {
			usleep(50 * 1000);
			if (!sh("sed -n 's/.*agent_port=\\([0-9]*\\).*/\\1/p' %s", log))
				port = atoi(out);
		}
		if (ASSERT_GT(port, 0, "webhook listening")) {
			snprintf(want, sizeof(want), "ksense_build_info{version=\"%s\",commit=\"%s\",schema=\"%u\"} 1\n",
				 version, commit, (unsigned int)KSENSE_SCHEMA_VERSION);
			ASSERT_OK(sh("curl -s --max-time 5 http://127.0.0.1:%d/metrics", port), "GET /metrics");
			ASSERT_STRHAS(out, want, "build info with version, commit and schema");
			ASSERT_STRHAS(out, "# TYPE ksense_build_info gauge", "typed");
		}
		ASSERT_EQ(fx_stop(pid), 0, "webhook stops cleanly");
	}
}
