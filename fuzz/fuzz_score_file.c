// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the --test-score-file parser (user/webhook/test_score.c) on
 * arbitrary bytes.  What it accepts must print back as "<score> <decision>"
 * and parse again to the same values; a score is never above 100.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "webhook/test_score.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int score = 0, again = 0;
	bool deny = false, deny_again = false;
	char text[32];
	int n;

	if (!ks_test_score_parse((const char *)data, size, &score, &deny))
		return 0;
	if (score > 100)
		abort();
	n = snprintf(text, sizeof(text), "%u %s\n", score, deny ? "deny" : "allow");
	if (!ks_test_score_parse(text, (size_t)n, &again, &deny_again) || again != score || deny_again != deny)
		abort();
	return 0;
}
