// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "settings.h"

#define CFG_OFF(f) offsetof(struct ksense_config, f)
#define U32(k, env, f, lo, hi, d, unit, doc) { k, env, KS_KIND_U32, CFG_OFF(f), lo, hi, d, NULL, unit, doc }
#define U64(k, env, f, lo, hi, d, unit, doc) { k, env, KS_KIND_U64, CFG_OFF(f), lo, hi, d, NULL, unit, doc }
#define MF(k, env, i, j, d, doc) { k, env, KS_KIND_MF, CFG_OFF(mf) + ((i) * KSENSE_NR_SETS + (j)) * sizeof(struct ksense_trapezoid), 0, 1000, 0, d, "a,b,c,d (0..1000)", doc }

const struct ks_setting ks_settings[] = {
	U32("window_ms", "KSENSE_WINDOW_MS", window_ms, KSENSE_WINDOW_MS_MIN, KSENSE_WINDOW_MS_MAX,
	    KSENSE_WINDOW_MS_DEFAULT, "ms", "window length; the tick re-reads it every window"),
	U32("warmup_s", "KSENSE_WARMUP_S", warmup_s, 0, 86400, 600, "s",
	    "baseline learning time before it freezes"),
	U32("baseline_alpha_permille", "KSENSE_BASELINE_ALPHA_PERMILLE", baseline_alpha_permille,
	    1, 1000, 50, "permille", "EWMA weight of each new window while learning"),
	U32("friction_k_permille", "KSENSE_FRICTION_K_PERMILLE", friction_k_permille, 0, 100000, 3000,
	    "permille", "k of each friction term (x - mean) / (k * dev + eps)"),
	U32("friction_weight_rq_p99", "KSENSE_FRICTION_WEIGHT_RQ_P99",
	    friction_weight_permille.rq_p99, 0, 1000, 400, "permille",
	    "weight of run-queue p99 in friction (weights sum to 1000)"),
	U32("friction_weight_rq_avg", "KSENSE_FRICTION_WEIGHT_RQ_AVG",
	    friction_weight_permille.rq_avg, 0, 1000, 200, "permille",
	    "weight of run-queue average"),
	U32("friction_weight_dstate", "KSENSE_FRICTION_WEIGHT_DSTATE",
	    friction_weight_permille.dstate, 0, 1000, 250, "permille",
	    "weight of D-state time per second"),
	U32("friction_weight_netrx", "KSENSE_FRICTION_WEIGHT_NETRX",
	    friction_weight_permille.netrx, 0, 1000, 150, "permille",
	    "weight of NET_RX softirq time per second"),
	U64("friction_eps_rq_p99_ns", "KSENSE_FRICTION_EPS_RQ_P99_NS", friction_eps.rq_p99,
	    0, 1000000000000ull, 500000, "ns", "eps of the run-queue p99 term (noise floor)"),
	U64("friction_eps_rq_avg_ns", "KSENSE_FRICTION_EPS_RQ_AVG_NS", friction_eps.rq_avg,
	    0, 1000000000000ull, 100000, "ns", "eps of the run-queue average term"),
	U64("friction_eps_dstate_us_per_s", "KSENSE_FRICTION_EPS_DSTATE_US_PER_S",
	    friction_eps.dstate, 0, 1000000000000ull, 50000, "us/s",
	    "eps of the D-state term"),
	U64("friction_eps_netrx_us_per_s", "KSENSE_FRICTION_EPS_NETRX_US_PER_S",
	    friction_eps.netrx, 0, 1000000000000ull, 20000, "us/s",
	    "eps of the NET_RX term"),
	U32("direction_alpha_permille", "KSENSE_DIRECTION_ALPHA_PERMILLE", direction_alpha_permille,
	    1, 1000, 300, "permille", "EWMA weight of friction's change per window"),
	U32("direction_deadband_permille", "KSENSE_DIRECTION_DEADBAND_PERMILLE",
	    direction_deadband_permille, 0, 1000, 5, "permille/window",
	    "|slope| at or below this is direction 0"),
	U32("energy_half_life_s", "KSENSE_ENERGY_HALF_LIFE_S", energy_half_life_s, 1, 86400, 30, "s",
	    "half-life of the leaky friction integral"),
	U32("energy_threshold_permille", "KSENSE_ENERGY_THRESHOLD_PERMILLE", energy_threshold_permille,
	    0, 1000, 500, "permille", "energy at or above counts toward energy_above_ms"),
	MF("mf.friction.low", "KSENSE_MF_FRICTION_LOW", KSENSE_IN_FRICTION, 0, "0,0,200,400", "Friction Low"),
	MF("mf.friction.medium", "KSENSE_MF_FRICTION_MEDIUM", KSENSE_IN_FRICTION, 1, "200,400,600,800", "Friction Medium"),
	MF("mf.friction.high", "KSENSE_MF_FRICTION_HIGH", KSENSE_IN_FRICTION, 2, "600,800,1000,1000", "Friction High"),
	MF("mf.energy.low", "KSENSE_MF_ENERGY_LOW", KSENSE_IN_ENERGY, 0, "0,0,200,400", "Energy Low"),
	MF("mf.energy.medium", "KSENSE_MF_ENERGY_MEDIUM", KSENSE_IN_ENERGY, 1, "200,400,600,800", "Energy Medium"),
	MF("mf.energy.high", "KSENSE_MF_ENERGY_HIGH", KSENSE_IN_ENERGY, 2, "600,800,1000,1000", "Energy High"),
	MF("mf.cpu.low", "KSENSE_MF_CPU_LOW", KSENSE_IN_CPU, 0, "0,0,400,600", "CPUUtil Low"),
	MF("mf.cpu.medium", "KSENSE_MF_CPU_MEDIUM", KSENSE_IN_CPU, 1, "400,600,750,900", "CPUUtil Medium"),
	MF("mf.cpu.high", "KSENSE_MF_CPU_HIGH", KSENSE_IN_CPU, 2, "750,900,1000,1000", "CPUUtil High"),
	MF("mf.psi.low", "KSENSE_MF_PSI_LOW", KSENSE_IN_PSI, 0, "0,0,50,150", "PSI Low"),
	MF("mf.psi.medium", "KSENSE_MF_PSI_MEDIUM", KSENSE_IN_PSI, 1, "50,150,250,400", "PSI Medium"),
	MF("mf.psi.high", "KSENSE_MF_PSI_HIGH", KSENSE_IN_PSI, 2, "250,400,1000,1000", "PSI High"),
	{ "rules", "KSENSE_RULES", KS_KIND_RULES, CFG_OFF(rules), 0, 0, 0,
	  "LL--:15;M---:55;H---:85;-M--:60;-H--:90;--L-:10;--M-:45;--H-:75;---L:10;---M:60;---H:90",
	  "FECP:score;...",
	  "rule table: per rule the set of Friction, Energy, CPUUtil, PSI (L, M, H, - for any) "
	  "and the score 0..100" },
	U32("band_low_below", "KSENSE_BAND_LOW_BELOW", band_low_below, 1, 100, 45, "score",
	    "score below this is Low: allow, clears the latch"),
	U32("band_high_from", "KSENSE_BAND_HIGH_FROM", band_high_from, 1, 101, 70, "score",
	    "score at or above this is High: deny"),
	U32("medium_low_upper", "FUZZY_MEDIUM_LOW_UPPER", medium_low_upper, 0, 100, 55, "score",
	    "Medium up to this: allow"),
	U32("medium_mid_upper", "FUZZY_MEDIUM_MID_UPPER", medium_mid_upper, 0, 100, 60, "score",
	    "Medium above this: a bad window; between: deny only when latched"),
	U32("medium_bad_threshold", "FUZZY_MEDIUM_BAD_THRESHOLD", medium_bad_threshold, 1, 1000, 2,
	    "windows", "consecutive bad windows that latch deny"),
	U32("cg_cpu_min_permille", "KSENSE_CG_CPU_MIN_PERMILLE", cg_cpu_min_permille, 1, 64000, 500,
	    "permille of a CPU", "a cgroup on CPU or runnable at least this much (and more than in D) is CPU"),
	U32("cg_block_min_permille", "KSENSE_CG_BLOCK_MIN_PERMILLE", cg_block_min_permille, 1, 64000, 200,
	    "permille", "task-time in D at least this share of the window: BLOCK"),
	U32("cg_offcpu_min_permille", "KSENSE_CG_OFFCPU_MIN_PERMILLE", cg_offcpu_min_permille, 1, 64000, 500,
	    "permille", "waits of every cause but a timer (S or D) at least this share: OFFCPU"),
	U32("cg_hysteresis_windows", "KSENSE_CG_HYSTERESIS_WINDOWS", cg_hysteresis_windows, 1, 100, 3,
	    "windows", "a new class must hold this many windows before it replaces the old"),
	U32("cg_throttled_min_permille", "KSENSE_CG_THROTTLED_MIN_PERMILLE", cg_throttled_min_permille, 1, 64000,
	    100, "permille of a CPU", "waits for the cgroup's CFS quota at least this share: THROTTLED"),
	U32("cg_lock_min_permille", "KSENSE_CG_LOCK_MIN_PERMILLE", cg_lock_min_permille, 1, 64000, 500,
	    "permille of a CPU", "waits its own tasks ended at least this share (and >= its on-CPU): OFFCPU/LOCK"),
	U32("cg_lock_min_wakeups", "KSENSE_CG_LOCK_MIN_WAKEUPS", cg_lock_min_wakeups, 0, 1000000, 50, "per s",
	    "... with at least this many such wakeups per second"),
};

