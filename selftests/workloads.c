// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "fsutil.h"
#include "workloads.h"

struct wl_arg {
	struct workload *w;
	int idx;
};

static struct wl_arg args[WL_MAX_THREADS];

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *wl_thread(void *p)
{
	struct wl_arg *a = p;
	struct workload *w = a->w;
	char buf[4096];
	volatile unsigned long long x = 0;

	pin(w->cpu);
	w->tid[a->idx] = (pid_t)syscall(SYS_gettid);
	__atomic_add_fetch(&w->started, 1, __ATOMIC_SEQ_CST);
	memset(buf, 'k', sizeof(buf));
	while (!w->stop) {
		switch (w->kind) {
		case WL_SPIN:
			x++;
			break;
		case WL_FSYNC:
			/* fsync of fresh data waits for the disk in D state */
			if (pwrite(w->fds[0], buf, sizeof(buf), (off_t)(w->ops % 256) * 4096) < 0 ||
			    fsync(w->fds[0]))
				return NULL;
			__atomic_add_fetch(&w->ops, 1, __ATOMIC_RELAXED);
			break;
		case WL_UDP:
			if (a->idx == 0) {
				if (recv(w->fds[0], buf, sizeof(buf), MSG_DONTWAIT) > 0)
					__atomic_add_fetch(&w->ops, 1, __ATOMIC_RELAXED);
				else
					sched_yield();
			} else {
				send(w->fds[1], buf, 512, MSG_DONTWAIT);
			}
			break;
		}
	}
	return NULL;
}

static int udp_pair(struct workload *w)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->fds[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	w->fds[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (w->fds[0] < 0 || w->fds[1] < 0)
		return -errno;
	if (bind(w->fds[0], (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(w->fds[0], (struct sockaddr *)&sa, &len) ||
	    connect(w->fds[1], (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

int wl_start(struct workload *w, enum wl_kind kind, int nr, int cpu)
{
	int i, err;

	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->cpu = cpu;
	w->fds[0] = w->fds[1] = -1;
	if (nr > WL_MAX_THREADS)
		nr = WL_MAX_THREADS;
	if (kind == WL_UDP) {
		nr = 2;
		err = udp_pair(w);
		if (err)
			goto fail;
	} else if (kind == WL_FSYNC) {
		snprintf(w->path, sizeof(w->path), "/var/tmp/ksense-fsync-%d", getpid());
		w->fds[0] = open(w->path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
		if (w->fds[0] < 0) {
			err = -errno;
			goto fail;
		}
	}
	for (i = 0; i < nr; i++) {
		args[i].w = w;
		args[i].idx = i;
		err = -pthread_create(&w->th[i], NULL, wl_thread, &args[i]);
		if (err) {
			w->stop = true;
			while (i-- > 0)
				pthread_join(w->th[i], NULL);
			goto fail;
		}
	}
	w->nr = nr;
	while (__atomic_load_n(&w->started, __ATOMIC_SEQ_CST) < nr)
		usleep(1000);
	return 0;
fail:
	wl_stop(w);
	return err;
}

void wl_stop(struct workload *w)
{
	int i;

	w->stop = true;
	for (i = 0; i < w->nr; i++)
		pthread_join(w->th[i], NULL);
	w->nr = 0;
	for (i = 0; i < 2; i++) {
		if (w->fds[i] >= 0)
			close(w->fds[i]);
		w->fds[i] = -1;
	}
	if (w->path[0])
		unlink(w->path);
	w->path[0] = '\0';
}

static volatile unsigned long long burn_sink;

/* noinline: the tests look for its address in the sampled stacks */
__attribute__((noinline)) void ksense_burn_cycles(void)
{
	unsigned long long i;

	for (i = 0; i < 100000000ull; i++)
		burn_sink += i * 2654435761u;
}

void wl_burn_forever(void)
{
	for (;;)
		ksense_burn_cycles();
}

void wl_fsync_forever(void)
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

void wl_wait_peer_forever(int port)
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

void wl_slow_peer_forever(int lfd)
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

int wl_cgroup_create(struct wl_cgroup *c, const char *tag)
{
	char mnt[256];
	struct stat st;
	int err;

	memset(c, 0, sizeof(*c));
	if (ks_cgroup2_mount(mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(c->base, sizeof(c->base), "%s/kubepods.slice-ksense-%s-%d", mnt, tag, getpid());
	if (mkdir(c->base, 0755)) {
		err = -errno;
		c->base[0] = '\0';
		return err;
	}
	snprintf(c->dir, sizeof(c->dir), "%s/kubepods-burstable-pod%s.slice", c->base, tag);
	if (mkdir(c->dir, 0755) || stat(c->dir, &st)) {
		err = -errno;
		wl_cgroup_destroy(c);
		return err;
	}
	c->id = st.st_ino;
	return 0;
}

void wl_cgroup_destroy(struct wl_cgroup *c)
{
	if (c->dir[0])
		rmdir(c->dir);
	if (c->base[0])
		rmdir(c->base);
	c->dir[0] = c->base[0] = '\0';
}

int wl_cgroup_enter(const struct wl_cgroup *c)
{
	char procs[800], pid_s[16];
	int fd, err = 0;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->dir);
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = ks_write_all(fd, pid_s, strlen(pid_s));
	close(fd);
	return err;
}

pid_t wl_cgroup_fork(const struct wl_cgroup *c)
{
	pid_t pid = fork();

	if (pid == 0 && wl_cgroup_enter(c))
		_exit(2);
	return pid;
}

void wl_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
