// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <bpf/bpf.h>
#include "pins.h"

const char *ks_pin_root(void)
{
	const char *r = getenv("KSENSE_PIN_ROOT");

	return r && *r ? r : KSENSE_PIN_ROOT;
}

int ks_pin_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", ks_pin_root(), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int pin_open_uncached(const char *name)
{
	char path[512];
	int fd, err;

	err = ks_pin_path(path, sizeof(path), name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* A daemon answering thousands of reads a second keeps the pins open
 * instead of resolving a path per read; it refreshes them on its tick, so a
 * reload (a new tree) is picked up within one tick. */
static const char *const cached_names[] = {
	KSENSE_PIN_STATE, KSENSE_PIN_CONFIG, KSENSE_PIN_HISTORY, KSENSE_PIN_BASELINE,
	KSENSE_PIN_SCORE, KSENSE_PIN_DECISION, KSENSE_PIN_TOTALS,
};
#define NR_CACHED (sizeof(cached_names) / sizeof(cached_names[0]))
static int cached_fd[NR_CACHED] = { -1, -1, -1, -1, -1, -1, -1 };
static bool cache_on;
/* The webhook reads pins on its worker thread while its loop refreshes
 * the cache: a reader holds this across its use of a cached fd, so the
 * fd cannot be closed (and its number reused) under it. */
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

void ks_pin_cache_refresh(void)
{
	int fresh[NR_CACHED], old[NR_CACHED];
	size_t i;

	/* open outside the lock: readers wait only for the swap */
	for (i = 0; i < NR_CACHED; i++)
		fresh[i] = pin_open_uncached(cached_names[i]);
	pthread_rwlock_wrlock(&cache_lock);
	cache_on = true;
	for (i = 0; i < NR_CACHED; i++) {
		old[i] = cached_fd[i];
		cached_fd[i] = fresh[i];
	}
	pthread_rwlock_unlock(&cache_lock);
	for (i = 0; i < NR_CACHED; i++)
		if (old[i] >= 0)
			close(old[i]);
}

int ks_pin_open(const char *name)
{
	size_t i;
	int fd = -ENOENT;
	bool found = false;

	pthread_rwlock_rdlock(&cache_lock);
	if (cache_on)
		for (i = 0; i < NR_CACHED; i++)
			if (!strcmp(name, cached_names[i]) && cached_fd[i] >= 0) {
				fd = fcntl(cached_fd[i], F_DUPFD_CLOEXEC, 0);
				fd = fd < 0 ? -errno : fd;
				found = true;
				break;
			}
	pthread_rwlock_unlock(&cache_lock);
	return found ? fd : pin_open_uncached(name);
}

/* The cached fd itself (not to be closed; the caller holds cache_lock for
 * reading while it uses it), or a fresh one the caller closes (*owned). */
static int pin_fd(const char *name, bool *owned)
{
	size_t i;

	*owned = false;
	if (cache_on)
		for (i = 0; i < NR_CACHED; i++)
			if (!strcmp(name, cached_names[i]) && cached_fd[i] >= 0)
				return cached_fd[i];
	*owned = true;
	return pin_open_uncached(name);
}

bool ks_pins_present(void)
{
	char path[512];

	return !ks_pin_path(path, sizeof(path), KSENSE_PIN_STATE) && access(path, F_OK) == 0;
}

const char *ks_pins_error(int err, char *buf, size_t len)
{
	if (err == -ENOENT)
		snprintf(buf, len, "nothing loaded: no ksense pin tree at %s (run `ksense load`)", ks_pin_root());
	else if (err == -EACCES || err == -EPERM)
		snprintf(buf, len, "cannot read the pin tree at %s: %s (reading BPF maps needs root, or CAP_BPF "
			 "and access to the bpffs mount)", ks_pin_root(), strerror(-err));
	else
		snprintf(buf, len, "cannot read the pin tree at %s: %s", ks_pin_root(), strerror(-err));
	return buf;
}

static int read_pinned(const char *name, __u32 key, void *out)
{
	bool owned;
	int fd, err = 0;

	pthread_rwlock_rdlock(&cache_lock);
	fd = pin_fd(name, &owned);
	if (fd < 0)
		err = fd;
	else if (bpf_map_lookup_elem(fd, &key, out))
		err = -errno;
	if (fd >= 0 && owned)
		close(fd);
	pthread_rwlock_unlock(&cache_lock);
	return err;
}

int ks_read_state(struct ksense_state *out)
{
	return read_pinned(KSENSE_PIN_STATE, 0, out);
}

int ks_read_config(struct ksense_config *out)
{
	return read_pinned(KSENSE_PIN_CONFIG, 0, out);
}

int ks_write_config(const struct ksense_config *in)
{
	int fd = ks_pin_open(KSENSE_PIN_CONFIG), err = 0;
	__u32 key = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &key, in, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

/* The latest whole window.  A history slot is rewritten only
 * KSENSE_HISTORY_LEN windows later and carries its seq, stored last, so
 * read the slot of the state's seq, or of the window before when the tick
 * is filling that slot right now.  (There is no separate latest-window pin:
 * a copy rewritten in place every window could mix two.) */
int ks_read_window(struct ksense_window *out)
{
	struct ksense_state st;
	bool owned;
	int fd, err;

	err = ks_read_state(&st);
	if (err)
		return err;
	if (!st.seq) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	pthread_rwlock_rdlock(&cache_lock);
	fd = pin_fd(KSENSE_PIN_HISTORY, &owned);
	if (fd < 0) {
		pthread_rwlock_unlock(&cache_lock);
		return fd;
	}
	err = ks_read_history(fd, st.seq, out);
	if (err == -ENOENT && st.seq > 1)
		err = ks_read_history(fd, st.seq - 1, out);
	if (owned)
		close(fd);
	pthread_rwlock_unlock(&cache_lock);
	return err;
}

int ks_read_totals(struct ksense_totals *out)
{
	int err = 0, tries;

	/* the tick rewrites the totals for a few microseconds a window */
	for (tries = 0; tries < 100; tries++) {
		err = read_pinned(KSENSE_PIN_TOTALS, 0, out);
		if (err || out->seq == out->seq_end)
			return err;
		usleep(100);
	}
	return -EAGAIN;
}

int ks_read_history(int fd, __u64 seq, struct ksense_window *out)
{
	__u32 slot = seq % KSENSE_HISTORY_LEN;

	if (bpf_map_lookup_elem(fd, &slot, out))
		return -errno;
	return out->seq == seq ? 0 : -ENOENT;
}

__u64 ks_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int ks_map_lookup(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
}

void ks_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int ks_read_pin(const char *name, void *out)
{
	return read_pinned(name, 0, out);
}

const char *ks_kernel_paths_str(__u32 paths, char *buf, size_t len)
{
	static const struct {
		__u32 bit;
		const char *name;
	} names[] = {
		{ KSENSE_PATH_TASK_THROTTLED, "task_throttled" },
		{ KSENSE_PATH_CFS_RQ_THROTTLE_COUNT, "cfs_rq_throttle_count" },
		{ KSENSE_PATH_TASK_GROUP, "sched_task_group" },
		{ KSENSE_PATH_SE_CFS_RQ_TG, "se_cfs_rq_tg" },
		{ KSENSE_PATH_CFS_BANDWIDTH, "cfs_bandwidth" },
		{ KSENSE_PATH_THROTTLED_BITFIELD, "cfs_rq_throttled_bitfield" },
	};
	size_t used = 0, i;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((paths & names[i].bit) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}
