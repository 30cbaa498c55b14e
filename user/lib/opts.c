// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"

void ks_opts_init(struct ks_opts *o, const char *prog, int argc, char **argv, const char *shortopts,
		  const struct option *longopts)
{
	memset(o, 0, sizeof(*o));
	o->prog = prog;
	o->argc = argc;
	o->argv = argv;
	o->longopts = longopts;
	/* '+' (stop at the first operand: a subcommand follows) stays first */
	if (shortopts && shortopts[0] == '+')
		snprintf(o->shortopts, sizeof(o->shortopts), "+:%s", shortopts + 1);
	else
		snprintf(o->shortopts, sizeof(o->shortopts), ":%s", shortopts ? shortopts : "");
	/* 0, not 1: glibc then also forgets a half-read cluster of short
	 * options from an earlier parse in this process */
	optind = 0;
	opterr = 0;
}

static const struct option *find_long(const struct ks_opts *o, const char *name, size_t len)
{
	const struct option *l;

	for (l = o->longopts; l && l->name; l++)
		if (strlen(l->name) == len && !strncmp(l->name, name, len))
			return l;
	return NULL;
}

/* The element getopt just stopped on, for an error: "--name" of
 * "--name=value" when it is a long option, else "-c" from optopt. */
static void failed_name(struct ks_opts *o, char *buf, size_t len, bool *is_long_with_value)
{
	const char *el = optind > 0 && optind <= o->argc ? o->argv[optind - 1] : NULL;

	*is_long_with_value = false;
	if (el && !strncmp(el, "--", 2) && el[2]) {
		const char *eq = strchr(el, '=');

		*is_long_with_value = eq != NULL;
		snprintf(buf, len, "%.*s", eq ? (int)(eq - el) : (int)strlen(el), el);
	} else if (optopt) {
		snprintf(buf, len, "-%c", optopt);
	} else {
		snprintf(buf, len, "%s", el ? el : "?");
	}
}

int ks_opts_next(struct ks_opts *o)
{
	int longindex = -1, c;
	char name[80];
	bool with_value;

	c = getopt_long(o->argc, o->argv, o->shortopts, o->longopts, &longindex);
	o->value = optarg;
	if (c == -1)
		return -1;
	if (c == ':') {
		failed_name(o, name, sizeof(name), &with_value);
		fprintf(stderr, "%s: %s needs a value (see %s --help)\n", o->prog, name, o->prog);
		return '?';
	}
	if (c == '?') {
		const struct option *l;

		failed_name(o, name, sizeof(name), &with_value);
		l = with_value ? find_long(o, name + 2, strlen(name + 2)) : NULL;
		if (l && l->has_arg == no_argument)
			fprintf(stderr, "%s: %s takes no value\n", o->prog, name);
		else
			fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", o->prog, name, o->prog);
		return '?';
	}
	if (longindex >= 0)
		snprintf(o->name_buf, sizeof(o->name_buf), "--%s", o->longopts[longindex].name);
	else
		snprintf(o->name_buf, sizeof(o->name_buf), "-%c", c);
	o->name = o->name_buf;
	return c;
}

int ks_opts_operands(const struct ks_opts *o, int max, int *first)
{
	*first = optind;
	if (o->argc - optind > max) {
		fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", o->prog, o->argv[optind + max],
			o->prog);
		return -EINVAL;
	}
	return 0;
}

int ks_opts_help_only(const char *prog, int argc, char **argv, int max_operands, bool *help, int *first)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct ks_opts p;
	int opt;

	*help = false;
	ks_opts_init(&p, prog, argc, argv, "h", longopts);
	while ((opt = ks_opts_next(&p)) != -1) {
		if (opt != 'h')
			return -EINVAL;
		*help = true;
	}
	*first = optind;
	return *help ? 0 : ks_opts_operands(&p, max_operands, first);
}

/* Digits only: no sign, no space, no trailing text (strtoull alone takes
 * " -1" as a huge number). */
static int parse_digits(const char *v, unsigned long long *out)
{
	char *end;

	if (!v || *v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return *end || errno ? -EINVAL : 0;
}

int ks_opt_ull(const char *prog, const char *name, const char *v, unsigned long long min,
	       unsigned long long max, unsigned long long *out)
{
	unsigned long long x;

	if (parse_digits(v, &x) || x < min || x > max) {
		fprintf(stderr, "%s: %s: '%s' is not a number in %llu..%llu\n", prog, name, v ? v : "", min, max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int ks_opt_uint(const char *prog, const char *name, const char *v, unsigned int min, unsigned int max,
		unsigned int *out)
{
	unsigned long long x;

	if (ks_opt_ull(prog, name, v, min, max, &x))
		return -EINVAL;
	*out = (unsigned int)x;
	return 0;
}

int ks_opt_int(const char *prog, const char *name, const char *v, int min, int max, int *out)
{
	unsigned long long x;

	/* negative ranges are never needed: a count, a port, milliseconds */
	if (min < 0 || ks_opt_ull(prog, name, v, (unsigned long long)min, (unsigned long long)max, &x))
		return -EINVAL;
	*out = (int)x;
	return 0;
}

int ks_opt_port(const char *prog, const char *name, const char *v, int *out)
{
	unsigned long long x;

	if (parse_digits(v, &x) || x > 65535) {
		fprintf(stderr, "%s: %s: '%s' is not a port number in 0..65535\n", prog, name, v ? v : "");
		return -EINVAL;
	}
	*out = (int)x;
	return 0;
}

int ks_opt_bool(const char *prog, const char *name, const char *v, bool *out)
{
	if (v && (!strcmp(v, "1") || !strcmp(v, "true"))) {
		*out = true;
	} else if (v && (!strcmp(v, "0") || !strcmp(v, "false"))) {
		*out = false;
	} else {
		fprintf(stderr, "%s: %s: '%s' is not one of 1, 0, true, false\n", prog, name, v ? v : "");
		return -EINVAL;
	}
	return 0;
}

int ks_opt_size(const char *prog, const char *name, const char *v, size_t min, size_t *out)
{
	static const struct {
		const char *sfx;
		unsigned long long mul;
	} units[] = {
		{ "", 1 }, { "Ki", 1ull << 10 }, { "Mi", 1ull << 20 }, { "Gi", 1ull << 30 },
		{ "K", 1000 }, { "k", 1000 }, { "M", 1000000 }, { "G", 1000000000 },
	};
	unsigned long long x;
	char *end;
	size_t i;

	if (!v || *v < '0' || *v > '9')
		goto bad;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno)
		goto bad;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].sfx))
			continue;
		if (x > (1ull << 40) / units[i].mul || x * units[i].mul < min)
			goto bad;
		*out = (size_t)(x * units[i].mul);
		return 0;
	}
bad:
	if (min && !(min % (1u << 20)))
		fprintf(stderr, "%s: %s: '%s' is not a size of at least %zuMi (bytes, or a number with Ki, Mi, Gi)\n",
			prog, name, v ? v : "", min >> 20);
	else
		fprintf(stderr, "%s: %s: '%s' is not a size of at least %zu bytes (bytes, or a number with Ki, Mi, Gi)\n",
			prog, name, v ? v : "", min);
	return -EINVAL;
}

const char *ks_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}
