/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nodes' /score, asked off the main loop: the loop names the nodes
 * whose score it needs fresh, a thread asks their agents all at once
 * (ks_agent_get_many, one deadline per round, at most SCORER_ROUND
 * connections at a time) and hands the answers back through an eventfd.
 * A slow agent costs its own node a round's deadline, nobody else anything.
 */
#ifndef KSENSE_SCHED_SCORER_H
#define KSENSE_SCHED_SCORER_H

#include "agent_client.h"
#include "sched_model.h"

#define SCORER_ROUND 512   /* connections of one round: well under the fd limit */

struct score_req {
	char node[SCHED_NAME_LEN];
	char host[64];
	int port;
};

struct score_res {
	char node[SCHED_NAME_LEN];
	char host[64];
	int port;
	int rc;                        /* 0: sc is the answer; else err says why */
	struct ks_agent_score sc;
	char err[128];
	long long at_ms;               /* when the round ended (monotonic) */
};

struct scorer;

int scorer_start(struct scorer **out, int timeout_ms, char *err, size_t errlen);
int scorer_fd(const struct scorer *s);
/* Ask these agents in the next round (copied). */
void scorer_request(struct scorer *s, const struct score_req *r, int n);
/* Answers so far (malloc'ed array into *out, the caller frees); count. */
int scorer_results(struct scorer *s, struct score_res **out);
/* Agent requests sent since the start. */
unsigned long long scorer_requests(struct scorer *s);
void scorer_stop(struct scorer *s);

#endif
