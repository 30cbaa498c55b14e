// SPDX-License-Identifier: GPL-2.0
/*
 * The scaler's clocks: monotonic seconds for its own windows, wall-clock
 * seconds and RFC 3339 for what it writes into ksense.io/last-scale (a
 * cooldown that survives restarts and replicas).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "scaler.h"

double ks_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double ks_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double ks_parse_time(const char *s)
{
	struct tm tm;
	const char *rest;
	double frac = 0;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	if (*rest == '.') {
		char *end;

		frac = strtod(rest, &end);
		rest = end;
	}
	if (strcmp(rest, "Z"))
		return -1;
	return (double)timegm(&tm) + frac;
}
