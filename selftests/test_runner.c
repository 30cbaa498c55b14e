// SPDX-License-Identifier: GPL-2.0
/*
 * The runner's marks: `-m` picks tests by what their registration says
 * (KS_LIVE, KS_SAN, KS_HOST), which is how `make test` chooses the
 * sanitizer pass's tests and tools/vmtest the guest's.  A mark that stopped
 * selecting would shrink those runs without failing anything else.
 */
#include <stdio.h>
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
