// SPDX-License-Identifier: GPL-2.0
/*
 * ksense collect: the collector-only mode.  Appends one CSV row per closed
 * window to $KSENSE_METRICS_CSV, the file the seed's collector_only.py
 * wrote, so the same tail -f and plotting habits keep working.
 *
 * Rows come from the history ring: it holds the last KSENSE_HISTORY_LEN
 * windows by seq, so a slow or restarted writer still finds every window
 * it has not written (up to the ring's depth) and each one exactly once.  Windows that left the ring before they
 * were written are counted in a warning, never invented.
 *
 * Every number is a field the tick wrote (docs/ARCHITECTURE.md); this file only
 * converts units and formats.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "cli.h"
#include "log.h"
#include "history.h"
#include "names.h"
#include "pins.h"
#include "self_exclude.h"

#define CSV_ENV             "KSENSE_METRICS_CSV"
#define CSV_PATH_DEFAULT    "/tmp/ksense/kernel_metrics.csv"
#define CSV_FILE_MODE       0644
#define CSV_DIR_MODE        0755

#define NS_PER_MS           1000000ull
#define NS_PER_S            1000000000ull

#define ROW_BYTES           1024 /* a row is < 400 bytes */
/* Bytes read back from the end of an existing file: several rows, so the
 * last complete line is in it even when a torn one follows it. */
#define TAIL_BYTES          4096
#define HEADER_BYTES        1024

/* Poll the state's seq this many times per window, so a row lands within a
 * quarter window of the close; a floor keeps short windows off the CPU. */
#define POLLS_PER_WINDOW    4u
#define POLL_MIN_NS         (20 * NS_PER_MS)

#define WINDOWS_MAX         1000000000u

/* How long a vanished pin tree is waited for (`ksense load --replace` swaps
 * it) before the collector gives up. */
#define TREE_GONE_GRACE_NS  (2 * NS_PER_S)

/* The only mutable global: set by SIGINT/SIGTERM/SIGHUP. */
static volatile sig_atomic_t stop_requested;

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NR_STOP_SIGNALS ((int)(sizeof(stop_signals) / sizeof(stop_signals[0])))

/* The header and --help are both generated from this table, so the
 * documentation cannot drift from the file. */
static const struct {
	const char *name;
	const char *doc;
} columns[] = {
	{ "timestamp",        "window end, ISO-8601 UTC, ms (monotonic end_ns + realtime offset now)" },
	{ "seq",              "window sequence number, 1 = first window after `ksense load`" },
	{ "rq_avg_us",        "run-queue latency (wakeup/preemption -> on CPU): mean, us" },
	{ "rq_p95_us",        "  95th percentile, us" },
	{ "rq_p99_us",        "  99th percentile, us" },
	{ "rq_max_us",        "  maximum, us" },
	{ "rq_count",         "  samples" },
	{ "dstate_total_ms",  "task-ms spent in D state during the window (all tasks)" },
	{ "dstate_p95_us",    "D-state episodes that ended in the window: 95th percentile, us" },
	{ "dstate_p99_us",    "  99th percentile, us" },
	{ "dstate_max_us",    "  maximum, us" },
	{ "dstate_count",     "  episodes" },
	{ "netrx_total_ms",   "NET_RX softirq time, all CPUs, ms" },
	{ "netrx_p95_us",     "NET_RX softirq runs: 95th percentile, us" },
	{ "netrx_p99_us",     "  99th percentile, us" },
	{ "netrx_max_us",     "  maximum, us" },
	{ "netrx_count",      "  runs" },
	{ "cpu_util_pct",     "busy share of all CPUs, % (fuzzy input CPUUtil)" },
	{ "psi_cpu_some_pct", "CPU pressure, some tasks stalled: share of the kernel's latest PSI period, %" },
	{ "psi_cpu_full_pct", "  CPU, all non-idle tasks stalled, %: 0, as /proc/pressure/cpu (undefined system-wide)" },
	{ "psi_io_some_pct",  "  I/O some, %" },
	{ "psi_io_full_pct",  "  I/O full, %" },
	{ "psi_mem_some_pct", "  memory some, %" },
	{ "psi_mem_full_pct", "  memory full, % (all six PSI cells empty until psi_system is found)" },
	{ "baseline_state",   "warmup or frozen" },
	{ "friction",         "0..100, excess over the frozen baseline; empty during warm-up" },
	{ "direction",        "-1, 0 or 1: friction falling, steady, rising; empty during warm-up" },
	{ "slope",            "friction change per window (EWMA), friction points; empty during warm-up" },
	{ "energy",           "0..100, leaky integral of friction; empty during warm-up" },
	{ "score",            "fuzzy score 0..100 (from CPUUtil and PSI alone during warm-up)" },
	{ "band",             "low, medium or high; empty before the first score" },
	{ "decision",         "allow or deny; empty before the first score" },
};
#define NR_COLUMNS ((int)(sizeof(columns) / sizeof(columns[0])))

