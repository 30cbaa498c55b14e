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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "fakeapi.h"
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
KS_TEST_F(pods_throttled, KS_LIVE | KS_SAN)
{
	struct ks_json j = {};
	char log[256] = "";
	int port, err, p, c0, lim;
	pid_t wh = -1;

	if (!pods_root_ready())
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

/* ---- waits: a lock convoy, and a client naming its server's pod ---- */

static struct why_pod locker, client, server;

static bool waits_settled(const struct ks_json *j)
{
	int l = pods_find(j, locker.uid), c = pods_find(j, client.uid);
	int d0 = ks_json_index(j, ks_json_member(j, c, "dependencies"), 0);

	return l >= 0 && c >= 0 && pods_str_is(j, ks_json_member(j, l, "class"), "OFFCPU") &&
	       pods_str_is(j, ks_json_member(j, l, "cause"), "LOCK") &&
	       pods_str_is(j, ks_json_member(j, c, "class"), "OFFCPU") &&
	       pods_str_is(j, ks_json_member(j, c, "cause"), "DEPENDENCY") &&
	       pods_str_is(j, ks_json_member(j, d0, "uid"), server.uid) &&
	       pods_str_is(j, ks_json_member(j, d0, "name"), "db-7c9f4-x2");
}

/* A pod of Deployment `deploy` (ReplicaSet deploy-<hash>, as the
 * Deployment controller names it) on node-pods, in namespace shop. */
static int seed_owned_pod(struct fakeapi *f, const struct why_pod *p, const char *deploy, const char *hash,
			  const char *name)
{
	char body[2048];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"shop\","
		 "\"uid\":\"%s\",\"labels\":{\"app\":\"%s\",\"pod-template-hash\":\"%s\"},\"ownerReferences\":[{"
		 "\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"%s-%s\",\"uid\":\"rs-%s\","
		 "\"controller\":true}]},\"spec\":{\"nodeName\":\"node-pods\",\"containers\":[{\"name\":\"c\","
		 "\"image\":\"x\"}]},\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"c\","
		 "\"containerID\":\"containerd://%s\",\"ready\":true}]}}",
		 name, p->uid, deploy, hash, deploy, hash, deploy, p->cid);
	return fakeapi_seed(f, body);
}

KS_TEST_F(pods_waits, KS_SAN | KS_LIVE)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct fakeapi f = {};
	struct ks_json j = {};
	char log[256] = "", arg_kc[400];
	const char *args[] = { arg_kc, NULL };
	int port, lfd = -1, l, c, d0;
	pid_t wh = -1;

	if (!pods_root_ready())
		return;
	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "pods-waits"), "fake API server") ||
	    !ASSERT_OK(why_pod_make(&locker, 2), "locker pod") || !ASSERT_OK(why_pod_make(&client, 3), "client pod") ||
	    !ASSERT_OK(why_pod_make(&server, 4), "server pod"))
		goto out;
	ASSERT_OK(seed_owned_pod(&f, &client, "web", "5d8f6", "web-5d8f6-x1"), "client's pod in the API");
	ASSERT_OK(seed_owned_pod(&f, &server, "db", "7c9f4", "db-7c9f4-x2"), "server's pod in the API");
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ASSERT_GE(lfd, 0, "socket") || !ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), "bind") ||
	    !ASSERT_OK(listen(lfd, 4), "listen") || !ASSERT_OK(getsockname(lfd, (struct sockaddr *)&sa, &sl), "name"))
		goto out;
	locker.pid = wl_cgroup_fork(&locker.c);
	if (locker.pid == 0)
		wl_lock_forever(4);
	server.pid = wl_cgroup_fork(&server.c);
	if (server.pid == 0)
		wl_slow_peer_forever(lfd);
	client.pid = wl_cgroup_fork(&client.c);
	if (client.pid == 0)
		wl_wait_peer_forever(ntohs(sa.sin_port));
	snprintf(arg_kc, sizeof(arg_kc), "--kubeconfig=%s", f.kubeconfig);
	snprintf(log, sizeof(log), "%s/webhook-waits.log", pods_test_dir());
	port = pods_free_port();
	wh = pods_start_webhook(port, log, NULL, args);
	if (!ASSERT_TRUE(pods_wait_listening(port), "webhook listening"))
		goto out;
	if (!ASSERT_OK(pods_poll(port, 20000, waits_settled, &j), "OFFCPU/LOCK and OFFCPU/DEPENDENCY on db")) {
		printf("    last /pods: %.3000s\n", pods_out);
		goto out;
	}
	l = pods_find(&j, locker.uid);
	c = pods_find(&j, client.uid);
	d0 = ks_json_index(&j, ks_json_member(&j, c, "dependencies"), 0);
	printf("    locker: %.*s\n", j.tok[l].end - j.tok[l].start > 700 ? 700 : j.tok[l].end - j.tok[l].start,
	       j.src + j.tok[l].start);
	printf("    client: %.*s\n", j.tok[c].end - j.tok[c].start > 900 ? 900 : j.tok[c].end - j.tok[c].start,
	       j.src + j.tok[c].start);
	/* the convoy: waits for its own threads, no other pod to name */
	ASSERT_GE(num(&j, l, "wait_permille"), 500, "locker waits");
	ASSERT_EQ(ks_json_index(&j, ks_json_member(&j, l, "dependencies"), 0), -1, "locker: no dependency");
	/* the client names the server's pod, its Deployment and its share */
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, c, "namespace"), "shop"), "client named from the API");
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, d0, "namespace"), "shop"), "dependency's namespace");
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, d0, "deployment"), "db"), "dependency's Deployment");
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, d0, "owner_kind"), "ReplicaSet"), "owner kind");
	ASSERT_TRUE(pods_str_is(&j, ks_json_member(&j, d0, "owner"), "db-7c9f4"), "owner");
	/* more than half: a CPU's held (client, server) charge can land a
	 * window after the client's own wait time (590 once under ASan) */
	ASSERT_GT(num(&j, d0, "share_permille"), 500, "most of the client's wait");
	ASSERT_EQ(num(&j, d0, "cgroup_id"), (long long)server.c.id, "the server's cgroup");
	ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, ks_json_member(&j, c, "waits"), "dependency_ms_per_s")),
		    "waits by cause");
	/* per-pod run-queue latency and PSI */
	{
		int rq = ks_json_member(&j, l, "runq"), psi = ks_json_member(&j, l, "psi");
		int c0 = ks_json_index(&j, ks_json_member(&j, l, "containers"), 0);

		ASSERT_GT(num(&j, rq, "waits_per_s"), 0, "the locker's tasks wait for a CPU");
		ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, rq, "p99_us")), "runq p99");
		ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, ks_json_member(&j, c0, "runq"), "p50_us")),
			    "container runq p50");
		ASSERT_TRUE(ks_json_is_object(&j, psi) || ks_json_is_null(&j, psi), "psi: an object, or null");
		if (ks_json_is_object(&j, psi))
			ASSERT_TRUE(ks_json_is_number(&j, ks_json_member(&j, ks_json_member(&j, psi, "cpu"),
									  "some_avg10_permille")), "psi cpu some");
	}
out:
	ks_json_free(&j);
	pods_stop_checked(wh, log);
	if (lfd >= 0)
		close(lfd);
	why_pod_remove(&locker);
	why_pod_remove(&client);
	why_pod_remove(&server);
	why_tree_remove();
	fakeapi_stop(&f);
}
