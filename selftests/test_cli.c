// SPDX-License-Identifier: GPL-2.0
/* The ksense CLI end to end: load, idempotence, schema checks, unload, bad
 * input.  Each test uses a pin root of its own. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"

static char out[65536];

static void use_root(const char *tag)
{
	char root[128];

	snprintf(root, sizeof(root), "/sys/fs/bpf/ksense-cli-%s-%d", tag, getpid());
	setenv("KSENSE_PIN_ROOT", root, 1);
}

static bool exists(const char *name)
{
	char path[512];
	struct stat st;

	return !ks_pin_path(path, sizeof(path), name) && !stat(path, &st);
}

static int count_staging(void)
{
	char cmd[128];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -d /sys/fs/bpf/ksense-staging-* 2>/dev/null | wc -l");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

/* bin cmd [arg] as uid/gid 65534 without groups (in C: the VM's busybox
 * setpriv cannot change uids); its output in out, its exit status. */
static int run_as_nobody(char *buf, size_t len, const char *bin, const char *cmd, const char *arg)
{
	int fds[2], status = -1;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(126);
		execl(bin, bin, cmd, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && n + 1 < len && (r = read(fds[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fds[0]);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

KS_TEST(cli_help)
{
	const char *cmds[] = { "load", "unload", "status", "top" };
	unsigned int i;

	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "--help", NULL), 0, "ksense --help");
	ASSERT_STRHAS(out, "Usage: ksense", "top-level usage");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, cmds[i], "--help", NULL), 0, cmds[i]);
		ASSERT_STRHAS(out, "Usage: ksense", cmds[i]);
	}
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "frobnicate", NULL), 2, "unknown command");
	ASSERT_STRHAS(out, "unknown command", "unknown command message");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "--frob", NULL), 2, "unknown option");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "load", "--frob", NULL), 2, "unknown load flag");
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "status", "--frob", NULL), 2, "unknown status flag");
}

KS_TEST(cli_bad_window)
{
	const char *bad[] = { "KSENSE_WINDOW_MS=0", "KSENSE_WINDOW_MS=-5", "KSENSE_WINDOW_MS=abc",
			      "KSENSE_WINDOW_MS=99999999999999999999", "KSENSE_WINDOW_MS=",
			      "KSENSE_WINDOW_MS=250ms", "KSENSE_WINDOW_MS=60001", "KSENSE_WINDOW_MS= 5" };
	unsigned int i;

	use_root("badwin");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = fx_run(out, sizeof(out), bad[i], "load", NULL);

		ASSERT_EQ(rc, 2, bad[i]);
		ASSERT_STRHAS(out, "KSENSE_WINDOW_MS", "error names the variable");
		ASSERT_FALSE(exists(KSENSE_PIN_STATE), "no tree after refusal");
	}
	ASSERT_EQ(fx_run(out, sizeof(out), NULL, "load", "--window-ms", "0", NULL), 2, "--window-ms 0");
	ASSERT_FALSE(exists(KSENSE_PIN_STATE), "no tree after refusal");
}

