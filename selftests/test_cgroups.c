// SPDX-License-Identifier: GPL-2.0
/*
 * Per-cgroup classes from labeled workloads: each runs as a process in its
 * own cgroup2 cgroup laid out like the kubelet's (kubepods.slice/.../
 * kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope): a CPU
 * burner, an fsync writer, a client waiting on a slow loopback peer and an
 * idle sleeper.  Each must get its class within a few windows, and the
 * burner's samples must point into its hot function.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fixture.h"
#include "fsutil.h"
#include "pins.h"
#include "symbolize.h"

#define NR_WL 4

static volatile unsigned long long sink;

/* The burner's hot function: its address must show in the samples. */
__attribute__((noinline)) void ksense_burn_cycles(void)
{
	unsigned long long i;

	for (i = 0; i < 100000000ull; i++)
		sink += i * 2654435761u;
}

static void burner(void)
{
	for (;;)
		ksense_burn_cycles();
}

static void writer(void)
{
	char buf[4096], path[64];
	int fd;

	memset(buf, 'w', sizeof(buf));
	snprintf(path, sizeof(path), "/var/tmp/ksense-cg-writer-%d", getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	unlink(path);
	for (;;)
		if (pwrite(fd, buf, sizeof(buf), 0) < 0 || fsync(fd))
			_exit(1);
}

/* A client of a peer that answers each request after 100 ms. */
static void waiter(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char b[16];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(1);
	for (;;)
		if (send(fd, "q", 1, 0) != 1 || recv(fd, b, sizeof(b), 0) <= 0)
			_exit(0);
}

static void slow_peer(int lfd)
{
	char b[16];
	int fd = accept(lfd, NULL, NULL);

	for (;;) {
		if (recv(fd, b, sizeof(b), 0) <= 0)
			_exit(0);
		usleep(100000);
		if (send(fd, "a", 1, 0) != 1)
			_exit(0);
	}
}

static const char *names[NR_WL] = { "burner", "writer", "waiter", "sleeper" };
static const __u32 want[NR_WL] = { KSENSE_CLASS_CPU, KSENSE_CLASS_BLOCK, KSENSE_CLASS_OFFCPU, KSENSE_CLASS_IDLE };

KS_TEST(cgroup_classes)
{
	char mnt[256], base[512], dir[NR_WL][768], procs[800], pid_s[16], out[256];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	pid_t pids[NR_WL + 1] = {};
	__u64 cgid[NR_WL] = {};
	struct ksense_cgroup cg[NR_WL];
	struct ksense_window w = {};
	int i, k, lfd = -1, fd = -1, done = 0;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (ks_cgroup2_mount(mnt, sizeof(mnt))) {
		test__skip("no cgroup2 mount");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	snprintf(base, sizeof(base), "%s/kubepods.slice-ksense-test-%d", mnt, getpid());
	if (!ASSERT_OK(mkdir(base, 0755), "mkdir base"))
		return;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), "bind") ||
	    !ASSERT_OK(listen(lfd, 4), "listen") ||
	    !ASSERT_OK(getsockname(lfd, (struct sockaddr *)&sa, &sl), "getsockname"))
		goto out;
	pids[NR_WL] = fork();
	if (pids[NR_WL] == 0)
		slow_peer(lfd);
	for (i = 0; i < NR_WL; i++) {
		struct stat st;

		snprintf(dir[i], sizeof(dir[i]), "%s/kubepods-burstable-pod%08d-%s.slice", base, i, names[i]);
		if (!ASSERT_OK(mkdir(dir[i], 0755), "mkdir") || !ASSERT_OK(stat(dir[i], &st), "stat"))
			goto out;
		cgid[i] = st.st_ino; /* a cgroup2 cgroup's id is its directory's inode */
		pids[i] = fork();
		if (pids[i] == 0) {
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir[i]);
			snprintf(pid_s, sizeof(pid_s), "%d", getpid());
			fd = open(procs, O_WRONLY);
			if (fd < 0 || ks_write_all(fd, pid_s, strlen(pid_s)))
				_exit(2);
			close(fd);
			switch (i) {
			case 0: burner(); break;
			case 1: writer(); break;
			case 2: waiter(ntohs(sa.sin_port)); break;
			default: pause();
			}
			_exit(0);
		}
	}
	/* the hysteresis needs 3 windows of 250 ms; allow 24 */
	for (k = 0; k < 24 && done != NR_WL; k++) {
		int m = ks_pin_open(KSENSE_PIN_CGROUPS);

		fx_wait_window(w.seq, &w, 3000);
		done = 0;
		for (i = 0; i < NR_WL; i++) {
			memset(&cg[i], 0, sizeof(cg[i]));
			if (m >= 0 && !bpf_map_lookup_elem(m, &cgid[i], &cg[i]) && cg[i].class == want[i])
				done++;
		}
		if (m >= 0)
			close(m);
	}
	for (i = 0; i < NR_WL; i++) {
		snprintf(out, sizeof(out), "%s class", names[i]);
		printf("    %-8s class %u (want %u): on-CPU %u‰ D %u‰ S %u‰ wakeups %llu samples %llu io %llu\n",
		       names[i], cg[i].class, want[i], cg[i].on_cpu_permille, cg[i].d_permille, cg[i].s_permille,
		       (unsigned long long)cg[i].wakeups, (unsigned long long)cg[i].samples,
		       (unsigned long long)cg[i].io_count);
		ASSERT_EQ(cg[i].class, want[i], out);
	}
	ASSERT_GT(cg[1].io_count, 0, "writer's block I/O attributed to its cgroup");
	if (test__start_subtest("burner_hot_function")) {
		struct ksense_stack_key key = {}, next;
		__u64 in_fn = 0, total = 0, count;
		bool first = true;
		int m = ks_pin_open(KSENSE_PIN_STACKS);
		unsigned long fn = (unsigned long)ksense_burn_cycles;

		/* the child is a fork of this process: same addresses */
		while (m >= 0 && !bpf_map_get_next_key(m, first ? NULL : &key, &next)) {
			first = false;
			key = next;
			if (key.cgroup_id != cgid[0] || bpf_map_lookup_elem(m, &key, &count))
				continue;
			total += count;
			if (key.addr >= fn && key.addr < fn + 256)
				in_fn += count;
		}
		if (m >= 0)
			close(m);
		printf("    burner samples: %llu, in ksense_burn_cycles: %llu\n", (unsigned long long)total,
		       (unsigned long long)in_fn);
		ASSERT_GT(total, 10, "burner sampled at 99 Hz");
		ASSERT_GE(in_fn * 10, total * 8, "most samples in the hot function");
		{
			struct ks_symbolizer *sy = ks_symbolizer_new();
			char name[256];

			/* the burner is a separate process: name its address from
			 * its own mappings, as the agent does */
			if (ASSERT_OK_PTR(sy, "symbolizer")) {
				ASSERT_EQ(ks_symbolize(sy, pids[0], fn + 8, name, sizeof(name)), 0, "symbolized");
				ASSERT_STRHAS(name, "ksense_burn_cycles+0x8", "burner's hot function by name");
				ks_symbolizer_free(sy);
			}
		}
	}
out:
	for (i = 0; i <= NR_WL; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	if (lfd >= 0)
		close(lfd);
	for (i = 0; i < NR_WL; i++)
		if (dir[i][0])
			rmdir(dir[i]);
	rmdir(base);
}
