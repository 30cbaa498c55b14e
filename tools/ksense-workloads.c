// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-workloads: the labeled workloads of the tests, for a person (or a
 * test) to watch ksense classify them: a CPU burner with a named hot
 * function, an fsync writer, a client of a slow loopback peer, an idle
 * sleeper, the burner held by a CPU limit (and the Go burner when it is
 * built), each alone in a pod cgroup
 * laid out as the kubelet's systemd driver with containerd lays it out:
 *
 *   <cgroup2>/<prefix>/kubepods.slice/kubepods-burstable.slice/
 *       kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
 *
 * With ksense loaded and ksense-webhook running, `curl
 * http://127.0.0.1:5000/pods` shows each pod's class and hot functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fsutil.h"
#include "opts.h"
#include "version.h"
#include "workloads.h"

enum { W_BURNER, W_WRITER, W_WAITER, W_SLEEPER, W_GO, W_CAPPED, W_LOCKER, W_NAPPER, W_SERVER, W_CLIENT, W_NR };

static const struct {
	const char *name;
	const char *expect;
	const char *uid;     /* fixed, so tests and people can find them */
} wl[W_NR] = {
	{ "burner", "CPU", "6b73656e-7365-4000-8000-000000000001" },
	{ "writer", "BLOCK", "6b73656e-7365-4000-8000-000000000002" },
	{ "waiter", "OFFCPU", "6b73656e-7365-4000-8000-000000000003" },
	{ "sleeper", "IDLE", "6b73656e-7365-4000-8000-000000000004" },
	{ "go-burner", "CPU", "6b73656e-7365-4000-8000-000000000005" },
	{ "capped", "THROTTLED", "6b73656e-7365-4000-8000-000000000006" },
	{ "locker", "OFFCPU/LOCK", "6b73656e-7365-4000-8000-000000000007" },
	{ "napper", "IDLE", "6b73656e-7365-4000-8000-000000000008" },
	{ "server", "CPU", "6b73656e-7365-4000-8000-000000000009" },
	{ "client", "OFFCPU/DEPENDENCY", "6b73656e-7365-4000-8000-00000000000a" },
};

/* the server pod's listening socket, for it and its client */
static int server_lfd = -1, server_port;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense-workloads [--seconds N] [--prefix NAME] [--go PATH] [--only LIST] [--json]\n"
		"\n"
		"Runs labeled workloads, each alone in a kubelet-style pod cgroup\n"
		"(systemd driver, containerd) under the cgroup2 mount, until N seconds have\n"
		"passed (default 60; 0: until SIGINT/SIGTERM), then removes them:\n"
		"  burner   CPU     spins in ksense_burn_cycles()\n"
		"  writer   BLOCK   rewrites 4 KiB of a file in /var/tmp and fsyncs it\n"
		"  waiter   OFFCPU  asks a loopback peer that answers after 100 ms\n"
		"  sleeper  IDLE    pause()\n"
		"  go-burner CPU    build/go-burner (main.burnCycles) when it exists (--go PATH)\n"
		"  capped   THROTTLED  the burner held to 200m by a CFS quota on its container\n"
		"                   (cgroup v1 cpu.cfs_quota_us twin, or cgroup2 cpu.max), when\n"
		"                   the kernel offers one\n"
		"  locker   OFFCPU/LOCK  four threads serialized on one mutex\n"
		"  napper   IDLE    sleeps 10 ms on a timer, forever\n"
		"  server   CPU     answers each request after 40 ms of CPU (loopback TCP),\n"
		"                   another thread computing all the time\n"
		"  client   OFFCPU/DEPENDENCY  asks the server, forever: its dependency is the\n"
		"                   server's pod\n"
		"\n"
		"  --prefix NAME  parent of kubepods.slice under the cgroup2 mount\n"
		"                 (default ksense-demo, so a real kubelet's tree is untouched)\n"
		"  --only LIST    only these workloads (comma-separated names), e.g.\n"
		"                 --only server,client\n"
		"  --json         one JSON line per workload on stdout (name, uid,\n"
		"                 container_id, cgroup, pid, expect), then 'ready'\n"
		"  --version      version, commit and pin schema\n"
		"\n"
		"Needs root (it writes cgroup.procs).  With `ksense load` and\n"
		"`ksense-webhook --no-tls` running:  curl http://127.0.0.1:5000/pods\n");
}

