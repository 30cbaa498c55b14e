/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The build's version, as every binary reports it (`--version`, /metrics):
 * the strings come from $(BUILD)/version.c, which tools/gen-version writes
 * from `git describe` (or a git-archive stamp, or KSENSE_VERSION) and the
 * Makefile links into libksense.a.
 */
#ifndef KSENSE_VERSION_H
#define KSENSE_VERSION_H

#include <stdio.h>

extern const char ks_build_version[];
extern const char ks_build_commit[];

/* "PROG VERSION (commit C, pin schema N)" and a newline, to out. */
void ks_print_version(FILE *out, const char *prog);

/* Prometheus text: ksense_build_info{version,commit,schema} 1 (schema: the
 * pin schema this binary reads) and, when the pins are readable,
 * ksense_pins_schema_version (the schema of the tree that is loaded). */
struct ks_buf;
void ks_build_info_metrics(struct ks_buf *b);
/* ksense_build_info alone: the control-plane daemons read no pins. */
void ks_build_info_gauge(struct ks_buf *b);

#endif
