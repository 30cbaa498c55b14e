// SPDX-License-Identifier: GPL-2.0
/*
 * Live sensor tests: a workload with a known effect runs for a few windows of
 * the loaded pipeline, and every signal must move the way it has to.  The
 * bounds are wide on purpose (machines are noisy); the directions are not.
 */
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"
#include "workloads.h"

#define WINDOWS 6

static bool setup(void)
{
	if (!fx_is_root()) {
		test__skip("needs root");
		return false;
	}
	return ASSERT_OK(fx_load(), "fx_load");
}

static void print_window(const char *what, const struct ksense_window *w)
{
	printf("    %-8s runq n=%llu p99=%lluus | D n=%llu %lluus/s | netrx n=%llu %lluus/s | "
	       "busy=%u‰ | psi cpu some=%u‰ avg10=%u‰ io some=%u‰\n", what,
	       (unsigned long long)w->runq.count, (unsigned long long)w->runq.p99_ns / 1000,
	       (unsigned long long)w->dstate.count, (unsigned long long)w->dstate_us_per_s,
	       (unsigned long long)w->netrx.count, (unsigned long long)w->netrx_us_per_s,
	       w->cpu_busy_permille, w->psi_cpu.some_permille, w->psi_cpu.some_avg10_permille,
	       w->psi_io.some_permille);
}

static __u64 idle_p99_median, busy_p99_median;

/* Other work already keeping the CPUs busy leaves no room to see ours:
 * say so instead of asserting on noise. */
static bool saturated(const struct ksense_window *idle)
{
	if (idle->cpu_busy_permille < 400)
		return false;
	test__skip("the machine is %u permille busy without our workload", idle->cpu_busy_permille);
	return true;
}

/* Windows with nothing of ours running, then with the workload. */
static bool measure(enum wl_kind kind, int nr, int cpu, int windows,
		    struct ksense_window *idle, struct ksense_window *busy)
{
	struct workload wl;

	if (!ASSERT_OK(fx_collect(windows, idle), "collect idle"))
		return false;
	idle_p99_median = fx_last_runq_p99_median();
	if (!ASSERT_OK(wl_start(&wl, kind, nr, cpu), "wl_start"))
		return false;
	if (!ASSERT_OK(fx_collect(windows, busy), "collect busy")) {
		wl_stop(&wl);
		return false;
	}
	busy_p99_median = fx_last_runq_p99_median();
	wl_stop(&wl);
	print_window("idle", idle);
	print_window("loaded", busy);
	return true;
}

/* PSI trails by the kernel's 2 s averaging period: let the stall of an
 * earlier subtest drain before measuring "idle". */
static bool psi_settle(void)
{
	struct ksense_window w = {};
	int i;

	int calm = 0;

	/* the kernel averages every 2 s: the stall share must stay low for
	 * longer than one of its periods (12 windows of 250 ms = 3 s) */
	for (i = 0; i < 120; i++) {
		if (fx_wait_window(w.seq, &w, 3000))
			break;
		if (w.psi_cpu.some_permille < 100 && w.psi_cpu.some_avg10_permille < 100)
			calm++;
		else
			calm = 0;
		if (calm >= 12)
			return true;
	}
	return ASSERT_LT(w.psi_cpu.some_permille, 100, "PSI settles before measuring");
}

/* The tail of an earlier test's workload (a daemon exiting, a burner
 * being reaped) can fill the "idle" windows and hide most of the rise:
 * wait up to 8 s for four windows in a row under a quarter of the
 * machine.  A machine that stays busy is measured anyway (and skipped by
 * saturated() when it is busy enough to hide the burner). */
static void cpu_settle(void)
{
	struct ksense_window w = {};
	int i, calm = 0;

	for (i = 0; i < 32 && calm < 4; i++) {
		if (fx_wait_window(w.seq, &w, 3000))
			return;
		calm = w.cpu_busy_permille < 250 ? calm + 1 : 0;
	}
}

