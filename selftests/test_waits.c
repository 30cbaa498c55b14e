// SPDX-License-Identifier: GPL-2.0
/*
 * Who ended the wait: labeled workloads, each in a kubelet-style cgroup,
 * whose off-CPU time must be attributed to what woke them and classed by
 * it - threads serialized on one mutex (OFFCPU/LOCK, not CPU), a client of
 * a slow server in another cgroup over loopback TCP (OFFCPU/DEPENDENCY,
 * naming the server's cgroup), a sleeper on a timer (IDLE).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fixture.h"
#include "names.h"
#include "pins.h"
#include "workloads.h"
#include "cg_fixture.h"




static void print_cg(const char *what, const struct ksense_cgroup *cg)
{
	int i;

	printf("    %-8s %s/%s on-CPU %u‰ S %u‰ D %u‰ waits %u‰ (", what, fx_class_name(cg->class),
	       ks_cause_name(cg->cause), cg->on_cpu_permille, cg->s_permille,
	       cg->d_permille, cg->wait_permille);
	for (i = 1; i < KSENSE_NR_CAUSES; i++)
		if (ksense_cause_n_get(&cg->wait_n, i))
			printf(" %s %llums/%u", ks_cause_name(i),
			       (unsigned long long)ksense_cause_ns_get(&cg->wait_ns, i) / 1000000,
			       ksense_cause_n_get(&cg->wait_n, i));
	printf(" )");
	for (i = 0; i < KSENSE_TOP_WAKERS && cg->wakers[i].cgroup_id; i++)
		printf(" waker %llu %u‰", (unsigned long long)cg->wakers[i].cgroup_id, cg->wakers[i].share_permille);
	printf("\n");
}

/* Wait up to `windows` windows for cgroup id to be class/cause; the last
 * state read into cg.  True when it got there. */
static bool wait_class(__u64 id, __u32 cls, __u32 cause, int windows, struct ksense_cgroup *cg, const char *what)
{
	struct ksense_window w = {};
	int k;

	for (k = 0; k < windows; k++) {
		if (fx_wait_window(w.seq, &w, 3000))
			return false;
		if (fx_read_cgroup(id, cg) || cg->seq != w.seq)
			continue;
		if (k % 4 == 3 || (cg->class == cls && cg->cause == cause))
			print_cg(what, cg);
		if (cg->class == cls && cg->cause == cause)
			return true;
	}
	return false;
}

/* Four threads on one mutex, each spinning 2 ms while it holds it: one
 * runs, three wait for it.  On-CPU is a whole CPU (the old rule said CPU);
 * the waits that siblings end are three times that. */
KS_TEST_LIVE(cgroup_lock)
{
	struct ksense_cgroup cg = {};
	struct wl_cgroup c = {};
	pid_t pid = -1;

	if (!fx_cgroup_ready(&c, "lock"))
		goto out;
	pid = wl_cgroup_fork(&c);
	if (pid == 0)
		wl_lock_forever(4);
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	ASSERT_TRUE(wait_class(c.id, KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_LOCK, 24, &cg, "locker"),
		    "four threads on one mutex: OFFCPU/LOCK");
	ASSERT_GE(cg.lock_permille, 500, "waits its own threads ended >= 500 permille");
	ASSERT_GE(cg.lock_permille, cg.on_cpu_permille, "... and >= its on-CPU");
	ASSERT_GT(cg.wait_n.lock, 0, "sibling wakeups");
	ASSERT_EQ(cg.wakers[0].cgroup_id, 0, "no other cgroup wakes it");
out:
	wl_reap(pid);
	wl_cgroup_destroy(&c);
}

/* A client pod asks a server pod over loopback TCP; the server answers
 * each request 100 ms later.  The client waits (S) for the server, and
 * it is the server's send that wakes it (NET_RX run for the server's
 * packets, in its context): OFFCPU/DEPENDENCY naming the server's cgroup. */
