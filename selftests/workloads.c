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
#include <time.h>
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

/* Spin on the CPU for ms of this thread's CPU time. */
static void burn_cpu_ms(int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		burn_sink++;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000ll + (t.tv_nsec - t0.tv_nsec) < ms * 1000000ll);
}

static void *burn_thread(void *unused)
{
	(void)unused;
	wl_burn_forever();
}

void wl_busy_peer_forever(int lfd, int burn_ms)
{
	pthread_t th;
	char b[16];
	int fd = accept(lfd, NULL, NULL);

	/* saturated: a thread that always computes, beside the one that answers */
	if (pthread_create(&th, NULL, burn_thread, NULL))
		_exit(1);

	for (;;) {
		if (recv(fd, b, sizeof(b), 0) <= 0)
			_exit(0);
		burn_cpu_ms(burn_ms);
		if (send(fd, "a", 1, 0) != 1)
			_exit(0);
	}
}

static pthread_mutex_t wl_lock = PTHREAD_MUTEX_INITIALIZER;

static void *lock_thread(void *unused)
{
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&wl_lock);
		/* CPU time, not wall time: on a busy machine the holder is
		 * preempted with the lock held, and the others wait on */
		burn_cpu_ms(2);
		pthread_mutex_unlock(&wl_lock);
		/* let a waiter take it: a hand-off, not this thread again */
		sched_yield();
	}
	return NULL;
}

void wl_lock_forever(int nthreads)
{
	pthread_t th;
	int i;

	if (nthreads < 2)
		nthreads = 2;
	if (nthreads > WL_MAX_THREADS)
		nthreads = WL_MAX_THREADS;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&th, NULL, lock_thread, NULL))
			_exit(1);
	lock_thread(NULL);
	_exit(0);
}

void wl_periodic_forever(int cpu)
{
	const struct timespec one_ms = { 0, 1000000 };
	struct timespec t0, t;

	pin(cpu);
	for (;;) {
		nanosleep(&one_ms, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			burn_sink++;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while ((t.tv_sec - t0.tv_sec) * 1000000000ll + (t.tv_nsec - t0.tv_nsec) < 50000);
	}
}

void wl_burn_on_forever(int cpu)
{
	pin(cpu);
	wl_burn_forever();
}

void wl_timer_sleep_forever(void)
{
	const struct timespec ten_ms = { 0, 10000000 };

	for (;;)
		nanosleep(&ten_ms, NULL);
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
	/* the twin, from its leaf up to (and with) its base */
	while (c->cpu_dir[0] && c->cpu_base[0] && strlen(c->cpu_dir) >= strlen(c->cpu_base)) {
		char *slash;

		rmdir(c->cpu_dir);
		slash = strrchr(c->cpu_dir, '/');
		if (!slash || strlen(c->cpu_dir) == strlen(c->cpu_base))
			break;
		*slash = '\0';
	}
	c->dir[0] = c->base[0] = c->cpu_dir[0] = c->cpu_base[0] = '\0';
}

int wl_write_str(const char *dir, const char *file, const char *s)
{
	char path[900];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = ks_write_all(fd, s, strlen(s));
	close(fd);
	return err;
}

int wl_cpu_v1_mount(char *buf, size_t len)
{
	return ks_cgroup_v1_mount("cpu", buf, len);
}

/* Whether cgroup2 at mnt offers the cpu controller (pure v2, or hybrid with
 * cpu not bound to v1). */
static bool v2_has_cpu(const char *mnt)
{
	char path[300], line[512];
	bool has = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		char *tok, *save = NULL;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, "cpu"))
				has = true;
	}
	fclose(f);
	return has;
}

int wl_mkdirs(const char *path)
{
	char tmp[1200], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) && errno != EEXIST ? -errno : 0;
}

int wl_cgroup_cpu_limit(struct wl_cgroup *c, unsigned int quota_us, unsigned int period_us)
{
	char mnt[256], v1[256], val[64], lvl[900];
	size_t mlen;
	char *p;
	int err;

	if (ks_cgroup2_mount(mnt, sizeof(mnt)))
		return -ENOENT;
	mlen = strlen(mnt);
	if (strncmp(c->base, mnt, mlen) || strncmp(c->dir, c->base, strlen(c->base)))
		return -EINVAL;
	if (!wl_cpu_v1_mount(v1, sizeof(v1))) {
		/* the twin: the same path under the cpu mount, every level */
		snprintf(c->cpu_base, sizeof(c->cpu_base), "%s%s", v1, c->base + mlen);
		snprintf(c->cpu_dir, sizeof(c->cpu_dir), "%s%s", v1, c->dir + mlen);
		err = wl_mkdirs(c->cpu_dir);
		if (err)
			return err;
		snprintf(val, sizeof(val), "%u", period_us);
		err = wl_write_str(c->cpu_dir, "cpu.cfs_period_us", val);
		snprintf(val, sizeof(val), "%u", quota_us);
		return err ? err : wl_write_str(c->cpu_dir, "cpu.cfs_quota_us", val);
	}
	if (!v2_has_cpu(mnt))
		return -EOPNOTSUPP;
	/* "+cpu" in every level above dir, from the root down */
	snprintf(lvl, sizeof(lvl), "%s", c->dir);
	err = wl_write_str(mnt, "cgroup.subtree_control", "+cpu");
	for (p = lvl + mlen + 1; !err && (p = strchr(p, '/')); p++) {
		*p = '\0';
		err = wl_write_str(lvl, "cgroup.subtree_control", "+cpu");
		*p = '/';
	}
	if (err)
		return err;
	c->cpu_v2 = true;
	snprintf(val, sizeof(val), "%u %u", quota_us, period_us);
	return wl_write_str(c->dir, "cpu.max", val);
}

int wl_cgroup_cpu_stat(const struct wl_cgroup *c, struct wl_cpu_stat *out)
{
	char path[900], key[64];
	unsigned long long v;
	FILE *f;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/cpu.stat", c->cpu_dir[0] ? c->cpu_dir : c->dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		if (!strcmp(key, "nr_periods"))
			out->nr_periods = v;
		else if (!strcmp(key, "nr_throttled"))
			out->nr_throttled = v;
		else if (!strcmp(key, "throttled_time"))
			out->throttled_ns = v;
		else if (!strcmp(key, "throttled_usec"))
			out->throttled_ns = v * 1000;
	}
	fclose(f);
	return 0;
}

int wl_cgroup_enter(const struct wl_cgroup *c)
{
	char pid_s[16];
	int err;

	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	err = wl_write_str(c->dir, "cgroup.procs", pid_s);
	if (!err && c->cpu_dir[0])
		err = wl_write_str(c->cpu_dir, "cgroup.procs", pid_s);
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
