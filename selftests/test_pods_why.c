// SPDX-License-Identifier: GPL-2.0
/*
 * Why a pod waits, as GET /pods shows it: labeled workloads in kubelet-style
 * pod cgroups (systemd driver, containerd), the ksense fixture's pins and
 * ksense-webhook on a free agent port.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "test_progs.h"
#include "fixture.h"
#include "fsutil.h"
#include "json.h"
#include "pods_fixture.h"
#include "workloads.h"

struct why_pod {
	char uid[40], cid[72];
	struct wl_cgroup c;      /* base: the tree's top; dir: the container */
	char pod_dir[512];
	pid_t pid;
};

static char tree[256];

/* <cgroup2>/ksense-why-<pid>/kubepods.slice/kubepods-burstable.slice/
 *     kubepods-burstable-pod<uid>.slice/cri-containerd-<cid>.scope */
static int why_pod_make(struct why_pod *p, int i)
{
	char mnt[200], uid_sd[40];
	size_t k;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	if (ks_cgroup2_mount(mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(tree, sizeof(tree), "%s/ksense-why-%d", mnt, getpid());
	snprintf(p->uid, sizeof(p->uid), "%08x-0000-4000-8000-%012d", (unsigned int)getpid(), 16 + i);
	snprintf(p->cid, sizeof(p->cid), "%08x%056d", (unsigned int)getpid(), 16 + i);
	for (k = 0; k <= strlen(p->uid); k++)
		uid_sd[k] = p->uid[k] == '-' ? '_' : p->uid[k];
	snprintf(p->c.base, sizeof(p->c.base), "%s", tree);
	snprintf(p->pod_dir, sizeof(p->pod_dir), "%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice",
		 tree, uid_sd);
	snprintf(p->c.dir, sizeof(p->c.dir), "%s/cri-containerd-%s.scope", p->pod_dir, p->cid);
	if (fx_sh(pods_out, sizeof(pods_out), "mkdir -p %s", p->c.dir))
		return -EIO;
	{
		struct stat st;

		if (stat(p->c.dir, &st))
			return -errno;
		p->c.id = st.st_ino;
	}
	return 0;
}

static void why_pod_remove(struct why_pod *p)
{
	wl_reap(p->pid);
	p->pid = -1;
	if (p->c.dir[0])
		rmdir(p->c.dir);
	if (p->pod_dir[0])
		rmdir(p->pod_dir);
	/* what is left is the cgroup v1 twin, if any, walked up to base */
	p->c.dir[0] = p->c.base[0] = '\0';
	wl_cgroup_destroy(&p->c);
}

static void why_tree_remove(void)
{
	char d[700];

	if (!tree[0])
		return;
	snprintf(d, sizeof(d), "%s/kubepods.slice/kubepods-burstable.slice", tree);
	rmdir(d);
	snprintf(d, sizeof(d), "%s/kubepods.slice", tree);
	rmdir(d);
	rmdir(tree);
}

static bool root_fixture(void)
{
	char mnt[256];

	if (!fx_is_root()) {
		test__skip("needs root");
		return false;
	}
	if (ks_cgroup2_mount(mnt, sizeof(mnt))) {
		test__skip("no cgroup2 mount");
		return false;
	}
	return ASSERT_OK(fx_load(), "fx_load");
}

static long long num(const struct ks_json *j, int obj, const char *key)
{
	int i = ks_json_member(j, obj, key);

	return i >= 0 && ks_json_is_number(j, i) ? atoll(j->src + j->tok[i].start) : -1;
}

static struct why_pod capped;

/* THROTTLED, and a window since the first (the group's counters are
 * differenced from the window before) */
static bool capped_throttled(const struct ks_json *j)
{
	int p = pods_find(j, capped.uid);

	return p >= 0 && pods_str_is(j, ks_json_member(j, p, "class"), "THROTTLED") &&
	       num(j, ks_json_member(j, p, "cpu_limit"), "periods") > 0;
}

/* A burner held to 200m by its container's quota: THROTTLED in /pods,
 * with its throttled share and the limit that binds. */
KS_TEST(pods_throttled)
{
	struct ks_json j = {};
	char log[256] = "";
	int port, err, p, c0, lim;
	pid_t wh = -1;

	if (!root_fixture())
		return;
	if (!ASSERT_OK(why_pod_make(&capped, 1), "pod cgroups"))
		goto out;
	err = wl_cgroup_cpu_limit(&capped.c, 20000, 100000);
	if (err == -EOPNOTSUPP) {
		test__skip("no CFS quota here: neither a cgroup v1 cpu hierarchy nor cgroup2's cpu controller");
		goto out;
	}
	if (!ASSERT_OK(err, "quota of 200m on the container"))
		goto out;
	capped.pid = wl_cgroup_fork(&capped.c);
	if (capped.pid == 0)
		wl_burn_forever();
	snprintf(log, sizeof(log), "%s/webhook-throttled.log", pods_test_dir());
	port = pods_free_port();
	wh = pods_start_webhook(port, log, NULL, NULL);
	if (!ASSERT_TRUE(pods_wait_listening(port), "webhook listening"))
		goto out;
	if (!ASSERT_OK(pods_poll(port, 15000, capped_throttled, &j), "THROTTLED in /pods")) {
		printf("    last /pods: %.2000s\n", pods_out);
		goto out;
	}
	p = pods_find(&j, capped.uid);
	c0 = ks_json_index(&j, ks_json_member(&j, p, "containers"), 0);
	lim = ks_json_member(&j, p, "cpu_limit");
	printf("    capped pod: %.*s\n", j.tok[p].end - j.tok[p].start > 900 ? 900 : j.tok[p].end - j.tok[p].start,
	       j.src + j.tok[p].start);
	ASSERT_GE(num(&j, p, "throttled_permille"), 100, "throttled share shown");
	ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, p, "throttled_ms_per_s")), "throttled ms/s shown");
	ASSERT_LE(num(&j, p, "oncpu_permille"), 400, "on-CPU held near its 200m");
	ASSERT_EQ(num(&j, lim, "millicores"), 200, "the limit: 200m");
	ASSERT_EQ(num(&j, lim, "quota_us"), 20000, "quota");
	ASSERT_EQ(num(&j, lim, "period_us"), 100000, "period");
	ASSERT_EQ(num(&j, lim, "level"), 0, "the container's own limit");
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c0, "class"), "THROTTLED"), "container THROTTLED");
	ASSERT_GE(num(&j, ks_json_member(&j, c0, "cpu_limit"), "throttled_periods"), 1, "throttled periods");
out:
	ks_json_free(&j);
	pods_stop_checked(wh, log);
	why_pod_remove(&capped);
	why_tree_remove();
}
