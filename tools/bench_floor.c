// SPDX-License-Identifier: GPL-2.0
/*
 * bench_floor: the benchmark's floor.  Attaches an empty tp_btf program to
 * every tracepoint ksense uses (kern/floor.bpf.c), prints "ready", and
 * holds them until SIGTERM/SIGINT or end of stdin; then prints, per
 * program, its run count and average ns per run as bpf_stats counted them
 * (0 unless kernel.bpf_stats_enabled=1): what being called costs, before
 * ksense does anything.
 *
 *   bench_floor            hold, print the table at the end
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

#define MAX_LINKS 32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS] = {};
	struct bpf_program *prog;
	struct floor *skel;
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int n = 0, i, err = 1;

	if (argc > 1) {
		fprintf(stderr, "usage: %s  (holds empty programs on ksense's tracepoints until SIGTERM "
			"or end of stdin)\n", argv[0]);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	skel = floor__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_floor: cannot load the floor programs: %s (root?)\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		if (n == MAX_LINKS) {
			fprintf(stderr, "bench_floor: more programs than %d\n", MAX_LINKS);
			goto out;
		}
		links[n] = bpf_program__attach(prog);
		if (!links[n]) {
			fprintf(stderr, "bench_floor: cannot attach %s: %s\n", bpf_program__name(prog), strerror(errno));
			goto out;
		}
		n++;
	}
	printf("ready %d programs\n", n);
	fflush(stdout);
	while (!stop) {
		int r = poll(&p, 1, 200);
		char buf[64];

		if (r > 0 && read(0, buf, sizeof(buf)) <= 0)
			break; /* stdin closed */
		if (r < 0 && errno != EINTR)
			break;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		printf("%-28s %12llu %8llu\n", bpf_program__name(prog), (unsigned long long)info.run_cnt,
		       (unsigned long long)(info.run_cnt ? info.run_time_ns / info.run_cnt : 0));
	}
	err = 0;
out:
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	floor__destroy(skel);
	return err;
}