struct pod {
	char dir[1024];      /* the pod's slice */
	char scope[1200];    /* the container's scope */
	char cid[65];
	pid_t pid;
	struct wl_cgroup quota; /* W_CAPPED: the scope with its CPU limit */
};

static int enter(const char *scope)
{
	char procs[1300], pid[16];
	int fd, err;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", scope);
	snprintf(pid, sizeof(pid), "%d", getpid());
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = ks_write_all(fd, pid, strlen(pid));
	close(fd);
	return err;
}

static pid_t spawn(struct pod *p, int kind, int peer_port, const char *go)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (kind == W_CAPPED ? wl_cgroup_enter(&p->quota) : enter(p->scope)) {
		fprintf(stderr, "ksense-workloads: cannot enter %s: %s\n", p->scope, strerror(errno));
		_exit(2);
	}
	switch (kind) {
	case W_BURNER:
	case W_CAPPED:
		wl_burn_forever();
	case W_WRITER:
		wl_fsync_forever();
	case W_WAITER:
		wl_wait_peer_forever(peer_port);
	case W_GO:
		execl(go, go, (char *)NULL);
		_exit(127);
	case W_LOCKER:
		wl_lock_forever(4);
	case W_NAPPER:
		wl_timer_sleep_forever();
	case W_SERVER:
		wl_busy_peer_forever(server_lfd, 40);
	case W_CLIENT:
		wl_wait_peer_forever(server_port);
	default:
		for (;;)
			pause();
	}
}

