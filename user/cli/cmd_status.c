// SPDX-License-Identifier: GPL-2.0
/* ksense status: what is loaded, whether it runs, and what it costs. */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "log.h"
#include "names.h"
#include "pins.h"

#define MAX_PROGS 32

struct prog_status {
	char link[256];
	char name[BPF_OBJ_NAME_LEN];
	__u32 prog_id;
	__u64 run_cnt;
	__u64 run_time_ns;
	__u32 verified_insns;
	bool ok;
};

static int read_sysctl_int(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void prog_of_link(const char *dir, const char *name, struct prog_status *ps)
{
	struct bpf_link_info li = {};
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(li);
	char path[1024];
	int lfd, pfd;

	snprintf(ps->link, sizeof(ps->link), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	lfd = bpf_obj_get(path);
	if (lfd < 0)
		return;
	if (bpf_obj_get_info_by_fd(lfd, &li, &len))
		goto out_link;
	ps->prog_id = li.prog_id;
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		goto out_link;
	len = sizeof(pi);
	if (!bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
		snprintf(ps->name, sizeof(ps->name), "%s", pi.name);
		ps->run_cnt = pi.run_cnt;
		ps->run_time_ns = pi.run_time_ns;
		ps->verified_insns = pi.verified_insns;
		ps->ok = true;
	}
	close(pfd);
out_link:
	close(lfd);
}

static int cmp_prog(const void *a, const void *b)
{
	return strcmp(((const struct prog_status *)a)->link, ((const struct prog_status *)b)->link);
}

static int list_progs(struct prog_status *ps, int max)
{
	char dir[600];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (ks_pin_path(dir, sizeof(dir), KSENSE_PIN_LINKS))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		memset(&ps[n], 0, sizeof(ps[n]));
		prog_of_link(dir, de->d_name, &ps[n]);
		n++;
	}
	closedir(d);
	qsort(ps, n, sizeof(*ps), cmp_prog);
	return n;
}

int cmd_status(int argc, char **argv)
{
	struct prog_status progs[MAX_PROGS];
	struct ksense_state st;
	struct ksense_config cfg = {};
	struct ksense_window w = {};
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char paths[256], why[512];
	bool json = false, help = false;
	__u64 age_ms = 0;
	struct ks_opts p;
	int i, n, err, stats, c;

	ks_opts_init(&p, "ksense status", argc, argv, "jh", longopts);
	while ((c = ks_opts_next(&p)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h')
			help = true;
		else
			return 2;
	}
	if (!help && ks_opts_operands(&p, 0, &i))
		return 2;
	if (help) {
		printf("Usage: ksense status [--json]\n\n"
		       "Prints the pinned tree's schema, the tick's state, the age of the last\n"
		       "window, and per program its attachment, run count and average ns per\n"
		       "run (counted while sysctl kernel.bpf_stats_enabled=1).\n"
		       "Exit status: 0 loaded, 1 not loaded or unreadable, 2 bad usage.\n"
		       "\nExamples:\n  ksense status\n  ksense status --json | jq .programs\n");
		return 0;
	}
	err = ks_read_state(&st);
	if (err) {
		if (json)
			printf("{\"loaded\":false,\"pin_root\":\"%s\",\"error\":\"%s\"}\n",
			       ks_pin_root(), strerror(-err));
		else
			fprintf(stderr, "ksense status: %s\n", ks_pins_error(err, why, sizeof(why)));
		return 1;
	}
	ks_read_config(&cfg);
	if (!ks_read_window(&w) && w.seq) {
		__u64 now = ks_now_ns();

		age_ms = now > w.end_ns ? (now - w.end_ns) / 1000000 : 0;
	}
	stats = read_sysctl_int("/proc/sys/kernel/bpf_stats_enabled");
	ks_kernel_paths_str(st.kernel_paths, paths, sizeof(paths));
	n = list_progs(progs, MAX_PROGS);

	if (json) {
		printf("{\"loaded\":true,\"pin_root\":\"%s\",\"schema_version\":%u,"
		       "\"schema_expected\":%u,\"timer_armed\":%s,\"window_ms\":%u,\"nr_cpus\":%u,"
		       "\"seq\":%llu,\"ticks\":%llu,\"last_window_age_ms\":%llu,"
		       "\"psi_source\":\"%s\",\"kernel_paths\":\"%s\",\"bpf_stats_enabled\":%s,\"programs\":[",
		       ks_pin_root(), st.schema_version, KSENSE_SCHEMA_VERSION,
		       st.flags & KSENSE_STATE_TIMER_ARMED ? "true" : "false", cfg.window_ms,
		       st.nr_cpus, (unsigned long long)st.seq, (unsigned long long)st.ticks,
		       (unsigned long long)age_ms, ks_psi_source_name(st.psi_source), paths,
		       stats == 1 ? "true" : "false");
		for (i = 0; i < n; i++)
			printf("%s{\"link\":\"%s\",\"attached\":%s,\"prog_id\":%u,\"name\":\"%s\","
			       "\"run_cnt\":%llu,\"run_time_ns\":%llu,\"avg_ns\":%llu,\"verified_insns\":%u}",
			       i ? "," : "", progs[i].link, progs[i].ok ? "true" : "false",
			       progs[i].prog_id, progs[i].name, (unsigned long long)progs[i].run_cnt,
			       (unsigned long long)progs[i].run_time_ns,
			       (unsigned long long)(progs[i].run_cnt ? progs[i].run_time_ns / progs[i].run_cnt : 0),
			       progs[i].verified_insns);
		printf("]}\n");
		return 0;
	}

	printf("pin root        %s\n", ks_pin_root());
	printf("schema          %u%s\n", st.schema_version,
	       st.schema_version == KSENSE_SCHEMA_VERSION ? "" : " (this ksense expects another)");
	printf("tick            %s, window %u ms, %llu ticks, %u CPUs\n",
	       st.flags & KSENSE_STATE_TIMER_ARMED ? "armed" : "NOT ARMED", cfg.window_ms,
	       (unsigned long long)st.ticks, st.nr_cpus);
	if (st.seq)
		printf("last window     seq %llu, closed %llu ms ago\n", (unsigned long long)st.seq,
		       (unsigned long long)age_ms);
	else
		printf("last window     none closed yet\n");
	printf("psi source      %s\n", ks_psi_source_name(st.psi_source));
	printf("kernel paths    %s\n", paths);
	printf("bpf stats       %s\n", stats == 1 ? "on" :
	       "off (sysctl -w kernel.bpf_stats_enabled=1 to count run time)");
	printf("\n%-28s %-8s %8s %14s %10s %9s\n", "program", "attached", "prog id", "runs", "avg ns", "insns");
	for (i = 0; i < n; i++) {
		char avg[24] = "-";

		if (stats == 1 && progs[i].run_cnt)
			snprintf(avg, sizeof(avg), "%llu",
				 (unsigned long long)(progs[i].run_time_ns / progs[i].run_cnt));
		printf("%-28s %-8s %8u %14llu %10s %9u\n", progs[i].link, progs[i].ok ? "yes" : "NO",
		       progs[i].prog_id, (unsigned long long)progs[i].run_cnt, avg, progs[i].verified_insns);
	}
	return 0;
}
