// SPDX-License-Identifier: GPL-2.0
/*
 * The tick's cost: runs the real close_window (merge of every CPU's
 * histograms, percentiles, PSI, analytics, publication) on a private
 * instance through BPF_PROG_TEST_RUN, N times, and prints ns per tick after
 * subtracting the cost of running an empty program the same way.
 *
 * With --floor SECONDS it instead attaches an empty program to
 * sched_switch for that long and prints its bpf_stats average: what the
 * statistics themselves add to every program's ns/event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/settings.h"
#include "ksense_test.skel.h"

static double run_ns(int fd, int n)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct timespec a, b;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		if (bpf_prog_test_run_opts(fd, &run) || run.retval) {
			fprintf(stderr, "bench_tick: test run failed: %s\n", strerror(errno));
			return -1;
		}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

static int floor_run(int seconds)
{
	struct ksense_test *skel = ksense_test__open();
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct bpf_link *link = NULL;
	int err = 1;

	if (!skel) {
		fprintf(stderr, "bench_tick: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_program__set_autoload(skel->progs.ksense_bench_noop_switch, true);
	if (ksense_test__load(skel)) {
		fprintf(stderr, "bench_tick: cannot load the BPF object (root?)\n");
		goto out;
	}
	link = bpf_program__attach(skel->progs.ksense_bench_noop_switch);
	if (!link) {
		fprintf(stderr, "bench_tick: cannot attach: %s\n", strerror(errno));
		goto out;
	}
	sleep(seconds);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.ksense_bench_noop_switch), &info, &len)) {
		fprintf(stderr, "bench_tick: prog info: %s\n", strerror(errno));
		goto out;
	}
	printf("%llu %llu\n", (unsigned long long)info.run_cnt,
	       (unsigned long long)(info.run_cnt ? info.run_time_ns / info.run_cnt : 0));
	err = 0;
out:
	bpf_link__destroy(link);
	ksense_test__destroy(skel);
	return err;
}

int main(int argc, char **argv)
{
	struct ksense_test *skel = NULL;
	struct ksense_config cfg;
	double tick, noop;
	int n = argc > 1 ? atoi(argv[1]) : 2000, err = 1, ncpu;
	__u32 key = 0;

	if (argc == 3 && !strcmp(argv[1], "--floor"))
		return floor_run(atoi(argv[2]) > 0 ? atoi(argv[2]) : 1);
	if (n <= 0) {
		fprintf(stderr, "usage: bench_tick [ITERATIONS]\n");
		return 2;
	}
	skel = ksense_test__open();
	if (!skel) {
		fprintf(stderr, "bench_tick: cannot open the BPF object: %s\n", strerror(errno));
		goto out;
	}
	bpf_program__set_autoload(skel->progs.ksense_bench_tick, true);
	bpf_program__set_autoload(skel->progs.ksense_bench_noop, true);
	ncpu = libbpf_num_possible_cpus();
	if (ncpu > KSENSE_MAX_CPUS)
		ncpu = KSENSE_MAX_CPUS;
	skel->rodata->ks_nr_cpus = ncpu > 0 ? (__u32)ncpu : 1;
	if (ksense_test__load(skel)) {
		fprintf(stderr, "bench_tick: cannot load the BPF object (root?)\n");
		goto out;
	}
	ks_config_defaults(&cfg);
	if (bpf_map__update_elem(skel->maps.ks_config, &key, sizeof(key), &cfg, sizeof(cfg), 0)) {
		fprintf(stderr, "bench_tick: cannot write config\n");
		goto out;
	}
	run_ns(bpf_program__fd(skel->progs.ksense_bench_tick), n / 10 + 1); /* warm */
	noop = run_ns(bpf_program__fd(skel->progs.ksense_bench_noop), n);
	tick = run_ns(bpf_program__fd(skel->progs.ksense_bench_tick), n);
	if (noop < 0 || tick < 0)
		goto out;
	printf("tick: %.0f ns per window close (%d CPUs merged; %.0f ns measured - %.0f ns test-run overhead)\n",
	       tick - noop, skel->rodata->ks_nr_cpus, tick, noop);
	err = 0;
out:
	ksense_test__destroy(skel);
	return err;
}