struct collect_opts {
	char path[PATH_MAX];
	__u32 windows;       /* rows to write before exiting, 0 = until a signal */
	bool from_start, help;
};

struct csv {
	int fd;
	const char *path;
	off_t size_bytes;    /* end of the last whole row: where a failed write is cut back to */
	bool has_rows;
	__u64 last_seq;      /* seq of the last row, when has_rows */
};

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void collect_usage(FILE *out)
{
	int i;

	fprintf(out,
		"Usage: ksense collect [--output PATH] [-n N] [--from-start]\n"
		"\n"
		"Collector-only mode: appends one CSV row per closed window to\n"
		"$" CSV_ENV " (default " CSV_PATH_DEFAULT "), creating its\n"
		"directory.  Rows are read from the history ring, which keeps the last\n"
		"%d windows, so a slow or restarted collector writes every window\n"
		"exactly once; windows that left the ring before they could be written\n"
		"are reported once in a warning with their count, never invented.\n"
		"Each row is one write(), visible at once (tail -f works).\n"
		"\n"
		"An existing file with this exact header is resumed after the seq of its\n"
		"last row, whatever --from-start says; a torn last line (no newline, e.g.\n"
		"after kill -9) is cut off and that window written again.  A file with any\n"
		"other header is refused and left untouched: move it away or choose\n"
		"another --output.  If the seqs in the file are ahead of the pin tree's,\n"
		"the tree was reloaded; the collector continues with the new load's\n"
		"windows from seq 1 (seq then restarts in the file), as it does when the\n"
		"tree is reloaded while it runs.  Only one collector may write a file\n"
		"at a time (flock).\n"
		"\n"
		"  -o, --output PATH  CSV file (overrides $" CSV_ENV ")\n"
		"  -n, --windows N    write N rows, then exit (default: until SIGINT/SIGTERM)\n"
		"      --from-start   begin with the oldest window still in the ring\n"
		"                     (default: the newest window, or resume the file)\n"
		"  -h, --help         this text\n"
		"\n"
		"Columns (a header line, then a row per window; quantities with a unit\n"
		"have 3 decimals, seq, counts, direction and score are integers):\n",
		KSENSE_HISTORY_LEN);
	for (i = 0; i < NR_COLUMNS; i++)
		fprintf(out, "  %-17s %s\n", columns[i].name, columns[i].doc);
	fprintf(out,
		"Energy's internals (integral, peak, time above the threshold) exist only\n"
		"for the latest window, in the `score` pin, and are not in the per-window\n"
		"history record, so they are not columns; `ksense top` shows them.\n"
		"\n"
		"SIGINT, SIGTERM and SIGHUP finish the row being written and exit 0.\n"
		"Exit status: 0 done, 1 no pin tree or a file/map error, 2 bad usage.\n"
		"\nExamples:\n"
		"  ksense collect &  tail -f " CSV_PATH_DEFAULT "\n"
		"  " CSV_ENV "=/var/log/ksense.csv ksense collect --from-start\n"
		"  ksense collect --output /tmp/k.csv -n 60\n");
}

