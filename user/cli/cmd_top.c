// SPDX-License-Identifier: GPL-2.0
/*
 * ksense top: a live terminal view of the latest closed window, what the
 * in-kernel analytics made of it (baseline, friction, direction, energy,
 * score, decision), and sparklines of the last windows in the history ring.
 *
 * Every number shown is a field the tick wrote into a pinned map; this file
 * only formats them (docs/ARCHITECTURE.md: userspace never recomputes
 * statistics).
 *
 * Terminal handling: when stdout is a terminal the view is redrawn in place
 * (cursor home, overwrite, clear the rest) rather than cleared, so it does
 * not flicker.  Without -n it runs in the alternate screen like top(1); with
 * -n the last frame stays on the normal screen, where the user asked to see
 * it.  Anything changed (termios, cursor, screen) is undone on every exit
 * path through the single cleanup label.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "cli.h"
#include "log.h"
#include "fsutil.h"
#include "history.h"
#include "names.h"
#include "pins.h"
#include "self_exclude.h"
#include "settings.h"

#define NS_PER_US            1000ull
#define NS_PER_MS            1000000ull
#define NS_PER_S             1000000000ull

#define INTERVAL_MS_DEFAULT  500u
#define INTERVAL_MS_MIN      50u
#define INTERVAL_MS_MAX      10000u
#define ITERATIONS_MAX       1000000000u

#define SPARK_WINDOWS        60  /* history shown, one column per window */
#define SPARK_LABEL_COLS     14
#define SPARK_SUFFIX_COLS    22  /* "  %9s %9s": now and max */
#define SPARK_MIN_COLS       8   /* below this the now/max columns give way */

/* How long a vanished pin tree is waited for before the view gives up, and
 * how often it is looked for meanwhile. */
#define TREE_GONE_GRACE_NS   (2 * NS_PER_S)
#define TREE_RETRY_NS        (100 * NS_PER_MS)

#define DEFAULT_COLS         80  /* when TIOCGWINSZ has no answer */
#define DEFAULT_ROWS         24
#define LINE_BYTES           1024
#define FRAME_BYTES          65536

/* Cursor control (ECMA-48 / xterm).  The alternate screen keeps the user's
 * scrollback intact while the view runs. */
#define ESC_ALT_SCREEN_ON    "\x1b[?1049h"
#define ESC_ALT_SCREEN_OFF   "\x1b[?1049l"
#define ESC_CURSOR_HIDE      "\x1b[?25l"
#define ESC_CURSOR_SHOW      "\x1b[?25h"
#define ESC_CLEAR_SCREEN     "\x1b[2J"
#define ESC_HOME             "\x1b[H"
#define ESC_CLEAR_EOL        "\x1b[K"
#define ESC_CLEAR_EOS        "\x1b[J"

/* The only mutable global: set by SIGINT/SIGTERM/SIGHUP, read by the loop. */
static volatile sig_atomic_t stop_requested;

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NR_STOP_SIGNALS ((int)(sizeof(stop_signals) / sizeof(stop_signals[0])))

struct top_opts {
	__u32 iterations;    /* 0: until q, SIGINT or SIGTERM */
	__u32 interval_ms;
	bool once, help;
};

struct term {
	bool tty_out;        /* stdout is a terminal: width from TIOCGWINSZ */
	bool live;           /* redraw in place with escape codes */
	bool alt_screen;     /* live and unbounded: leave no trace on exit */
	bool keys;           /* stdin is a terminal we read 'q' from */
	bool utf8;           /* sparklines in block elements, else ASCII */
	bool termios_set;    /* `saved` must be written back */
	bool screen_set;     /* cursor hidden (and maybe alt screen) */
	struct termios saved;
	unsigned int cols;   /* usable columns, 0 = unlimited */
	unsigned int rows;   /* usable rows, 0 = unlimited */
};

enum spark_unit { UNIT_NS, UNIT_PERMILLE, UNIT_US_PER_S, UNIT_SCORE };

enum spark_signal {
	SPARK_SCORE,
	SPARK_RUNQ_P99,
	SPARK_CPU_BUSY,
	SPARK_DSTATE,
	SPARK_NETRX,
	SPARK_PSI_CPU_SOME,
	SPARK_COUNT,
};

/* full_scale: a fixed top of the scale (0: the largest value shown), so a
 * quiet score history does not look like a stressed one. */
static const struct {
	const char *label;
	enum spark_unit unit;
	__u64 full_scale;
} spark_defs[SPARK_COUNT] = {
	[SPARK_SCORE]        = { "score",        UNIT_SCORE,    100 },
	[SPARK_RUNQ_P99]     = { "runq p99",     UNIT_NS,       0 },
	[SPARK_CPU_BUSY]     = { "cpu busy",     UNIT_PERMILLE, 0 },
	[SPARK_DSTATE]       = { "D-state",      UNIT_US_PER_S, 0 },
	[SPARK_NETRX]        = { "NET_RX",       UNIT_US_PER_S, 0 },
	[SPARK_PSI_CPU_SOME] = { "psi cpu some", UNIT_PERMILLE, 0 },
};

