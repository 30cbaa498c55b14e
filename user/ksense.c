// SPDX-License-Identifier: GPL-2.0
/* ksense: load the in-kernel sensors and read what they measure. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "ksense.h"
#include "log.h"
#include "version.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "load",   cmd_load,   "load the BPF programs and pin them under the pin root" },
	{ "unload", cmd_unload, "detach every program and remove the pin tree" },
	{ "status", cmd_status, "schema, programs, run counts, age of the last window" },
	{ "top",    cmd_top,    "live view of the latest window and recent history" },
	{ "collect", cmd_collect, "append one CSV row per window to $KSENSE_METRICS_CSV" },
	{ "config", cmd_config, "show or change run-time settings (live, validated)" },
	{ "baseline", cmd_baseline, "show the learned baseline or restart its warm-up" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: ksense [-v] COMMAND [OPTIONS]\n"
		"\n"
		"ksense measures run-queue latency, D-state time, NET_RX softirq time,\n"
		"CPU use and pressure stalls inside the kernel and closes a window of\n"
		"statistics every KSENSE_WINDOW_MS (default 1000 ms) into pinned maps.\n"
		"\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\nOptions:\n"
		"  -v, --verbose  debug logs, including libbpf's\n"
		"  -h, --help     this text; `ksense COMMAND --help` for a command\n"
		"  --version      version, commit and pin schema\n"
		"\nEnvironment:\n"
		"  KSENSE_PIN_ROOT   pin tree (default " KSENSE_PIN_ROOT ")\n"
		"  KSENSE_WINDOW_MS  window length for `load`, %u..%u (default %u)\n"
		"\nExamples:\n"
		"  ksense load && ksense top\n"
		"  bpftool map dump pinned " KSENSE_PIN_ROOT "/window\n"
		"  ksense status --json\n",
		KSENSE_WINDOW_MS_MIN, KSENSE_WINDOW_MS_MAX, KSENSE_WINDOW_MS_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	bool verbose = false;
	struct ks_opts p;
	size_t i;
	int arg, opt;

	/* '+': the options before the command are ksense's, the rest the command's */
	ks_opts_init(&p, "ksense", argc, argv, "+vh", longopts);
	while ((opt = ks_opts_next(&p)) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			ks_print_version(stdout, "ksense");
			return 0;
		default:
			return 2;
		}
	}
	arg = optind;
	if (arg >= argc) {
		usage(stderr);
		return 2;
	}
	ks_log_init("ksense", verbose);
	ks_log_libbpf();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[arg], commands[i].name))
			return commands[i].fn(argc - arg, argv + arg);
	fprintf(stderr, "ksense: unknown command '%s' (see ksense --help)\n", argv[arg]);
	return 2;
}