KS_TEST_LIVE(cgroup_dependency)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct ksense_cgroup cg = {}, srv = {};
	struct wl_cgroup client = {}, server = {};
	pid_t cpid = -1, spid = -1;
	int lfd = -1;

	if (!fx_cgroup_ready(&client, "client") || !ASSERT_OK(wl_cgroup_create(&server, "server"), "server cgroup"))
		goto out;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ASSERT_GE(lfd, 0, "socket") || !ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), "bind") ||
	    !ASSERT_OK(listen(lfd, 4), "listen") || !ASSERT_OK(getsockname(lfd, (struct sockaddr *)&sa, &sl), "name"))
		goto out;
	spid = wl_cgroup_fork(&server);
	if (spid == 0)
		wl_slow_peer_forever(lfd);
	cpid = wl_cgroup_fork(&client);
	if (cpid == 0)
		wl_wait_peer_forever(ntohs(sa.sin_port));
	if (!ASSERT_GT(spid, 0, "fork server") || !ASSERT_GT(cpid, 0, "fork client"))
		goto out;
	ASSERT_TRUE(wait_class(client.id, KSENSE_CLASS_OFFCPU, KSENSE_CAUSE_DEPENDENCY, 24, &cg, "client"),
		    "client of a slow server: OFFCPU/DEPENDENCY");
	/* a window holds two or three of its 100 ms waits: one that an other
	 * context ended (its connect, a retransmit) halves a share, so the
	 * share is read over a few windows (under TCG on 6.12 the first
	 * one was 499 once in ten runs) */
	{
		int k;

		for (k = 0; k < 12 && !(cg.wakers[0].cgroup_id == server.id && cg.wakers[0].share_permille >= 800); k++) {
			usleep(FIXTURE_WINDOW_MS * 1000);
			if (fx_read_cgroup(client.id, &cg))
				break;
		}
	}
	ASSERT_EQ(cg.wakers[0].cgroup_id, server.id, "the top waker is the server's cgroup");
	ASSERT_GE(cg.wakers[0].share_permille, 800, "... with most of the wait");
	ASSERT_GT(cg.wakers[0].wakeups, 0, "... and its wakeups");
	/* the cgroup's dependency time holds what the server ended: over
	 * several windows, since each CPU holds its charges and a pair's may
	 * land a window after the cgroup's (up to one of its 100 ms waits at
	 * each end) */
	{
		struct ksense_window w = {};
		__u64 dep_ns = 0, by_server_ns = 0;
		int k, i, n = 0;

		for (k = 0; k < 8 && n < 6; k++) {
			if (fx_wait_window(w.seq, &w, 3000) || fx_read_cgroup(client.id, &cg) || cg.seq != w.seq)
				continue;
			dep_ns += cg.wait_ns.dependency;
			for (i = 0; i < KSENSE_TOP_WAKERS; i++)
				if (cg.wakers[i].cgroup_id == server.id)
					by_server_ns += cg.wakers[i].wait_ns;
			n++;
		}
		printf("    %d windows: dependency %llu ms, ended by the server %llu ms\n", n,
		       (unsigned long long)dep_ns / 1000000, (unsigned long long)by_server_ns / 1000000);
		ASSERT_GE(n, 3, "windows read");
		ASSERT_GT(by_server_ns, 0, "the server ended waits");
		ASSERT_GE(dep_ns + 200000000ull, by_server_ns, "dependency time holds the server's (within two waits)");
	}
	/* the server sleeps 100 ms per answer: a timer ends its sleeps */
	if (!fx_read_cgroup(server.id, &srv)) {
		print_cg("server", &srv);
		ASSERT_GT(srv.wait_n.timer, 0, "the server's sleeps end by timer");
		ASSERT_TRUE(srv.class != KSENSE_CLASS_OFFCPU || srv.cause != KSENSE_CAUSE_TIMER, "a timer is no cause");
	}
out:
	wl_reap(cpid);
	wl_reap(spid);
	if (lfd >= 0)
		close(lfd);
	wl_cgroup_destroy(&client);
	wl_cgroup_destroy(&server);
}

/* Sleeping on a timer is idle, not waiting: a 10 ms nanosleep loop is
 * S most of the time, every wait ended by a timer, and IDLE. */
KS_TEST_LIVE(cgroup_timer_sleeper)
{
	struct ksense_window w = {};
	struct ksense_cgroup cg = {};
	struct wl_cgroup c = {};
	int k, seen = 0, idle = 0;
	pid_t pid = -1;

	if (!fx_cgroup_ready(&c, "sleeper"))
		goto out;
	pid = wl_cgroup_fork(&c);
	if (pid == 0)
		wl_timer_sleep_forever();
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	for (k = 0; k < 16; k++) {
		if (!ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
			goto out;
		if (fx_read_cgroup(c.id, &cg) || cg.seq != w.seq || !cg.wakeups)
			continue;
		seen++;
		idle += cg.class == KSENSE_CLASS_IDLE;
		if (seen == 8)
			break;
	}
	print_cg("sleeper", &cg);
	ASSERT_EQ(seen, 8, "eight windows with its wakeups");
	ASSERT_EQ(idle, seen, "IDLE in every one");
	ASSERT_GE(cg.s_permille, 700, "asleep most of the window");
	ASSERT_GE(cg.wait_ns.timer * 10, (cg.s_ns + cg.d_ns) * 9, "timers end >= 90 % of it");
	ASSERT_LT(cg.wait_permille, 100, "hardly any of it is waiting");
out:
	wl_reap(pid);
	wl_cgroup_destroy(&c);
}