/* What a sparkline needs of one window; 0 seq marks an empty slot. */
struct spark_point {
	__u64 seq;
	__u64 value[SPARK_COUNT];
};

/* Windows are immutable once closed, so each is looked up once and cached
 * at seq % SPARK_WINDOWS; a refresh costs one lookup per new window. */
struct history {
	struct ks_history ring;   /* followed across reloads (history.h) */
	struct spark_point pts[SPARK_WINDOWS];
};

/* The analytics pins of one refresh.  The headline numbers come from the
 * window's own verdict record (consistent with the rest of the frame);
 * these add what only the pins hold.  ok is false when a pin was
 * unreadable, and that part of the view says so. */
struct analytics {
	bool baseline_ok, score_ok, decision_ok, config_ok;
	struct ksense_baseline baseline;
	struct ksense_score score;
	struct ksense_decision decision;
	struct ksense_config config;
};

struct frame {
	char buf[FRAME_BYTES];
	size_t len;
	unsigned int lines;
	unsigned int cols;   /* from struct term at the start of the frame */
	unsigned int rows;
	bool live;
};

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void top_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense top [-n N] [-i MS] [--once]\n"
		"\n"
		"Shows the latest closed window (run-queue latency, D-state episodes,\n"
		"NET_RX softirq time, CPU busy, pressure stalls), what the in-kernel\n"
		"analytics made of it (baseline warm-up or frozen; friction, direction\n"
		"and energy, blank during warm-up; score, band, ALLOW/DENY and why; bad\n"
		"streak and latch; the top rule) and sparklines of the last %d windows\n"
		"(score on a fixed 0..100 scale), read from the pinned maps.\n"
		"Press q or Ctrl-C to quit.  When stdout is not a terminal, prints one\n"
		"plain block per refresh.\n"
		"\n"
		"  -n, --iterations N  refresh N times, then exit (default: until q)\n"
		"  -i, --interval MS   refresh period, %u..%u ms (default %u)\n"
		"      --once          print one plain block and exit (-n 1, no screen control)\n"
		"  -h, --help          this text\n"
		"\n"
		"Sparklines use Unicode blocks when LC_ALL, LC_CTYPE or LANG names UTF-8,\n"
		"ASCII otherwise.  Exit status: 0 done, 1 not loaded or unreadable,\n"
		"2 bad usage.\n"
		"\nExamples:\n"
		"  ksense top\n"
		"  ksense top --once\n"
		"  ksense top -n 10 -i 1000 > top.log\n",
		SPARK_WINDOWS, INTERVAL_MS_MIN, INTERVAL_MS_MAX, INTERVAL_MS_DEFAULT);
}

static int parse_top_args(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool saw_iterations = false;
	struct ks_opts p;
	int c, first;

	o->iterations = 0;
	o->interval_ms = INTERVAL_MS_DEFAULT;
	o->once = o->help = false;
	ks_opts_init(&p, "ksense top", argc, argv, "n:i:h", longopts);
	while ((c = ks_opts_next(&p)) != -1) {
		switch (c) {
		case 'o':
			o->once = true;
			break;
		case 'n':
			if (ks_opt_uint(p.prog, p.name, p.value, 1, ITERATIONS_MAX, &o->iterations))
				return -EINVAL;
			saw_iterations = true;
			break;
		case 'i':
			if (ks_opt_uint(p.prog, p.name, p.value, INTERVAL_MS_MIN, INTERVAL_MS_MAX, &o->interval_ms))
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
	if (o->once && saw_iterations) {
		/* Silently letting one win would surprise whoever wrote the other. */
		fprintf(stderr, "ksense top: --once and -n/--iterations exclude each other\n");
		return -EINVAL;
	}
	if (o->once)
		o->iterations = 1;
	return 0;
}

/* POSIX precedence: the first of LC_ALL, LC_CTYPE, LANG that is set decides
 * the character set; a terminal told "C" may not render block elements. */
static bool locale_is_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return false;
}

static int write_str(int fd, const char *s)
{
	return ks_write_all(fd, s, strlen(s));
}

/* Non-canonical, no echo: keys arrive one at a time and 'q' is not printed
 * over the view.  ISIG stays on so Ctrl-C is still SIGINT, but suspend and
 * quit are disabled: a stopped or core-dumping top would leave the terminal
 * without echo, and neither is worth that. */
static int term_enter(struct term *t)
{
	struct termios raw;
	int err;

	if (t->keys) {
		if (tcgetattr(STDIN_FILENO, &t->saved))
			return -errno;
		raw = t->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		raw.c_cc[VSUSP] = _POSIX_VDISABLE;
		raw.c_cc[VQUIT] = _POSIX_VDISABLE;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
			return -errno;
		t->termios_set = true;
	}
	if (t->live) {
		/* Marked before writing: a partial write may already have hidden
		 * the cursor, and showing it again is harmless. */
		t->screen_set = true;
		err = write_str(STDOUT_FILENO, t->alt_screen ?
				ESC_ALT_SCREEN_ON ESC_CURSOR_HIDE ESC_CLEAR_SCREEN ESC_HOME :
				ESC_CURSOR_HIDE ESC_CLEAR_SCREEN ESC_HOME);
		if (err)
			return err;
	}
	return 0;
}

static void term_leave(struct term *t)
{
	int err;

	if (t->screen_set) {
		/* On the normal screen the cursor sits at the end of the last
		 * line (frames end without a newline so they never scroll). */
		err = write_str(STDOUT_FILENO, t->alt_screen ?
				ESC_CURSOR_SHOW ESC_ALT_SCREEN_OFF : ESC_CURSOR_SHOW "\r\n");
		if (err)
			ks_err("cannot restore the terminal screen", "err=\"%s\"", strerror(-err));
		t->screen_set = false;
	}
	if (t->termios_set) {
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t->saved))
			ks_err("cannot restore terminal settings", "err=\"%s\"", strerror(errno));
		t->termios_set = false;
	}
}

