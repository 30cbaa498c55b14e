// SPDX-License-Identifier: GPL-2.0
/*
 * ksense's own processes are left out of the per-cgroup accounting, in the
 * kernel: two identical CPU burners, each in a kubelet-style cgroup of its
 * own; one is registered as "ksense's own" through the daemons' helper
 * (ks_self_exclude_add, the `self` pin) before it enters its cgroup.  Its
 * cgroup must get no on-CPU time, waits or samples in any window while the
 * other burner's gets them.  Then the registration is removed at run time (the
 * burner is counted again, no reload), and a registered process that
 * exits is dropped from the pin by the sensors themselves.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fixture.h"
#include "pins.h"
#include "self_exclude.h"
#include "workloads.h"
#include "cg_fixture.h"

/* Samples of cgroup id in the `stacks` pin. */
static __u64 stack_samples(__u64 id)
{
	struct ksense_stack_key key = {}, next;
	__u64 total = 0, count;
	int m = ks_pin_open(KSENSE_PIN_STACKS);
	bool first = true;

	while (m >= 0 && !bpf_map_get_next_key(m, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (key.cgroup_id == id && !bpf_map_lookup_elem(m, &key, &count))
			total += count;
	}
	ks_close(m);
	return total;
}

static bool in_self_pin(pid_t pid)
{
	struct ksense_self v;
	__u32 key = (__u32)pid;
	int m = ks_pin_open(KSENSE_PIN_SELF);
	bool found = m >= 0 && !bpf_map_lookup_elem(m, &key, &v);

	ks_close(m);
	return found;
}

/* A burner that waits for the go-ahead on gate before it enters c, so that
 * nothing it does before it is registered is charged to c. */
static pid_t gated_burner(const struct wl_cgroup *c, int gate[2])
{
	pid_t pid = fork();
	char b;

	if (pid != 0)
		return pid;
	close(gate[1]);
	if (read(gate[0], &b, 1) != 1 || wl_cgroup_enter(c))
		_exit(2);
	wl_burn_forever();
}

KS_TEST(self_exclusion)
{
	struct wl_cgroup own = {}, other = {};
	struct ksense_cgroup cg_own = {}, cg_other = {};
	struct ksense_window w = {};
	int gate[2] = { -1, -1 }, k, err, dirty = 0;
	pid_t pid_own = -1, pid_other = -1;
	__u64 own_on_cpu = 0, own_samples = 0, other_on_cpu = 0, other_samples = 0;

	if (!fx_is_root()) {
		test__skip("needs root");
		return;
	}
	err = wl_cgroup_create(&own, "self-own");
	if (err == -ENOENT) {
		test__skip("no cgroup2 mount");
		return;
	}
	if (!ASSERT_OK(err, "own cgroup") || !ASSERT_OK(wl_cgroup_create(&other, "self-other"), "other cgroup") ||
	    !ASSERT_OK(fx_load(), "fx_load") || !ASSERT_OK(pipe(gate), "pipe"))
		goto out;
	pid_own = gated_burner(&own, gate);
	if (!ASSERT_GT(pid_own, 0, "fork own burner"))
		goto out;
	close(gate[0]);
	gate[0] = -1;
	err = ks_self_exclude_add(pid_own);
	if (!ASSERT_OK(err, "register the burner as ksense's own"))
		goto out;
	ASSERT_TRUE(in_self_pin(pid_own), "burner in the self pin");
	if (!ASSERT_EQ(write(gate[1], "g", 1), 1, "go-ahead"))
		goto out;
	pid_other = wl_cgroup_fork(&other);
	if (pid_other == 0)
		wl_burn_forever();
	if (!ASSERT_GT(pid_other, 0, "fork other burner"))
		goto out;

	/* 8 windows of 250 ms, every one of them read: the class needs 3 (the
	 * unregistered burner's class is printed, not asserted, as it depends
	 * on what else the shared machine runs; being counted does not) */
	for (k = 0; k < 8; k++) {
		if (!ASSERT_OK(fx_wait_window(w.seq, &w, 3000), "window"))
			goto out;
		fx_read_cgroup(own.id, &cg_own);
		fx_read_cgroup(other.id, &cg_other);
		own_on_cpu += cg_own.on_cpu_ns;
		own_samples += cg_own.samples;
		other_on_cpu += cg_other.on_cpu_ns;
		other_samples += cg_other.samples;
		dirty += cg_own.on_cpu_ns || cg_own.samples || cg_own.wakeups || cg_own.s_ns || cg_own.d_ns;
	}
	printf("    registered   on-CPU %llu ns, samples %llu over %d windows, in stacks %llu\n",
	       (unsigned long long)own_on_cpu, (unsigned long long)own_samples, k,
	       (unsigned long long)stack_samples(own.id));
	printf("    unregistered on-CPU %llu ns, samples %llu, in stacks %llu; class %u (last window %u‰)\n",
	       (unsigned long long)other_on_cpu, (unsigned long long)other_samples,
	       (unsigned long long)stack_samples(other.id), cg_other.class, cg_other.on_cpu_permille);
	ASSERT_GT(other_on_cpu, 0, "unregistered burner: on-CPU ns");
	ASSERT_GT(other_samples, 0, "unregistered burner: samples");
	ASSERT_GT(stack_samples(other.id), 0, "unregistered burner: in stacks");
	ASSERT_EQ(dirty, 0, "no window charged the registered burner's cgroup");
	ASSERT_EQ(own_on_cpu, 0, "registered burner: no on-CPU ns");
	ASSERT_EQ(own_samples, 0, "registered burner: no samples");
	ASSERT_EQ(stack_samples(own.id), 0, "registered burner: nothing in stacks");

	if (test__start_subtest("unregister_counts_again")) {
		/* run-time, no reload: removing the entry brings it back */
		ASSERT_OK(ks_self_exclude_remove(pid_own), "remove");
		ASSERT_FALSE(in_self_pin(pid_own), "gone from the self pin");
		own_on_cpu = own_samples = 0;
		for (k = 0; k < 24 && !(own_on_cpu && own_samples); k++) {
			fx_wait_window(w.seq, &w, 3000);
			fx_read_cgroup(own.id, &cg_own);
			own_on_cpu += cg_own.on_cpu_ns;
			own_samples += cg_own.samples;
		}
		printf("    after removal on-CPU %llu ns, samples %llu in %d windows\n",
		       (unsigned long long)own_on_cpu, (unsigned long long)own_samples, k);
		ASSERT_GT(own_on_cpu, 0, "counted again: on-CPU ns");
		ASSERT_GT(own_samples, 0, "counted again: samples");
	}
	if (test__start_subtest("exit_drops_entry")) {
		/* a registered process killed with SIGKILL cannot remove itself:
		 * sched_process_exit does it, so its PID is not excluded once reused */
		if (ASSERT_OK(ks_self_exclude_add(pid_own), "register again") &&
		    ASSERT_TRUE(in_self_pin(pid_own), "in the self pin")) {
			wl_reap(pid_own);
			ASSERT_FALSE(in_self_pin(pid_own), "dropped by the sensors at exit");
			ASSERT_EQ(ks_self_exclude_add(pid_own), -ESRCH, "a gone process is refused");
			pid_own = -1;
		}
	}
	if (test__start_subtest("stale_entries_pruned")) {
		/* entries written by hand or left by a tree loaded while their
		 * process ran: a PID that is gone, and a PID whose start time says
		 * it is now another process; a registration drops both */
		struct ksense_self v = {}, mine;
		__u32 gone = 0x3ffffff0, reused = (__u32)pid_other, me = (__u32)getpid();
		int m = ks_pin_open(KSENSE_PIN_SELF);

		if (ASSERT_GE(m, 0, "open self pin")) {
			v.tgid = gone;
			v.start_ticks = 1;
			ASSERT_OK(bpf_map_update_elem(m, &gone, &v, BPF_ANY), "add a gone PID");
			v.tgid = reused;
			v.start_ticks = 1; /* not when pid_other started */
			ASSERT_OK(bpf_map_update_elem(m, &reused, &v, BPF_ANY), "add a reused PID");
			ASSERT_OK(ks_self_exclude_add(getpid()), "register this process");
			ASSERT_TRUE(bpf_map_lookup_elem(m, &gone, &v) && errno == ENOENT, "gone PID dropped");
			ASSERT_TRUE(bpf_map_lookup_elem(m, &reused, &v) && errno == ENOENT, "reused PID dropped");
			if (ASSERT_OK(bpf_map_lookup_elem(m, &me, &mine), "this process registered")) {
				ASSERT_EQ(mine.tgid, me, "tgid");
				ASSERT_GT(mine.start_ticks, 0, "start time recorded");
				ASSERT_STRHAS(mine.comm, "test_progs", "comm");
			}
			ASSERT_OK(ks_self_exclude_remove(getpid()), "remove this process");
			close(m);
		}
	}
	if (test__start_subtest("no_pin_is_not_fatal")) {
		const char *root = fx_root();
		char none[256];

		/* the daemons' path when nothing is loaded: an error to warn about */
		snprintf(none, sizeof(none), "%s-absent", root);
		setenv("KSENSE_PIN_ROOT", none, 1);
		ASSERT_EQ(ks_self_exclude_add(getpid()), -ENOENT, "no pin: -ENOENT");
		ASSERT_EQ(ks_self_exclude_register(), -ENOENT, "register warns, returns -ENOENT");
		ks_self_exclude_unregister();
		fx_root();
	}
out:
	if (pid_own > 0)
		ks_self_exclude_remove(pid_own);
	wl_reap(pid_own);
	wl_reap(pid_other);
	if (gate[0] >= 0)
		close(gate[0]);
	if (gate[1] >= 0)
		close(gate[1]);
	wl_cgroup_destroy(&own);
	wl_cgroup_destroy(&other);
}
