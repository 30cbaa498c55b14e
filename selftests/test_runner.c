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

KS_TEST_F(runner_marks, KS_HOST)
{
	if (!ASSERT_EQ(sh("/proc/%d/exe -l -m san", (int)getpid()), 0, "-l -m san"))
		return;
	ASSERT_TRUE(listed("http_headers"), "a parser test is in the sanitizer pass");
	ASSERT_TRUE(listed("e2e_kernel_to_scale"), "so is a live daemon chain marked KS_LIVE | KS_SAN");
	ASSERT_FALSE(listed("signals"), "a BPF-only live test is not");

	ASSERT_EQ(sh("/proc/%d/exe -l -m host", (int)getpid()), 0, "-l -m host");
	ASSERT_TRUE(listed("http_headers"), "the HTTP parser is host-only");
	ASSERT_TRUE(listed("runner_marks"), "this test is host-only");
	ASSERT_FALSE(listed("hist_percentiles"), "a BPF_PROG_TEST_RUN test is not");

	ASSERT_EQ(sh("/proc/%d/exe -l -m '!host,live'", (int)getpid()), 0, "-l -m '!host,live'");
	ASSERT_TRUE(listed("signals"), "live and not host");
	ASSERT_FALSE(listed("http_headers"), "host tests left out");
	ASSERT_FALSE(listed("load_lifecycle"), "tests without KS_LIVE left out");

	ASSERT_EQ(sh("/proc/%d/exe -l -m san -m live", (int)getpid()), 0, "-m twice");
	ASSERT_TRUE(listed("e2e_kernel_to_scale"), "both marks");
	ASSERT_FALSE(listed("http_headers"), "san alone is not enough");

	ASSERT_EQ(sh("/proc/%d/exe -l -m san,slow 2>&1", (int)getpid()), 2, "an unknown mark");
	ASSERT_STRHAS(out, "live, san or host", "names the marks it knows");
	ASSERT_STRHAS(out, "'slow'", "and the one it did not");
}