/* Re-read every refresh, so a resized terminal is followed within one
 * period without a SIGWINCH handler (and its global state). */
static void term_size(struct term *t)
{
	struct winsize ws;

	if (!t->tty_out) {
		t->cols = 0;
		t->rows = 0;
		return;
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_col || !ws.ws_row) {
		ws.ws_col = DEFAULT_COLS;
		ws.ws_row = DEFAULT_ROWS;
	}
	/* One column spare: terminals differ in whether printing into the
	 * last column wraps at once, and a wrapped line shifts the frame. */
	t->cols = ws.ws_col > 1 ? ws.ws_col - 1u : 1u;
	/* Plain (--once) output may scroll like any command's output. */
	t->rows = t->live ? ws.ws_row : 0;
}

static void frame_begin(struct frame *f, const struct term *t)
{
	f->len = 0;
	f->lines = 0;
	f->cols = t->cols;
	f->rows = t->rows;
	f->live = t->live;
	if (f->live) {
		memcpy(f->buf, ESC_HOME, sizeof(ESC_HOME) - 1);
		f->len = sizeof(ESC_HOME) - 1;
	}
}

/* Appends s if it fits; a frame is far below FRAME_BYTES in practice, and a
 * cut frame is better than an overflow. */
static bool frame_put(struct frame *f, const char *s, size_t n)
{
	if (n > sizeof(f->buf) - f->len)
		return false;
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	return true;
}

/* Bytes of s that fit in `cols` columns.  Every character printed here is
 * one column wide (ASCII and U+2581..U+2588), so columns are code points:
 * bytes that are not UTF-8 continuation bytes. */
static size_t fit_bytes(const char *s, unsigned int cols)
{
	unsigned int used = 0;
	size_t i;

	if (!cols)
		return strlen(s);
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (used == cols)
			break;
		used++;
	}
	return i;
}