/* name is in the comma-separated list (NULL: every workload) */
static bool wanted(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if (!list)
		return true;
	for (p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* Every name in the list is a workload's. */
static bool only_valid(const char *list)
{
	const char *p;
	int i;

	if (!*list)
		return false;
	for (p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		size_t n = strchr(p, ',') ? (size_t)(strchr(p, ',') - p) : strlen(p);

		for (i = 0; i < W_NR; i++)
			if (strlen(wl[i].name) == n && !strncmp(p, wl[i].name, n))
				break;
		if (i == W_NR)
			return false;
	}
	return true;
}

static void reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	const char *prefix = "ksense-demo", *go = "build/go-burner", *only = NULL;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct pod pod[W_NR] = {};
	char mnt[256], base[700];
	bool json = false, have_go;
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "seconds", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "go", required_argument, NULL, 'g' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	unsigned int seconds = 60;
	struct ks_opts p;
	pid_t peer = -1;
	int i, lfd = -1, status = 1;
	time_t end;

	ks_opts_init(&p, "ksense-workloads", argc, argv, "h", longopts);
	while ((i = ks_opts_next(&p)) != -1) {
		switch (i) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			ks_print_version(stdout, "ksense-workloads");
			return 0;
		case 'j':
			json = true;
			break;
		case 's':
			if (ks_opt_uint(p.prog, p.name, p.value, 0, 86400, &seconds))
				return 2;
			break;
		case 'p':
			prefix = p.value;
			if (!*prefix || strchr(prefix, '/') || strstr(prefix, "..") || strlen(prefix) > 100) {
				fprintf(stderr, "ksense-workloads: %s: '%s' is not a plain name of up to 100 characters\n",
					p.name, prefix);
				return 2;
			}
			break;
		case 'g':
			go = p.value;
			break;
		case 'o':
			only = p.value;
			if (!only_valid(only)) {
				fprintf(stderr, "ksense-workloads: %s: '%s' is not a comma-separated list of names of "
					"workloads (see --help)\n", p.name, only);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (ks_opts_operands(&p, 0, &i))
		return 2;
	if (geteuid()) {
		fprintf(stderr, "ksense-workloads: must run as root (it moves processes between cgroups)\n");
		return 1;
	}
	if (ks_cgroup2_mount(mnt, sizeof(mnt))) {
		fprintf(stderr, "ksense-workloads: no cgroup2 mount in /proc/self/mounts\n");
		return 1;
	}
	have_go = access(go, X_OK) == 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	snprintf(base, sizeof(base), "%s/%s/kubepods.slice/kubepods-burstable.slice", mnt, prefix);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		fprintf(stderr, "ksense-workloads: loopback peer: %s\n", strerror(errno));
		goto out;
	}
	server_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_port = 0;
	sl = sizeof(sa);
	if (server_lfd < 0 || bind(server_lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(server_lfd, 4) ||
	    getsockname(server_lfd, (struct sockaddr *)&sa, &sl)) {
		fprintf(stderr, "ksense-workloads: server socket: %s\n", strerror(errno));
		goto out;
	}
	server_port = ntohs(sa.sin_port);
	/* the slow peer of the waiter: the first socket's port */
	sl = sizeof(sa);
	if (getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		fprintf(stderr, "ksense-workloads: loopback peer: %s\n", strerror(errno));
		goto out;
	}
	peer = fork();
	if (peer == 0)
		wl_slow_peer_forever(lfd);
	for (i = 0; i < W_NR; i++) {
		char uid_sd[64], dir[sizeof(pod[0].dir)], scope[sizeof(pod[0].scope)], *c;
		int err;

		if ((i == W_GO && !have_go) || !wanted(only, wl[i].name))
			continue;
		/* the systemd driver writes the pod UID with '_' for '-' */
		snprintf(uid_sd, sizeof(uid_sd), "%s", wl[i].uid);
		for (c = uid_sd; *c; c++)
			if (*c == '-')
				*c = '_';
		snprintf(pod[i].cid, sizeof(pod[i].cid), "%064x", 0x6b730000 + i);
		/* built in locals: gcc takes two fields of pod[] for one object */
		snprintf(dir, sizeof(dir), "%.700s/kubepods-burstable-pod%.63s.slice", base, uid_sd);
		snprintf(scope, sizeof(scope), "%.1000s/cri-containerd-%.64s.scope", dir, pod[i].cid);
		memcpy(pod[i].dir, dir, sizeof(pod[i].dir));
		memcpy(pod[i].scope, scope, sizeof(pod[i].scope));
		err = wl_mkdirs(pod[i].scope);
		if (err) {
			fprintf(stderr, "ksense-workloads: mkdir %s: %s\n", pod[i].scope, strerror(-err));
			goto out;
		}
		if (i == W_CAPPED) {
			snprintf(pod[i].quota.base, sizeof(pod[i].quota.base), "%s/%s", mnt, prefix);
			snprintf(pod[i].quota.dir, sizeof(pod[i].quota.dir), "%.760s", scope);
			err = wl_cgroup_cpu_limit(&pod[i].quota, 20000, 100000);
			if (err) {
				fprintf(stderr, "ksense-workloads: capped left out: no CFS quota on %s: %s\n", pod[i].scope,
					strerror(-err));
				rmdir(pod[i].scope);
				rmdir(pod[i].dir);
				pod[i].scope[0] = pod[i].dir[0] = '\0';
				continue;
			}
		}
		pod[i].pid = spawn(&pod[i], i, ntohs(sa.sin_port), go);
		if (pod[i].pid < 0) {
			fprintf(stderr, "ksense-workloads: fork: %s\n", strerror(errno));
			goto out;
		}
		if (json)
			printf("{\"name\":\"%s\",\"uid\":\"%s\",\"container_id\":\"%s\",\"cgroup\":\"%s\",\"pid\":%d,"
			       "\"expect\":\"%s\"}\n", wl[i].name, wl[i].uid, pod[i].cid, pod[i].scope, pod[i].pid,
			       wl[i].expect);
		else
			printf("%-9s %-6s pid %-7d pod %s\n          %s\n", wl[i].name, wl[i].expect, pod[i].pid,
			       wl[i].uid, pod[i].scope);
	}
	printf(json ? "ready\n" : "running %u s (0: until Ctrl-C); curl http://127.0.0.1:5000/pods\n", seconds);
	fflush(stdout);
	end = time(NULL) + seconds;
	while (!stop && (!seconds || time(NULL) < end))
		sleep(1);
	status = 0;
out:
	for (i = 0; i < W_NR; i++)
		reap(pod[i].pid);
	reap(peer);
	if (lfd >= 0)
		close(lfd);
	if (server_lfd >= 0)
		close(server_lfd);
	for (i = 0; i < W_NR; i++) {
		if (pod[i].scope[0])
			rmdir(pod[i].scope);
		if (pod[i].dir[0])
			rmdir(pod[i].dir);
		/* the cgroup v1 twin of a limited pod, up to the prefix */
		pod[i].quota.dir[0] = pod[i].quota.base[0] = '\0';
		wl_cgroup_destroy(&pod[i].quota);
	}
	/* the shared levels go when empty (another instance may hold them) */
	rmdir(base);
	snprintf(base, sizeof(base), "%s/%s/kubepods.slice", mnt, prefix);
	rmdir(base);
	snprintf(base, sizeof(base), "%s/%s", mnt, prefix);
	rmdir(base);
	return status;
}
