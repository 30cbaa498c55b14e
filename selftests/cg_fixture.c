// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cg_fixture.h"
#include "fixture.h"
#include "names.h"
#include "pins.h"
#include "test_progs.h"

int fx_read_cgroup(__u64 id, struct ksense_cgroup *cg)
{
	int m = ks_pin_open(KSENSE_PIN_CGROUPS), err;

	memset(cg, 0, sizeof(*cg));
	if (m < 0)
		return m;
	err = bpf_map_lookup_elem(m, &id, cg) ? -errno : 0;
	if (err)
		memset(cg, 0, sizeof(*cg));
	close(m);
	return err;
}

/* The product's names, but UNKNOWN (no window classed yet), which the
 * product shows as IDLE, is worth telling apart in a test's log. */
const char *fx_class_name(__u32 cls)
{
	return cls == KSENSE_CLASS_UNKNOWN ? "UNKNOWN" : ks_cgroup_class_name(cls);
}

bool fx_cgroup_ready(struct wl_cgroup *c, const char *tag)
{
	int err;

	if (!fx_is_root()) {
		test__skip("needs root");
		return false;
	}
	err = wl_cgroup_create(c, tag);
	if (err == -ENOENT) {
		test__skip("no cgroup2 mount");
		return false;
	}
	return ASSERT_OK(err, "kubelet-style cgroup") && ASSERT_OK(fx_load(), "fx_load");
}