/* A usable file name: not empty, not a directory, fits PATH_MAX. */
static int set_path(struct collect_opts *o, const char *what, const char *path)
{
	size_t len = path ? strlen(path) : 0;

	if (!len) {
		fprintf(stderr, "ksense collect: %s is empty; give a CSV file path\n", what);
		return -EINVAL;
	}
	if (path[len - 1] == '/') {
		fprintf(stderr, "ksense collect: %s '%s' names a directory; give a CSV file path\n",
			what, path);
		return -EINVAL;
	}
	if (len >= sizeof(o->path)) {
		fprintf(stderr, "ksense collect: %s is longer than %zu bytes\n", what, sizeof(o->path) - 1);
		return -EINVAL;
	}
	memcpy(o->path, path, len + 1);
	return 0;
}

static int parse_collect_args(int argc, char **argv, struct collect_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "windows", required_argument, NULL, 'n' },
		{ "from-start", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *env = getenv(CSV_ENV), *output = NULL;
	struct ks_opts p;
	int c, first;

	o->windows = 0;
	o->from_start = o->help = false;
	ks_opts_init(&p, "ksense collect", argc, argv, "o:n:h", longopts);
	while ((c = ks_opts_next(&p)) != -1) {
		switch (c) {
		case 's':
			o->from_start = true;
			break;
		case 'o':
			output = p.value;
			break;
		case 'n':
			if (ks_opt_uint(p.prog, p.name, p.value, 1, WINDOWS_MAX, &o->windows))
				return -EINVAL;
			break;
		case 'h':
			o->help = true;
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (ks_opts_operands(&p, 0, &first))
		return -EINVAL;
	if (output)
		return set_path(o, "--output", output);
	/* A set but broken variable is an error even though a default exists:
	 * silently writing elsewhere would lose the user's data. */
	if (env)
		return set_path(o, CSV_ENV, env);
	return set_path(o, "the default path", CSV_PATH_DEFAULT);
}

/* The header line, newline included. */
static int build_header(char *buf, size_t len)
{
	size_t off = 0;
	int i, n;

	for (i = 0; i < NR_COLUMNS; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", columns[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	if (off + 2 > len)
		return -ENOSPC;
	buf[off++] = '\n';
	buf[off] = '\0';
	return (int)off;
}

/* Fixed point with three decimals: `milli` is the value x 1000.  Integer
 * arithmetic throughout, so a value prints the same on every machine. */
struct row {
	char buf[ROW_BYTES];
	size_t len;
	bool overflow;
};

static void row_put(struct row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void row_put(struct row *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->buf) - r->len) {
		r->overflow = true;
		return;
	}
	r->len += (size_t)n;
}

static void cell_milli(struct row *r, __u64 milli)
{
	row_put(r, ",%llu.%03llu", (unsigned long long)(milli / 1000),
		(unsigned long long)(milli % 1000));
}

static void cell_milli_signed(struct row *r, __s64 milli)
{
	__u64 mag = milli < 0 ? (__u64)(-(milli + 1)) + 1 : (__u64)milli;

	row_put(r, ",%s%llu.%03llu", milli < 0 ? "-" : "", (unsigned long long)(mag / 1000),
		(unsigned long long)(mag % 1000));
}

/* ns as us: exactly ns / 1000 with three decimals. */
static void cell_ns_as_us(struct row *r, __u64 ns)
{
	cell_milli(r, ns);
}

/* ns as ms, rounded to the us. */
static void cell_ns_as_ms(struct row *r, __u64 ns)
{
	cell_milli(r, ns / 1000 + (ns % 1000 >= 500));
}

/* Per-mille as percent (or a 0..1000 quantity as 0..100). */
static void cell_permille_as_pct(struct row *r, __u64 permille)
{
	cell_milli(r, permille * 100);
}

static void cell_u64(struct row *r, __u64 v)
{
	row_put(r, ",%llu", (unsigned long long)v);
}

static void cell_str(struct row *r, const char *s)
{
	row_put(r, ",%s", s);
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, taken between two monotonic reads
 * so a preemption between the calls shows up as at most their gap. */
static int realtime_offset_ns(__s64 *offset_ns)
{
	struct timespec m0, rt, m1;
	__s64 mono_ns, rt_ns;

	if (clock_gettime(CLOCK_MONOTONIC, &m0) || clock_gettime(CLOCK_REALTIME, &rt) ||
	    clock_gettime(CLOCK_MONOTONIC, &m1))
		return -errno;
	mono_ns = ((__s64)m0.tv_sec * (__s64)NS_PER_S + m0.tv_nsec +
		   (__s64)m1.tv_sec * (__s64)NS_PER_S + m1.tv_nsec) / 2;
	rt_ns = (__s64)rt.tv_sec * (__s64)NS_PER_S + rt.tv_nsec;
	*offset_ns = rt_ns - mono_ns;
	return 0;
}

static int format_row(struct row *r, const struct ksense_window *w, __s64 offset_ns)
{
	const struct ksense_verdict_rec *v = &w->verdict;
	__s64 wall_ns = (__s64)w->end_ns + offset_ns;
	time_t sec = (time_t)(wall_ns / (__s64)NS_PER_S);
	struct tm tm;
	char when[32];

	if (wall_ns < 0 || !gmtime_r(&sec, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm))
		return -ERANGE;
	r->len = 0;
	r->overflow = false;
	row_put(r, "%s.%03lluZ", when,
		(unsigned long long)((__u64)(wall_ns % (__s64)NS_PER_S) / NS_PER_MS));
	cell_u64(r, w->seq);

	cell_ns_as_us(r, w->runq.avg_ns);
	cell_ns_as_us(r, w->runq.p95_ns);
	cell_ns_as_us(r, w->runq.p99_ns);
	cell_ns_as_us(r, w->runq.max_ns);
	cell_u64(r, w->runq.count);

	cell_ns_as_ms(r, w->dstate_ns);
	cell_ns_as_us(r, w->dstate.p95_ns);
	cell_ns_as_us(r, w->dstate.p99_ns);
	cell_ns_as_us(r, w->dstate.max_ns);
	cell_u64(r, w->dstate.count);

	cell_ns_as_ms(r, w->netrx_ns);
	cell_ns_as_us(r, w->netrx.p95_ns);
	cell_ns_as_us(r, w->netrx.p99_ns);
	cell_ns_as_us(r, w->netrx.max_ns);
	cell_u64(r, w->netrx.count);

	cell_permille_as_pct(r, w->cpu_busy_permille);
	/* PSI fields are 0, not measured, until psi_system is found: an
	 * empty cell says "unknown" where 0.000 would claim "no stall". */
	if (w->psi_source == KSENSE_PSI_NONE) {
		row_put(r, ",,,,,,");
	} else {
		cell_permille_as_pct(r, w->psi_cpu.some_permille);
		cell_permille_as_pct(r, w->psi_cpu.full_permille);
		cell_permille_as_pct(r, w->psi_io.some_permille);
		cell_permille_as_pct(r, w->psi_io.full_permille);
		cell_permille_as_pct(r, w->psi_mem.some_permille);
		cell_permille_as_pct(r, w->psi_mem.full_permille);
	}

	cell_str(r, ks_baseline_name(v->baseline_state));
	if (v->friction_valid) {
		cell_permille_as_pct(r, v->friction_permille);
		row_put(r, ",%d", v->direction);
		cell_milli_signed(r, (__s64)v->slope_permille * 100);
		cell_permille_as_pct(r, v->energy_permille);
	} else {
		/* The seed's collector leaves these empty until the baseline
		 * freezes; a 0 would read as "no friction". */
		row_put(r, ",,,,");
	}
	/* Band NONE: no score yet; the 0 in `score` would mislead. */
	if (v->band == KSENSE_BAND_NONE)
		row_put(r, ",");
	else
		cell_u64(r, v->score);
	cell_str(r, v->band == KSENSE_BAND_NONE ? "" : ks_band_name(v->band));
	cell_str(r, v->verdict == KSENSE_VERDICT_NONE ? "" : ks_verdict_name(v->verdict));
	row_put(r, "\n");
	return r->overflow ? -ENOSPC : 0;
}

/* mkdir -p of the directory part of path.  EEXIST is fine at every level;
 * a component that exists but is not a directory fails the open later,
 * with ENOTDIR naming the file. */
static int make_parent_dirs(const char *path)
{
	char dir[PATH_MAX], saved;
	char *p;
	int err;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(dir, CSV_DIR_MODE) && errno != EEXIST) {
			err = -errno;
			ks_err("cannot create the CSV's directory", "dir=%s err=\"%s\"", dir,
			       strerror(-err));
			return err;
		}
		*p = saved;
		if (!saved)
			return 0;
	}
}

/* pread until len bytes or end of file; bytes read or negative errno. */
static ssize_t read_at(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* One write(): a row is either in the file whole or (on a failure) cut back
 * off, so a reader never sees half a row followed by the next one. */
static int csv_append(struct csv *c, const char *buf, size_t len)
{
	ssize_t n;
	int err;

	do {
		n = write(c->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		c->size_bytes += (off_t)len;
		return 0;
	}
	err = n < 0 ? -errno : -ENOSPC; /* a short write is a full disk or quota */
	ks_err("cannot write to the CSV", "path=%s bytes=%zu written=%zd err=\"%s\"", c->path, len,
	       n, strerror(-err));
	if (n > 0 && ftruncate(c->fd, c->size_bytes))
		ks_err("cannot cut a partly written row back off", "path=%s err=\"%s\"", c->path,
		       strerror(errno));
	return err;
}

static int csv_truncate(struct csv *c, off_t size_bytes)
{
	if (ftruncate(c->fd, size_bytes)) {
		int err = -errno;

		ks_err("cannot truncate the CSV", "path=%s size=%lld err=\"%s\"", c->path,
		       (long long)size_bytes, strerror(-err));
		return err;
	}
	c->size_bytes = size_bytes;
	return 0;
}

/* The seq (second field) of a row, checking the row has every column. */
static int parse_row_seq(const char *line, size_t len, __u64 *seq)
{
	unsigned long long v;
	char cell[32], *end;
	size_t i, commas = 0, start = 0, stop = 0;

	for (i = 0; i < len; i++) {
		if (line[i] != ',')
			continue;
		commas++;
		if (commas == 1)
			start = i + 1;
		else if (commas == 2)
			stop = i;
	}
	if (commas != (size_t)NR_COLUMNS - 1 || stop <= start || stop - start >= sizeof(cell))
		return -EINVAL;
	memcpy(cell, line + start, stop - start);
	cell[stop - start] = '\0';
	if (cell[0] < '0' || cell[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(cell, &end, 10);
	if (*end || errno || !v)
		return -EINVAL;
	*seq = v;
	return 0;
}

/* Checks an existing file's header and finds its last row, cutting off a
 * torn last line.  Called with the file locked. */
static int csv_inspect(struct csv *c, const char *header, size_t header_len)
{
	char head[HEADER_BYTES], tail[TAIL_BYTES + 1];
	off_t start, cut;
	ssize_t n;
	char *nl, *line;
	int err;

	n = read_at(c->fd, head, header_len, 0);
	if (n < 0) {
		ks_err("cannot read the CSV", "path=%s err=\"%s\"", c->path, strerror((int)-n));
		return (int)n;
	}
	if ((size_t)n < header_len || memcmp(head, header, header_len)) {
		/* The header is one write(): a file that holds only part of
		 * it (and nothing else) was cut short while being created. */
		if (c->size_bytes == n && !memchr(head, '\n', (size_t)n) &&
		    !memcmp(head, header, (size_t)n)) {
			ks_warn("the CSV holds a torn header; rewriting it", "path=%s bytes=%zd", c->path, n);
			err = csv_truncate(c, 0);
			return err ? err : csv_append(c, header, header_len);
		}
		ks_err("the CSV has another header; refusing to mix formats (move it away or use --output)",
		       "path=%s", c->path);
		return -EPROTO;
	}
	if (c->size_bytes == (off_t)header_len)
		return 0;

	start = c->size_bytes > TAIL_BYTES ? c->size_bytes - TAIL_BYTES : 0;
	n = read_at(c->fd, tail, (size_t)(c->size_bytes - start), start);
	if (n < 0) {
		ks_err("cannot read the CSV", "path=%s err=\"%s\"", c->path, strerror((int)-n));
		return (int)n;
	}
	if (n != c->size_bytes - start) {
		ks_err("the CSV shrank while being read", "path=%s", c->path);
		return -EIO;
	}
	tail[n] = '\0';
	if (tail[n - 1] != '\n') {
		/* kill -9 or a full disk mid-row: drop the partial row; its
		 * window is written again below because the resume point is
		 * the last whole row. */
		nl = memrchr(tail, '\n', (size_t)n);
		cut = nl ? start + (nl - tail) + 1 : -1;
		if (cut < (off_t)header_len) {
			ks_err("the CSV's last line is longer than any row; not a ksense collect file?",
			       "path=%s", c->path);
			return -EPROTO;
		}
		ks_warn("the CSV ends in a torn line; cutting it off and writing that window again",
			"path=%s dropped_bytes=%lld", c->path, (long long)(c->size_bytes - cut));
		err = csv_truncate(c, cut);
		if (err)
			return err;
		n = cut - start;
		tail[n] = '\0';
		if (c->size_bytes == (off_t)header_len)
			return 0;
	}
	/* tail[n - 1] is the last row's newline; find the one before it. */
	nl = n >= 2 ? memrchr(tail, '\n', (size_t)n - 1) : NULL;
	if (!nl && start) {
		ks_err("the CSV's last line is longer than any row; not a ksense collect file?",
		       "path=%s", c->path);
		return -EPROTO;
	}
	line = nl ? nl + 1 : tail;
	if (parse_row_seq(line, (size_t)(tail + n - 1 - line), &c->last_seq)) {
		ks_err("the CSV's last row is not a ksense collect row; refusing to append to it",
		       "path=%s", c->path);
		return -EPROTO;
	}
	c->has_rows = true;
	return 0;
}

/* Opens (creating directory and file) and locks the CSV, writes the header
 * of a new file and finds where an existing one ends. */
static int csv_open(struct csv *c, const char *path)
{
	char header[HEADER_BYTES];
	struct stat sb;
	int header_len, err;

	c->fd = -1;
	c->path = path;
	c->size_bytes = 0;
	c->has_rows = false;
	c->last_seq = 0;
	header_len = build_header(header, sizeof(header));
	if (header_len < 0)
		return header_len;
	err = make_parent_dirs(path);
	if (err)
		return err;
	/* O_APPEND: every row lands at the end even if the file was cut by
	 * hand meanwhile; CLOEXEC: nothing we exec should hold it. */
	c->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, CSV_FILE_MODE);
	if (c->fd < 0) {
		err = -errno;
		ks_err("cannot open the CSV", "path=%s err=\"%s\"", path, strerror(-err));
		return err;
	}
	if (fstat(c->fd, &sb)) {
		err = -errno;
		ks_err("cannot stat the CSV", "path=%s err=\"%s\"", path, strerror(-err));
		return err;
	}
	/* Resuming needs to read back and truncate: a pipe or device cannot. */
	if (!S_ISREG(sb.st_mode)) {
		ks_err("the CSV path is not a regular file", "path=%s", path);
		return -EINVAL;
	}
	/* Two collectors on one file would each write every window. */
	if (flock(c->fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (err == -EWOULDBLOCK)
			ks_err("another process holds the CSV locked (a ksense collect already writing it?)",
			       "path=%s", path);
		else
			ks_err("cannot lock the CSV", "path=%s err=\"%s\"", path, strerror(-err));
		return err;
	}
	/* Size after the lock: a previous holder may have written since. */
	if (fstat(c->fd, &sb)) {
		err = -errno;
		ks_err("cannot stat the CSV", "path=%s err=\"%s\"", path, strerror(-err));
		return err;
	}
	c->size_bytes = sb.st_size;
	if (!c->size_bytes)
		return csv_append(c, header, (size_t)header_len);
	return csv_inspect(c, header, (size_t)header_len);
}

static void say_tree_error(int err, const struct ksense_state *st)
{
	if (err == -EPROTO)
		ks_err("the pin tree has another schema; run `ksense load --replace`",
		       "root=%s schema=%u want=%u", ks_pin_root(), st->schema_version,
		       KSENSE_SCHEMA_VERSION);
	else {
		char why[512];

		ks_err(ks_pins_error(err, why, sizeof(why)), "root=%s err=\"%s\"", ks_pin_root(), strerror(-err));
	}
}

static __u64 poll_period_ns(void)
{
	struct ksense_config cfg;
	__u64 ns;

	/* window_ms may change live; the default is a safe guess when the
	 * config cannot be read this once. */
	if (ks_read_config(&cfg) || cfg.window_ms < KSENSE_WINDOW_MS_MIN ||
	    cfg.window_ms > KSENSE_WINDOW_MS_MAX)
		cfg.window_ms = KSENSE_WINDOW_MS_DEFAULT;
	ns = (__u64)cfg.window_ms * NS_PER_MS / POLLS_PER_WINDOW;
	return ns < POLL_MIN_NS ? POLL_MIN_NS : ns;
}

/* The stop signals stay blocked outside the sleep, so a row in progress is
 * always finished; between rows the pending set says whether to stop. */
static bool stop_pending(void)
{
	sigset_t pending;
	int i;

	if (stop_requested)
		return true;
	if (sigpending(&pending))
		return false;
	for (i = 0; i < NR_STOP_SIGNALS; i++)
		if (sigismember(&pending, stop_signals[i]) == 1)
			return true;
	return false;
}

static int sleep_ns(__u64 ns, const sigset_t *wait_mask)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };

	if (stop_requested)
		return 0;
	if (ppoll(NULL, 0, &ts, wait_mask) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

/* Writes every closed window from the cursor on, oldest first, until none
 * is ready (the newest still being written); *written counts rows. */
static int write_ready(struct csv *c, struct ks_history *h, __u32 limit, __u32 *written)
{
	struct ksense_window w;
	struct row r;
	__s64 offset_ns = 0;
	int err;

	err = realtime_offset_ns(&offset_ns);
	if (err) {
		ks_err("cannot read the clocks", "err=\"%s\"", strerror(-err));
		return err;
	}
	while (!stop_pending() && (!limit || *written < limit)) {
		err = ks_history_next(h, &w);
		if (err < 0) {
			ks_err("cannot read the history ring", "root=%s seq=%llu err=\"%s\"", ks_pin_root(),
			       (unsigned long long)h->next_seq, strerror(-err));
			return err;
		}
		if (!err)
			return 0;
		err = format_row(&r, &w, offset_ns);
		if (err) {
			ks_err("cannot format a row", "seq=%llu err=\"%s\"", (unsigned long long)w.seq, strerror(-err));
			return err;
		}
		err = csv_append(c, r.buf, r.len);
		if (err)
			return err;
		(*written)++;
	}
	return 0;
}

/* Where the first row comes from: after the file's last row, the oldest
 * window in the ring (--from-start), or the newest closed window. */
static void choose_start(struct ks_history *h, const struct csv *c, bool from_start)
{
	const struct ksense_state *st = &h->st;
	const char *mode;

	if (c->has_rows && c->last_seq <= st->seq) {
		h->next_seq = c->last_seq + 1;
		mode = "resume";
	} else if (c->has_rows) {
		ks_warn("the CSV's last seq is ahead of the pin tree's: it was reloaded since; "
			"continuing with the new load's windows",
			"path=%s file_seq=%llu tree_seq=%llu", c->path, (unsigned long long)c->last_seq,
			(unsigned long long)st->seq);
		h->next_seq = 1;
		mode = "reloaded";
	} else if (from_start) {
		h->next_seq = st->seq >= KSENSE_HISTORY_LEN ? st->seq - KSENSE_HISTORY_LEN + 1 : 1;
		mode = "from-start";
	} else {
		h->next_seq = st->seq ? st->seq : 1;
		mode = "newest";
	}
	ks_info("collecting", "path=%s root=%s mode=%s first_seq=%llu", c->path, ks_pin_root(), mode,
		(unsigned long long)h->next_seq);
}

int cmd_collect(int argc, char **argv)
{
	struct collect_opts opts;
	struct csv csv = { .fd = -1 };
	struct ks_history h = KS_HISTORY_INIT;
	struct sigaction sa = { 0 }, old_sa[NR_STOP_SIGNALS];
	sigset_t stop_mask, orig_mask;
	bool mask_set = false;
	int handlers_set = 0, ret = 1, err, i;
	__u64 gone_since_ns = 0;
	__u32 written = 0;

	if (parse_collect_args(argc, argv, &opts))
		return 2;
	if (opts.help) {
		collect_usage(stdout);
		return 0;
	}
	/* The tree first: without it there is nothing to write, and the file
	 * should not be created for nothing. */
	err = ks_history_follow(&h);
	if (err < 0) {
		say_tree_error(err, &h.st);
		goto cleanup;
	}
	/* best effort: the collector's own CPU time is not a pod's */
	ks_self_exclude_register();

	/* Signals before the file: a SIGTERM during start-up must not kill
	 * the process between a row's write and the next check. */
	sigemptyset(&stop_mask);
	for (i = 0; i < NR_STOP_SIGNALS; i++)
		sigaddset(&stop_mask, stop_signals[i]);
	if (sigprocmask(SIG_BLOCK, &stop_mask, &orig_mask)) {
		ks_err("cannot block signals", "err=\"%s\"", strerror(errno));
		goto cleanup;
	}
	mask_set = true;
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the signal must end ppoll */
	for (; handlers_set < NR_STOP_SIGNALS; handlers_set++) {
		if (sigaction(stop_signals[handlers_set], &sa, &old_sa[handlers_set])) {
			ks_err("cannot install a signal handler", "sig=%d err=\"%s\"",
			       stop_signals[handlers_set], strerror(errno));
			goto cleanup;
		}
	}

	if (csv_open(&csv, opts.path))
		goto cleanup;
	choose_start(&h, &csv, opts.from_start);

	while (!stop_pending()) {
		err = ks_history_follow(&h);
		if (err == 1) {
			/* `ksense load --replace` or unload + load: a new ring
			 * whose seqs restart at 1, all of them unwritten */
			ks_warn("the pin tree was reloaded; continuing with its windows from seq 1",
				"root=%s tree_seq=%llu", ks_pin_root(), (unsigned long long)h.st.seq);
			ks_self_exclude_register(); /* a new tree has a new self pin */
		}
		if (err < 0) {
			__u64 now_ns = ks_now_ns();

			if (!gone_since_ns)
				gone_since_ns = now_ns;
			if (now_ns - gone_since_ns >= TREE_GONE_GRACE_NS) {
				say_tree_error(err, &h.st);
				goto cleanup;
			}
		} else {
			gone_since_ns = 0;
			if (write_ready(&csv, &h, opts.windows, &written))
				goto cleanup;
			if (opts.windows && written >= opts.windows)
				break;
		}
		err = sleep_ns(poll_period_ns(), &orig_mask);
		if (err) {
			ks_err("cannot sleep", "err=\"%s\"", strerror(-err));
			goto cleanup;
		}
	}
	ret = 0;
	ks_info("collector stopped", "path=%s rows=%u lost=%llu next_seq=%llu", csv.path, written,
		(unsigned long long)h.lost, (unsigned long long)h.next_seq);

cleanup:
	if (csv.fd >= 0 && close(csv.fd)) {
		ks_err("cannot close the CSV", "path=%s err=\"%s\"", csv.path, strerror(errno));
		ret = 1;
	}
	ks_history_close(&h);
	ks_self_exclude_unregister();
	/* Unblock before restoring the handlers: a signal still pending then
	 * reaches ours (a flag) instead of killing a cleanly stopped run. */
	if (mask_set && sigprocmask(SIG_SETMASK, &orig_mask, NULL))
		ks_err("cannot restore the signal mask", "err=\"%s\"", strerror(errno));
	for (i = 0; i < handlers_set; i++)
		if (sigaction(stop_signals[i], &old_sa[i], NULL))
			ks_err("cannot restore a signal handler", "sig=%d err=\"%s\"", stop_signals[i],
			       strerror(errno));
	return ret;
}
