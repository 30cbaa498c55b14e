// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel paths CO-RE chose at load (state.kernel_paths, pins/ksense.h)
 * against this kernel's BTF read here with libbpf: each sensor's choice is
 * the one the running kernel's types call for, and `ksense status` names
 * it.  In vmtest it runs on every guest kernel, whose types differ (6.1
 * throttles cfs_rqs, 6.18 tasks).
 */
#include <string.h>
#include <bpf/btf.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"

/* The member's index in struct sname, or -1 (no such struct or member). */
static int member_of(const struct btf *btf, const char *sname, const char *member)
{
	const struct btf_type *t;
	const struct btf_member *m;
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT), i;

	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return i;
	return -1;
}

static bool is_bitfield(const struct btf *btf, const char *sname, const char *member)
{
	int id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT), i = member_of(btf, sname, member);

	return i >= 0 && btf_member_bitfield_size(btf__type_by_id(btf, id), i) > 0;
}

KS_TEST(kernel_paths)
{
	struct btf *btf = btf__load_vmlinux_btf();
	struct ksense_state st;
	char want[200], got[160], out[8192];
	__u32 paths = 0;

	if (!ASSERT_TRUE(btf != NULL, "this kernel's BTF"))
		return;
	if (!fx_is_root()) {
		test__skip("needs root");
		goto out;
	}
	if (!ASSERT_OK(fx_load(), "fx_load") || !ASSERT_OK(ks_read_state(&st), "state"))
		goto out;
	/* the same questions core_fixes.bpf.h asks, asked of the BTF here */
	if (member_of(btf, "task_struct", "throttled") >= 0)
		paths |= KSENSE_PATH_TASK_THROTTLED;
	else if (member_of(btf, "cfs_rq", "throttle_count") >= 0)
		paths |= KSENSE_PATH_CFS_RQ_THROTTLE_COUNT;
	paths |= member_of(btf, "task_struct", "sched_task_group") >= 0 ? KSENSE_PATH_TASK_GROUP
									  : KSENSE_PATH_SE_CFS_RQ_TG;
	if (member_of(btf, "task_group", "cfs_bandwidth") >= 0)
		paths |= KSENSE_PATH_CFS_BANDWIDTH;
	if (is_bitfield(btf, "cfs_rq", "throttled"))
		paths |= KSENSE_PATH_THROTTLED_BITFIELD;
	ks_kernel_paths_str(paths, want, sizeof(want));
	ks_kernel_paths_str(st.kernel_paths, got, sizeof(got));
	printf("    kernel paths: %s\n", got);
	ASSERT_STREQ(got, want, "CO-RE's choices are this kernel's types'");
	ASSERT_TRUE(st.kernel_paths & (KSENSE_PATH_TASK_THROTTLED | KSENSE_PATH_CFS_RQ_THROTTLE_COUNT),
		    "a way to see throttling");
	ASSERT_TRUE(st.kernel_paths & (KSENSE_PATH_TASK_GROUP | KSENSE_PATH_SE_CFS_RQ_TG), "a way to the task group");
	if (ASSERT_OK(fx_sh(out, sizeof(out), "%s status 2>&1", fx_bin()), "ksense status")) {
		snprintf(want, sizeof(want), "kernel paths    %s\n", got);
		ASSERT_STRHAS(out, want, "status names them");
	}
out:
	btf__free(btf);
}
