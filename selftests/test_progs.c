// SPDX-License-Identifier: GPL-2.0
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "test_progs.h"
#include "log.h"

#define KS_MAX_FILTERS 128

static struct ks_test *tests_head, **tests_tail = &tests_head;

static struct {
	const char *filters[KS_MAX_FILTERS];
	int nr_filters;
	bool verbose;
	bool list;
	bool no_retry;
	unsigned int marks_with, marks_without; /* -m */
} env;

static const struct {
	const char *name;
	unsigned int mark;
} mark_names[] = { { "live", KS_LIVE }, { "san", KS_SAN }, { "host", KS_HOST } };

/* "-m san,!host": NULL, or the name that is none of mark_names. */
static const char *parse_marks(char *arg)
{
	char *tok, *save;
	size_t i;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool without = tok[0] == '!';
		const char *name = tok + without;

		for (i = 0; i < sizeof(mark_names) / sizeof(mark_names[0]); i++)
			if (!strcmp(name, mark_names[i].name))
				break;
		if (i == sizeof(mark_names) / sizeof(mark_names[0]))
			return name;
		if (without)
			env.marks_without |= mark_names[i].mark;
		else
			env.marks_with |= mark_names[i].mark;
	}
	return NULL;
}

static bool marks_match(const struct ks_test *t)
{
	return (t->marks & env.marks_with) == env.marks_with && !(t->marks & env.marks_without);
}

/* What failed, for the closing lines: a CI log's tail names it. */
static char failed_names[4096];
static size_t failed_len;

static void note_failed(const char *name, const char *sub)
{
	int n = snprintf(failed_names + failed_len, sizeof(failed_names) - failed_len,
			 "%s%s%s%s", failed_len ? ", " : "", name, sub ? "/" : "", sub ? sub : "");

	if (n > 0)
		failed_len += (size_t)n < sizeof(failed_names) - failed_len ?
			(size_t)n : sizeof(failed_names) - failed_len - 1;
}

/* The first failed checks, for the same reason: a CI log's tail says
 * what broke, not only where. */
#define KS_WHY_LINES 6
static char why[KS_WHY_LINES * 256];
static size_t why_len;
static int why_lines, why_more;

static struct {
	const struct ks_test *test;
	int num;
	bool failed, skipped;
	int sub_num;
	char sub_name[128];
	bool sub_failed, sub_skipped, in_sub;
	/* a live test's first attempt failed: its failures are noted
	 * only if the second attempt fails too */
	bool retrying, noted;
	struct timespec start;
} cur;

void ks_register_test(struct ks_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

bool test__verbose(void)
{
	return env.verbose;
}

double test__elapsed_s(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - cur.start.tv_sec) + (now.tv_nsec - cur.start.tv_nsec) / 1e9;
}

/* A filter "a" matches test a; "a/b" matches subtest b of a; globs allowed. */
static bool name_matches(const char *test, const char *sub)
{
	char full[256];
	int i;

	if (!env.nr_filters)
		return true;
	for (i = 0; i < env.nr_filters; i++) {
		const char *f = env.filters[i];
		const char *slash = strchr(f, '/');

		if (!sub) {
			size_t n = slash ? (size_t)(slash - f) : strlen(f);
			char tpat[128];

			snprintf(tpat, sizeof(tpat), "%.*s", (int)n, f);
			if (!fnmatch(tpat, test, 0))
				return true;
		} else {
			if (!slash) {
				if (!fnmatch(f, test, 0))
					return true;
				continue;
			}
			snprintf(full, sizeof(full), "%s/%s", test, sub);
			if (!fnmatch(f, full, 0))
				return true;
		}
	}
	return false;
}

static void end_subtest(void)
{
	if (!cur.in_sub)
		return;
	printf("#%d/%d %s/%s:%s\n", cur.num, cur.sub_num, cur.test->name, cur.sub_name,
	       cur.sub_failed ? "FAIL" : cur.sub_skipped ? "SKIP" : "OK");
	fflush(stdout);
	if (cur.sub_failed && !cur.retrying) {
		note_failed(cur.test->name, cur.sub_name);
		cur.noted = true;
	}
	cur.in_sub = false;
}