const size_t ks_nr_settings = sizeof(ks_settings) / sizeof(ks_settings[0]);

const struct ks_setting *ks_setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < ks_nr_settings; i++)
		if (!strcmp(ks_settings[i].key, key))
			return &ks_settings[i];
	return NULL;
}

static int parse_u64(const char *s, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno == ERANGE)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_mf(const char *text, struct ksense_trapezoid *t, char *err, size_t errlen)
{
	unsigned int v[4];
	char tail;

	if (sscanf(text, "%u,%u,%u,%u%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4 ||
	    v[0] > v[1] || v[1] > v[2] || v[2] > v[3] || v[3] > 1000) {
		snprintf(err, errlen, "'%s' is not a,b,c,d with 0 <= a <= b <= c <= d <= 1000", text);
		return -EINVAL;
	}
	t->a = v[0];
	t->b = v[1];
	t->c = v[2];
	t->d = v[3];
	return 0;
}

static int set_letter(char ch)
{
	switch (ch) {
	case '-': case '*': return KSENSE_SET_ANY;
	case 'L': case 'l': return KSENSE_SET_LOW;
	case 'M': case 'm': return KSENSE_SET_MEDIUM;
	case 'H': case 'h': return KSENSE_SET_HIGH;
	default: return -1;
	}
}

static int parse_rules(const char *text, struct ksense_config *c, char *err, size_t errlen)
{
	struct ksense_rule rules[KSENSE_MAX_RULES] = {};
	char buf[1024], *tok, *save = NULL;
	unsigned int n = 0, i;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "rule table longer than %zu characters", sizeof(buf) - 1);
		return -EINVAL;
	}
	strcpy(buf, text);
	for (tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		unsigned int score, named = 0;
		char tail;

		if (n == KSENSE_MAX_RULES) {
			snprintf(err, errlen, "more than %d rules", KSENSE_MAX_RULES);
			return -EINVAL;
		}
		if (strlen(tok) < 6 || tok[4] != ':' || sscanf(tok + 5, "%u%c", &score, &tail) != 1 ||
		    score > 100) {
			snprintf(err, errlen, "rule '%s' is not FECP:score (e.g. H---:85, score 0..100)", tok);
			return -EINVAL;
		}
		for (i = 0; i < KSENSE_NR_INPUTS; i++) {
			int set = set_letter(tok[i]);

			if (set < 0) {
				snprintf(err, errlen, "rule '%s': '%c' is not L, M, H or -", tok, tok[i]);
				return -EINVAL;
			}
			named += set != KSENSE_SET_ANY;
			*ksense_when_of(&rules[n].when, i) = (__u8)set;
		}
		if (!named) {
			snprintf(err, errlen, "rule '%s' names no input", tok);
			return -EINVAL;
		}
		rules[n++].score = (__u8)score;
	}
	if (!n) {
		snprintf(err, errlen, "the rule table is empty");
		return -EINVAL;
	}
	memcpy(c->rules, rules, sizeof(rules));
	c->nr_rules = n;
	return 0;
}

