// SPDX-License-Identifier: GPL-2.0
/* cgroup2 id -> path by walking the cgroup2 tree (see cgpath.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgpath.h"
#include "fsutil.h"
#include "log.h"

struct slot {
	__u64 id;          /* 0: empty (no inode is 0) */
	char *path;
};

struct table {
	struct slot *slots;
	size_t cap;        /* power of two, kept at most half full */
	size_t len;
};

/* ids by time: misses waiting to be confirmed, and confirmed-gone ids */
struct idset {
	struct { __u64 id; unsigned long long ms; } *s;
	size_t cap, len;
};

struct ks_cgpath {
	char mount[512];
	struct table t;
	struct idset pending;        /* missed, not walked for since: first miss */
	struct idset gone;           /* missed by a walk that started after they were asked for */
	unsigned long long last_walk_ms; /* 0: never walked */
	unsigned int rewalk_ms;
	unsigned long walks;
	bool warned_full;
};

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

static size_t slot_of(__u64 id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].path);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int table_grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256, i, k;
	struct slot *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i].id)
			continue;
		for (k = slot_of(t->slots[i].id, cap); s[k].id; k = (k + 1) & (cap - 1))
			;
		s[k] = t->slots[i];
	}
	free(t->slots);
	t->slots = s;
	t->cap = cap;
	return 0;
}

static const struct slot *table_find(const struct table *t, __u64 id)
{
	size_t k;

	if (!t->cap || !id)
		return NULL;
	for (k = slot_of(id, t->cap); t->slots[k].id; k = (k + 1) & (t->cap - 1))
		if (t->slots[k].id == id)
			return &t->slots[k];
	return NULL;
}

/* Insert or replace (a bind mount can show a cgroup twice: keep the last). */
static int table_put(struct table *t, __u64 id, const char *path)
{
	char *p;
	size_t k;
	int err;

	if (!id)
		return 0;
	if ((t->len + 1) * 2 > t->cap && (err = table_grow(t)))
		return err;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (k = slot_of(id, t->cap); t->slots[k].id; k = (k + 1) & (t->cap - 1))
		if (t->slots[k].id == id) {
			free(t->slots[k].path);
			t->slots[k].path = p;
			return 0;
		}
	t->slots[k].id = id;
	t->slots[k].path = p;
	t->len++;
	return 0;
}

#define IDSET_CAP (1u << 16)

static void idset_free(struct idset *d)
{
	free(d->s);
	memset(d, 0, sizeof(*d));
}

static unsigned long long *idset_get(struct idset *d, __u64 id)
{
	size_t k;

	if (!d->cap || !id)
		return NULL;
	for (k = slot_of(id, d->cap); d->s[k].id; k = (k + 1) & (d->cap - 1))
		if (d->s[k].id == id)
			return &d->s[k].ms;
	return NULL;
}

/* Bounded: a full set starts over (its entries only save walks). */
static void idset_put(struct idset *d, __u64 id, unsigned long long ms)
{
	unsigned long long *old = idset_get(d, id);
	size_t k;

	if (old) {
		*old = ms;
		return;
	}
	if (!d->cap) {
		d->s = calloc(IDSET_CAP, sizeof(*d->s));
		if (!d->s)
			return;
		d->cap = IDSET_CAP;
	}
	if ((d->len + 1) * 2 > d->cap) {
		memset(d->s, 0, d->cap * sizeof(*d->s));
		d->len = 0;
	}
	for (k = slot_of(id, d->cap); d->s[k].id; k = (k + 1) & (d->cap - 1))
		;
	d->s[k].id = id;
	d->s[k].ms = ms;
	d->len++;
}

