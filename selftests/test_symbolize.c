// SPDX-License-Identifier: GPL-2.0
/* Address -> function names with libelf, in this (PIE) process. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "test_progs.h"
#include "symbolize.h"

__attribute__((noinline)) int ksense_symbolize_probe(int x)
{
	return x * 3 + 1;
}

KS_TEST(symbolize)
{
	struct ks_symbolizer *s = ks_symbolizer_new();
	char out[256];
	void *anon;
	int rc;

	if (!ASSERT_OK_PTR(s, "new"))
		return;
	ASSERT_EQ(ks_symbolize(s, getpid(), (unsigned long)ksense_symbolize_probe + 4, out, sizeof(out)), 0,
		  "own function");
	ASSERT_STRHAS(out, "ksense_symbolize_probe+0x4", "name and offset");
	/* libc is stripped of .symtab on Debian: .dynsym names it */
	rc = ks_symbolize(s, getpid(), (unsigned long)&getpid, out, sizeof(out));
	ASSERT_EQ(rc, 0, "libc function");
	ASSERT_STRHAS(out, "getpid", "dynamic symbol");
	anon = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ASSERT_TRUE(anon != MAP_FAILED, "mmap")) {
		ASSERT_EQ(ks_symbolize(s, getpid(), (unsigned long)anon + 16, out, sizeof(out)), 1, "anon fallback");
		ASSERT_STRHAS(out, "+0x10", "offset in the mapping");
		munmap(anon, 4096);
	}
	ASSERT_EQ(ks_symbolize(s, getpid(), 8, out, sizeof(out)), 1, "unmapped address");
	ASSERT_STRHAS(out, "[unknown]", "unknown");
	ASSERT_LT(ks_symbolize(s, 999999999, 0x1000, out, sizeof(out)), 0, "no such process");
	/* cached: the second lookup of the same file gives the same answer */
	ASSERT_EQ(ks_symbolize(s, getpid(), (unsigned long)ksense_symbolize_probe, out, sizeof(out)), 0, "again");
	ASSERT_STRHAS(out, "ksense_symbolize_probe+0x0", "cache");
	/* split: the bare name for aggregation, and the file it is in */
	{
		char module[512];

		ASSERT_EQ(ks_symbolize_split(s, getpid(), (unsigned long)ksense_symbolize_probe + 4, out, sizeof(out),
					     module, sizeof(module)), 0, "split");
		ASSERT_TRUE(!strcmp(out, "ksense_symbolize_probe"), "no offset");
		ASSERT_TRUE(module[0] == '/', "module is a path");
		ASSERT_EQ(ks_symbolize_split(s, getpid(), 8, out, sizeof(out), module, sizeof(module)), 1, "split unmapped");
		ASSERT_TRUE(!strcmp(module, ""), "no module when unmapped");
	}
	/* a mapped file deleted on disk (an upgraded binary): named through
	 * /proc/PID/map_files.  Map a copy of this executable, delete the
	 * copy, and ask for the probe's file offset inside that mapping. */
	if (test__start_subtest("symbolize_deleted_file")) {
		unsigned long long lo, hi, pgoff, probe = (unsigned long)ksense_symbolize_probe, foff = 0;
		char line[4096], copy[128], cmd[300];
		struct stat st;
		FILE *m = fopen("/proc/self/maps", "re");
		void *map = MAP_FAILED;
		int fd = -1;

		while (m && fgets(line, sizeof(line), m))
			if (sscanf(line, "%llx-%llx %*s %llx", &lo, &hi, &pgoff) == 3 && probe >= lo && probe < hi)
				foff = probe - lo + pgoff;
		if (m)
			fclose(m);
		snprintf(copy, sizeof(copy), "/tmp/ksense-symbolize-copy-%d", getpid());
		snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s", getpid(), copy);
		if (ASSERT_TRUE(foff > 0, "probe's file offset") && ASSERT_OK(system(cmd), "copy executable") &&
		    ASSERT_TRUE((fd = open(copy, O_RDONLY)) >= 0, "open copy") && !fstat(fd, &st))
			map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		unlink(copy);
		if (ASSERT_TRUE(map != MAP_FAILED, "map copy")) {
			char module[512];

			ASSERT_EQ(ks_symbolize_split(s, getpid(), (unsigned long)map + foff, out, sizeof(out), module,
						     sizeof(module)), 0, "deleted file symbolized");
			ASSERT_TRUE(!strcmp(out, "ksense_symbolize_probe"), "name from the deleted file");
			ASSERT_STRHAS(module, "(deleted)", "module says deleted");
			munmap(map, st.st_size);
		}
		if (fd >= 0)
			close(fd);
	}
	ks_symbolizer_free(s);
}