KS_TEST(load_lifecycle)
{
	struct ksense_state st;
	struct ksense_window w;
	int fd, rc;
	__u32 key = 0;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	use_root("life");
	fx_run(out, sizeof(out), NULL, "unload", NULL);

	if (test__start_subtest("load")) {
		rc = fx_run(out, sizeof(out), "KSENSE_WINDOW_MS=200", "load", NULL);
		if (!ASSERT_EQ(rc, 0, "ksense load"))
			printf("%s\n", out);
		ASSERT_TRUE(exists(KSENSE_PIN_CONFIG), "config pinned");
		ASSERT_TRUE(exists(KSENSE_PIN_STATE), "state pinned");
		ASSERT_FALSE(exists("window"), "no window pin (schema 9: readers use the history ring)");
		ASSERT_TRUE(exists(KSENSE_PIN_HISTORY), "history pinned");
		ASSERT_TRUE(exists("links/ksense_sched_switch"), "sched_switch link");
		ASSERT_TRUE(exists("links/ksense_softirq_exit"), "softirq link");
		ASSERT_EQ(count_staging(), 0, "no staging directory left");
	}
	if (test__start_subtest("windows_after_exit")) {
		ASSERT_OK(fx_wait_window(2, &w, 5000), "window 3 closes after load exited");
		ASSERT_OK(ks_read_state(&st), "read state");
		ASSERT_TRUE(st.flags & KSENSE_STATE_TIMER_ARMED, "timer armed");
		{
			struct ksense_baseline b;
			struct ksense_decision d;

			/* the pins a window's close rewrites carry its seq */
			if (ASSERT_OK(ks_read_pin(KSENSE_PIN_BASELINE, &b), "read baseline") &&
			    ASSERT_OK(ks_read_pin(KSENSE_PIN_DECISION, &d), "read decision")) {
				ASSERT_GE(b.seq, st.seq, "baseline of the latest window (or a later one)");
				ASSERT_LE(b.seq, st.seq + 1, "baseline seq within one window");
				ASSERT_GE(d.seq, st.seq, "decision of the latest window (or a later one)");
			}
		}
	}
	if (test__start_subtest("bpftool_named_fields")) {
		char cmd[512];
		FILE *p;
		size_t n;

		/* window 1, in history slot 1 (the key's bytes, little-endian) */
		snprintf(cmd, sizeof(cmd), "bpftool map lookup pinned %s/history key 1 0 0 0 2>&1",
			 getenv("KSENSE_PIN_ROOT"));
		p = popen(cmd, "r");
		if (ASSERT_OK_PTR(p, "popen bpftool")) {
			n = fread(out, 1, sizeof(out) - 1, p);
			out[n] = '\0';
			pclose(p);
			ASSERT_STRHAS(out, "\"runq\"", "runq struct");
			ASSERT_STRHAS(out, "\"p99_ns\"", "p99_ns field");
			ASSERT_STRHAS(out, "\"cpu_busy_permille\"", "cpu field");
			ASSERT_STRHAS(out, "\"some_avg10_permille\"", "psi field");
		}
	}
	if (test__start_subtest("status")) {
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "status", NULL), 0, "status");
		ASSERT_STRHAS(out, "ksense_sched_switch", "program listed");
		ASSERT_STRHAS(out, "armed", "tick armed");
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "status", "--json", NULL), 0, "status --json");
		ASSERT_STRHAS(out, "\"loaded\":true", "json loaded");
		{
			char want[64];

			snprintf(want, sizeof(want), "\"schema_version\":%d", KSENSE_SCHEMA_VERSION);
			ASSERT_STRHAS(out, want, "json schema");
		}
		ASSERT_STRHAS(out, "\"attached\":true", "json attached");
	}
	if (test__start_subtest("top_once")) {
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "top", "--once", NULL), 0, "top --once");
		ASSERT_STRHAS(out, "run-queue", "runq row");
		ASSERT_STRHAS(out, "p99", "p99 column");
		ASSERT_STRHAS(out, "pressure", "psi table");
		ASSERT_FALSE(strchr(out, '\033'), "no escape codes when not a tty");
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "top", "-n", "2", "-i", "50", NULL), 0, "top -n 2");
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "top", "-i", "0", NULL), 2, "bad interval");
	}
	if (test__start_subtest("double_load_idempotent")) {
		ASSERT_OK(ks_read_state(&st), "state before");
		rc = fx_run(out, sizeof(out), NULL, "load", NULL);
		ASSERT_EQ(rc, 0, "second load succeeds");
		ASSERT_STRHAS(out, "already loaded", "reports existing tree");
		ASSERT_OK(fx_wait_window(st.seq, &w, 3000), "same tree keeps ticking");
		ASSERT_GT(w.seq, st.seq, "history kept (seq not reset)");
	}
	if (test__start_subtest("load_other_settings")) {
		/* loaded with 200 ms: asking for 300 is not "already loaded" */
		rc = fx_run(out, sizeof(out), "KSENSE_WINDOW_MS=300", "load", NULL);
		ASSERT_EQ(rc, 1, "load with another window refuses");
		ASSERT_STRHAS(out, "window_ms: loaded 200, asked 300", "names the setting and both values");
		ASSERT_STRHAS(out, "ksense config set 'window_ms=300'", "says how to apply it live");
		ASSERT_STRHAS(out, "--replace", "and how to load anew");
		rc = fx_run(out, sizeof(out), NULL, "load", "--window-ms=200", NULL);
		ASSERT_EQ(rc, 0, "the same value: already loaded");
		ASSERT_STRHAS(out, "already loaded", "reports the existing tree");
	}
	if (test__start_subtest("not_root")) {
		char dir[] = "/tmp/ksense-cli-XXXXXX", bin[64];

		/* the tree is root's (0700): an unprivileged reader is told
		 * it lacks permission, not that nothing is loaded */
		if (ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp") && ASSERT_OK(chmod(dir, 0755), "chmod") &&
		    ASSERT_OK(fx_sh(out, sizeof(out), "cp %s %s/ksense && chmod 755 %s/ksense", fx_bin(), dir, dir),
			      "copy ksense where nobody can run it")) {
			static const char *const cmds[][3] = { { "top", "--once" }, { "status" }, { "config", "show" } };
			size_t k;

			snprintf(bin, sizeof(bin), "%s/ksense", dir);
			for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
				rc = run_as_nobody(out, sizeof(out), bin, cmds[k][0], cmds[k][1]);
				ASSERT_EQ(rc, 1, cmds[k][0]);
				if (!ASSERT_STRHAS(out, "Permission denied", "says permission") ||
				    !ASSERT_STRHAS(out, "needs root", "and what it needs"))
					printf("    %s: %s\n", cmds[k][0], out);
			}
		}
		fx_sh(out, sizeof(out), "rm -rf %s", dir);
	}
	if (test__start_subtest("schema_mismatch")) {
		fd = ks_pin_open(KSENSE_PIN_STATE);
		if (ASSERT_GE(fd, 0, "open state")) {
			/* the timer field is skipped by map updates, so this only
			 * rewrites the data */
			ASSERT_OK(bpf_map_lookup_elem(fd, &key, &st), "lookup");
			st.schema_version = KSENSE_SCHEMA_VERSION + 41;
			ASSERT_OK(bpf_map_update_elem(fd, &key, &st, BPF_EXIST), "tamper");
			close(fd);
		}
		rc = fx_run(out, sizeof(out), NULL, "load", NULL);
		ASSERT_EQ(rc, 1, "load refuses another schema");
		ASSERT_STRHAS(out, "--replace", "suggests --replace");
		rc = fx_run(out, sizeof(out), NULL, "load", "--replace", NULL);
		if (!ASSERT_EQ(rc, 0, "load --replace"))
			printf("%s\n", out);
		ASSERT_OK(ks_read_state(&st), "state after replace");
		ASSERT_EQ(st.schema_version, KSENSE_SCHEMA_VERSION, "schema restored");
	}
	if (test__start_subtest("unload_leaves_nothing")) {
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "unload", NULL), 0, "unload");
		ASSERT_FALSE(access(getenv("KSENSE_PIN_ROOT"), F_OK) == 0, "root gone");
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "status", NULL), 1, "status says not loaded");
		ASSERT_STRHAS(out, "run `ksense load`", "status gives the hint");
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "top", "--once", NULL), 1, "top says not loaded");
		ASSERT_STRHAS(out, "ksense load", "top suggests load");
		ASSERT_EQ(fx_run(out, sizeof(out), NULL, "unload", NULL), 0, "second unload is fine");
	}
	fx_run(out, sizeof(out), NULL, "unload", NULL);
}

