// SPDX-License-Identifier: GPL-2.0
/* Address -> function names with libelf, in this (PIE) process. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "webhook/symbolize.h"

__attribute__((noinline)) int ksense_symbolize_probe(int x)
{
	return x * 3 + 1;
}

/* The probe's offset in this executable's file (0: not found), for a
 * copy of the file mapped elsewhere. */
static unsigned long long probe_file_offset(void)
{
	unsigned long long lo, hi, pgoff, probe = (unsigned long)ksense_symbolize_probe, foff = 0;
	FILE *m = fopen("/proc/self/maps", "re");
	char line[4096];

	while (m && fgets(line, sizeof(line), m))
		if (sscanf(line, "%llx-%llx %*s %llx", &lo, &hi, &pgoff) == 3 && probe >= lo && probe < hi)
			foff = probe - lo + pgoff;
	if (m)
		fclose(m);
	return foff;
}

/* Drop caps (CAP_* numbers) from this process's effective set. */
static int drop_effective(const int *caps, int n)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int i;

	if (syscall(SYS_capget, &h, d))
		return -1;
	for (i = 0; i < n; i++)
		d[caps[i] / 32].effective &= ~(1u << (caps[i] % 32));
	return (int)syscall(SYS_capset, &h, d);
}

/* In a child without DAC overrides (and without caps[] too), ks_symbolize
 * of addr in pid: 0 named, 1 not named, 2 the name was not the probe's,
 * 3 the caps could not be dropped. */
static int symbolize_as_child(pid_t pid, unsigned long long addr, const int *caps, int n)
{
	static const int dac[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH };
	pid_t child = fork();
	int st = 0;

	if (child == 0) {
		struct ks_symbolizer *s = ks_symbolizer_new();
		char out[256];
		int rc;

		if (!s || drop_effective(dac, 2) || drop_effective(caps, n))
			_exit(3);
		rc = ks_symbolize(s, pid, addr, out, sizeof(out));
		_exit(rc == 0 ? (strstr(out, "ksense_symbolize_probe") ? 0 : 2) : 1);
	}
	if (child < 0 || waitpid(child, &st, 0) != child || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
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
		char line[512], path[256] = "", maps[64], exe[256] = "", link[64];
		unsigned long long lo = 0, hi = 0;
		const char *base;
		pid_t pid = fork();
		ssize_t n;
		FILE *f;

		if (pid == 0) {
			execlp("sleep", "sleep", "5", (char *)NULL);
			_exit(127);
		}
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
	/* a mapped file deleted on disk (an upgraded binary): named through
	 * /proc/PID/map_files.  Map a copy of this executable, delete the
	 * copy, and ask for the probe's file offset inside that mapping. */
	if (test__start_subtest("symbolize_deleted_file")) {
		unsigned long long foff = probe_file_offset();
		char copy[128], cmd[300];
		struct stat st;
		void *map = MAP_FAILED;
		int fd = -1;

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
	/* a binary in a directory only its owner may enter (a non-root
	 * container's 0700 home): root without DAC overrides, as the
	 * webhook runs, is refused the path and reads the mapping through
	 * map_files, which takes CAP_CHECKPOINT_RESTORE */
	if (test__start_subtest("closed_directory")) {
		unsigned long long foff = probe_file_offset();
		char dir[128], copy[160], cmd[400];
		/* either one opens map_files */
		static const int cr[] = { CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN };
		struct stat st;
		void *map = MAP_FAILED;
		int fd = -1;

		if (geteuid()) {
			test__skip("needs root (a directory owned by another user)");
			goto closed_out;
		}
		snprintf(dir, sizeof(dir), "/tmp/ksense-symbolize-home-%d", getpid());
		snprintf(copy, sizeof(copy), "%s/exe", dir);
		/* the guest's root has cp but no install */
		snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s", getpid(), copy);
		if (ASSERT_TRUE(foff > 0, "probe's file offset") && ASSERT_OK(mkdir(dir, 0700), "mkdir") &&
		    ASSERT_OK(system(cmd), "copy executable") && ASSERT_OK(chmod(copy, 0755), "chmod copy") &&
		    ASSERT_OK(chown(dir, 65534, 65534), "the directory to another user") &&
		    ASSERT_TRUE((fd = open(copy, O_RDONLY)) >= 0, "open copy") && !fstat(fd, &st))
			map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (ASSERT_TRUE(map != MAP_FAILED, "map copy")) {
			ASSERT_EQ(symbolize_as_child(getpid(), (unsigned long)map + foff, NULL, 0), 0,
				  "named through map_files");
			ASSERT_EQ(symbolize_as_child(getpid(), (unsigned long)map + foff, cr, 2), 1,
				  "without CAP_CHECKPOINT_RESTORE (and SYS_ADMIN): file+offset");
			munmap(map, st.st_size);
		}
		if (fd >= 0)
			close(fd);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd)) {
		}
closed_out:;
	}
	ks_symbolizer_free(s);
}
