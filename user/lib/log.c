// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

static const char *log_prog = "ksense";
static bool log_verbose;

#define TAIL_LINES 24
#define TAIL_LINE_LEN 240
static char tail[TAIL_LINES][TAIL_LINE_LEN];
static unsigned int tail_next, tail_count;
static char tail_joined[TAIL_LINES * (TAIL_LINE_LEN + 1) + 1];

void ks_log_init(const char *prog, bool verbose)
{
	log_prog = prog;
	log_verbose = verbose;
}

bool ks_log_verbose(void)
{
	return log_verbose;
}

static const char *level_name(enum ks_log_level lvl)
{
	switch (lvl) {
	case KS_LOG_DEBUG: return "debug";
	case KS_LOG_INFO: return "info";
	case KS_LOG_WARN: return "warn";
	default: return "error";
	}
}

static void put_quoted(const char *s)
{
	fputc('"', stderr);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', stderr);
		if (*s == '\n') {
			fputs("\\n", stderr);
			continue;
		}
		fputc(*s, stderr);
	}
	fputc('"', stderr);
}

static void vlog(enum ks_log_level lvl, const char *msg, const char *kv, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (lvl == KS_LOG_DEBUG && !log_verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* one line is several stdio calls; a daemon with a second thread
	 * (ksense-webhook's pod names) must not interleave two lines */
	flockfile(stderr);
	fprintf(stderr, "ts=%s.%03ldZ level=%s prog=%s msg=", when, ts.tv_nsec / 1000000,
		level_name(lvl), log_prog);
	put_quoted(msg);
	if (kv && *kv) {
		fputc(' ', stderr);
		vfprintf(stderr, kv, ap);
	}
	fputc('\n', stderr);
	funlockfile(stderr);
}

void ks_log(enum ks_log_level lvl, const char *msg, const char *kv, ...)
{
	va_list ap;

	va_start(ap, kv);
	vlog(lvl, msg, kv, ap);
	va_end(ap);
}

static void tail_add(const char *line)
{
	snprintf(tail[tail_next], TAIL_LINE_LEN, "%s", line);
	tail_next = (tail_next + 1) % TAIL_LINES;
	if (tail_count < TAIL_LINES)
		tail_count++;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static bool in_verifier_log;
	char buf[8192], *line, *save = NULL;

	if (level == LIBBPF_DEBUG && !log_verbose)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool quiet;

		if (strstr(line, "-- BEGIN PROG LOAD LOG --"))
			in_verifier_log = true;
		/* A verifier log runs to thousands of lines: keep its tail for
		 * the error message, print it whole only with -v. */
		quiet = in_verifier_log && !log_verbose;
		if (strstr(line, "-- END PROG LOAD LOG --"))
			in_verifier_log = false;
		if (level != LIBBPF_DEBUG)
			tail_add(line);
		if (!quiet && (log_verbose || level == LIBBPF_WARN))
			ks_log(level == LIBBPF_WARN ? KS_LOG_WARN : KS_LOG_DEBUG, line,
			       "source=libbpf");
	}
	return 0;
}

void ks_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

const char *ks_libbpf_tail(void)
{
	unsigned int i, start = (tail_next + TAIL_LINES - tail_count) % TAIL_LINES;
	size_t off = 0;

	tail_joined[0] = '\0';
	for (i = 0; i < tail_count; i++) {
		const char *l = tail[(start + i) % TAIL_LINES];

		off += snprintf(tail_joined + off, sizeof(tail_joined) - off, "%s%s",
				i ? "\n" : "", l);
		if (off >= sizeof(tail_joined))
			break;
	}
	return tail_joined;
}