static void frame_line(struct frame *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void frame_line(struct frame *f, const char *fmt, ...)
{
	char line[LINE_BYTES];
	va_list ap;
	size_t n;

	/* A line past the bottom row would scroll the view off the top. */
	if (f->rows && f->lines >= f->rows)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = fit_bytes(line, f->cols);
	if (f->live) {
		/* Separators go before lines, so the last row ends without a
		 * newline and the screen never scrolls. */
		if (f->lines && !frame_put(f, "\r\n", 2))
			return;
		if (!frame_put(f, line, n) ||
		    !frame_put(f, ESC_CLEAR_EOL, sizeof(ESC_CLEAR_EOL) - 1))
			return;
	} else if (!frame_put(f, line, n) || !frame_put(f, "\n", 1)) {
		return;
	}
	f->lines++;
}

static int frame_flush(struct frame *f)
{
	if (f->live)
		frame_put(f, ESC_CLEAR_EOS, sizeof(ESC_CLEAR_EOS) - 1);
	return ks_write_all(STDOUT_FILENO, f->buf, f->len);
}

/* Three significant digits in ns/us/ms/s; units switch where rounding would
 * otherwise print "1000us". */
static void fmt_ns(char *buf, size_t len, __u64 ns)
{
	const char *unit;
	double v;

	if (ns < NS_PER_US) {
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
		return;
	}
	if (ns < 999500ull) {
		v = (double)ns / NS_PER_US;
		unit = "us";
	} else if (ns < 999500000ull) {
		v = (double)ns / NS_PER_MS;
		unit = "ms";
	} else {
		v = (double)ns / NS_PER_S;
		unit = "s";
	}
	if (v < 9.995)
		snprintf(buf, len, "%.2f%s", v, unit);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%s", v, unit);
	else
		snprintf(buf, len, "%.0f%s", v, unit);
}

static void fmt_permille(char *buf, size_t len, __u64 permille)
{
	snprintf(buf, len, "%llu.%llu%%", (unsigned long long)(permille / 10),
		 (unsigned long long)(permille % 10));
}

/* us of task or softirq time per second of window; above 10 ms/s the us
 * digits are noise to a reader. */
static void fmt_us_per_s(char *buf, size_t len, __u64 us_per_s)
{
	if (us_per_s < 10000)
		snprintf(buf, len, "%lluus/s", (unsigned long long)us_per_s);
	else
		snprintf(buf, len, "%.1fms/s", (double)us_per_s / 1000.0);
}

static void fmt_value(char *buf, size_t len, enum spark_unit unit, __u64 v)
{
	switch (unit) {
	case UNIT_NS:
		fmt_ns(buf, len, v);
		break;
	case UNIT_PERMILLE:
		fmt_permille(buf, len, v);
		break;
	case UNIT_US_PER_S:
		fmt_us_per_s(buf, len, v);
		break;
	case UNIT_SCORE:
		snprintf(buf, len, "%llu", (unsigned long long)v);
		break;
	}
}

static void point_from_window(struct spark_point *p, const struct ksense_window *w)
{
	p->seq = w->seq;
	p->value[SPARK_SCORE] = w->verdict.score;
	p->value[SPARK_RUNQ_P99] = w->runq.p99_ns;
	p->value[SPARK_CPU_BUSY] = w->cpu_busy_permille;
	p->value[SPARK_DSTATE] = w->dstate_us_per_s;
	p->value[SPARK_NETRX] = w->netrx_us_per_s;
	p->value[SPARK_PSI_CPU_SOME] = w->psi_cpu.some_permille;
}

/* A slot whose seq does not match was overwritten (or is not written yet)
 * and stays a gap; it is asked again next refresh. */
static void history_update(struct history *h, const struct ksense_window *latest)
{
	__u64 first_seq, seq;

	if (!latest->seq)
		return;
	/* the newest window is at hand already; no lookup needed */
	point_from_window(&h->pts[latest->seq % SPARK_WINDOWS], latest);
	first_seq = latest->seq >= SPARK_WINDOWS ? latest->seq - SPARK_WINDOWS + 1 : 1;
	for (seq = first_seq; seq < latest->seq; seq++) {
		struct spark_point *p = &h->pts[seq % SPARK_WINDOWS];
		struct ksense_window w;

		if (p->seq == seq)
			continue;
		p->seq = 0;
		if (!ks_history_get(&h->ring, seq, &w))
			point_from_window(p, &w);
	}
}

/* A load with --replace swaps the whole tree: cached windows would share
 * seq numbers with the new ones, so the cache follows the load too. */
static int history_follow_load(struct history *h)
{
	int rc = ks_history_follow(&h->ring);

	if (rc == 1)
		memset(h->pts, 0, sizeof(h->pts));
	return rc < 0 ? rc : 0;
}

static void draw_spark(struct frame *f, const struct term *t, const struct history *h,
		       __u64 last_seq, enum spark_signal sig, unsigned int width)
{
	/* U+2581..U+2588; the ASCII ramp keeps the same eight levels. */
	static const char *const blocks_utf8[8] = {
		"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
	};
	static const char blocks_ascii[8] = { ' ', '.', ':', '-', '=', '+', '*', '#' };
	char spark[SPARK_WINDOWS * 3 + 1], now[32] = "-", max[32];
	const struct spark_point *p;
	__u64 max_v = 0, scale, v;
	size_t len = 0;
	unsigned int i, level;

	/* Newest window in the rightmost column; columns before seq 1 and
	 * windows the ring no longer holds are blanks. */
	for (i = 0; i < width; i++) {
		__u64 back = width - 1 - i;

		p = back < last_seq ? &h->pts[(last_seq - back) % SPARK_WINDOWS] : NULL;
		if (p && p->seq == last_seq - back && p->value[sig] > max_v)
			max_v = p->value[sig];
	}
	scale = spark_defs[sig].full_scale ? spark_defs[sig].full_scale : max_v;
	for (i = 0; i < width; i++) {
		__u64 back = width - 1 - i;

		p = back < last_seq ? &h->pts[(last_seq - back) % SPARK_WINDOWS] : NULL;
		if (!p || p->seq != last_seq - back) {
			spark[len++] = ' ';
			continue;
		}
		v = p->value[sig];
		/* Any non-zero value gets at least the second level, so a
		 * quiet but non-idle window is told apart from an idle one. */
		level = v && scale ? 1u + (unsigned int)((double)v * 6.0 / (double)scale) : 0u;
		if (level > 7)
			level = 7;
		if (t->utf8) {
			memcpy(spark + len, blocks_utf8[level], 3);
			len += 3;
		} else {
			spark[len++] = blocks_ascii[level];
		}
	}
	spark[len] = '\0';
	p = &h->pts[last_seq % SPARK_WINDOWS];
	if (p->seq == last_seq)
		fmt_value(now, sizeof(now), spark_defs[sig].unit, p->value[sig]);
	fmt_value(max, sizeof(max), spark_defs[sig].unit, max_v);
	frame_line(f, "%-*s%s  %9s %9s", SPARK_LABEL_COLS, spark_defs[sig].label, spark, now, max);
}

/* Sparkline columns: all 60 windows when they fit with the now/max columns,
 * fewer when the terminal is narrow, never a wrapped line. */
static unsigned int spark_width(const struct term *t)
{
	unsigned int w;

	if (!t->cols)
		return SPARK_WINDOWS;
	w = t->cols > SPARK_LABEL_COLS + SPARK_SUFFIX_COLS ?
		t->cols - SPARK_LABEL_COLS - SPARK_SUFFIX_COLS : 0;
	if (w < SPARK_MIN_COLS)
		w = t->cols > SPARK_LABEL_COLS ? t->cols - SPARK_LABEL_COLS : 0;
	return w < SPARK_WINDOWS ? w : SPARK_WINDOWS;
}

static void draw_lat(struct frame *f, const char *name, const struct ksense_lat *l)
{
	char avg[32], p50[32], p95[32], p99[32], max[32];

	if (!l->count) {
		frame_line(f, "%-12s %10u %9s %9s %9s %9s %9s", name, 0u, "-", "-", "-", "-", "-");
		return;
	}
	fmt_ns(avg, sizeof(avg), l->avg_ns);
	fmt_ns(p50, sizeof(p50), l->p50_ns);
	fmt_ns(p95, sizeof(p95), l->p95_ns);
	fmt_ns(p99, sizeof(p99), l->p99_ns);
	fmt_ns(max, sizeof(max), l->max_ns);
	frame_line(f, "%-12s %10llu %9s %9s %9s %9s %9s", name, (unsigned long long)l->count,
		   avg, p50, p95, p99, max);
}

static void draw_psi(struct frame *f, const char *name, const struct ksense_psi *p)
{
	char some_avg10[32], some_win[32], full_avg10[32], full_win[32];

	fmt_permille(some_avg10, sizeof(some_avg10), p->some_avg10_permille);
	fmt_permille(some_win, sizeof(some_win), p->some_permille);
	fmt_permille(full_avg10, sizeof(full_avg10), p->full_avg10_permille);
	fmt_permille(full_win, sizeof(full_win), p->full_permille);
	frame_line(f, "%-12s %10s %11s %11s %11s", name, some_avg10, some_win, full_avg10, full_win);
}

/* The decision stands out in the view: the contract's name in capitals. */
static const char *verdict_shout(enum ksense_verdict verdict, char *buf, size_t len)
{
	const char *n = verdict == KSENSE_VERDICT_NONE ? "-" : ks_verdict_name(verdict);
	size_t i;

	for (i = 0; n[i] && i + 1 < len; i++)
		buf[i] = (char)toupper((unsigned char)n[i]);
	buf[i] = '\0';
	return buf;
}

/* Which row of the decision table (pins/README.md) applied, with the
 * thresholds of the live config when it could be read.  Short: it shares
 * an 80-column line with the score. */
static void fmt_reason(char *buf, size_t len, __u32 reason, const struct analytics *a)
{
	const struct ksense_config *c = &a->config;

	switch (reason) {
	case KSENSE_REASON_LOW:
		if (a->config_ok)
			snprintf(buf, len, "< %u, latch cleared", c->band_low_below);
		else
			snprintf(buf, len, "low, latch cleared");
		break;
	case KSENSE_REASON_HIGH:
		if (a->config_ok)
			snprintf(buf, len, ">= %u, bad window", c->band_high_from);
		else
			snprintf(buf, len, "high, bad window");
		break;
	case KSENSE_REASON_MEDIUM_LOW:
		if (a->config_ok)
			snprintf(buf, len, "medium <= %u", c->medium_low_upper);
		else
			snprintf(buf, len, "lower medium");
		break;
	case KSENSE_REASON_MEDIUM_BAD:
		if (a->config_ok)
			snprintf(buf, len, "medium > %u, bad window", c->medium_mid_upper);
		else
			snprintf(buf, len, "upper medium, bad window");
		break;
	case KSENSE_REASON_MEDIUM_MID:
		if (a->config_ok)
			snprintf(buf, len, "medium in (%u, %u], deny if latched", c->medium_low_upper,
				 c->medium_mid_upper);
		else
			snprintf(buf, len, "mid medium, deny if latched");
		break;
	default:
		snprintf(buf, len, "no decision yet");
		break;
	}
}

/* A rule as `ksense config set rules=` spells it: FECP:score. */
static void fmt_rule(char *buf, size_t len, __u32 idx, const struct analytics *a)
{
	char when[KSENSE_NR_INPUTS + 1];

	if (!a->config_ok || idx >= a->config.nr_rules || idx >= KSENSE_MAX_RULES) {
		snprintf(buf, len, "#%u", idx);
		return;
	}
	ks_rule_when_format(&a->config.rules[idx], when);
	snprintf(buf, len, "#%u %s:%u", idx, when, a->config.rules[idx].score);
}

/* 0..1000 as 0..100 with one decimal. */
static void fmt_tenths(char *buf, size_t len, __u32 permille)
{
	snprintf(buf, len, "%u.%u", permille / 10, permille % 10);
}

static void draw_analytics(struct frame *f, const struct term *t, const struct ksense_window *w,
			   const struct analytics *a)
{
	const struct ksense_verdict_rec *v = &w->verdict;
	/* The seed's convention: an empty value, not 0, while warming up. */
	const char *empty = t->utf8 ? "\u2014" : "-";
	char friction[32], energy[32], peak[32], thr[32], reason[128], rule[48], fired[32] = "", shout[16];
	const char *arrow;

	if (!a->baseline_ok)
		frame_line(f, "%-12s n/a: baseline pin unreadable", "baseline");
	else if (a->baseline.state == KSENSE_BASELINE_FROZEN)
		frame_line(f, "%-12s frozen, %u window%s learned", "baseline", a->baseline.samples,
			   a->baseline.samples == 1 ? "" : "s");
	else
		frame_line(f, "%-12s warm-up, %u s left, %u window%s learned", "baseline",
			   a->baseline.warmup_remaining_s, a->baseline.samples,
			   a->baseline.samples == 1 ? "" : "s");

	if (!v->friction_valid) {
		/* No width padding: the dash is one column but three bytes. */
		frame_line(f, "%-12s %s   direction %s   energy %s   (warm-up: score from CPU and PSI)",
			   "friction", empty, empty, empty);
	} else {
		if (v->direction > 0)
			arrow = t->utf8 ? "\u2191" : "+";
		else if (v->direction < 0)
			arrow = t->utf8 ? "\u2193" : "-";
		else
			arrow = t->utf8 ? "\u2192" : "0";
		fmt_tenths(friction, sizeof(friction), v->friction_permille);
		fmt_tenths(energy, sizeof(energy), v->energy_permille);
		/* slope is per-mille of friction per window: one decimal of
		 * friction points, sign always shown. */
		frame_line(f, "%-12s %s   direction %s %+.1f/window   energy %s", "friction", friction,
			   arrow, (double)v->slope_permille / 10.0, energy);
		if (a->score_ok && a->score.friction_valid) {
			fmt_tenths(peak, sizeof(peak), a->score.energy_peak_permille);
			if (a->config_ok)
				fmt_tenths(thr, sizeof(thr), a->config.energy_threshold_permille);
			else
				snprintf(thr, sizeof(thr), "the threshold");
			frame_line(f, "%-12s peak %s since frozen, %.1f s at or above %s", "energy",
				   peak, (double)a->score.energy_above_ms / 1000.0, thr);
		}
	}

	fmt_reason(reason, sizeof(reason), v->reason, a);
	if (v->band == KSENSE_BAND_NONE)
		frame_line(f, "%-12s %s  decision %s", "score", empty, verdict_shout(v->verdict, shout, sizeof(shout)));
	else
		frame_line(f, "%-12s %u (%s)   decision %s   %s", "score", v->score,
			   ks_band_name(v->band), verdict_shout(v->verdict, shout, sizeof(shout)), reason);
	if (a->decision_ok) {
		fmt_rule(rule, sizeof(rule), a->decision.top_rule, a);
		if (a->score_ok)
			snprintf(fired, sizeof(fired), " (%u fired)", a->score.rules_used);
		/* Latched: mid-medium windows deny until a low one clears it. */
		frame_line(f, "%-12s bad streak %u, %s   top rule %s%s", "decision",
			   a->decision.bad_streak, a->decision.latched ? "LATCHED" : "not latched",
			   rule, fired);
	} else {
		frame_line(f, "%-12s n/a: decision pin unreadable", "decision");
	}
}

static void draw(struct frame *f, const struct term *t, const struct history *h,
		 const struct top_opts *o, const struct ksense_state *st,
		 const struct ksense_window *w, const struct analytics *a)
{
	__u64 now_ns = ks_now_ns();
	__u64 age_ns = now_ns > w->end_ns ? now_ns - w->end_ns : 0;
	char busy[32], dstate[32], netrx[32];
	const char *warn = "";
	unsigned int width, sig;

	if (!(st->flags & KSENSE_STATE_TIMER_ARMED))
		warn = "  TICK NOT ARMED";
	else if (w->seq && w->duration_ns && age_ns > 3 * w->duration_ns)
		warn = "  STALE: no window closed for 3 periods";

	if (!w->seq) {
		__u64 up_ns = now_ns > st->loaded_ns ? now_ns - st->loaded_ns : 0;

		frame_line(f, "ksense top  waiting for the first window to close (loaded %llu ms ago)%s",
			   (unsigned long long)(up_ns / NS_PER_MS), warn);
		goto footer;
	}

	frame_line(f, "ksense top  seq %llu  window %llu ms  age %llu ms  psi %s%s",
		   (unsigned long long)w->seq, (unsigned long long)(w->duration_ns / NS_PER_MS),
		   (unsigned long long)(age_ns / NS_PER_MS), ks_psi_source_name(w->psi_source), warn);
	frame_line(f, "%s", "");
	draw_analytics(f, t, w, a);
	frame_line(f, "%s", "");
	frame_line(f, "%-12s %10s %9s %9s %9s %9s %9s", "latency", "count", "avg", "p50", "p95",
		   "p99", "max");
	draw_lat(f, "run-queue", &w->runq);
	draw_lat(f, "D-state", &w->dstate);
	draw_lat(f, "NET_RX", &w->netrx);
	frame_line(f, "%s", "");

	fmt_permille(busy, sizeof(busy), w->cpu_busy_permille);
	fmt_us_per_s(dstate, sizeof(dstate), w->dstate_us_per_s);
	fmt_us_per_s(netrx, sizeof(netrx), w->netrx_us_per_s);
	frame_line(f, "cpu busy %s of %u CPUs   D-state %s   NET_RX %s", busy, w->nr_cpus,
		   dstate, netrx);
	frame_line(f, "%s", "");

	if (w->psi_source == KSENSE_PSI_NONE) {
		frame_line(f, "%-12s n/a: psi_system not found yet", "pressure");
	} else {
		frame_line(f, "%-12s %10s %11s %11s %11s", "pressure", "some avg10", "some window",
			   "full avg10", "full window");
		draw_psi(f, "cpu", &w->psi_cpu);
		draw_psi(f, "io", &w->psi_io);
		draw_psi(f, "memory", &w->psi_mem);
	}
	frame_line(f, "%s", "");

	width = spark_width(t);
	frame_line(f, "%-*s%-*s  %9s %9s", SPARK_LABEL_COLS, "history", (int)width,
		   width >= 24 ? "one column per window" : "", "now", "max");
	for (sig = 0; sig < SPARK_COUNT; sig++)
		draw_spark(f, t, h, w->seq, (enum spark_signal)sig, width);

footer:
	if (t->live) {
		frame_line(f, "%s", "");
		frame_line(f, "q quits  refresh %u ms  pins %s", o->interval_ms, ks_pin_root());
	}
}

/* Both pins the view starts from; a missing tree and a tree of another
 * schema are the two ways it can fail, at start or while running. */
static int read_tree(struct ksense_state *st, struct ksense_window *w, char *fail, size_t len)
{
	int err;

	err = ks_read_state(st);
	if (!err && st->schema_version != KSENSE_SCHEMA_VERSION) {
		snprintf(fail, len, "pin tree at %s has schema %u, this ksense reads %u (run `ksense load --replace`)",
			 ks_pin_root(), st->schema_version, KSENSE_SCHEMA_VERSION);
		return -EPROTO;
	}
	if (!err)
		err = ks_read_window(w);
	if (err)
		ks_pins_error(err, fail, len);
	return err;
}

/* Reads what one refresh shows; fails (with `fail` set) when the tree is
 * missing, of another schema, or its history pin cannot be opened. */
static int read_view(struct history *h, struct ksense_state *st, struct ksense_window *w,
		     struct analytics *a, char *fail, size_t fail_len)
{
	int err;

	err = read_tree(st, w, fail, fail_len);
	if (err)
		return err;
	err = history_follow_load(h);
	if (err) {
		ks_pins_error(err, fail, fail_len);
		return err;
	}
	history_update(h, w);
	/* Each pin is optional to the view: one that cannot be read greys
	 * out its lines rather than ending the view. */
	a->baseline_ok = !ks_read_pin(KSENSE_PIN_BASELINE, &a->baseline);
	a->score_ok = !ks_read_pin(KSENSE_PIN_SCORE, &a->score);
	a->decision_ok = !ks_read_pin(KSENSE_PIN_DECISION, &a->decision);
	a->config_ok = !ks_read_config(&a->config);
	if (!a->baseline_ok || !a->score_ok || !a->decision_ok || !a->config_ok)
		ks_debug("an analytics pin is unreadable", "baseline=%d score=%d decision=%d config=%d",
			 a->baseline_ok, a->score_ok, a->decision_ok, a->config_ok);
	return 0;
}

static int show(struct frame *f, struct term *t, const struct history *h,
		const struct top_opts *o, __u32 iteration, const struct ksense_state *st,
		const struct ksense_window *w, const struct analytics *a)
{
	term_size(t);
	frame_begin(f, t);
	/* Plain blocks are separated by a blank line, so a log reads as a
	 * series of snapshots. */
	if (!t->live && iteration)
		frame_line(f, "%s", "");
	draw(f, t, h, o, st, w, a);
	return frame_flush(f);
}

/* Sleeps until deadline_ns; returns early for a stop signal or q.  The stop
 * signals are blocked everywhere except inside ppoll, so one that arrives
 * between the flag check and the sleep still ends the sleep. */
static int wait_until(struct term *t, __u64 deadline_ns, const sigset_t *wait_mask, bool *quit)
{
	for (;;) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		__u64 now_ns = ks_now_ns(), left_ns;
		struct timespec ts;
		char keys[64];
		ssize_t got;
		int n;

		if (stop_requested || now_ns >= deadline_ns)
			return 0;
		left_ns = deadline_ns - now_ns;
		ts.tv_sec = (time_t)(left_ns / NS_PER_S);
		ts.tv_nsec = (long)(left_ns % NS_PER_S);
		n = ppoll(t->keys ? &pfd : NULL, t->keys ? 1 : 0, &ts, wait_mask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return 0;
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			/* The terminal went away: keep refreshing until the
			 * SIGHUP that follows, without spinning on poll. */
			t->keys = false;
			continue;
		}
		got = read(STDIN_FILENO, keys, sizeof(keys));
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!got) {
			t->keys = false;
			continue;
		}
		if (memchr(keys, 'q', (size_t)got) || memchr(keys, 'Q', (size_t)got)) {
			*quit = true;
			return 0;
		}
	}
}

