// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"
#include "pins.h"
#include "promfx.h"
#include "test_progs.h"
#include "version.h"

void prom_lint(const char *response, const char *file, const char *what)
{
	static char out[1 << 16];
	const char *body = strstr(response, "\r\n\r\n");
	FILE *f;

	if (access(fx_promtool(), X_OK))
		return;
	f = fopen(file, "w");
	if (!ASSERT_OK_PTR(f, "exposition file"))
		return;
	fputs(body ? body + 4 : response, f);
	fclose(f);
	if (!ASSERT_EQ(fx_sh(out, sizeof(out), "%s check metrics < %s 2>&1", fx_promtool(), file), 0,
		       "promtool check metrics"))
		printf("    %s:\n%s\n", what, out);
}

void prom_build_info(const char *e, const char *what)
{
	char want[512];

	snprintf(want, sizeof(want), "\nksense_build_info{version=\"%s\",commit=\"%s\",schema=\"%u\"} 1\n",
		 ks_build_version, ks_build_commit, (unsigned int)KSENSE_SCHEMA_VERSION);
	if (!ASSERT_STRHAS(e, want, "ksense_build_info of this build"))
		printf("    on %s\n", what);
	ASSERT_STRHAS(e, "# TYPE ksense_build_info gauge\n", "typed");
}
