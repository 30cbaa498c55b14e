// SPDX-License-Identifier: GPL-2.0
/*
 * ksense collect end to end on the fixture tree: the exact header, one row
 * per window with consecutive seqs, resume without gaps or duplicates after
 * kill -9, repair of a torn last line, empty friction cells during warm-up
 * and filled ones once the baseline is frozen, refusal of bad paths and
 * foreign files, a clean SIGTERM; and `ksense top` showing the analytics.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"

/* As documented in `ksense collect --help` (and the README). */
static const char expected_header[] =
	"timestamp,seq,rq_avg_us,rq_p95_us,rq_p99_us,rq_max_us,rq_count,"
	"dstate_total_ms,dstate_p95_us,dstate_p99_us,dstate_max_us,dstate_count,"
	"netrx_total_ms,netrx_p95_us,netrx_p99_us,netrx_max_us,netrx_count,"
	"cpu_util_pct,psi_cpu_some_pct,psi_cpu_full_pct,psi_io_some_pct,psi_io_full_pct,"
	"psi_mem_some_pct,psi_mem_full_pct,baseline_state,friction,direction,slope,energy,"
	"score,band,decision";

enum col {
	COL_TIMESTAMP = 0, COL_SEQ = 1, COL_RQ_AVG = 2, COL_RQ_COUNT = 6,
	COL_CPU = 17, COL_BASELINE = 24, COL_FRICTION = 25, COL_DIRECTION = 26,
	COL_SLOPE = 27, COL_ENERGY = 28, COL_SCORE = 29, COL_BAND = 30, COL_DECISION = 31,
	NR_COLS = 32,
};

#define FILE_BYTES   (1 << 20)
#define MAX_ROWS     4096

static char out[65536];
static char dir[128];

/* One parsed file: the header and every row, split into cells. */
struct csv_file {
	char *text;
	size_t len;
	bool ends_in_newline;
	char *header;
	int nr_rows;
	char *cells[MAX_ROWS][NR_COLS];
	int nr_cells[MAX_ROWS];
	__u64 seq[MAX_ROWS];
};

static const char *test_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static bool setup(void)
{
	if (!fx_is_root()) {
		test__skip("needs root");
		return false;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return false;
	snprintf(dir, sizeof(dir), "/tmp/ksense-selftest-collect-%d", getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ASSERT_OK(-errno, "mkdir test dir");
		return false;
	}
	return true;
}

static void teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("  could not remove %s\n", dir);
}

static void csv_free(struct csv_file *f)
{
	if (f) {
		free(f->text);
		free(f);
	}
}

/* Reads and splits path; NULL (with a failed assert) if unreadable. */
static struct csv_file *csv_read(const char *path)
{
	struct csv_file *f = calloc(1, sizeof(*f));
	char *line, *next;
	ssize_t n;
	int fd;

	if (!ASSERT_OK_PTR(f, "calloc"))
		return NULL;
	f->text = malloc(FILE_BYTES + 1);
	fd = open(path, O_RDONLY);
	if (!ASSERT_OK_PTR(f->text, "malloc") || !ASSERT_GE(fd, 0, "open csv")) {
		if (fd >= 0)
			close(fd);
		csv_free(f);
		return NULL;
	}
	n = read(fd, f->text, FILE_BYTES);
	close(fd);
	if (!ASSERT_GE(n, 0, "read csv")) {
		csv_free(f);
		return NULL;
	}
	f->len = (size_t)n;
	f->text[n] = '\0';
	f->ends_in_newline = n > 0 && f->text[n - 1] == '\n';
	for (line = f->text; line && *line; line = next) {
		char *p;
		int c = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!f->header) {
			f->header = line;
			continue;
		}
		if (f->nr_rows >= MAX_ROWS)
			break;
		for (p = line; ; ) {
			char *comma = strchr(p, ',');

			if (c < NR_COLS)
				f->cells[f->nr_rows][c] = p;
			c++;
			if (!comma)
				break;
			*comma = '\0';
			p = comma + 1;
		}
		f->nr_cells[f->nr_rows] = c;
		f->seq[f->nr_rows] = c > COL_SEQ ? strtoull(f->cells[f->nr_rows][COL_SEQ], NULL, 10) : 0;
		f->nr_rows++;
	}
	return f;
}