int cmd_top(int argc, char **argv)
{
	struct top_opts opts;
	struct term term = { 0 };
	struct history hist = { .ring = KS_HISTORY_INIT };
	struct ksense_state st;
	struct ksense_window w;
	struct analytics an = { 0 };
	struct sigaction sa = { 0 }, old_sa[NR_STOP_SIGNALS];
	sigset_t stop_mask, orig_mask;
	struct frame *frame = NULL; /* 64 KiB: heap, not stack */
	char fail[512] = "";
	bool mask_set = false, quit = false;
	int handlers_set = 0, ret = 0, err, i;
	__u64 next_ns, gone_since_ns = 0;
	__u32 done = 0;

	if (parse_top_args(argc, argv, &opts))
		return 2;
	if (opts.help) {
		top_usage(stdout);
		return 0;
	}
	/* Checked before touching the terminal so the reason prints plainly. */
	if (read_tree(&st, &w, fail, sizeof(fail))) {
		fprintf(stderr, "ksense top: %s\n", fail);
		return 1;
	}
	/* best effort, before the terminal hides a warning: the view's own
	 * CPU time is not a pod's */
	ks_self_exclude_register();

	frame = malloc(sizeof(*frame));
	if (!frame) {
		snprintf(fail, sizeof(fail), "out of memory");
		ret = 1;
		goto cleanup;
	}

	sigemptyset(&stop_mask);
	for (i = 0; i < NR_STOP_SIGNALS; i++)
		sigaddset(&stop_mask, stop_signals[i]);
	if (sigprocmask(SIG_BLOCK, &stop_mask, &orig_mask)) {
		snprintf(fail, sizeof(fail), "sigprocmask: %s", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	mask_set = true;
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the signal must interrupt ppoll */
	for (; handlers_set < NR_STOP_SIGNALS; handlers_set++) {
		if (sigaction(stop_signals[handlers_set], &sa, &old_sa[handlers_set])) {
			snprintf(fail, sizeof(fail), "sigaction: %s", strerror(errno));
			ret = 1;
			goto cleanup;
		}
	}

	term.tty_out = isatty(STDOUT_FILENO);
	term.live = term.tty_out && !opts.once;
	term.alt_screen = term.live && !opts.iterations;
	term.keys = term.live && isatty(STDIN_FILENO);
	term.utf8 = locale_is_utf8();
	err = term_enter(&term);
	if (err) {
		snprintf(fail, sizeof(fail), "cannot set up the terminal: %s", strerror(-err));
		ret = 1;
		goto cleanup;
	}

	next_ns = ks_now_ns();
	while (!stop_requested) {
		__u64 period_ns = (__u64)opts.interval_ms * NS_PER_MS;

		err = read_view(&hist, &st, &w, &an, fail, sizeof(fail));
		if (err) {
			/* `ksense load --replace` removes the old tree before
			 * renaming the new one in; keep the last frame and look
			 * again soon rather than end the view on that gap. */
			__u64 now_ns = ks_now_ns();

			if (!gone_since_ns)
				gone_since_ns = now_ns;
			if (now_ns - gone_since_ns >= TREE_GONE_GRACE_NS) {
				ret = 1;
				goto cleanup;
			}
			fail[0] = '\0';
			next_ns = now_ns + (period_ns < TREE_RETRY_NS ? period_ns : TREE_RETRY_NS);
		} else {
			gone_since_ns = 0;
			err = show(frame, &term, &hist, &opts, done, &st, &w, &an);
			if (err) {
				snprintf(fail, sizeof(fail), "cannot write to stdout: %s", strerror(-err));
				ret = 1;
				goto cleanup;
			}
			if (done < UINT32_MAX)
				done++;
			if (opts.iterations && done >= opts.iterations)
				break;
			/* Fixed cadence, but a late refresh (stopped, slow
			 * terminal) restarts the schedule rather than catching
			 * up in a burst. */
			next_ns += period_ns;
			if (next_ns <= ks_now_ns())
				next_ns = ks_now_ns() + period_ns;
		}
		err = wait_until(&term, next_ns, &orig_mask, &quit);
		if (err) {
			snprintf(fail, sizeof(fail), "waiting for input: %s", strerror(-err));
			ret = 1;
			goto cleanup;
		}
		if (quit)
			break;
	}

cleanup:
	term_leave(&term);
	/* Unblock before restoring the old handlers: a SIGINT still pending
	 * then reaches our handler, not the default action that would kill
	 * the process after a clean shutdown. */
	if (mask_set && sigprocmask(SIG_SETMASK, &orig_mask, NULL))
		ks_err("cannot restore the signal mask", "err=\"%s\"", strerror(errno));
	for (i = 0; i < handlers_set; i++)
		if (sigaction(stop_signals[i], &old_sa[i], NULL))
			ks_err("cannot restore a signal handler", "sig=%d err=\"%s\"", stop_signals[i],
			       strerror(errno));
	ks_history_close(&hist.ring);
	free(frame);
	ks_self_exclude_unregister();
	if (*fail)
		fprintf(stderr, "ksense top: %s\n", fail);
	return ret;
}
