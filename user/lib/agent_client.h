/* SPDX-License-Identifier: GPL-2.0 */
/* Asks a node's ksense agent (plain HTTP, port 5000) for its /score, with
 * a hard time limit: a slow, wrong or dead node is skipped, never waited on. */
#ifndef KSENSE_AGENT_CLIENT_H
#define KSENSE_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct ks_agent_score {
	unsigned int score;        /* 0..100 */
	bool deny;
	char band[16];
	char decision[16];
	unsigned long long seq;
	unsigned long long window_age_ms;
};

/* 0, or negative errno with the reason in err (connect refused, timeout
 * after N ms, HTTP 503 with its message, malformed JSON, ...). */
int ks_agent_score_get(const char *host, int port, int timeout_ms, struct ks_agent_score *out,
		       char *err, size_t errlen);
/* Parse a /score response body (exposed for tests and fuzzing). */
int ks_agent_score_parse(const char *body, size_t len, struct ks_agent_score *out, char *err,
			 size_t errlen);

#endif