/* Header exact, every row whole, seqs consecutive: nothing missed or
 * written twice. */
static bool check_file(const struct csv_file *f, const char *what)
{
	bool ok = true;
	int i;

	ok &= ASSERT_TRUE(f->header && !strcmp(f->header, expected_header), what);
	ok &= ASSERT_TRUE(f->ends_in_newline, "file ends in a newline");
	ok &= ASSERT_GE(f->nr_rows, 1, "rows");
	for (i = 0; i < f->nr_rows; i++) {
		ok &= ASSERT_EQ(f->nr_cells[i], NR_COLS, "cells per row");
		if (i)
			ok &= ASSERT_EQ(f->seq[i], f->seq[i - 1] + 1, "consecutive seq");
		if (!ok) {
			printf("  at row %d of %d (seq %llu)\n", i, f->nr_rows,
			       (unsigned long long)f->seq[i]);
			break;
		}
	}
	return ok;
}

static int collect(const char *path, const char *n)
{
	return fx_run(out, sizeof(out), NULL, "collect", "--output", path, "-n", n, NULL);
}

/* Starts `ksense collect` on path without a row limit; output discarded. */
static pid_t spawn_collect(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		execl(fx_bin(), fx_bin(), "collect", "--output", path, (char *)NULL);
		_exit(98);
	}
	return pid;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : sb.st_size;
}

/* Waits until path holds more than `bytes` bytes (a row after the header). */
static bool wait_size_above(const char *path, off_t bytes, int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (file_size(path) > bytes)
			return true;
		usleep(10000);
	}
	return false;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The timestamp cell as seconds since the epoch; -1 if malformed. */
static time_t parse_timestamp(const char *s)
{
	struct tm tm = { 0 };
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!rest || rest[0] != '.' || strlen(rest) != 5 || rest[4] != 'Z')
		return -1;
	return timegm(&tm);
}

static void test_header_and_rows(void)
{
	const char *path = test_path("rows.csv");
	struct ksense_window w;
	struct csv_file *f;
	char want[64];
	int fd, i;

	ASSERT_EQ(collect(path, "4"), 0, "collect -n 4");
	f = csv_read(path);
	if (!f)
		return;
	if (check_file(f, "header exactly as documented") &&
	    ASSERT_EQ(f->nr_rows, 4, "one row per window, -n rows")) {
		for (i = 0; i < f->nr_rows; i++) {
			time_t ts = parse_timestamp(f->cells[i][COL_TIMESTAMP]);

			ASSERT_GT(ts, 0, "ISO-8601 UTC timestamp");
			ASSERT_LT(labs((long)(ts - time(NULL))), 30, "timestamp near now");
			ASSERT_STRHAS(f->cells[i][COL_CPU], ".", "fixed decimals");
			ASSERT_EQ(strlen(strchr(f->cells[i][COL_CPU], '.')), 4, "three decimals");
		}
		/* Units: rq_avg_us is avg_ns / 1000, exactly, from the same
		 * history slot. */
		fd = ks_pin_open(KSENSE_PIN_HISTORY);
		if (ASSERT_GE(fd, 0, "open history") &&
		    ASSERT_OK(ks_read_history(fd, f->seq[3], &w), "last row's window in the ring")) {
			snprintf(want, sizeof(want), "%llu.%03llu", (unsigned long long)w.runq.avg_ns / 1000,
				 (unsigned long long)w.runq.avg_ns % 1000);
			ASSERT_TRUE(!strcmp(f->cells[3][COL_RQ_AVG], want), "rq_avg_us = avg_ns / 1000");
			snprintf(want, sizeof(want), "%llu", (unsigned long long)w.runq.count);
			ASSERT_TRUE(!strcmp(f->cells[3][COL_RQ_COUNT], want), "rq_count");
		}
		ks_close(fd);
	}
	csv_free(f);

	/* A second run resumes after the last row. */
	ASSERT_EQ(collect(path, "2"), 0, "collect resumes");
	ASSERT_STRHAS(out, "mode=resume", "says it resumes");
	f = csv_read(path);
	if (f && check_file(f, "header once"))
		ASSERT_EQ(f->nr_rows, 6, "2 more rows");
	csv_free(f);

	/* --from-start begins with the oldest window in the ring (the tree
	 * is younger than 1024 windows here, so seq 1). */
	path = test_path("from_start.csv");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "collect", "--output", path, "--from-start", "-n", "3",
			 NULL), 0, "collect --from-start");
	f = csv_read(path);
	if (f && check_file(f, "from-start header")) {
		ASSERT_EQ(f->nr_rows, 3, "3 rows");
		ASSERT_EQ(f->seq[0], 1, "first window of the ring");
	}
	csv_free(f);
}

