// SPDX-License-Identifier: GPL-2.0
/* ksense config show|set and ksense baseline show|reset: live changes to
 * the `config` pin, validated as a whole before anything is written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "names.h"
#include "pins.h"
#include "settings.h"

static void config_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense config show [--json]\n"
		"       ksense config set KEY=VALUE [KEY=VALUE...]\n"
		"\n"
		"Shows or changes the run-time settings in the config pin.  The tick reads\n"
		"them every window, so a change applies from the next window without a\n"
		"reload.  `set` checks every value and the whole config (weights sum to\n"
		"1000, band_low_below <= medium_low_upper < medium_mid_upper <\n"
		"band_high_from, trapezoids a<=b<=c<=d, rules FECP:score) and writes\n"
		"nothing if any check fails.  `show` lists every key with its unit,\n"
		"meaning and the environment variable `ksense load` reads it from.\n"
		"\nExamples:\n"
		"  ksense config set medium_bad_threshold=3\n"
		"  ksense config set mf.cpu.high=700,850,1000,1000 'rules=H---:85;--H-:75'\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static int config_show(const struct ksense_config *c, bool json)
{
	struct ksense_state st = {};
	char val[1024];
	size_t i;

	if (json)
		printf("{");
	for (i = 0; i < ks_nr_settings; i++) {
		const struct ks_setting *s = &ks_settings[i];

		ks_setting_format(c, s, val, sizeof(val));
		if (json) {
			printf("%s", i ? "," : "");
			json_str(s->key);
			putchar(':');
			if (s->kind == KS_KIND_U32 || s->kind == KS_KIND_U64)
				printf("%s", val);
			else
				json_str(val);
		} else {
			printf("%-30s = %-18s # %s; %s (%s)\n", s->key, val, s->unit, s->doc, s->env);
		}
	}
	/* the CPU count is fixed at load (read-only data), kept in the state */
	if (json && ks_read_state(&st))
		st.nr_cpus = 0;
	if (json)
		printf(",\"nr_cpus\":%u,\"schema_version\":%u}\n", st.nr_cpus, c->schema_version);
	return 0;
}

static int config_set(int argc, char **argv, struct ksense_config *c)
{
	char err[512], key[128];
	int i, rc;

	if (argc < 1) {
		fprintf(stderr, "ksense config set: give at least one KEY=VALUE (see ksense config --help)\n");
		return 2;
	}
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const struct ks_setting *s;

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key)) {
			fprintf(stderr, "ksense config set: '%s' is not KEY=VALUE\n", argv[i]);
			return 2;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
		s = ks_setting_find(key);
		if (!s) {
			fprintf(stderr, "ksense config set: unknown key '%s' (ksense config show lists them)\n", key);
			return 2;
		}
		if (ks_setting_apply(c, s, eq + 1, err, sizeof(err))) {
			fprintf(stderr, "ksense config set: %s; config unchanged\n", err);
			return 2;
		}
	}
	if (ks_config_validate(c, err, sizeof(err))) {
		fprintf(stderr, "ksense config set: %s; config unchanged\n", err);
		return 2;
	}
	rc = ks_write_config(c);
	if (rc) {
		fprintf(stderr, "ksense config set: cannot write the config pin: %s\n", strerror(-rc));
		return 1;
	}
	printf("ksense: config updated (%d setting%s); applies from the next window\n", argc,
	       argc == 1 ? "" : "s");
	return 0;
}

static int read_config_or_say(const char *cmd, struct ksense_config *c)
{
	int err = ks_read_config(c);
	char why[512];

	if (err) {
		fprintf(stderr, "ksense %s: %s\n", cmd, ks_pins_error(err, why, sizeof(why)));
		return 1;
	}
	if (c->schema_version != KSENSE_SCHEMA_VERSION) {
		fprintf(stderr, "ksense %s: the pinned config has schema %u, this ksense %u; "
			"`ksense load --replace`\n", cmd, c->schema_version, KSENSE_SCHEMA_VERSION);
		return 1;
	}
	return 0;
}