int ks_setting_apply(struct ksense_config *c, const struct ks_setting *s, const char *text,
		     char *err, size_t errlen)
{
	char *field = (char *)c + s->offset;
	__u64 v;

	switch (s->kind) {
	case KS_KIND_U32:
	case KS_KIND_U64:
		if (parse_u64(text, &v) || v < s->min || v > s->max) {
			snprintf(err, errlen, "%s='%s' is not a whole number in %llu..%llu (%s)", s->key,
				 text, (unsigned long long)s->min, (unsigned long long)s->max, s->unit);
			return -EINVAL;
		}
		if (s->kind == KS_KIND_U32)
			*(__u32 *)field = (__u32)v;
		else
			*(__u64 *)field = v;
		return 0;
	case KS_KIND_MF:
		return parse_mf(text, (struct ksense_trapezoid *)field, err, errlen);
	case KS_KIND_RULES:
		return parse_rules(text, c, err, errlen);
	}
	return -EINVAL;
}

void ks_config_defaults(struct ksense_config *c)
{
	char err[256];
	size_t i;

	memset(c, 0, sizeof(*c));
	c->schema_version = KSENSE_SCHEMA_VERSION;
	for (i = 0; i < ks_nr_settings; i++) {
		const struct ks_setting *s = &ks_settings[i];
		char num[32];

		if (s->def_text) {
			ks_setting_apply(c, s, s->def_text, err, sizeof(err));
		} else {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)s->def);
			ks_setting_apply(c, s, num, err, sizeof(err));
		}
	}
}

