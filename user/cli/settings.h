/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every run-time setting of the `config` pin, declared once with its key,
 * environment variable, range, default and documentation.  `ksense load`
 * fills the pin from defaults and the environment; `ksense config set`
 * changes it live; both validate the whole config before writing it.
 */
#ifndef KSENSE_SETTINGS_H
#define KSENSE_SETTINGS_H

#include <stdio.h>
#include <stddef.h>
#include "ksense.h"

enum ks_setting_kind { KS_KIND_U32, KS_KIND_U64, KS_KIND_MF, KS_KIND_RULES };

struct ks_setting {
	const char *key;
	const char *env;
	enum ks_setting_kind kind;
	size_t offset;          /* in struct ksense_config */
	__u64 min, max, def;    /* scalars */
	const char *def_text;   /* KS_KIND_MF and KS_KIND_RULES defaults */
	const char *unit;
	const char *doc;
};

extern const struct ks_setting ks_settings[];
extern const size_t ks_nr_settings;

const struct ks_setting *ks_setting_find(const char *key);
/* Defaults for everything (window_ms, nr_cpus included). */
void ks_config_defaults(struct ksense_config *c);
/* Parse text into the setting's field of c: 0, or -EINVAL with a message
 * in err (what was wrong and what is accepted). */
int ks_setting_apply(struct ksense_config *c, const struct ks_setting *s, const char *text,
		     char *err, size_t errlen);
/* Apply every setting whose environment variable is set.  0 or -EINVAL. */
int ks_config_from_env(struct ksense_config *c, char *err, size_t errlen);
/* Cross-field checks (weights sum, band order, trapezoids, rules). */
int ks_config_validate(const struct ksense_config *c, char *err, size_t errlen);
/* A rule's condition as one character per input: '-' any, L, M or H
 * (the form `set rules=` takes), '?' for a value no set has. */
void ks_rule_when_format(const struct ksense_rule *r, char out[KSENSE_NR_INPUTS + 1]);
/* The setting's current value as text (the format `set` accepts). */
void ks_setting_format(const struct ksense_config *c, const struct ks_setting *s, char *buf,
		       size_t len);

#endif