static void test_kill9_resume(void)
{
	/* Kills early (maybe before the header), mid-run, and after rows. */
	const int delays_ms[] = { 0, 3, 30, 150, 400, 700 };
	const char *path = test_path("kill9.csv");
	struct csv_file *f;
	unsigned int i;
	__u64 first;

	ASSERT_EQ(collect(path, "1"), 0, "first row");
	f = csv_read(path);
	if (!f)
		return;
	first = f->seq[0];
	csv_free(f);
	for (i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++) {
		off_t before = file_size(path);
		pid_t pid = spawn_collect(path);
		int status;

		if (!ASSERT_GT(pid, 0, "fork"))
			return;
		if (delays_ms[i] >= 150)
			ASSERT_TRUE(wait_size_above(path, before, 2000), "a row before the kill");
		sleep_ms(delays_ms[i]);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		/* Windows close while no collector runs: resume writes them. */
		sleep_ms(300);
	}
	ASSERT_EQ(collect(path, "2"), 0, "restart after kill -9");
	f = csv_read(path);
	if (f && check_file(f, "header after kills")) {
		ASSERT_EQ(f->seq[0], first, "first row kept");
		/* ~3.3 s of kills and pauses at 250 ms windows */
		ASSERT_GE(f->nr_rows, 10, "rows for the whole span");
	}
	csv_free(f);
}

static void test_torn_line(void)
{
	const char *path = test_path("torn.csv");
	struct csv_file *f;
	off_t size;
	__u64 last;
	int fd;

	ASSERT_EQ(collect(path, "3"), 0, "three rows");
	f = csv_read(path);
	if (!f)
		return;
	last = f->seq[f->nr_rows - 1];
	csv_free(f);
	/* Cut the last row mid-way, as kill -9 during a write would. */
	size = file_size(path);
	if (!ASSERT_GT(size, 40, "size") || !ASSERT_OK(truncate(path, size - 20), "truncate"))
		return;
	ASSERT_EQ(collect(path, "2"), 0, "collect repairs and resumes");
	ASSERT_STRHAS(out, "torn", "says it repaired a torn line");
	f = csv_read(path);
	if (f && check_file(f, "header after repair")) {
		ASSERT_EQ(f->nr_rows, 4, "2 whole + 2 new rows");
		ASSERT_EQ(f->seq[2], last, "the torn window is written again, once");
	}
	csv_free(f);

	/* A header torn on creation is rewritten. */
	path = test_path("torn_header.csv");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ASSERT_GE(fd, 0, "create") && ASSERT_EQ(write(fd, expected_header, 20), 20, "write"))
		ASSERT_EQ(collect(path, "1"), 0, "collect after a torn header");
	if (fd >= 0)
		close(fd);
	f = csv_read(path);
	if (f && check_file(f, "rewritten header"))
		ASSERT_EQ(f->nr_rows, 1, "one row");
	csv_free(f);
}

static int config_set(const char *kv)
{
	return fx_run(out, sizeof(out), NULL, "config", "set", kv, NULL);
}

