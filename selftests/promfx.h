/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checks every daemon's /metrics gets alike: promtool accepts the
 * exposition, and it says which build answers.
 */
#ifndef KSENSE_SELFTEST_PROMFX_H
#define KSENSE_SELFTEST_PROMFX_H

/* The body of an HTTP response (or the whole text when it has no header)
 * written to file and checked with `promtool check metrics`: a failed
 * check is a failed test; without promtool nothing is checked (the tests
 * that need it assert it is there). */
void prom_lint(const char *response, const char *file, const char *what);
/* ksense_build_info with this tree's version, commit and pin schema. */
void prom_build_info(const char *exposition, const char *what);

#endif
