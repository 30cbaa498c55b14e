// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "log.h"
#include "pins.h"
#include "self_exclude.h"

/* The inode of the initial PID namespace, fixed by the kernel
 * (PROC_PID_INIT_INO): only there is getpid() the tgid BPF sees. */
#define KS_INIT_PIDNS_INO 0xEFFFFFFCu

static bool registered;

static bool in_init_pidns(void)
{
	struct stat st;

	/* without /proc/self/ns (no CONFIG_PID_NS) there is one namespace */
	return stat("/proc/self/ns/pid", &st) || st.st_ino == KS_INIT_PIDNS_INO;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot), and
 * the command name; 0 or negative errno. */
static int proc_identity(pid_t pid, __u64 *start_ticks, char *comm, size_t commlen)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm is in parentheses and may hold spaces and ')': the last ')' ends it */
	p = strrchr(buf, ')');
	if (!p || !strchr(buf, '('))
		return -EINVAL;
	if (comm) {
		char *c = strchr(buf, '(') + 1;

		snprintf(comm, commlen, "%.*s", (int)(p - c), c);
	}
	/* p is at ')'; the space before field n is the (n - 2)th after it */
	for (i = 3; i <= 22 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return -EINVAL;
	*start_ticks = start;
	return 0;
}

/* Drop entries whose process is gone or whose PID now names another
 * process (sensors drop them at exit; this covers a tree loaded while
 * they ran, or entries written by hand). */
static void prune(int fd)
{
	__u32 key, next, *prev = NULL;
	struct ksense_self v;
	__u64 start;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		err = proc_identity((pid_t)key, &start, NULL, 0);
		if ((err == -ESRCH || (!err && v.start_ticks && start != v.start_ticks)) &&
		    !bpf_map_delete_elem(fd, &key))
			prev = NULL; /* deleted the cursor: start over (at most 64 entries) */
	}
}

/* After every change to `self`: the sensors keep each task's answer until
 * the generation moves.  Two daemons bumping at once may both write the
 * same value; that is enough, as each changed `self` before reading it. */
static void bump_gen(void)
{
	struct ksense_self_gen g = {};
	__u32 zero = 0;
	int fd = ks_pin_open(KSENSE_PIN_SELF_GEN);

	if (fd < 0) {
		ks_warn("cannot open the self_gen pin: exclusion changes reach tasks already seen late",
			"err=\"%s\"", strerror(-fd));
		return;
	}
	if (bpf_map_lookup_elem(fd, &zero, &g))
		memset(&g, 0, sizeof(g));
	g.gen++;
	g.changed_ns = ks_now_ns();
	if (bpf_map_update_elem(fd, &zero, &g, BPF_ANY))
		ks_warn("cannot bump self_gen", "err=\"%s\"", strerror(errno));
	close(fd);
}

int ks_self_exclude_add(pid_t tgid)
{
	struct ksense_self v = {}, cur;
	__u32 key = (__u32)tgid;
	int fd = -1, err;

	if (!in_init_pidns())
		return -EXDEV;
	err = proc_identity(tgid, &v.start_ticks, v.comm, sizeof(v.comm));
	if (err)
		return err;
	fd = ks_pin_open(KSENSE_PIN_SELF);
	if (fd < 0)
		return fd;
	/* already there (daemons call this on their tick to follow reloads) */
	if (!bpf_map_lookup_elem(fd, &key, &cur) && cur.start_ticks == v.start_ticks)
		goto out;
	v.tgid = key;
	v.registered_ns = ks_now_ns();
	prune(fd);
	err = bpf_map_update_elem(fd, &key, &v, BPF_ANY) ? -errno : 0;
	if (err == -E2BIG)
		err = -ENOSPC;
	if (!err)
		bump_gen();
out:
	close(fd);
	return err;
}

int ks_self_exclude_remove(pid_t tgid)
{
	__u32 key = (__u32)tgid;
	int fd, err = 0;

	fd = ks_pin_open(KSENSE_PIN_SELF);
	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, &key))
		err = errno == ENOENT ? 0 : -errno;
	else
		bump_gen();
	close(fd);
	return err;
}

int ks_self_exclude_register(void)
{
	static int last_err = 1; /* no outcome yet */
	int err = ks_self_exclude_add(getpid());

	registered = !err;
	if (err == last_err)
		return err; /* said already: a daemon calls this every tick */
	last_err = err;
	switch (err) {
	case 0:
		ks_debug("left out of per-cgroup accounting", "pin=%s/%s tgid=%d", ks_pin_root(),
			 KSENSE_PIN_SELF, (int)getpid());
		break;
	case -ENOENT:
		ks_warn("no self pin: ksense's own CPU time and I/O count in its cgroup",
			"pin=%s/%s hint=\"ksense load (or load --replace over an older tree)\"",
			ks_pin_root(), KSENSE_PIN_SELF);
		break;
	case -EXDEV:
		ks_warn("not in the host's PID namespace: ksense's own CPU time and I/O count in its cgroup",
			"hint=\"run the pod with hostPID: true\"");
		break;
	default:
		ks_warn("cannot register in the self pin: ksense's own CPU time and I/O count in its cgroup",
			"pin=%s/%s err=\"%s\"", ks_pin_root(), KSENSE_PIN_SELF, strerror(-err));
	}
	return err;
}

void ks_self_exclude_unregister(void)
{
	int err;

	if (!registered)
		return;
	registered = false;
	err = ks_self_exclude_remove(getpid());
	/* the tree may have been unloaded or replaced meanwhile: nothing to undo */
	if (err && err != -ENOENT)
		ks_warn("cannot remove this process from the self pin; the sensors drop it at exit",
			"err=\"%s\"", strerror(-err));
}