struct ks_cgpath *ks_cgpath_new(const char *mount, char *err, size_t errlen)
{
	struct ks_cgpath *c = calloc(1, sizeof(*c));
	struct stat st;
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->rewalk_ms = KS_CGPATH_REWALK_MS;
	if (mount) {
		if ((size_t)snprintf(c->mount, sizeof(c->mount), "%s", mount) >= sizeof(c->mount)) {
			snprintf(err, errlen, "cgroup2 mount path too long");
			goto fail;
		}
	} else if ((rc = ks_cgroup2_mount(c->mount, sizeof(c->mount)))) {
		snprintf(err, errlen, "no cgroup2 mount in /proc/self/mounts: %s", strerror(-rc));
		goto fail;
	}
	if (stat(c->mount, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cgroup2 mount %s: %s", c->mount, errno ? strerror(errno) : "not a directory");
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

void ks_cgpath_free(struct ks_cgpath *c)
{
	if (!c)
		return;
	table_free(&c->t);
	idset_free(&c->pending);
	idset_free(&c->gone);
	free(c);
}

const char *ks_cgpath_mount(const struct ks_cgpath *c)
{
	return c->mount;
}

void ks_cgpath_set_rewalk_ms(struct ks_cgpath *c, unsigned int ms)
{
	c->rewalk_ms = ms;
}

unsigned long ks_cgpath_walks(const struct ks_cgpath *c)
{
	return c->walks;
}

size_t ks_cgpath_size(const struct ks_cgpath *c)
{
	return c->t.len;
}

/* Add every directory below dfd (whose path relative to the mount is
 * rel[0..rlen)) to t.  Directories that vanish while we walk are skipped:
 * cgroups come and go all the time. */
static int walk_dir(struct ks_cgpath *c, struct table *t, int dfd, char *rel, size_t rlen, size_t relcap,
		    int depth)
{
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = fdopendir(dfd);
	if (!d) {
		err = -errno;
		close(dfd);
		return err;
	}
	while ((de = readdir(d))) {
		size_t n;
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = strlen(de->d_name);
		if (rlen + 1 + n >= relcap)
			continue; /* deeper than any path we can hand out */
		if (t->len >= KS_CGPATH_MAX_ENTRIES) {
			if (!c->warned_full)
				ks_warn("cgroup tree larger than the path cache; some cgroups stay unnamed",
					"mount=%s max=%u", c->mount, KS_CGPATH_MAX_ENTRIES);
			c->warned_full = true;
			break;
		}
		rel[rlen] = '/';
		memcpy(rel + rlen + 1, de->d_name, n + 1);
		/* kernfs reports the node's inode number as d_ino: the cgroup id */
		err = table_put(t, de->d_ino, rel);
		if (err)
			break;
		if (depth + 1 >= KS_CGPATH_MAX_DEPTH)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0) {
			if (errno != ENOENT)
				ks_debug("cannot open cgroup directory", "mount=%s path=%s errno=%d", c->mount, rel,
					 errno);
			continue;
		}
		err = walk_dir(c, t, sub, rel, rlen + 1 + n, relcap, depth + 1);
		if (err == -ENOMEM)
			break;
		err = 0;
	}
	rel[rlen] = '\0';
	closedir(d);
	return err;
}

static int walk(struct ks_cgpath *c)
{
	struct table t = {};
	struct stat st;
	char rel[4096];
	int dfd, err;

	c->last_walk_ms = mono_ms();
	c->walks++;
	dfd = open(c->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st)) {
		err = -errno;
		ks_err("cannot open the cgroup2 mount", "mount=%s errno=%d", c->mount, -err);
		if (dfd >= 0)
			close(dfd);
		return err;
	}
	err = table_put(&t, st.st_ino, "/");
	rel[0] = '\0';
	if (!err)
		err = walk_dir(c, &t, dfd, rel, 0, sizeof(rel), 0);
	else
		close(dfd);
	if (err) {
		ks_err("cannot walk the cgroup2 tree", "mount=%s errno=%d", c->mount, -err);
		table_free(&t);
		return err;
	}
	table_free(&c->t);
	c->t = t;
	return 0;
}

/*
 * A miss walks again (at most once per rewalk interval).  The `cgroups` pin
 * keeps dead cgroups for a while (the tick still visits them), so misses
 * repeat; an id that a walk did not find although it was asked for before
 * that walk started is gone for good (a cgroup exists before anything in
 * it can run, and cgroup2 ids are not reused) and stops causing walks for
 * KS_CGPATH_GONE_MS.
 */
int ks_cgpath_lookup(struct ks_cgpath *c, __u64 id, char *out, size_t outlen)
{
	const struct slot *s = table_find(&c->t, id);
	unsigned long long now, *t;
	int err;

	if (!s) {
		now = mono_ms();
		t = idset_get(&c->gone, id);
		if (t && now - *t < KS_CGPATH_GONE_MS)
			return -ENOENT;
		t = idset_get(&c->pending, id);
		if (t && *t && *t < c->last_walk_ms) {
			idset_put(&c->gone, id, now);
			*t = 0; /* no longer pending */
			return -ENOENT;
		}
		if (!c->last_walk_ms || now - c->last_walk_ms >= c->rewalk_ms) {
			err = walk(c);
			if (err)
				return err;
			s = table_find(&c->t, id);
			if (!s) {
				idset_put(&c->gone, id, now);
				return -ENOENT;
			}
		} else if (!t || !*t) {
			idset_put(&c->pending, id, now);
		}
	}
	if (!s)
		return -ENOENT;
	if ((size_t)snprintf(out, outlen, "%s", s->path) >= outlen)
		return -ENOSPC;
	return 0;
}
