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
#include <poll.h>
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
#include "webhook/symbolize.h"
#include "workloads.h"

#define NR_WL 4

static const char *names[NR_WL] = { "burner", "writer", "waiter", "sleeper" };
static const __u32 want[NR_WL] = { KSENSE_CLASS_CPU, KSENSE_CLASS_BLOCK, KSENSE_CLASS_OFFCPU, KSENSE_CLASS_IDLE };

KS_TEST_LIVE(cgroup_classes)
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
		wl_slow_peer_forever(lfd);
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
			case 0: wl_burn_forever();
			case 1: wl_fsync_forever(); break;
			case 2: wl_wait_peer_forever(ntohs(sa.sin_port)); break;
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

/* The Go burner: $KSENSE_GO_BURNER, or go-burner beside the CLI under test
 * (build/, or /ksense in the vmtest guest). */
static int go_burner_path(char *buf, size_t len)
{
	const char *env = getenv("KSENSE_GO_BURNER"), *bin = fx_bin(), *slash;

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if ((slash = strrchr(bin, '/')))
		snprintf(buf, len, "%.*s/go-burner", (int)(slash - bin), bin);
	else
		snprintf(buf, len, "go-burner");
	return access(buf, X_OK) ? -errno : 0;
}

/* Wait for the child's first line on fd: its runtime is up. */
static int wait_line(int fd, const char *want, int timeout_ms)
{
	char buf[256];
	size_t used = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (used < sizeof(buf) - 1) {
		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			return -EPIPE;
		used += n;
		buf[used] = '\0';
		if (strstr(buf, want))
			return 0;
	}
	return -E2BIG;
}

#define MAX_FNS 32

struct fn_count {
	char name[128];
	__u64 samples;
};

/* Samples of cgroup cgid by function, symbolized in process pid; the
 * function with most samples into top (its samples into *top_samples).
 * Returns the cgroup's total. */
static __u64 top_function(__u64 cgid, pid_t pid, char *top, size_t toplen, __u64 *top_samples)
{
	struct ks_symbolizer *sy = ks_symbolizer_new();
	struct ksense_stack_key key = {}, next;
	struct fn_count fns[MAX_FNS] = {};
	__u64 total = 0, count;
	int m = ks_pin_open(KSENSE_PIN_STACKS), nfns = 0, i, best = -1;
	bool first = true;
	char name[256];

	top[0] = '\0';
	*top_samples = 0;
	while (sy && m >= 0 && !bpf_map_get_next_key(m, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (key.cgroup_id != cgid || bpf_map_lookup_elem(m, &key, &count))
			continue;
		total += count;
		ks_symbolize(sy, pid, key.addr, name, sizeof(name));
		name[strcspn(name, "+")] = '\0'; /* the function, not the offset */
		for (i = 0; i < nfns && strcmp(fns[i].name, name); i++)
			;
		if (i == nfns) {
			if (nfns == MAX_FNS)
				continue;
			snprintf(fns[nfns++].name, sizeof(fns[0].name), "%.127s", name);
		}
		fns[i].samples += count;
	}
	for (i = 0; i < nfns; i++)
		if (best < 0 || fns[i].samples > fns[best].samples)
			best = i;
	if (best >= 0) {
		snprintf(top, toplen, "%s", fns[best].name);
		*top_samples = fns[best].samples;
	}
	if (m >= 0)
		close(m);
	ks_symbolizer_free(sy);
	return total;
}

/* A Go program: its own runtime threads, a static non-PIE binary and
 * Go-mangled names.  In a kubelet-style cgroup it must be classed CPU, and
 * its samples must name main.burnCycles through the stacks pin and the
 * symbolizer, as the agent's /pods shows it. */
KS_TEST_LIVE(cgroup_go_burner)
{
	char path[512], top[128];
	struct wl_cgroup c = {};
	struct ksense_cgroup cg = {};
	struct ksense_window w = {};
	int pfd[2] = { -1, -1 }, k, m, err;
	pid_t pid = -1;
	__u64 total = 0, in_top = 0;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (go_burner_path(path, sizeof(path))) {
		test__skip("no Go burner at %s: go is not installed (make test-deps installs golang-go, "
			   "then make builds it)", path);
		return;
	}
	err = wl_cgroup_create(&c, "go-burner");
	if (err == -ENOENT) {
		test__skip("no cgroup2 mount");
		return;
	}
	if (!ASSERT_OK(err, "kubelet-style cgroup") || !ASSERT_OK(fx_load(), "fx_load") ||
	    !ASSERT_OK(pipe2(pfd, O_CLOEXEC), "pipe"))
		goto out;
	pid = wl_cgroup_fork(&c);
	if (pid == 0) {
		char *argv[] = { path, NULL };

		dup2(pfd[1], 1);
		execv(path, argv);
		_exit(127);
	}
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	close(pfd[1]);
	pfd[1] = -1;
	if (!ASSERT_OK(wait_line(pfd[0], "go-burner: burning", 20000), "Go burner started"))
		goto out;
	if (test__start_subtest("class_cpu")) {
		/* the hysteresis needs 3 windows of 250 ms; allow 24 */
		for (k = 0; k < 24 && cg.class != KSENSE_CLASS_CPU; k++) {
			fx_wait_window(w.seq, &w, 3000);
			m = ks_pin_open(KSENSE_PIN_CGROUPS);
			if (m < 0 || bpf_map_lookup_elem(m, &c.id, &cg))
				memset(&cg, 0, sizeof(cg));
			ks_close(m);
		}
		printf("    go-burner class %u: on-CPU %u‰ D %u‰ S %u‰ samples %llu\n", cg.class,
		       cg.on_cpu_permille, cg.d_permille, cg.s_permille, (unsigned long long)cg.samples);
		ASSERT_EQ(cg.class, KSENSE_CLASS_CPU, "Go burner classed CPU");
	}
	if (test__start_subtest("top_function_symbolized")) {
		/* at 99 Hz, a second or two of burning gives enough samples */
		for (k = 0; k < 40 && (total = top_function(c.id, pid, top, sizeof(top), &in_top)) < 50; k++)
			fx_wait_window(w.seq, &w, 3000);
		printf("    go-burner samples: %llu, in %s: %llu\n", (unsigned long long)total, top,
		       (unsigned long long)in_top);
		ASSERT_GT(total, 10, "Go burner sampled at 99 Hz");
		ASSERT_OK(strcmp(top, "main.burnCycles"), "top function is main.burnCycles");
	}
out:
	wl_reap(pid);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	wl_cgroup_destroy(&c);
}
