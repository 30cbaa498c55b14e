/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The webhook's CSV logs in KSENSE_DATA_DIR:
 *  fuzzy_monitor.csv  one row per window, read from the history ring so a
 *                     slow or restarted daemon misses none (it resumes after
 *                     the last seq in the file);
 *  fuzzy_score.csv    one row per recorded admission.
 * Each row is one write() of a whole line, so `tail -f` sees whole lines.
 */
#ifndef KSENSE_WEBHOOK_CSVLOG_H
#define KSENSE_WEBHOOK_CSVLOG_H

#include <stdbool.h>
#include "history.h"
#include "ksense.h"

#define KS_MONITOR_HEADER "timestamp,seq,baseline_state,friction,direction,energy,cpu_util_pct," \
	"psi_pct,rq_p99_us,dstate_ms_per_s,netrx_ms_per_s,score,band,decision"
#define KS_SCORE_HEADER "timestamp,namespace,pod,uid,score,band,decision"

struct ks_csvlog {
	int monitor_fd;
	int score_fd;
	__u64 last_seq;          /* last window written to fuzzy_monitor.csv */
	struct ks_history h;     /* the ring, followed across reloads */
};

/* Open (create) both files under dir; 0 or negative errno (logged). */
int ks_csvlog_open(struct ks_csvlog *l, const char *dir);
void ks_csvlog_close(struct ks_csvlog *l);
/* Append every window closed since the last call. */
void ks_csvlog_poll(struct ks_csvlog *l);
int ks_csvlog_admission(struct ks_csvlog *l, const char *ns, const char *pod, const char *uid,
			const struct ksense_window *w);

/* Shared formatting helpers (also used by /score). */
/* ISO-8601 UTC of a CLOCK_MONOTONIC timestamp (through the current offset
 * between the realtime and monotonic clocks). */
void ks_mono_to_iso(__u64 mono_ns, char *buf, size_t len);

#endif