int ks_config_from_env(struct ksense_config *c, char *err, size_t errlen)
{
	char inner[512];
	size_t i;

	for (i = 0; i < ks_nr_settings; i++) {
		const char *v = getenv(ks_settings[i].env);

		if (!v)
			continue;
		if (ks_setting_apply(c, &ks_settings[i], v, inner, sizeof(inner))) {
			snprintf(err, errlen, "%s: %s", ks_settings[i].env, inner);
			return -EINVAL;
		}
	}
	return 0;
}

int ks_config_validate(const struct ksense_config *c, char *err, size_t errlen)
{
	__u32 sum = 0, i;

	for (i = 0; i < KSENSE_NR_BASE_SIGNALS; i++)
		sum += ksense_base_u32_get(&c->friction_weight_permille, i);
	if (sum != 1000) {
		snprintf(err, errlen, "friction weights sum to %u, not 1000", sum);
		return -EINVAL;
	}
	if (!(c->band_low_below <= c->medium_low_upper && c->medium_low_upper < c->medium_mid_upper &&
	      c->medium_mid_upper < c->band_high_from)) {
		snprintf(err, errlen, "bands must satisfy band_low_below (%u) <= medium_low_upper (%u) < "
			 "medium_mid_upper (%u) < band_high_from (%u)", c->band_low_below,
			 c->medium_low_upper, c->medium_mid_upper, c->band_high_from);
		return -EINVAL;
	}
	if (c->window_ms < KSENSE_WINDOW_MS_MIN || c->window_ms > KSENSE_WINDOW_MS_MAX) {
		snprintf(err, errlen, "window_ms %u outside %u..%u", c->window_ms,
			 KSENSE_WINDOW_MS_MIN, KSENSE_WINDOW_MS_MAX);
		return -EINVAL;
	}
	if (!c->nr_rules || c->nr_rules > KSENSE_MAX_RULES) {
		snprintf(err, errlen, "nr_rules %u outside 1..%d", c->nr_rules, KSENSE_MAX_RULES);
		return -EINVAL;
	}
	return 0;
}

void ks_rule_when_format(const struct ksense_rule *r, char out[KSENSE_NR_INPUTS + 1])
{
	unsigned int i;

	for (i = 0; i < KSENSE_NR_INPUTS; i++) {
		__u8 set = ksense_when_get(&r->when, i);

		out[i] = set <= 3 ? "-LMH"[set] : '?';
	}
	out[KSENSE_NR_INPUTS] = '\0';
}

void ks_setting_format(const struct ksense_config *c, const struct ks_setting *s, char *buf,
		       size_t len)
{
	const char *field = (const char *)c + s->offset;
	size_t off = 0;
	__u32 r;

	buf[0] = '\0';
	switch (s->kind) {
	case KS_KIND_U32:
		snprintf(buf, len, "%u", *(const __u32 *)field);
		break;
	case KS_KIND_U64:
		snprintf(buf, len, "%llu", (unsigned long long)*(const __u64 *)field);
		break;
	case KS_KIND_MF: {
		const struct ksense_trapezoid *t = (const void *)field;

		snprintf(buf, len, "%u,%u,%u,%u", t->a, t->b, t->c, t->d);
		break;
	}
	case KS_KIND_RULES:
		for (r = 0; r < c->nr_rules && r < KSENSE_MAX_RULES && off + KSENSE_NR_INPUTS + 12 < len; r++) {
			char when[KSENSE_NR_INPUTS + 1];

			ks_rule_when_format(&c->rules[r], when);
			off += snprintf(buf + off, len - off, "%s:%u%s", when, c->rules[r].score,
					r + 1 < c->nr_rules ? ";" : "");
		}
		break;
	}
}