KS_TEST_LIVE(signals)
{
	struct ksense_window idle, busy;

	if (!setup())
		return;

	if (test__start_subtest("cpu_burner") && (cpu_settle(), true) &&
	    measure(WL_SPIN, 1, -1, WINDOWS, &idle, &busy) &&
	    !saturated(&idle)) {
		/* one spinning thread is one CPU's worth: 1000 / nr_cpus per-mille */
		int expect = 1000 / (busy.nr_cpus ? busy.nr_cpus : 1);
		int delta = (int)busy.cpu_busy_permille - (int)idle.cpu_busy_permille;

		/* other load on the machine may come and go: the burner's own CPU
		 * must show in full, the difference at least mostly */
		ASSERT_GE((int)busy.cpu_busy_permille, expect * 9 / 10, "a whole CPU busy");
		ASSERT_GE(delta, expect * 6 / 10, "busy rises by ~one CPU");
		ASSERT_LE(delta, expect * 13 / 10, "busy rises by no more than ~one CPU");
	}

	if (test__start_subtest("runq_contention") &&
	    measure(WL_SPIN, 4, 0, WINDOWS, &idle, &busy)) {
		/* four spinners sharing CPU 0 each wait several slices; medians
		 * over the windows, so one noisy idle window cannot decide */
		printf("    median p99: idle %lluus loaded %lluus\n",
		       (unsigned long long)idle_p99_median / 1000, (unsigned long long)busy_p99_median / 1000);
		ASSERT_GT(busy_p99_median, 4 * idle_p99_median, "p99 well above idle");
		ASSERT_GT(busy_p99_median, 1000000, "p99 above 1 ms");
		ASSERT_GT(busy.runq.sum_ns, 2 * idle.runq.sum_ns, "total wait grows");
	}

	if (test__start_subtest("psi_cpu_some") && psi_settle() &&
	    measure(WL_SPIN, 4, 0, 12, &idle, &busy)) {
		ASSERT_EQ(busy.psi_source, KSENSE_PSI_KERNEL, "PSI read from the kernel");
		/* averaged over 12 windows (3 s) that include the kernel's 2 s lag */
		ASSERT_GT(busy.psi_cpu.some_permille, 200, "cpu some stall is high");
		ASSERT_GT(busy.psi_cpu.some_permille, idle.psi_cpu.some_permille + 100,
			  "cpu some stall rises");
		ASSERT_GT(busy.psi_cpu.some_avg10_permille, idle.psi_cpu.some_avg10_permille,
			  "avg10 rises");
	}

	if (test__start_subtest("dstate_fsync") &&
	    measure(WL_FSYNC, 1, -1, WINDOWS, &idle, &busy)) {
		ASSERT_GT(busy.dstate.count, idle.dstate.count + 10, "D episodes from fsync");
		/* a synchronous fsync loop spends most of its time in D */
		ASSERT_GT(busy.dstate_ns, idle.dstate_ns + 100000000, "D time grows by > 100 ms");
		ASSERT_GT(busy.dstate_us_per_s, idle.dstate_us_per_s, "D us/s grows");
	}

	if (test__start_subtest("netrx_loopback") &&
	    measure(WL_UDP, 2, -1, WINDOWS, &idle, &busy)) {
		ASSERT_GT(busy.netrx.count, idle.netrx.count + 100, "NET_RX runs from loopback");
		ASSERT_GT(busy.netrx_ns, 2 * idle.netrx_ns, "NET_RX time grows");
	}
}