static void test_friction_cells(void)
{
	const char *path = test_path("warmup.csv");
	struct ksense_window w;
	struct csv_file *f;
	int i;

	/* The fixture's warm-up is 600 s: friction and energy are empty. */
	ASSERT_EQ(collect(path, "3"), 0, "collect during warm-up");
	f = csv_read(path);
	if (f && check_file(f, "warm-up header")) {
		for (i = 0; i < f->nr_rows; i++) {
			ASSERT_TRUE(!strcmp(f->cells[i][COL_BASELINE], "warmup"), "baseline_state warmup");
			ASSERT_TRUE(!*f->cells[i][COL_FRICTION], "friction empty");
			ASSERT_TRUE(!*f->cells[i][COL_DIRECTION], "direction empty");
			ASSERT_TRUE(!*f->cells[i][COL_SLOPE], "slope empty");
			ASSERT_TRUE(!*f->cells[i][COL_ENERGY], "energy empty");
			ASSERT_TRUE(*f->cells[i][COL_SCORE], "score from CPU and PSI");
			ASSERT_TRUE(!strcmp(f->cells[i][COL_DECISION], "allow") ||
				    !strcmp(f->cells[i][COL_DECISION], "deny"), "decision");
			ASSERT_TRUE(!strcmp(f->cells[i][COL_BAND], "low") ||
				    !strcmp(f->cells[i][COL_BAND], "medium") ||
				    !strcmp(f->cells[i][COL_BAND], "high"), "band");
		}
	}
	csv_free(f);

	/* No warm-up: the baseline freezes after one window and friction
	 * fills.  The fixture tree is shared, so restore it either way. */
	path = test_path("frozen.csv");
	if (ASSERT_EQ(config_set("warmup_s=0"), 0, "config set warmup_s=0") &&
	    ASSERT_EQ(fx_run(out, sizeof(out), NULL, "baseline", "reset", NULL), 0, "baseline reset") &&
	    ASSERT_OK(fx_wait_window(0, &w, 3000), "a window") &&
	    ASSERT_OK(fx_wait_window(w.seq + 1, &w, 3000), "two windows after the reset")) {
		ASSERT_EQ(collect(path, "2"), 0, "collect after freeze");
		f = csv_read(path);
		if (f && check_file(f, "frozen header")) {
			for (i = 0; i < f->nr_rows; i++) {
				ASSERT_TRUE(!strcmp(f->cells[i][COL_BASELINE], "frozen"), "baseline_state frozen");
				ASSERT_TRUE(*f->cells[i][COL_FRICTION], "friction filled");
				ASSERT_TRUE(*f->cells[i][COL_DIRECTION], "direction filled");
				ASSERT_TRUE(*f->cells[i][COL_ENERGY], "energy filled");
			}
		}
		csv_free(f);
	}
	ASSERT_EQ(config_set("warmup_s=600"), 0, "restore warmup_s=600");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "baseline", "reset", NULL), 0, "back to warm-up");
}

static void test_refusals(void)
{
	const char *foreign = test_path("foreign.csv");
	char env[320];
	off_t size;
	int fd;

	ASSERT_EQ(fx_run(out, sizeof(out), "KSENSE_METRICS_CSV=/proc/ksense-nope/metrics.csv",
			 "collect", "-n", "1", NULL), 1, "path under /proc");
	ASSERT_STRHAS(out, "/proc/ksense-nope", "error names the path");
	ASSERT_STRHAS(out, "level=error", "logfmt error");
	ASSERT_EQ(fx_run(out, sizeof(out), "KSENSE_METRICS_CSV=/proc/self/status", "collect", "-n", "1",
			 NULL), 1, "a /proc file");
	ASSERT_EQ(fx_run(out, sizeof(out), "KSENSE_METRICS_CSV=", "collect", "-n", "1", NULL), 2,
		  "empty KSENSE_METRICS_CSV");
	ASSERT_STRHAS(out, "KSENSE_METRICS_CSV", "error names the variable");
	ASSERT_EQ(fx_run(out, sizeof(out), "KSENSE_METRICS_CSV=/tmp/", "collect", "-n", "1", NULL), 2,
		  "a directory");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "collect", "--frob", NULL), 2, "unknown flag");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "collect", "-n", "0", NULL), 2, "-n 0");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "collect", "--output", NULL), 2, "--output without path");

	/* Another format is never appended to. */
	fd = open(foreign, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ASSERT_GE(fd, 0, "create foreign") && ASSERT_EQ(write(fd, "a,b\n1,2\n", 8), 8, "write")) {
		ASSERT_EQ(collect(foreign, "1"), 1, "foreign header refused");
		ASSERT_STRHAS(out, "another header", "says why");
		ASSERT_EQ(file_size(foreign), 8, "foreign file untouched");
	}
	if (fd >= 0)
		close(fd);

	/* No pin tree: one line, exit 1, no file created. */
	snprintf(env, sizeof(env), "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-collect-none-%d", getpid());
	ASSERT_EQ(fx_run(out, sizeof(out), env, "collect", "--output", test_path("none.csv"), NULL), 1,
		  "no pin tree");
	ASSERT_STRHAS(out, "ksense load", "says what to do");
	ASSERT_TRUE(strchr(out, '\n') && !strchr(out, '\n')[1], "one line");
	size = file_size(test_path("none.csv"));
	ASSERT_EQ(size, -1, "no file without a tree");
}

