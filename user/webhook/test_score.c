// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "test_score.h"

bool ks_test_score_parse(const char *text, size_t len, unsigned int *score, bool *deny)
{
	char buf[64], decision[16];
	int tail = -1;

	if (len >= sizeof(buf) || memchr(text, '\0', len))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (sscanf(buf, "%3u %15s %n", score, decision, &tail) != 2 || tail != (int)len || *score > 100)
		return false;
	if (!strcmp(decision, "deny"))
		*deny = true;
	else if (!strcmp(decision, "allow"))
		*deny = false;
	else
		return false;
	return true;
}

bool ks_test_score_read(const char *path, unsigned int *score, bool *deny)
{
	char text[64];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	/* one byte more than a valid file can hold: a longer one is refused */
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	return ks_test_score_parse(text, n, score, deny);
}
