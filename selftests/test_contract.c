// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned contract cannot drift: every pin of a loaded tree has the value
 * size of its struct in pins/ksense.h, carries BTF naming that struct, and
 * the BTF layout (size, every member's offset) equals what the host
 * compiler makes of the header.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"

struct member_off {
	const char *name;
	size_t off;
};

#define M(type, field) { #field, offsetof(struct type, field) }

static const struct member_off window_members[] = {
	M(ksense_window, seq), M(ksense_window, start_ns), M(ksense_window, end_ns),
	M(ksense_window, duration_ns), M(ksense_window, runq), M(ksense_window, dstate),
	M(ksense_window, netrx), M(ksense_window, reclaim), M(ksense_window, dstate_ns), M(ksense_window, netrx_ns),
	M(ksense_window, dstate_us_per_s), M(ksense_window, netrx_us_per_s),
	M(ksense_window, cpu_busy_ns), M(ksense_window, cpu_busy_permille),
	M(ksense_window, nr_cpus), M(ksense_window, psi_cpu), M(ksense_window, psi_io),
	M(ksense_window, psi_mem), M(ksense_window, psi_source), M(ksense_window, reserved0),
	M(ksense_window, verdict), { NULL, 0 },
};

static const struct member_off state_members[] = {
	M(ksense_state, schema_version), M(ksense_state, flags), M(ksense_state, seq),
	M(ksense_state, window_start_ns), M(ksense_state, loaded_ns), M(ksense_state, ticks),
	M(ksense_state, acc_slot), M(ksense_state, psi_source), M(ksense_state, psi_group_addr),
	M(ksense_state, psi_avg_total), M(ksense_state, psi_avg_last_update),
	M(ksense_state, psi_seen_ns), M(ksense_state, psi_permille), M(ksense_state, kernel_paths),
	M(ksense_state, nr_cpus), M(ksense_state, timer),
	{ NULL, 0 },
};

static const struct member_off config_members[] = {
	M(ksense_config, schema_version), M(ksense_config, window_ms), M(ksense_config, reserved2),
	M(ksense_config, warmup_s), M(ksense_config, baseline_reset_gen),
	M(ksense_config, baseline_alpha_permille), M(ksense_config, friction_k_permille),
	M(ksense_config, friction_weight_permille), M(ksense_config, reserved0),
	M(ksense_config, friction_eps), M(ksense_config, direction_alpha_permille),
	M(ksense_config, direction_deadband_permille), M(ksense_config, energy_half_life_s),
	M(ksense_config, energy_threshold_permille), M(ksense_config, mf), M(ksense_config, rules),
	M(ksense_config, nr_rules), M(ksense_config, band_low_below), M(ksense_config, band_high_from),
	M(ksense_config, medium_low_upper), M(ksense_config, medium_mid_upper),
	M(ksense_config, medium_bad_threshold), M(ksense_config, cg_cpu_min_permille),
	M(ksense_config, cg_block_min_permille), M(ksense_config, cg_offcpu_min_permille),
	M(ksense_config, cg_hysteresis_windows), M(ksense_config, cg_throttled_min_permille),
	M(ksense_config, cg_lock_min_permille), M(ksense_config, cg_lock_min_wakeups),
	M(ksense_config, reserved1), { NULL, 0 },
};

static const struct member_off cgroup_members[] = {
	M(ksense_cgroup, cgroup_id), M(ksense_cgroup, seq), M(ksense_cgroup, class), M(ksense_cgroup, cause),
	M(ksense_cgroup, candidate), M(ksense_cgroup, candidate_cause), M(ksense_cgroup, streak), M(ksense_cgroup, on_cpu_permille),
	M(ksense_cgroup, d_permille), M(ksense_cgroup, s_permille), M(ksense_cgroup, on_cpu_ns),
	M(ksense_cgroup, d_ns), M(ksense_cgroup, s_ns), M(ksense_cgroup, wakeups), M(ksense_cgroup, samples),
	M(ksense_cgroup, io_count), M(ksense_cgroup, io_bytes), M(ksense_cgroup, io_lat_avg_ns),
	M(ksense_cgroup, idle_windows), M(ksense_cgroup, throttled_ns), M(ksense_cgroup, throttled_waits),
	M(ksense_cgroup, throttled_permille), M(ksense_cgroup, bw_level), M(ksense_cgroup, bw_cgroup_id),
	M(ksense_cgroup, bw_quota_us), M(ksense_cgroup, bw_period_us), M(ksense_cgroup, bw_throttled_ns),
	M(ksense_cgroup, bw_nr_periods), M(ksense_cgroup, bw_nr_throttled), M(ksense_cgroup, bw_total_throttled_ns),
	M(ksense_cgroup, bw_total_periods), M(ksense_cgroup, bw_total_throttled), M(ksense_cgroup, wait_ns),
	M(ksense_cgroup, wait_n), M(ksense_cgroup, reserved1), M(ksense_cgroup, wait_permille),
	M(ksense_cgroup, lock_permille), M(ksense_cgroup, wakers), M(ksense_cgroup, rq_count),
	M(ksense_cgroup, rq_sum_ns), M(ksense_cgroup, rq_avg_ns), M(ksense_cgroup, rq_p50_ns),
	M(ksense_cgroup, rq_p99_ns), M(ksense_cgroup, rq_max_ns), M(ksense_cgroup, psi_cpu),
	M(ksense_cgroup, psi_io), M(ksense_cgroup, psi_mem), M(ksense_cgroup, psi_source),
	M(ksense_cgroup, reserved2), { NULL, 0 },
};

static const struct member_off baseline_members[] = {
	M(ksense_baseline, state), M(ksense_baseline, reset_gen), M(ksense_baseline, started_ns),
	M(ksense_baseline, frozen_ns), M(ksense_baseline, warmup_remaining_s),
	M(ksense_baseline, samples), M(ksense_baseline, rq_p99_ns), M(ksense_baseline, rq_avg_ns),
	M(ksense_baseline, dstate_us_per_s), M(ksense_baseline, netrx_us_per_s), M(ksense_baseline, seq), { NULL, 0 },
};

static const struct member_off score_members[] = {
	M(ksense_score, seq), M(ksense_score, baseline_state), M(ksense_score, friction_valid),
	M(ksense_score, friction_permille), M(ksense_score, friction_term),
	M(ksense_score, direction), M(ksense_score, slope_permille), M(ksense_score, energy_permille),
	M(ksense_score, energy_peak_permille), M(ksense_score, reserved0),
	M(ksense_score, energy_integral), M(ksense_score, energy_ceiling),
	M(ksense_score, energy_above_ms), M(ksense_score, input),
	M(ksense_score, membership), M(ksense_score, rule_strength_permille),
	M(ksense_score, top_rule), M(ksense_score, score_permille), M(ksense_score, score),
	M(ksense_score, rules_used), { NULL, 0 },
};

static const struct member_off decision_members[] = {
	M(ksense_decision, seq), M(ksense_decision, score), M(ksense_decision, band),
	M(ksense_decision, verdict), M(ksense_decision, reason), M(ksense_decision, bad_streak),
	M(ksense_decision, latched), M(ksense_decision, top_rule), M(ksense_decision, friction_valid),
	{ NULL, 0 },
};

static const struct member_off self_gen_members[] = {
	M(ksense_self_gen, gen), M(ksense_self_gen, changed_ns), { NULL, 0 },
};
static const struct member_off self_members[] = {
	M(ksense_self, tgid), M(ksense_self, reserved0), M(ksense_self, start_ticks),
	M(ksense_self, registered_ns), M(ksense_self, comm), { NULL, 0 },
};

static const struct member_off totals_members[] = {
	M(ksense_totals, seq), M(ksense_totals, loaded_ns), M(ksense_totals, end_ns),
	M(ksense_totals, elapsed_ns), M(ksense_totals, cpu_busy_ns), M(ksense_totals, cpu_capacity_ns),
	M(ksense_totals, dstate_ns), M(ksense_totals, psi_cpu_some_ns), M(ksense_totals, psi_io_some_ns),
	M(ksense_totals, psi_io_full_ns), M(ksense_totals, psi_mem_some_ns),
	M(ksense_totals, psi_mem_full_ns), M(ksense_totals, deny_windows), M(ksense_totals, reserved0),
	M(ksense_totals, runq), M(ksense_totals, dstate), M(ksense_totals, netrx), M(ksense_totals, reclaim),
	M(ksense_totals, seq_end),
	{ NULL, 0 },
};

static const struct {
	const char *pin, *type;
	size_t size;
	const struct member_off *members;
} pins[] = {
	{ KSENSE_PIN_HISTORY, "ksense_window", sizeof(struct ksense_window), window_members },
	{ KSENSE_PIN_STATE, "ksense_state", sizeof(struct ksense_state), state_members },
	{ KSENSE_PIN_CONFIG, "ksense_config", sizeof(struct ksense_config), config_members },
	{ KSENSE_PIN_BASELINE, "ksense_baseline", sizeof(struct ksense_baseline), baseline_members },
	{ KSENSE_PIN_SCORE, "ksense_score", sizeof(struct ksense_score), score_members },
	{ KSENSE_PIN_DECISION, "ksense_decision", sizeof(struct ksense_decision), decision_members },
	{ KSENSE_PIN_CGROUPS, "ksense_cgroup", sizeof(struct ksense_cgroup), cgroup_members },
	{ KSENSE_PIN_SELF, "ksense_self", sizeof(struct ksense_self), self_members },
	{ KSENSE_PIN_SELF_GEN, "ksense_self_gen", sizeof(struct ksense_self_gen), self_gen_members },
	{ KSENSE_PIN_TOTALS, "ksense_totals", sizeof(struct ksense_totals), totals_members },
};

static void check_pin(unsigned int i)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const struct btf_type *t;
	const struct btf_member *m;
	struct btf *btf = NULL;
	unsigned int k, n;
	int fd;

	fd = ks_pin_open(pins[i].pin);
	if (!ASSERT_GE(fd, 0, "open pin"))
		return;
	if (!ASSERT_OK(bpf_obj_get_info_by_fd(fd, &info, &len), "map info"))
		goto out;
	ASSERT_EQ(info.value_size, pins[i].size, "value size = sizeof");
	if (!ASSERT_NEQ(info.btf_value_type_id, 0, "value has BTF"))
		goto out;
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!ASSERT_OK_PTR(btf, "map BTF"))
		goto out;
	t = btf__type_by_id(btf, info.btf_value_type_id);
	if (!ASSERT_OK_PTR(t, "value type") || !ASSERT_TRUE(btf_is_struct(t), "value is a struct"))
		goto out;
	ASSERT_OK(strcmp(btf__name_by_offset(btf, t->name_off), pins[i].type), "struct name");
	ASSERT_EQ(t->size, pins[i].size, "BTF size = sizeof");
	n = btf_vlen(t);
	for (k = 0; pins[i].members[k].name; k++)
		;
	ASSERT_EQ(n, k, "member count");
	m = btf_members(t);
	for (k = 0; k < n && pins[i].members[k].name; k++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);

		if (!ASSERT_OK(strcmp(name, pins[i].members[k].name), "member order") ||
		    !ASSERT_EQ(btf_member_bit_offset(t, k) / 8, pins[i].members[k].off, name))
			break;
	}