KS_TEST(windows_advance)
{
	struct ksense_window a, b;
	struct ksense_state st;

	if (!setup())
		return;
	/* the loader exited long ago: only the pinned timer keeps ticking */
	if (!ASSERT_OK(fx_wait_window(0, &a, 3000), "first window"))
		return;
	usleep(4 * FIXTURE_WINDOW_MS * 1000);
	if (!ASSERT_OK(fx_wait_window(a.seq, &b, 3000), "later window"))
		return;
	ASSERT_GE(b.seq, a.seq + 3, "seq advances without a process");
	ASSERT_GT(b.start_ns, a.start_ns, "windows move forward");
	ASSERT_OK(ks_read_state(&st), "state");
	ASSERT_EQ(st.schema_version, KSENSE_SCHEMA_VERSION, "schema in state");
	ASSERT_GE(st.seq, b.seq, "state seq");
	/* durations track the configured window (timer slack is small) */
	ASSERT_GT(b.duration_ns, FIXTURE_WINDOW_MS * 1000000ull * 8 / 10, "duration lower");
	ASSERT_LT(b.duration_ns, FIXTURE_WINDOW_MS * 1000000ull * 3, "duration upper");
}

/* "full" of /proc/pressure/cpu: its avg10 in permille, or -1 when the
 * kernel prints no full line (kernels before 5.13). */
static int proc_cpu_full_avg10(void)
{
	char line[256];
	double avg10;
	int v = -1;
	FILE *f = fopen("/proc/pressure/cpu", "re");

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "full avg10=%lf", &avg10) == 1)
			v = (int)(avg10 * 10 + 0.5);
	fclose(f);
	return v;
}

/* CPU full is undefined for the whole machine: the kernel keeps an
 * internal value but /proc/pressure/cpu shows 0.  Runnable tasks of a
 * throttled group while the CPU idles are what drives that internal value
 * up (seen here: 883 permille with four burners held to 20 % of a CPU), so
 * the load is such a group where the kernel offers a CFS quota, else four
 * spinners on one CPU.  Every window must say what the kernel says. */
KS_TEST_LIVE(psi_system_cpu_full)
{
	struct ksense_window w = {};
	struct workload wl = {};
	struct wl_cgroup c = {};
	pid_t pids[4] = { -1, -1, -1, -1 };
	bool threads = false;
	int i, proc, err;

	if (!setup())
		return;
	if (access("/proc/pressure/cpu", R_OK)) {
		test__skip("no /proc/pressure/cpu (PSI off: boot with psi=1)");
		return;
	}
	err = wl_cgroup_create(&c, "psi-full");
	if (!err)
		err = wl_cgroup_cpu_limit(&c, 20000, 100000);
	if (!err) {
		for (i = 0; i < 4; i++) {
			pids[i] = wl_cgroup_fork(&c);
			if (pids[i] == 0)
				wl_burn_forever();
		}
		printf("    load: four burners held to 20 %% of a CPU in %s\n", c.cpu_dir[0] ? c.cpu_dir : c.dir);
	} else {
		if (!ASSERT_OK(wl_start(&wl, WL_SPIN, 4, 0), "wl_start"))
			goto out;
		threads = true;
		printf("    load: four spinners on CPU 0 (no CFS quota here: %s)\n", strerror(-err));
	}
	for (i = 0; i < 12; i++) {
		if (!ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
			break;
		proc = proc_cpu_full_avg10();
		if (!ASSERT_EQ(w.psi_cpu.full_avg10_permille, 0, "system cpu full avg10 is 0") ||
		    !ASSERT_EQ(w.psi_cpu.full_permille, 0, "system cpu full share is 0"))
			break;
		if (proc >= -1 && !ASSERT_LE(proc, 0, "/proc/pressure/cpu full avg10 is 0 too"))
			break;
	}
	printf("    cpu some %u‰ (avg10 %u‰), full %u‰ (avg10 %u‰); /proc full avg10 %d‰\n",
	       w.psi_cpu.some_permille, w.psi_cpu.some_avg10_permille, w.psi_cpu.full_permille,
	       w.psi_cpu.full_avg10_permille, proc_cpu_full_avg10());
out:
	if (threads)
		wl_stop(&wl);
	for (i = 0; i < 4; i++)
		wl_reap(pids[i]);
	wl_cgroup_destroy(&c);
}
