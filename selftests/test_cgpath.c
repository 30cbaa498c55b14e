// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup2 id -> path.  The walk only needs directories whose inode numbers
 * are the ids, so most of it runs on a plain directory tree (no root); the
 * last part checks the real cgroup2 mount, where the id BPF reports is the
 * directory's inode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "test_progs.h"
#include "fixture.h"
#include "webhook/cgpath.h"
#include "fsutil.h"

static __u64 ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

KS_TEST_F(cgpath, KS_SAN | KS_HOST)
{
	char root[128], p[1024], got[1024], err[256];
	struct ks_cgpath *c = NULL;
	__u64 id_b, id_late;
	int i;

	snprintf(root, sizeof(root), "/tmp/ksense-cgpath-%d", getpid());
	ks_remove_tree(root);
	snprintf(p, sizeof(p), "%s/a.slice/b.scope", root);
	if (!ASSERT_OK(fx_sh(got, sizeof(got), "mkdir -p %s %s/c", p, root), "mkdir tree"))
		return;
	id_b = ino_of(p);
	c = ks_cgpath_new(root, err, sizeof(err));
	if (!ASSERT_OK_PTR(c, "new"))
		goto out;
	ASSERT_EQ(ks_cgpath_walks(c), 0, "lazy: no walk before the first lookup");
	ASSERT_OK(ks_cgpath_lookup(c, id_b, got, sizeof(got)), "nested dir");
	ASSERT_TRUE(!strcmp(got, "/a.slice/b.scope"), "relative path");
	ASSERT_OK(ks_cgpath_lookup(c, ino_of(root), got, sizeof(got)), "root");
	ASSERT_TRUE(!strcmp(got, "/"), "root is /");
	ASSERT_EQ(ks_cgpath_size(c), 4, "root, a.slice, b.scope, c");
	ASSERT_EQ(ks_cgpath_lookup(c, id_b, got, 4), -ENOSPC, "small buffer");
	ASSERT_EQ(ks_cgpath_walks(c), 1, "hits do not walk");

	/* a cgroup made after the walk: found by the next walk, but not
	 * before the rewalk interval has passed */
	snprintf(p, sizeof(p), "%s/c/late", root);
	ASSERT_OK(mkdir(p, 0755), "mkdir late");
	id_late = ino_of(p);
	ASSERT_EQ(ks_cgpath_lookup(c, id_late, got, sizeof(got)), -ENOENT, "miss within the interval");
	ASSERT_EQ(ks_cgpath_lookup(c, 999999999ull, got, sizeof(got)), -ENOENT, "unknown id");
	ASSERT_EQ(ks_cgpath_walks(c), 1, "misses within the interval do not walk");
	ks_cgpath_set_rewalk_ms(c, 0);
	ASSERT_OK(ks_cgpath_lookup(c, id_late, got, sizeof(got)), "found after a rewalk");
	ASSERT_TRUE(!strcmp(got, "/c/late"), "late path");
	ASSERT_EQ(ks_cgpath_walks(c), 2, "one rewalk");

	/* gone: forgotten by the next walk */
	ASSERT_OK(rmdir(p), "rmdir late");
	ASSERT_EQ(ks_cgpath_lookup(c, 999999999ull, got, sizeof(got)), -ENOENT, "miss walks again");
	ASSERT_EQ(ks_cgpath_lookup(c, id_late, got, sizeof(got)), -ENOENT, "vanished cgroup forgotten");

	/* a gone id stops causing walks: the pin keeps dead cgroups and
	 * /pods asks for them again and again */
	{
		unsigned long w0 = ks_cgpath_walks(c);

		ASSERT_EQ(ks_cgpath_lookup(c, 888888888ull, got, sizeof(got)), -ENOENT, "unknown id walks");
		ASSERT_EQ(ks_cgpath_walks(c), w0 + 1, "one walk");
		ASSERT_EQ(ks_cgpath_lookup(c, 888888888ull, got, sizeof(got)), -ENOENT, "known gone");
		ASSERT_EQ(ks_cgpath_walks(c), w0 + 1, "no walk for a gone id, even with no interval");
		/* asked while walks were rate-limited, then missed by a later walk */
		ks_cgpath_set_rewalk_ms(c, 100);
		ASSERT_EQ(ks_cgpath_lookup(c, 777777777ull, got, sizeof(got)), -ENOENT, "pending miss");
		ASSERT_EQ(ks_cgpath_walks(c), w0 + 1, "rate-limited");
		usleep(150 * 1000);
		ASSERT_EQ(ks_cgpath_lookup(c, 666666666ull, got, sizeof(got)), -ENOENT, "another id walks");
		ASSERT_EQ(ks_cgpath_walks(c), w0 + 2, "walked");
		usleep(150 * 1000);
		ASSERT_EQ(ks_cgpath_lookup(c, 777777777ull, got, sizeof(got)), -ENOENT, "pending id");
		ASSERT_EQ(ks_cgpath_walks(c), w0 + 2, "missed by a walk after it was asked for: gone, no walk");
		/* a new cgroup is still found.  A plain directory may reuse the
		 * inode of the removed "late" (cgroup2 ids are never reused):
		 * make two and take one that does not */
		snprintf(p, sizeof(p), "%s/c/later", root);
		ASSERT_OK(mkdir(p, 0755), "mkdir later");
		if (ino_of(p) == id_late) {
			snprintf(p, sizeof(p), "%s/c/later2", root);
			ASSERT_OK(mkdir(p, 0755), "mkdir later2");
		}
		ASSERT_OK(ks_cgpath_lookup(c, ino_of(p), got, sizeof(got)), "new cgroup found");
		ks_cgpath_set_rewalk_ms(c, 0);
	}

	/* depth bound: a directory below KS_CGPATH_MAX_DEPTH is not walked */
	snprintf(p, sizeof(p), "%s/deep", root);
	for (i = 0; i < KS_CGPATH_MAX_DEPTH + 2; i++) {
		mkdir(p, 0755);
		strcat(p, "/d");
	}
	mkdir(p, 0755);
	ASSERT_EQ(ks_cgpath_lookup(c, ino_of(p), got, sizeof(got)), -ENOENT, "below the depth bound");
	ks_cgpath_free(c);
	c = NULL;

	ASSERT_TRUE(ks_cgpath_new("/nonexistent-ksense", err, sizeof(err)) == NULL, "bad mount");
	ASSERT_STRHAS(err, "/nonexistent-ksense", "error names the mount");

	if (test__start_subtest("cgpath_cgroup2")) {
		char mnt[256];

		if (!fx_is_root() || ks_cgroup2_mount(mnt, sizeof(mnt))) {
			test__skip("needs root and a cgroup2 mount");
			goto out;
		}
		c = ks_cgpath_new(NULL, err, sizeof(err));
		if (!ASSERT_OK_PTR(c, "new on the cgroup2 mount"))
			goto out;
		ASSERT_TRUE(!strcmp(ks_cgpath_mount(c), mnt), "found the mount");
		snprintf(p, sizeof(p), "%s/ksense-cgpath-%d", mnt, getpid());
		if (ASSERT_OK(mkdir(p, 0755), "mkdir cgroup")) {
			snprintf(p + strlen(p), sizeof(p) - strlen(p), "/kubepods.slice");
			ASSERT_OK(mkdir(p, 0755), "mkdir child cgroup");
			ASSERT_OK(ks_cgpath_lookup(c, ino_of(p), got, sizeof(got)), "cgroup found");
			snprintf(p, sizeof(p), "/ksense-cgpath-%d/kubepods.slice", getpid());
			ASSERT_TRUE(!strcmp(got, p), "cgroup path");
			ASSERT_OK(ks_cgpath_lookup(c, 1, got, sizeof(got)), "root cgroup id 1");
			ASSERT_TRUE(!strcmp(got, "/"), "root cgroup path");
			snprintf(p, sizeof(p), "%s/ksense-cgpath-%d/kubepods.slice", mnt, getpid());
			rmdir(p);
			snprintf(p, sizeof(p), "%s/ksense-cgpath-%d", mnt, getpid());
			rmdir(p);
		}
	}
out:
	ks_cgpath_free(c);
	ks_remove_tree(root);
}