/* A test run killed mid-way leaves its tree attached, and every later run
 * (and benchmark) pays for its programs: the fixture unloads trees whose
 * process is gone, and never a live one's. */
KS_TEST(fixture_orphans)
{
	char dead[160], live[160], env[200];
	pid_t pid;
	struct stat st;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (!ASSERT_GT(pid, 0, "fork") || !ASSERT_EQ(waitpid(pid, NULL, 0), pid, "reap"))
		return;
	/* the reaped child's pid is gone; this process is alive */
	snprintf(dead, sizeof(dead), "/sys/fs/bpf/ksense-selftest-%d", (int)pid);
	snprintf(live, sizeof(live), "/sys/fs/bpf/ksense-selftest-%d", (int)getppid());
	snprintf(env, sizeof(env), "KSENSE_PIN_ROOT=%s", dead);
	if (!ASSERT_EQ(fx_run(out, sizeof(out), env, "load", NULL), 0, "an orphan's tree")) {
		printf("%s\n", out);
		return;
	}
	if (mkdir(live, 0755) && errno != EEXIST)
		live[0] = '\0';
	fx_unload_orphans();
	ASSERT_TRUE(stat(dead, &st) && errno == ENOENT, "the orphan's tree unloaded");
	if (live[0]) {
		ASSERT_OK(stat(live, &st), "a live process's tree kept");
		rmdir(live);
	}
	if (!stat(dead, &st))
		fx_run(out, sizeof(out), env, "unload", NULL);
}
