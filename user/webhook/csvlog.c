// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "csvlog.h"
#include "fsutil.h"
#include "log.h"
#include "names.h"
#include "pins.h"

void ks_mono_to_iso(__u64 mono_ns, char *buf, size_t len)
{
	struct timespec rt, mt;
	long long off_ns, wall_ns;
	time_t sec;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	off_ns = (rt.tv_sec - mt.tv_sec) * 1000000000LL + (rt.tv_nsec - mt.tv_nsec);
	wall_ns = (long long)mono_ns + off_ns;
	sec = (time_t)(wall_ns / 1000000000LL);
	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03lldZ", base, (wall_ns % 1000000000LL) / 1000000LL);
}

/* The seq of the last whole row of an existing monitor file, or 0; a torn
 * last line (no newline: killed mid-write) is cut off. */
static __u64 last_seq_of(int fd)
{
	char tail[4096];
	off_t size = lseek(fd, 0, SEEK_END), start;
	ssize_t n;
	char *nl, *line;
	unsigned long long seq = 0;

	if (size <= 0)
		return 0;
	start = size > (off_t)sizeof(tail) - 1 ? size - (off_t)sizeof(tail) + 1 : 0;
	n = pread(fd, tail, sizeof(tail) - 1, start);
	if (n <= 0)
		return 0;
	tail[n] = '\0';
	if (tail[n - 1] != '\n') {
		nl = strrchr(tail, '\n');
		if (ftruncate(fd, nl ? start + (nl - tail) + 1 : 0))
			return 0;
		if (!nl)
			return 0;
		*(nl + 1) = '\0';
		n = nl - tail + 1;
	}
	tail[n - 1] = '\0';
	line = strrchr(tail, '\n');
	line = line ? line + 1 : tail;
	if (sscanf(line, "%*[^,],%llu,", &seq) != 1)
		return 0;
	return seq;
}

static int open_csv(const char *dir, const char *name, const char *header, int *fd_out)
{
	char path[1024];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		ks_err("cannot open CSV", "path=%s errno=%d", path, errno);
		return -errno;
	}
	if (!fstat(fd, &st) && st.st_size == 0) {
		char line[512];
		int n = snprintf(line, sizeof(line), "%s\n", header);

		if (ks_write_all(fd, line, (size_t)n)) {
			close(fd);
			return -EIO;
		}
	}
	*fd_out = fd;
	return 0;
}

int ks_csvlog_open(struct ks_csvlog *l, const char *dir)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->monitor_fd = l->score_fd = -1;
	l->h = (struct ks_history)KS_HISTORY_INIT;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ks_err("cannot create data directory", "dir=%s errno=%d", dir, errno);
		return -errno;
	}
	err = open_csv(dir, "fuzzy_monitor.csv", KS_MONITOR_HEADER, &l->monitor_fd);
	if (!err)
		err = open_csv(dir, "fuzzy_score.csv", KS_SCORE_HEADER, &l->score_fd);
	if (err) {
		ks_csvlog_close(l);
		return err;
	}
	l->last_seq = last_seq_of(l->monitor_fd);
	return 0;
}

void ks_csvlog_close(struct ks_csvlog *l)
{
	if (l->monitor_fd >= 0)
		close(l->monitor_fd);
	if (l->score_fd >= 0)
		close(l->score_fd);
	l->monitor_fd = l->score_fd = -1;
	ks_history_close(&l->h);
}

static void fmt_permille(char *buf, size_t len, bool valid, __u32 v)
{
	if (valid)
		snprintf(buf, len, "%u.%u", v / 10, v % 10);
	else
		buf[0] = '\0'; /* warm-up: empty, not zero */
}

static int monitor_row(struct ks_csvlog *l, const struct ksense_window *w)
{
	const struct ksense_verdict_rec *v = &w->verdict;
	char ts[40], fr[16], en[16], dir[8], line[512];
	int n;

	ks_mono_to_iso(w->end_ns, ts, sizeof(ts));
	fmt_permille(fr, sizeof(fr), v->friction_valid, v->friction_permille);
	fmt_permille(en, sizeof(en), v->friction_valid, v->energy_permille);
	if (v->friction_valid)
		snprintf(dir, sizeof(dir), "%d", v->direction);
	else
		dir[0] = '\0';
	n = snprintf(line, sizeof(line), "%s,%llu,%s,%s,%s,%s,%u.%u,%u.%u,%.1f,%.3f,%.3f,%u,%s,%s\n", ts,
		     (unsigned long long)w->seq,
		     ks_baseline_name(v->baseline_state), fr, dir, en,
		     v->cpu_permille / 10, v->cpu_permille % 10, v->psi_permille / 10, v->psi_permille % 10,
		     w->runq.p99_ns / 1000.0, w->dstate_us_per_s / 1000.0, w->netrx_us_per_s / 1000.0,
		     v->score, ks_band_name(v->band), ks_verdict_name(v->verdict));
	return ks_write_all(l->monitor_fd, line, (size_t)n);
}

void ks_csvlog_poll(struct ks_csvlog *l)
{
	struct ksense_window w;
	int rc;

	if (l->monitor_fd < 0)
		return;
	rc = ks_history_follow(&l->h);
	if (rc < 0)
		return;
	/* the first load seen resumes after the file's last row when that
	 * row can be of it; a later load (a reload) starts at its seq 1 */
	if (rc == 1 && l->last_seq && l->last_seq <= l->h.st.seq)
		l->h.next_seq = l->last_seq + 1;
	l->last_seq = 0; /* only the file's own, once */
	while ((rc = ks_history_next(&l->h, &w)) == 1)
		if (monitor_row(l, &w)) {
			ks_err("cannot write fuzzy_monitor.csv", "errno=%d", errno);
			/* the row was not written: asked again next poll */
			l->h.next_seq = w.seq;
			break;
		}
}

static void csv_field(char *out, size_t len, const char *s)
{
	/* names and uids are DNS-1123 / UUIDs, but never trust input */
	size_t i, o = 0;

	for (i = 0; s[i] && o + 1 < len; i++)
		out[o++] = (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') ? '_' : s[i];
	out[o] = '\0';
}

int ks_csvlog_admission(struct ks_csvlog *l, const char *ns, const char *pod, const char *uid,
			const struct ksense_window *w)
{
	char ts[40], a[256], b[256], c[160], line[1024];
	int n;

	if (l->score_fd < 0)
		return -EBADF;
	{
		struct timespec now; /* the admission's time, not the window's */

		clock_gettime(CLOCK_MONOTONIC, &now);
		ks_mono_to_iso((__u64)now.tv_sec * 1000000000ull + now.tv_nsec, ts, sizeof(ts));
	}
	csv_field(a, sizeof(a), ns);
	csv_field(b, sizeof(b), pod);
	csv_field(c, sizeof(c), uid);
	n = snprintf(line, sizeof(line), "%s,%s,%s,%s,%u,%s,%s\n", ts, a, b, c, w->verdict.score,
		     ks_band_name(w->verdict.band), ks_verdict_name(w->verdict.verdict));
	return ks_write_all(l->score_fd, line, (size_t)n);
}
