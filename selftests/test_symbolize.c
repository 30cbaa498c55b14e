// SPDX-License-Identifier: GPL-2.0
/* Address -> function names with libelf, in this (PIE) process. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
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
	if (test__start_subtest("stripped_binary")) {
		/* Debian's sleep has no .symtab and defines nothing in .dynsym:
		 * an address in its text is its module and offset, never a
		 * neighbour's name */
		char line[512], path[256] = "", maps[64];
		unsigned long long lo = 0, hi = 0;
		pid_t pid = fork();
		FILE *f;

		if (pid == 0) {
			execlp("sleep", "sleep", "5", (char *)NULL);
			_exit(127);
		}
		char exe[256] = "", link[64];
		const char *base;
		ssize_t n;

		usleep(200 * 1000);
		/* the executable as mapped (coreutils here, busybox in vmtest) */
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
		snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
		f = fopen(maps, "r");
		while (f && exe[0] && fgets(line, sizeof(line), f))
			if (strstr(line, " r-xp ") && strstr(line, exe) &&
			    sscanf(line, "%llx-%llx %*s %*s %*s %*s %255s", &lo, &hi, path) == 3)
				break;
		if (f)
			fclose(f);
		if (ASSERT_GT(hi, lo, "sleep's text mapped")) {
			rc = ks_symbolize(s, pid, lo + (hi - lo) / 2, out, sizeof(out));
			printf("    %s+%#llx -> %s (rc %d)\n", path, (hi - lo) / 2, out, rc);
			ASSERT_EQ(rc, 1, "module+offset, not a guessed name");
			ASSERT_STRHAS(out, base, "names the module");
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ks_symbolizer_free(s);
}
