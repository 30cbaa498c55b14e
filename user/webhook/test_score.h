/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --test-score-file: a node's score and decision from a file instead of
 * the pins, for the scheduler's tests and benchmarks.  Read on every use,
 * so a test can move a node's score while the daemon runs.
 */
#ifndef KSENSE_WEBHOOK_TEST_SCORE_H
#define KSENSE_WEBHOOK_TEST_SCORE_H

#include <stdbool.h>
#include <stddef.h>

/* text (len bytes) as "<score 0..100> <allow|deny>", spaces and one
 * trailing newline allowed, nothing else: true and the two values, or
 * false. */
bool ks_test_score_parse(const char *text, size_t len, unsigned int *score, bool *deny);

/* The file at path, parsed as above; false when unreadable or invalid. */
bool ks_test_score_read(const char *path, unsigned int *score, bool *deny);

#endif
