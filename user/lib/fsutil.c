// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <dirent.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "fsutil.h"

bool ks_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int ensure_mounted(const char *dir, const char *type, const char *src, long magic)
{
	struct statfs sfs;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (statfs(dir, &sfs))
		return -errno;
	if ((long)sfs.f_type == magic)
		return 0;
	if (mount(src, dir, type, 0, NULL))
		return -errno;
	return 0;
}

int ks_ensure_bpffs(const char *dir)
{
	return ensure_mounted(dir, "bpf", "bpf", BPF_FS_MAGIC);
}

int ks_ensure_tracefs(void)
{
	return ensure_mounted("/sys/kernel/tracing", "tracefs", "nodev", TRACEFS_MAGIC);
}

/* The first mount of fstype ("cgroup2", or "cgroup" with the v1
 * controller `option`) into buf. */
static int cgroup_mount(const char *fstype, const char *option, char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, fstype) || (option && !hasmntopt(m, option)))
			continue;
		if ((size_t)snprintf(buf, len, "%s", m->mnt_dir) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		err = 0;
		break;
	}
	endmntent(f);
	return err;
}

int ks_cgroup2_mount(char *buf, size_t len)
{
	return cgroup_mount("cgroup2", NULL, buf, len);
}

int ks_cgroup_v1_mount(const char *controller, char *buf, size_t len)
{
	return cgroup_mount("cgroup", controller, buf, len);
}

int ks_remove_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	char child[1024];
	DIR *d;
	int err = 0, e;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) ? -errno : 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, de->d_name) >= sizeof(child)) {
			err = err ? err : -ENAMETOOLONG;
			continue;
		}
		e = ks_remove_tree(child);
		if (e && !err)
			err = e;
	}
	closedir(d);
	if (rmdir(path) && !err)
		err = -errno;
	return err;
}

int ks_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