out:
	btf__free(btf);
	close(fd);
}

KS_TEST(contract_btf)
{
	unsigned int i;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		if (test__start_subtest(pins[i].pin))
			check_pin(i);
}

/* The names of the enum-typed members reachable from a type (nested
 * structs and arrays of structs included) and of its array members;
 * walk() returns false when a list overflows. */
struct type_walk {
	const char *enums[64];
	const char *arrays[16];
	int nr_enums, nr_arrays;
};

static const struct btf_type *strip(const struct btf *btf, __u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t))) {
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

static bool walk(const struct btf *btf, __u32 id, struct type_walk *w)
{
	const struct btf_type *t = strip(btf, &id), *mt;
	const struct btf_member *m;
	unsigned int k;
	__u32 mid;

	if (!t || !btf_is_struct(t))
		return true;
	m = btf_members(t);
	for (k = 0; k < btf_vlen(t); k++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);

		mid = m->type;
		mt = strip(btf, &mid);
		if (mt && btf_is_array(mt)) {
			if (w->nr_arrays == 16)
				return false;
			w->arrays[w->nr_arrays++] = name;
			mid = btf_array(mt)->type;
			mt = strip(btf, &mid);
		}
		if (mt && btf_is_enum(mt)) {
			if (w->nr_enums == 64)
				return false;
			w->enums[w->nr_enums++] = name;
		} else if (mt && btf_is_struct(mt) && !walk(btf, mid, w)) {
			return false;
		}
	}
	return true;
}

