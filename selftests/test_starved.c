// SPDX-License-Identifier: GPL-2.0
/*
 * A pod that other pods keep off a busy CPU: a burner sharing one CPU with
 * three other burners runs about a quarter of the time and waits in the
 * run queue the rest.  It wants a whole CPU; it is CPU-bound (starved),
 * not IDLE, so an autoscaler never scales it down for its low on-CPU
 * share.  The class counts run-queue wait as CPU demand (kern/cgclass.h).
 */
#include <stdio.h>
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"
#include "workloads.h"
#include "cg_fixture.h"

#define NR_RIVALS 3

KS_TEST_LIVE(cgroup_starved)
{
	pid_t pid = -1, rivals[NR_RIVALS] = { -1, -1, -1 };
	struct ksense_window w = {};
	struct ksense_cgroup cg = {};
	struct wl_cgroup c = {};
	char weight[600];
	int i, k, starved = 0, cpu_starved = 0;

	if (!fx_cgroup_ready(&c, "starved"))
		goto out;
	/* With cgroup2's cpu controller on (pure cgroup2, as in vmtest) CFS
	 * shares a CPU between groups first: the pod's group would get as
	 * much as the whole group the rivals run in.  A third of the default
	 * weight keeps it near a quarter there too. */
	snprintf(weight, sizeof(weight), "%s/cpu.weight", c.base);
	if (!access(weight, F_OK) && !ASSERT_OK(wl_write_str(c.base, "cpu.weight", "33"), "cpu.weight"))
		goto out;
	/* the rivals in the test's own cgroup: not tracked, just in the way */
	for (i = 0; i < NR_RIVALS; i++) {
		rivals[i] = fork();
		if (rivals[i] == 0)
			wl_burn_on_forever(0);
		if (!ASSERT_GT(rivals[i], 0, "fork a rival"))
			goto out;
	}
	pid = wl_cgroup_fork(&c);
	if (pid == 0)
		wl_burn_on_forever(0);
	if (!ASSERT_GT(pid, 0, "fork the starved burner"))
		goto out;

	/* the class needs its hysteresis (3 windows) after the first */
	for (k = 0; k < 16; k++) {
		if (!ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
			goto out;
		if (fx_read_cgroup(c.id, &cg) || cg.seq != w.seq)
			continue;
		printf("    window %llu: class %s on-CPU %u‰ run-queue wait %llu ms in %llu waits\n",
		       (unsigned long long)w.seq, fx_class_name(cg.class), cg.on_cpu_permille,
		       (unsigned long long)cg.rq_sum_ns / 1000000, (unsigned long long)cg.rq_count);
		if (cg.on_cpu_permille >= 500)
			continue;
		starved++;
		if (k >= 4 && cg.class == KSENSE_CLASS_CPU)
			cpu_starved++;
		if (cpu_starved >= 3)
			break;
	}
	if (!starved) {
		test__skip("the burner got half a CPU or more in every window: nothing kept it off the CPU");
		goto out;
	}
	ASSERT_GE(cpu_starved, 3, "under half a CPU, waiting for the rest: CPU, not IDLE");
	ASSERT_NEQ(cg.class, KSENSE_CLASS_IDLE, "never IDLE while it waits to run");
out:
	wl_reap(pid);
	for (i = 0; i < NR_RIVALS; i++)
		wl_reap(rivals[i]);
	wl_cgroup_destroy(&c);
}