static void test_sigterm(void)
{
	const char *path = test_path("term.csv");
	struct csv_file *f;
	int status = 0;
	pid_t pid;

	pid = spawn_collect(path);
	if (!ASSERT_GT(pid, 0, "fork"))
		return;
	ASSERT_TRUE(wait_size_above(path, (off_t)sizeof(expected_header), 3000), "a row");
	/* One writer per file: a second collector is refused while it runs. */
	ASSERT_EQ(collect(path, "1"), 1, "second collector refused");
	ASSERT_STRHAS(out, "locked", "says the file is locked");
	sleep_ms(300);
	kill(pid, SIGTERM);
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM exits 0");
	f = csv_read(path);
	if (f)
		check_file(f, "whole rows after SIGTERM");
	csv_free(f);
}

static void test_top_analytics(void)
{
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "top", "--once", NULL), 0, "top --once");
	ASSERT_STRHAS(out, "score", "score line");
	ASSERT_STRHAS(out, "decision", "decision line");
	ASSERT_STRHAS(out, "baseline", "baseline line");
	ASSERT_STRHAS(out, "warm-up", "warm-up shown");
	ASSERT_STRHAS(out, "friction", "friction line");
	ASSERT_TRUE(strstr(out, "ALLOW") || strstr(out, "DENY"), "ALLOW or DENY");
	/* the rule that weighed most, as `ksense config set rules=` writes it */
	{
		const char *r = strstr(out, "top rule #");
		char when[8] = "";
		unsigned int idx, score;

		ASSERT_TRUE(r && sscanf(r, "top rule #%u %4[-LMH?]:%u", &idx, when, &score) == 3, "top rule #N WHEN:SCORE");
		ASSERT_EQ(strlen(when), 4, "one character per input");
		ASSERT_FALSE(strchr(when, '?'), "every set known");
	}
}

KS_TEST(collect)
{
	if (!setup())
		return;
	if (test__start_subtest("help")) {
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "collect", "--help", NULL), 0, "--help");
		ASSERT_STRHAS(out, "Usage: ksense collect", "usage");
		ASSERT_STRHAS(out, "KSENSE_METRICS_CSV", "names the variable");
		ASSERT_STRHAS(out, "psi_mem_full_pct", "lists the columns");
		ASSERT_STRHAS(out, "decision ", "lists the last column");
	}
	if (test__start_subtest("header_rows"))
		test_header_and_rows();
	if (test__start_subtest("kill9_resume"))
		test_kill9_resume();
	if (test__start_subtest("torn_line"))
		test_torn_line();
	if (test__start_subtest("friction_cells"))
		test_friction_cells();
	if (test__start_subtest("refusals"))
		test_refusals();
	if (test__start_subtest("sigterm"))
		test_sigterm();
	if (test__start_subtest("top_analytics"))
		test_top_analytics();
	teardown();
}
