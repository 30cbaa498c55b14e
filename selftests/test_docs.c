// SPDX-License-Identifier: GPL-2.0
/*
 * The repository explains itself: its Markdown links point at files it
 * holds, nothing sends a reader outside it, and `make run` installs and
 * builds only what running needs.
 */
#include <stdio.h>
#include <string.h>
#include "fixture.h"
#include "test_progs.h"

static char out[1 << 16];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

KS_TEST_F(docs, KS_HOST)
{
	if (test__start_subtest("links_resolve")) {
		/* every relative link target of every tracked Markdown file */
		int rc = sh("git ls-files '*.md' 2>/dev/null | while read -r f; do "
			    "  d=$(dirname \"$f\"); "
			    "  grep -o '](\\([^)#]*\\))' \"$f\" | sed 's/^](//; s/)$//' | "
			    "  grep -v '^[a-z]*://' | grep -v '^$' | while read -r l; do "
			    "    [ -e \"$d/$l\" ] || echo \"$f: $l\"; "
			    "    case $(realpath -m \"$d/$l\") in \"$PWD\"/*) ;; *) echo \"$f: $l leaves the repository\";; esac; "
			    "  done; done");

		if (ASSERT_EQ(rc, 0, "scan") && !ASSERT_STREQ(out, "", "every link resolves inside the repository"))
			printf("%s", out);
		ASSERT_OK(sh("test -s docs/ARCHITECTURE.md"), "docs/ARCHITECTURE.md exists");
	}

	if (test__start_subtest("nothing_outside")) {
		/* the team's notes live beside the repository, not in it */
		sh("git grep -n -e '\\.\\./shared' -e '/work/shared' -- . ':!selftests/test_docs.c' 2>/dev/null");
		if (!ASSERT_STREQ(out, "", "no reference to ../shared"))
			printf("%s", out);
	}

	if (test__start_subtest("run_needs_less_than_test")) {
		char deps[4096];

		ASSERT_OK(sh("make -s --no-print-directory -f Makefile -f - print-deps <<'EOF'\n"
			     "print-deps:\n\t@echo $(DEPS_PKGS)\nEOF"), "DEPS_PKGS");
		snprintf(deps, sizeof(deps), " %.*s ", (int)strcspn(out, "\n"), out);
		/* tools of tests, benchmarks and plots are not needed to run */
		static const char *const test_only[] = { " golang-go ", " wrk ", " gnuplot-nox ", " linux-perf ",
							 " qemu-system-x86 ", " libnl-3-dev ", " python3 ",
							 " curl ", " libclang-rt-14-dev ", " mmdebstrap " };
		for (size_t i = 0; i < sizeof(test_only) / sizeof(test_only[0]); i++)
			if (strstr(deps, test_only[i]))
				ASSERT_TRUE(false, test_only[i]);
		ASSERT_STRHAS(deps, " libbpf-dev ", "building needs libbpf");
		/* `make run` builds the programs, not the tests */
		ASSERT_OK(sh("make -n run BUILD=/nonexistent-ksense-docs-test 2>&1 | grep -c test_progs || true"),
			  "make -n run");
		ASSERT_STREQ(out, "0\n", "make run does not build test_progs");
		ASSERT_OK(sh("make -n run BUILD=/nonexistent-ksense-docs-test 2>&1"), "make -n run");
		ASSERT_STRHAS(out, "ksense load", "make run loads");
	}
}
