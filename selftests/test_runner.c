// SPDX-License-Identifier: GPL-2.0
/*
 * The runner's marks: `-m` picks tests by what their registration says
 * (KS_LIVE, KS_SAN, KS_HOST), which is how `make test` chooses the
 * sanitizer pass's tests and tools/vmtest the guest's.  A mark that stopped
 * selecting would shrink those runs without failing anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"
#include "test_progs.h"

static char out[1 << 16];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

/* Whether the list in out holds name as a whole line. */
static bool listed(const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = out; (p = strstr(p, name)); p += n)
		if ((p == out || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/* -m's arguments, tests it must list and tests it must leave out. */
static const struct {
	const char *marks;
	const char *in[2], *out[2];
} cases[] = {
	/* a parser test and a live daemon chain (KS_LIVE | KS_SAN); not a BPF-only live test */
	{ "san", { "http_headers", "e2e_kernel_to_scale" }, { "signals" } },
	{ "host", { "http_headers", "runner_marks" }, { "hist_percentiles" } },
	{ "'!host,live'", { "signals" }, { "http_headers", "load_lifecycle" } },
	/* two -m: both marks, san alone is not enough */
	{ "san -m live", { "e2e_kernel_to_scale" }, { "http_headers" } },
};

KS_TEST_F(runner_marks, KS_HOST)
{
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_EQ(sh("/proc/%d/exe -l -m %s", (int)getpid(), cases[i].marks), 0, cases[i].marks))
			continue;
		for (k = 0; k < 2; k++) {
			if (cases[i].in[k] && !ASSERT_TRUE(listed(cases[i].in[k]), "listed"))
				printf("  -m %s does not list %s\n", cases[i].marks, cases[i].in[k]);
			if (cases[i].out[k] && !ASSERT_FALSE(listed(cases[i].out[k]), "left out"))
				printf("  -m %s lists %s\n", cases[i].marks, cases[i].out[k]);
		}
	}

	ASSERT_EQ(sh("/proc/%d/exe -l -m san,slow 2>&1", (int)getpid()), 2, "an unknown mark");
	ASSERT_STRHAS(out, "live, san or host", "names the marks it knows");
	ASSERT_STRHAS(out, "'slow'", "and the one it did not");
}

/* A test that fails when asked to (KS_RUNNER_FAIL set), for the one below;
 * skipped in every normal run. */
KS_TEST_F(runner_fails_on_request, KS_HOST)
{
	if (!getenv("KS_RUNNER_FAIL")) {
		test__skip("fails only when KS_RUNNER_FAIL is set (runner_summary runs it so)");
		return;
	}
	if (test__start_subtest("sub"))
		ASSERT_EQ(1 + 1, 3, "arithmetic on request");
}

/* A live-workload test that fails when asked to: its first attempt
 * (KS_RUNNER_FAIL_LIVE=first) or both (=both); for runner_summary. */
KS_TEST_F(runner_live_fails_on_request, KS_LIVE | KS_HOST)
{
	static int attempt;
	const char *how = getenv("KS_RUNNER_FAIL_LIVE");

	if (!how) {
		test__skip("fails only when KS_RUNNER_FAIL_LIVE is set (runner_summary runs it so)");
		return;
	}
	if (++attempt == 1)
		ASSERT_EQ(attempt, 0, "the first attempt on request");
	else if (!strcmp(how, "both"))
		ASSERT_EQ(attempt, 0, "the second attempt on request");
}

/* The closing lines a CI log's tail shows: the first failed checks, what
 * they checked, and the FAILED line naming test/subtest, last. */
KS_TEST_F(runner_summary, KS_HOST)
{
	const char *last;

	ASSERT_EQ(sh("KS_RUNNER_FAIL=1 /proc/%d/exe -t runner_fails_on_request 2>&1", (int)getpid()), 1,
		  "a failed run exits 1");
	ASSERT_STRHAS(out, "first failed checks:\n  runner_fails_on_request/sub selftests/test_runner.c:",
		      "the failed check, with its test and place");
	ASSERT_STRHAS(out, " arithmetic on request: ", "and what it checked");
	last = strstr(out, "FAILED: ");
	if (ASSERT_OK_PTR(last, "a FAILED line"))
		ASSERT_STREQ(last, "FAILED: runner_fails_on_request/sub\n", "the FAILED line, last");
	ASSERT_EQ(sh("/proc/%d/exe -t runner_fails_on_request 2>&1", (int)getpid()), 0, "skipped otherwise");
	ASSERT_FALSE(strstr(out, "first failed checks"), "and a run without failures has no such lines");

	/* a live test failed twice: both attempts' reasons, the first one's
	 * first (the second may fail for a reason of its own, say a stale
	 * file of the first) */
	ASSERT_EQ(sh("KS_RUNNER_FAIL_LIVE=both /proc/%d/exe -t runner_live_fails_on_request 2>&1", (int)getpid()), 1,
		  "a live test failed twice");
	ASSERT_STRHAS(out, "first failed checks:\n  runner_live_fails_on_request selftests/test_runner.c:",
		      "its checks");
	ASSERT_STRHAS(out, " the first attempt on request: unexpected attempt: actual 1 == 0 (first attempt)\n  "
		      "runner_live_fails_on_request selftests/test_runner.c:",
		      "the first attempt's, marked, then the second's");
	ASSERT_STRHAS(out, " the second attempt on request: ", "the second attempt's");
	/* passed the second time: nothing to say */
	ASSERT_EQ(sh("KS_RUNNER_FAIL_LIVE=first /proc/%d/exe -t runner_live_fails_on_request 2>&1", (int)getpid()),
		  0, "a live test that passed its second attempt");
	ASSERT_STRHAS(out, "(1 live-workload test needed a second attempt)", "counted");
	ASSERT_FALSE(strstr(out, "first failed checks"), "but its first attempt's checks are not listed");
}
