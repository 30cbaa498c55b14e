// SPDX-License-Identifier: GPL-2.0
/*
 * The `reclaim` signal (kern/reclaim.bpf.c): a reader whose memory cgroup
 * is held to 8 MiB streams a 24 MiB file (on a disk: page cache of tmpfs
 * cannot be reclaimed without swap; vmtest's disk holds 64 MiB), so every page it reads is
 * charged over the limit and the task reclaims its own cgroup's page
 * cache first (try_to_free_mem_cgroup_pages).  The windows must count
 * those episodes.  cgroup2's memory.events `max` is raised once right
 * before each such reclaim, so there the windows must hold at least 90 %
 * of its growth (other tasks of the node may add reclaims of their own).
 * cgroup v1 (hybrid hosts) has no such count (memory.failcnt counts every
 * failed charge: 5 to 17 per reclaim seen here, by how much each frees),
 * so there the check is that episodes come with the reader (at least 20
 * in its windows) and go with it (at most a tenth of its rate in the two
 * windows after it is reaped), on cgroup2 too.  The file is clean page
 * cache: reclaim never waits for writeback and nothing is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "fixture.h"
#include "fsutil.h"
#include "pins.h"
#include "workloads.h"

#define LIMIT_MB   8
#define FILE_MB    24
#define TMPFS_MAGIC 0x01021994
#define WINDOWS    4

struct memcg {
	char dir[512];
	bool v2;
};

/* A memory cgroup of our own limited to LIMIT_MB: cgroup v1's memory
 * hierarchy (hybrid hosts), else cgroup2 with the memory controller
 * enabled below its root.  0, -EOPNOTSUPP, or negative errno. */
static int memcg_create(struct memcg *m)
{
	char mnt[256], val[32], ctl[256] = "";
	FILE *f;
	int err;

	snprintf(val, sizeof(val), "%u", LIMIT_MB << 20);
	if (!ks_cgroup_v1_mount("memory", mnt, sizeof(mnt))) {
		snprintf(m->dir, sizeof(m->dir), "%s/ksense-reclaim-%d", mnt, getpid());
		err = wl_mkdirs(m->dir);
		return err ? err : wl_write_str(m->dir, "memory.limit_in_bytes", val);
	}
	if (ks_cgroup2_mount(mnt, sizeof(mnt)))
		return -EOPNOTSUPP;
	snprintf(m->dir, sizeof(m->dir), "%s/cgroup.controllers", mnt);
	f = fopen(m->dir, "re");
	if (f) {
		if (!fgets(ctl, sizeof(ctl), f))
			ctl[0] = '\0';
		fclose(f);
	}
	if (!strstr(ctl, "memory"))
		return -EOPNOTSUPP;
	m->v2 = true;
	err = wl_write_str(mnt, "cgroup.subtree_control", "+memory");
	snprintf(m->dir, sizeof(m->dir), "%s/ksense-reclaim-%d", mnt, getpid());
	if (!err)
		err = wl_mkdirs(m->dir);
	return err ? err : wl_write_str(m->dir, "memory.max", val);
}

/* The kernel's count of the times the cgroup hit its limit. */
static long long memcg_limit_hits(const struct memcg *m)
{
	char path[600], key[64];
	long long v = -1, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", m->dir, m->v2 ? "memory.events" : "memory.failcnt");
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!m->v2) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
	} else {
		while (fscanf(f, "%63s %lld", key, &n) == 2)
			if (!strcmp(key, "max"))
				v = n;
	}
	fclose(f);
	return v;
}

/* FILE_MB of clean page cache, dropped from memory again. */
static int make_file(const char *path)
{
	static char buf[1 << 20];
	int fd, i, err = 0;

	memset(buf, 0x5a, sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (i = 0; i < FILE_MB && !err; i++)
		err = ks_write_all(fd, buf, sizeof(buf));
	if (!err && fsync(fd))
		err = -errno;
	if (!err)
		err = -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return err;
}

static void __attribute__((noreturn)) stream_forever(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		_exit(3);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0 && lseek(fd, 0, SEEK_SET) < 0)
			_exit(4);
	}
}

