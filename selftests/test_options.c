// SPDX-License-Identifier: GPL-2.0
/* Every ksense program parses its options the same way (user/lib/opts.c):
 * an unknown flag, a missing value, `--flag=value` against `--flag value`,
 * a value on a switch and a stray operand give the same kind of one-line
 * error and exit status 2 everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_progs.h"
#include "fixture.h"

static char out[8192], out2[8192];

struct prog {
	const char *bin_env, *bin_default;
	const char *cmd;      /* the subcommand, or "" */
	const char *name;     /* as its messages name it */
	const char *value_flag, *bad_value;
	const char *switch_flag;
};

static const struct prog progs[] = {
	{ "KSENSE_BIN", "build/ksense", "", "ksense", NULL, NULL, "--verbose" },
	{ "KSENSE_BIN", "build/ksense", "load", "ksense load", "--window-ms", "5", "--replace" },
	{ "KSENSE_BIN", "build/ksense", "top", "ksense top", "--interval", "abc", "--once" },
	{ "KSENSE_BIN", "build/ksense", "collect", "ksense collect", "--windows", "0", "--from-start" },
	{ "KSENSE_BIN", "build/ksense", "status", "ksense status", NULL, NULL, "--json" },
	{ "KSENSE_BIN", "build/ksense", "unload", "ksense unload", NULL, NULL, "--help" },
	{ "KSENSE_WEBHOOK_BIN", "build/ksense-webhook", "", "ksense-webhook", "--agent-port", "x", "--no-tls" },
	{ "KSENSE_SCHEDULER_BIN", "build/ksense-scheduler", "", "ksense-scheduler", "--qps", "x", "--extender" },
	{ "KSENSE_SCALER_BIN", "build/ksense-scaler", "", "ksense-scaler", "--interval-s", "x", "--once" },
	{ "KSENSE_WORKLOADS_BIN", "build/ksense-workloads", "", "ksense-workloads", "--seconds", "soon", "--json" },
};

static const char *bin(const struct prog *p)
{
	const char *b = getenv(p->bin_env);

	return b && *b ? b : p->bin_default;
}

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && !nl[1];
}

static void check(const struct prog *p)
{
	char want[256];
	int rc;

	rc = fx_sh(out, sizeof(out), "%s %s --no-such-flag 2>&1", bin(p), p->cmd);
	snprintf(want, sizeof(want), "%s: unknown option '--no-such-flag' (see %s --help)", p->name, p->name);
	ASSERT_EQ(rc, 2, "unknown flag: exit 2");
	if (!ASSERT_STRHAS(out, want, "unknown flag named") || !ASSERT_TRUE(one_line(out), "one line"))
		printf("    %s: %s\n", p->name, out);

	rc = fx_sh(out, sizeof(out), "%s %s stray 2>&1", bin(p), p->cmd);
	/* ksense's own operand is its command */
	snprintf(want, sizeof(want), *p->cmd || strcmp(p->name, "ksense") ? "%s: unexpected argument 'stray'" :
		 "%s: unknown command 'stray'", p->name);
	ASSERT_EQ(rc, 2, "stray operand: exit 2");
	if (!ASSERT_STRHAS(out, want, "stray operand named"))
		printf("    %s: %s\n", p->name, out);

	if (strcmp(p->switch_flag, "--help")) {
		rc = fx_sh(out, sizeof(out), "%s %s %s=1 2>&1", bin(p), p->cmd, p->switch_flag);
		snprintf(want, sizeof(want), "%s: %s takes no value", p->name, p->switch_flag);
		ASSERT_EQ(rc, 2, "value on a switch: exit 2");
		if (!ASSERT_STRHAS(out, want, "value on a switch named"))
			printf("    %s: %s\n", p->name, out);
	}

	rc = fx_sh(out, sizeof(out), "%s %s --help", bin(p), p->cmd);
	ASSERT_EQ(rc, 0, "--help: exit 0");
	ASSERT_STRHAS(out, "Usage:", "--help prints the usage");

	if (!p->value_flag)
		return;
	rc = fx_sh(out, sizeof(out), "%s %s %s 2>&1", bin(p), p->cmd, p->value_flag);
	snprintf(want, sizeof(want), "%s: %s needs a value (see %s --help)", p->name, p->value_flag, p->name);
	ASSERT_EQ(rc, 2, "missing value: exit 2");
	if (!ASSERT_STRHAS(out, want, "missing value named") || !ASSERT_TRUE(one_line(out), "one line"))
		printf("    %s: %s\n", p->name, out);

	rc = fx_sh(out, sizeof(out), "%s %s %s %s 2>&1", bin(p), p->cmd, p->value_flag, p->bad_value);
	ASSERT_EQ(rc, 2, "bad value: exit 2");
	snprintf(want, sizeof(want), "%s: %s: ", p->name, p->value_flag);
	ASSERT_STRHAS(out, want, "bad value: the flag named");
	snprintf(want, sizeof(want), "'%s'", p->bad_value);
	ASSERT_STRHAS(out, want, "bad value: the value quoted");
	rc = fx_sh(out2, sizeof(out2), "%s %s %s=%s 2>&1", bin(p), p->cmd, p->value_flag, p->bad_value);
	ASSERT_EQ(rc, 2, "--flag=bad: exit 2");
	if (!ASSERT_STREQ(out2, out, "--flag=value reads as --flag value"))
		printf("    %s\n", p->name);
}

KS_TEST(cli_options)
{
	size_t i;

	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		char sub[64];
		size_t k;

		snprintf(sub, sizeof(sub), "%s", progs[i].name);
		for (k = 0; sub[k]; k++)
			if (sub[k] == ' ')
				sub[k] = '_';
		if (test__start_subtest(sub))
			check(&progs[i]);
	}
}