bool test__start_subtest(const char *name)
{
	end_subtest();
	cur.sub_num++;
	if (!name_matches(cur.test->name, name))
		return false;
	snprintf(cur.sub_name, sizeof(cur.sub_name), "%s", name);
	cur.sub_failed = cur.sub_skipped = false;
	cur.in_sub = true;
	return true;
}

void test__fail(void)
{
	cur.failed = true;
	if (cur.in_sub)
		cur.sub_failed = true;
}

bool test__failed(void)
{
	return cur.failed;
}

void test__skip(const char *fmt, ...)
{
	va_list ap;

	printf("  skip: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (cur.in_sub)
		cur.sub_skipped = true;
	else
		cur.skipped = true;
}

/* A live test's first attempt: its first failed checks, shown only if
 * the second attempt fails too (then both attempts' reasons are read in
 * a CI tail: the second one may fail for a reason of its own). */
#define KS_FIRST_TRY_LINES 3
static char first_try[KS_FIRST_TRY_LINES * 256];
static size_t first_try_len;
static int first_try_lines;

/* One line "  test/sub file:line what: msg<tag>" into buf, or false if
 * it does not fit. */
static bool note_line(char *buf, size_t size, size_t *len, const char *file, int line, const char *name,
		      const char *tag, const char *fmt, va_list ap)
{
	char msg[160];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	n = snprintf(buf + *len, size - *len, "  %s%s%s %s:%d %.60s: %s%s\n", cur.test->name, cur.in_sub ? "/" : "",
		     cur.in_sub ? cur.sub_name : "", file, line, name, msg, tag);
	if (n <= 0 || (size_t)n >= size - *len) {
		buf[*len] = '\0';
		return false;
	}
	*len += (size_t)n;
	return true;
}

/* One failed check into why[], or into first_try[] while a live test's
 * first attempt runs. */
static void note_why(const char *file, int line, const char *name, const char *fmt, va_list ap)
{
	if (cur.retrying) {
		if (first_try_lines < KS_FIRST_TRY_LINES &&
		    note_line(first_try, sizeof(first_try), &first_try_len, file, line, name, " (first attempt)", fmt, ap))
			first_try_lines++;
		return;
	}
	if (why_lines == KS_WHY_LINES || !note_line(why, sizeof(why), &why_len, file, line, name, "", fmt, ap)) {
		why_more++;
		return;
	}
	why_lines++;
}

/* The second attempt starts: the first one's checks go first in why[]
 * (taken back by why_rollback if the second attempt passes). */
struct why_mark {
	size_t len;
	int lines, more;
};

static struct why_mark why_add_first_try(void)
{
	struct why_mark m = { why_len, why_lines, why_more };
	const char *p = first_try, *nl;

	for (; *p && (nl = strchr(p, '\n')); p = nl + 1) {
		size_t n = (size_t)(nl + 1 - p);

		if (why_lines == KS_WHY_LINES || n >= sizeof(why) - why_len) {
			why_more++;
			continue;
		}
		memcpy(why + why_len, p, n);
		why_len += n;
		why[why_len] = '\0';
		why_lines++;
	}
	return m;
}

static void why_rollback(struct why_mark m)
{
	why_len = m.len;
	why_lines = m.lines;
	why_more = m.more;
	why[why_len] = '\0';
}

void ks_assert_fail(const char *file, int line, const char *name, const char *fmt, ...)
{
	va_list ap;

	test__fail();
	printf("  %s:%d: FAIL %s: ", file, line, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	va_start(ap, fmt);
	note_why(file, line, name, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void usage(const char *prog)
{
	printf("Usage: %s [-v] [-l] [-n] [-t NAME[/SUB]]... [-m [!]MARK]...\n\n"
	       "Runs ksense's selftests (BPF tests need root).  NAME may be a glob.\n"
	       "  -t NAME  run only matching tests (repeatable; comma lists allowed)\n"
	       "  -m MARK  run only tests with MARK (with !MARK: without it), as the\n"
	       "           test registers itself: live (a live workload, retried once),\n"
	       "           san (userspace code: the sanitizer pass runs it), host (no BPF\n"
	       "           in it: vmtest leaves it out); repeatable, comma lists allowed\n"
	       "  -l       list tests\n"
	       "  -n       no second attempt for a failed live-workload test\n"
	       "  -v       verbose\n", prog);
}

int main(int argc, char **argv)
{
	int opt, passed = 0, failed = 0, skipped = 0, retried = 0, num = 0;
	struct ks_test *t;
	char *tok, *save;
	const char *bad;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the daemons the tests start (often several at once) open their
	 * status ports on free ports, never on the fixed default */
	setenv("KSENSE_SCHEDULER_STATUS_ADDR", "127.0.0.1:0", 0);
	setenv("KSENSE_SCALER_STATUS_ADDR", "127.0.0.1:0", 0);
	while ((opt = getopt(argc, argv, "t:m:lnvh")) != -1) {
		switch (opt) {
		case 't':
			for (tok = strtok_r(optarg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (env.nr_filters == KS_MAX_FILTERS) {
					fprintf(stderr, "%s: more than %d -t filters\n", argv[0], KS_MAX_FILTERS);
					return 2;
				}
				env.filters[env.nr_filters++] = tok;
			}
			break;
		case 'm':
			bad = parse_marks(optarg);
			if (bad) {
				fprintf(stderr, "%s: -m takes live, san or host (! for without), not '%s'\n",
					argv[0], bad);
				return 2;
			}
			break;
		case 'l': env.list = true; break;
		case 'n': env.no_retry = true; break;
		case 'v': env.verbose = true; break;
		case 'h': usage(argv[0]); return 0;
		default: usage(argv[0]); return 2;
		}
	}
	ks_log_init("test_progs", env.verbose);
	ks_log_libbpf();
	for (t = tests_head; t; t = t->next) {
		num++;
		if (!name_matches(t->name, NULL) || !marks_match(t))
			continue;
		if (env.list) {
			printf("%s\n", t->name);
			continue;
		}
		memset(&cur, 0, sizeof(cur));
		cur.test = t;
		cur.num = num;
		cur.retrying = (t->marks & KS_LIVE) && !env.no_retry;
		first_try_len = 0;
		first_try_lines = 0;
		first_try[0] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &cur.start);
		t->fn();
		end_subtest();
		if (cur.failed && cur.retrying) {
			struct why_mark mark = why_add_first_try();

			printf("#%d %s:FAIL (%.1fs), a live workload on a shared machine: "
			       "one more attempt\n", num, t->name, test__elapsed_s());
			retried++;
			memset(&cur, 0, sizeof(cur));
			cur.test = t;
			cur.num = num;
			clock_gettime(CLOCK_MONOTONIC, &cur.start);
			t->fn();
			end_subtest();
			if (!cur.failed)
				why_rollback(mark);
		}
		printf("#%d %s:%s (%.1fs)\n", num, t->name,
		       cur.failed ? "FAIL" : cur.skipped ? "SKIP" : "OK", test__elapsed_s());
		if (cur.failed && !cur.noted)
			note_failed(t->name, NULL);
		if (cur.failed)
			failed++;
		else if (cur.skipped)
			skipped++;
		else
			passed++;
	}
	if (env.list)
		return 0;
	printf("%d passed, %d failed, %d skipped", passed, failed, skipped);
	if (retried)
		printf(" (%d live-workload test%s needed a second attempt)", retried,
		       retried == 1 ? "" : "s");
	printf("\n");
	if (failed && why_len)
		printf("first failed checks%s:\n%s", why_more ? " (more above)" : "", why);
	if (failed)
		printf("FAILED: %s\n", failed_names);
	return failed ? 1 : 0;
}