KS_TEST_LIVE(reclaim_memcg)
{
	struct ksense_window w = {};
	struct statfs sfs;
	struct memcg m = {};
	char path[128], pid_s[16];
	long long hits0, hits1;
	__u64 count = 0, sum_ns = 0, after, seq;
	bool made = false;
	pid_t pid = -1;
	int k, err;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	if (!ASSERT_OK(statfs("/var/tmp", &sfs), "statfs /var/tmp"))
		return;
	if (sfs.f_type == TMPFS_MAGIC) {
		test__skip("/var/tmp is tmpfs: its pages cannot be reclaimed without swap");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	err = memcg_create(&m);
	if (err == -EOPNOTSUPP) {
		test__skip("no memory controller: neither cgroup v1's nor cgroup2's");
		return;
	}
	if (!ASSERT_OK(err, "a memory cgroup held to 8 MiB"))
		goto out;
	made = true;
	snprintf(path, sizeof(path), "/var/tmp/ksense-reclaim-%d", getpid());
	if (!ASSERT_OK(make_file(path), "24 MiB file"))
		goto out;
	pid = fork();
	if (pid == 0) {
		snprintf(pid_s, sizeof(pid_s), "%d", getpid());
		if (wl_write_str(m.dir, "cgroup.procs", pid_s))
			_exit(2);
		stream_forever(path);
	}
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	/* one whole window of streaming before counting */
	if (!ASSERT_OK(fx_wait_window(0, &w, 3000), "window") || !ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
		goto out;
	hits0 = memcg_limit_hits(&m);
	seq = w.seq;
	for (k = 0; k < WINDOWS; k++) {
		if (!ASSERT_OK(fx_wait_window(seq, &w, 3000), "window") || !ASSERT_EQ(w.seq, seq + 1, "no window missed"))
			goto out;
		seq = w.seq;
		count += w.reclaim.count;
		sum_ns += w.reclaim.sum_ns;
		printf("    window %llu: reclaim %llu episodes, %llu us, avg %llu p50 %llu p99 %llu max %llu ns\n",
		       (unsigned long long)w.seq, (unsigned long long)w.reclaim.count,
		       (unsigned long long)w.reclaim.sum_ns / 1000, (unsigned long long)w.reclaim.avg_ns,
		       (unsigned long long)w.reclaim.p50_ns, (unsigned long long)w.reclaim.p99_ns,
		       (unsigned long long)w.reclaim.max_ns);
		if (w.reclaim.count) {
			ASSERT_EQ(w.reclaim.avg_ns, w.reclaim.sum_ns / w.reclaim.count, "avg = sum / count");
			ASSERT_TRUE(w.reclaim.p50_ns <= w.reclaim.p99_ns && w.reclaim.p99_ns <= w.reclaim.max_ns,
				    "p50 <= p99 <= max");
		}
	}
	hits1 = memcg_limit_hits(&m);
	printf("    %llu episodes, %llu ms in %d windows; the cgroup hit its limit %lld times (%s)\n",
	       (unsigned long long)count, (unsigned long long)sum_ns / 1000000, WINDOWS, hits1 - hits0,
	       m.v2 ? "memory.events max" : "memory.failcnt");
	if (!ASSERT_GE(hits0, 0, "limit hits readable"))
		goto out;
	ASSERT_GE(hits1 - hits0, 20, "the reader hits its limit");
	ASSERT_GE(count, 20, "reclaim episodes counted");
	ASSERT_GT(sum_ns, 0, "reclaim time counted");
	if (m.v2) {
		ASSERT_GE(count * 10, (__u64)(hits1 - hits0) * 9, ">= 90 % of memory.events max");
		/* nothing else reclaims in a quiet guest; an episode across a
		 * read of the counter lands on either side */
		ASSERT_LE(count * 10, (__u64)(hits1 - hits0) * 11 + 100, "<= 110 % of memory.events max + 10");
	}

	/* the reader gone, its episodes go: a window after it is reaped
	 * (the first may hold its last ones), the next two count at most a
	 * tenth of its average */
	wl_reap(pid);
	pid = -1;
	if (!ASSERT_OK(fx_wait_window(seq, &w, 3000), "window"))
		goto out;
	seq = w.seq;
	for (k = 0, after = 0; k < 2; k++) {
		if (!ASSERT_OK(fx_wait_window(seq, &w, 3000), "window"))
			goto out;
		seq = w.seq;
		after += w.reclaim.count;
	}
	printf("    after the reader: %llu episodes in 2 windows\n", (unsigned long long)after);
	ASSERT_LE(after * 10 * WINDOWS, count * 2, "no reader, (almost) no reclaim");
out:
	wl_reap(pid);
	if (made && rmdir(m.dir))
		printf("    cannot remove %s: %s\n", m.dir, strerror(errno));

	unlink(path);
}