/* `bpftool map dump` explains itself: every enum-typed field of the
 * decision, score, cgroups, history and state pins prints an enumerator's
 * name, never a number, and an index array is left only where the index
 * means nothing but a position (rule number, rank, bucket, PSI state), in
 * those and in config. */
KS_TEST(contract_bpftool_names)
{
	static const struct {
		const char *pin, *cmd, *arrays;  /* the index arrays allowed, ",a,b," */
	} dumps[] = {
		{ KSENSE_PIN_DECISION, "map dump pinned %s/" KSENSE_PIN_DECISION, "," },
		{ KSENSE_PIN_SCORE, "map dump pinned %s/" KSENSE_PIN_SCORE, ",rule_strength_permille," },
		{ KSENSE_PIN_CGROUPS, "map dump pinned %s/" KSENSE_PIN_CGROUPS, ",wakers," },
		/* window 1 is in slot 1 (the key's bytes, little-endian) */
		{ KSENSE_PIN_HISTORY, "map lookup pinned %s/" KSENSE_PIN_HISTORY " key 1 0 0 0", "," },
		{ KSENSE_PIN_STATE, "map dump pinned %s/" KSENSE_PIN_STATE, ",psi_avg_total,psi_permille,__opaque," },
		/* the settings: membership functions by input and set, weights
		 * and epsilons by signal, a rule's condition by input */
		{ KSENSE_PIN_CONFIG, "map dump pinned %s/" KSENSE_PIN_CONFIG, ",rules,reserved," },
	};
	static char out[262144];
	struct ksense_window w;
	unsigned int i;
	int k;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load") || !ASSERT_OK(fx_wait_window(1, &w, 5000), "two windows closed"))
		return;
	for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		struct type_walk tw = {};
		struct btf *btf = NULL;
		char cmd[512], want[128], *p;
		int fd;

		if (!test__start_subtest(dumps[i].pin))
			continue;
		fd = ks_pin_open(dumps[i].pin);
		if (!ASSERT_GE(fd, 0, "open pin"))
			continue;
		if (ASSERT_OK(bpf_obj_get_info_by_fd(fd, &info, &len), "map info"))
			btf = btf__load_from_kernel_by_id(info.btf_id);
		close(fd);
		if (!ASSERT_OK_PTR(btf, "map BTF"))
			continue;
		ASSERT_TRUE(walk(btf, info.btf_value_type_id, &tw), "walk the value type");
		if (strcmp(dumps[i].pin, KSENSE_PIN_STATE) && strcmp(dumps[i].pin, KSENSE_PIN_CONFIG))
			ASSERT_GT(tw.nr_enums, 0, "enum-typed fields");
		for (k = 0; k < tw.nr_arrays; k++) {
			snprintf(want, sizeof(want), ",%s,", tw.arrays[k]);
			if (!ASSERT_STRHAS(dumps[i].arrays, want, "an index array only where the index is a position"))
				printf("    %s: array member %s\n", dumps[i].pin, tw.arrays[k]);
		}
		/* compact JSON: "field":value; the first entries are enough */
		snprintf(cmd, sizeof(cmd), dumps[i].cmd, getenv("KSENSE_PIN_ROOT"));
		fx_sh(out, sizeof(out), "bpftool -j %s 2>&1 | head -c %zu", cmd, sizeof(out) - 1);
		for (k = 0; k < tw.nr_enums; k++) {
			snprintf(want, sizeof(want), "\"%s\":\"KSENSE_", tw.enums[k]);
			if (!ASSERT_STRHAS(out, want, "an enum field prints a name"))
				printf("    %s: %.300s\n", dumps[i].pin, out);
			snprintf(want, sizeof(want), "\"%s\":", tw.enums[k]);
			for (p = strstr(out, want); p; p = strstr(p + 1, want))
				if (!ASSERT_TRUE(p[strlen(want)] == '"' || p[strlen(want)] == '{', tw.enums[k]))
					break;
		}
		btf__free(btf);
	}
}