int cmd_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct ksense_config c;
	bool json = false;
	struct ks_opts p;
	int opt, first;

	ks_opts_init(&p, "ksense config", argc, argv, "jh", longopts);
	while ((opt = ks_opts_next(&p)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			config_usage(stdout);
			return 0;
		} else {
			return 2;
		}
	}
	ks_opts_operands(&p, argc, &first);
	if (first >= argc) {
		config_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[first], "show")) {
		if (ks_opts_operands(&p, 1, &first))
			return 2;
		if (read_config_or_say("config", &c))
			return 1;
		return config_show(&c, json);
	}
	if (!strcmp(argv[first], "set")) {
		if (json) {
			fprintf(stderr, "ksense config: --json goes with show (see ksense config --help)\n");
			return 2;
		}
		if (read_config_or_say("config", &c))
			return 1;
		return config_set(argc - first - 1, argv + first + 1, &c);
	}
	fprintf(stderr, "ksense config: unknown subcommand '%s' (show, set; see ksense config --help)\n",
		argv[first]);
	return 2;
}

int cmd_baseline(int argc, char **argv)
{
	struct ksense_baseline b;
	struct ksense_config c;
	bool help;
	int err, first;

	if (ks_opts_help_only("ksense baseline", argc, argv, 1, &help, &first))
		return 2;
	/* from here argv[1] is the subcommand: getopt moved options after it */
	argc = argc - optind + 1;
	argv = argv + optind - 1;
	if (argc < 2 || help) {
		fprintf(help ? stdout : stderr,
			"Usage: ksense baseline show\n"
			"       ksense baseline reset\n\n"
			"The baseline is an EWMA mean and mean absolute deviation of run-queue\n"
			"p99 and average, D-state us/s and NET_RX us/s, learned for warmup_s\n"
			"and then frozen; friction measures excess over it.  `reset` restarts the\n"
			"warm-up at the next window (friction and energy are empty meanwhile).\n");
		return help ? 0 : 2;
	}
	if (read_config_or_say("baseline", &c))
		return 1;
	if (!strcmp(argv[1], "reset") && argc == 2) {
		c.baseline_reset_gen++;
		err = ks_write_config(&c);
		if (err) {
			fprintf(stderr, "ksense baseline reset: cannot write the config pin: %s\n", strerror(-err));
			return 1;
		}
		printf("ksense: baseline warm-up restarts at the next window (%u s)\n", c.warmup_s);
		return 0;
	}
	if (!strcmp(argv[1], "show") && argc == 2) {
		int fd = ks_pin_open(KSENSE_PIN_BASELINE);
		__u32 key = 0;

		if (fd < 0 || ks_map_lookup(fd, &key, &b)) {
			fprintf(stderr, "ksense baseline show: cannot read the baseline pin\n");
			ks_close(fd);
			return 1;
		}
		ks_close(fd);
		printf("state %s, %u windows learned, %u s of warm-up left\n", ks_baseline_name(b.state),
		       b.samples, b.warmup_remaining_s);
		printf("%-18s %16s %16s %16s\n", "signal", "mean", "mean abs dev", "latest");
#define ROW(name, e) printf("%-18s %16.1f %16.1f %16llu\n", name, (e).mean_milli / 1000.0, \
			    (e).dev_milli / 1000.0, (unsigned long long)(e).last)
		ROW("rq_p99_ns", b.rq_p99_ns);
		ROW("rq_avg_ns", b.rq_avg_ns);
		ROW("dstate_us_per_s", b.dstate_us_per_s);
		ROW("netrx_us_per_s", b.netrx_us_per_s);
#undef ROW
		return 0;
	}
	fprintf(stderr, "ksense baseline: unknown subcommand '%s' (show, reset)\n", argv[1]);
	return 2;
}
