/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line options for every ksense program: getopt_long underneath,
 * so `--flag value`, `--flag=value`, `-f value`, `-fvalue` and `--` behave
 * the same everywhere, with one error style (exit status 2 for all):
 *
 *   PROG: unknown option '--x' (see PROG --help)
 *   PROG: --window-ms needs a value (see PROG --help)
 *   PROG: --replace takes no value
 *   PROG: --window-ms: '5' is not a number in 100..60000
 *   PROG: unexpected argument 'x' (see PROG --help)
 *
 * The value checks take the name the value came under, a flag as written
 * or an environment variable, so a bad KSENSE_* variable reads the same.
 */
#ifndef KSENSE_OPTS_H
#define KSENSE_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

struct ks_opts {
	const char *prog;             /* "ksense load": every message starts with it */
	int argc;
	char **argv;
	const struct option *longopts;
	char shortopts[64];           /* with the leading ':' that reports a missing value */
	const char *name;             /* the option just returned, as written ("--window-ms", "-n") */
	char name_buf[80];
	const char *value;            /* its value (optarg), or NULL */
};

/* argv[0] is the program or subcommand; shortopts as getopt's. */
void ks_opts_init(struct ks_opts *o, const char *prog, int argc, char **argv, const char *shortopts,
		  const struct option *longopts);
/* The next option's val (o->name, o->value describe it), -1 after the
 * last, or '?' after printing what was wrong. */
int ks_opts_next(struct ks_opts *o);
/* After the last option: the operands are argv[*first .. argc).  More than
 * max of them prints the first extra one and returns -EINVAL. */
int ks_opts_operands(const struct ks_opts *o, int max, int *first);

/* A command whose only option is -h/--help, with up to max_operands
 * operands (from argv[*first]): 0, or -EINVAL after saying what was
 * wrong.  *help tells whether --help was given (operands then unchecked). */
int ks_opts_help_only(const char *prog, int argc, char **argv, int max_operands, bool *help, int *first);

/* Value checks: 0, or -EINVAL after "PROG: NAME: 'v' is not ...". */
int ks_opt_ull(const char *prog, const char *name, const char *v, unsigned long long min,
	       unsigned long long max, unsigned long long *out);
int ks_opt_uint(const char *prog, const char *name, const char *v, unsigned int min, unsigned int max,
		unsigned int *out);
int ks_opt_int(const char *prog, const char *name, const char *v, int min, int max, int *out);
/* 0..65535 (0: any free port) */
int ks_opt_port(const char *prog, const char *name, const char *v, int *out);
/* 1/0/true/false */
int ks_opt_bool(const char *prog, const char *name, const char *v, bool *out);
/* Bytes, or a Kubernetes quantity with Ki/Mi/Gi (K/M/G: powers of 1000),
 * at least min bytes. */
int ks_opt_size(const char *prog, const char *name, const char *v, size_t min, size_t *out);

/* An environment variable that is set and not empty, or NULL. */
const char *ks_env(const char *name);

#endif
