// SPDX-License-Identifier: GPL-2.0
/*
 * ksense load: open, configure, load, pin, attach, start the tick, publish.
 *
 * Everything is pinned into a staging directory first and renamed onto the
 * pin root as the last step, so a failure or a kill -9 at any point leaves
 * either no tree or a complete one.  Links created before the rename are
 * held by our fds and pins in staging only; stale staging directories are
 * removed by the next load.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ksense.skel.h"
#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "opts.h"
#include "pins.h"
#include "settings.h"

#define STAGING_PREFIX "ksense-staging-" /* bpffs refuses names with dots */
#define PSI_CGROUP_PREFIX "ksense-load-"
#define MAX_LINKS (16 + KSENSE_MAX_CPUS) /* tracepoints + one sampler per CPU */

struct load_opts {
	bool replace, help;
	struct ksense_config cfg;
	bool given[128]; /* by ks_settings index: set by the environment or a flag */
};

static void load_usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense load [--replace] [--window-ms MS]\n"
		"\n"
		"Loads the sensors and the tick, pins maps and one link per program under\n"
		"the pin root, starts the window timer and exits: the kernel keeps\n"
		"measuring.  Mounts bpffs and tracefs when they are missing.  Loading over\n"
		"a tree of the same schema reports it and succeeds; over another schema it\n"
		"refuses unless --replace.\n"
		"\n"
		"  --replace        unload whatever tree is there first\n"
		"  --window-ms MS   window length, %u..%u (default $KSENSE_WINDOW_MS or %u)\n"
		"\nEnvironment: KSENSE_WINDOW_MS, KSENSE_PIN_ROOT, KSENSE_VMLINUX_BTF (kernel\n"
		"BTF file when /sys/kernel/btf/vmlinux is missing).\n"
		"\nExamples:\n"
		"  ksense load\n"
		"  KSENSE_WINDOW_MS=500 ksense load --replace\n",
		KSENSE_WINDOW_MS_MIN, KSENSE_WINDOW_MS_MAX, KSENSE_WINDOW_MS_DEFAULT);
}

/* The config pin's first contents: defaults, then the environment (every
 * setting's variable, see `ksense config show`), then flags.  What the
 * caller gave is remembered: a loaded tree with other values says so. */
static int parse_load_args(int argc, char **argv, struct load_opts *o)
{
	static const struct option longopts[] = {
		{ "replace", no_argument, NULL, 'r' },
		{ "window-ms", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const struct ks_setting *window = ks_setting_find("window_ms");
	struct ks_opts p;
	char err[512];
	size_t i;
	int c, first;

	memset(o, 0, sizeof(*o));
	ks_config_defaults(&o->cfg);
	if (ks_config_from_env(&o->cfg, err, sizeof(err))) {
		fprintf(stderr, "ksense load: %s\n", err);
		return -EINVAL;
	}
	for (i = 0; i < ks_nr_settings && i < sizeof(o->given); i++)
		o->given[i] = ks_env(ks_settings[i].env) != NULL;
	ks_opts_init(&p, "ksense load", argc, argv, "h", longopts);
	while ((c = ks_opts_next(&p)) != -1) {
		switch (c) {
		case 'r':
			o->replace = true;
			break;
		case 'w':
			if (ks_setting_apply(&o->cfg, window, p.value, err, sizeof(err))) {
				fprintf(stderr, "ksense load: %s: %s\n", p.name, err);
				return -EINVAL;
			}
			o->given[window - ks_settings] = true;
			break;
		case 'h':
			o->help = true;
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (ks_opts_operands(&p, 0, &first))
		return -EINVAL;
	if (ks_config_validate(&o->cfg, err, sizeof(err))) {
		fprintf(stderr, "ksense load: invalid configuration: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

/* Staging directories and PSI cgroups carry the pid that made them; remove
 * those whose process is gone (a load killed mid-way). */
static void remove_stale(const char *dir, const char *prefix, bool is_cgroup)
{
	struct dirent *de;
	char path[1024];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *p = strstr(de->d_name, prefix);
		const char *pid_s;
		long pid;

		if (p != de->d_name)
			continue;
		pid_s = strrchr(de->d_name, '-');
		pid = pid_s ? strtol(pid_s + 1, NULL, 10) : 0;
		if (pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH)) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
				continue;
			if (is_cgroup ? rmdir(path) : ks_remove_tree(path))
				ks_warn("cannot remove stale directory", "path=%s", path);
			else
				ks_info("removed stale directory", "path=%s", path);
		}
	}
	closedir(d);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	size_t n = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, n) != (ssize_t)n)
		err = -errno;
	close(fd);
	return err;
}

static int own_cgroup2_path(char *buf, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		err = (size_t)snprintf(buf, len, "%s", line + 3) >= len ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return err;
}

static bool psi_found(struct ksense *skel)
{
	struct ksense_state st;
	__u32 key = 0;

	return !bpf_map__lookup_elem(skel->maps.ks_state, &key, sizeof(key), &st, sizeof(st), 0) &&
	       st.psi_source == KSENSE_PSI_KERNEL;
}

static bool wait_psi(struct ksense *skel, int tries)
{
	while (tries-- > 0) {
		if (psi_found(skel))
			return true;
		usleep(2000); /* each sleep is a context switch sched_switch sees */
	}
	return psi_found(skel);
}

/* The sensors find psi_system from any task in a non-root cgroup2 cgroup.
 * On a node with pods that happens at once; on a machine where everything
 * sits in the root cgroup, step into a cgroup of our own for a moment. */
static void discover_psi(struct ksense *skel)
{
	char mnt[512], orig[512], dir[1100], procs[1200], pid_s[32];
	bool moved = false;
	int err;

	if (wait_psi(skel, 10))
		return;
	err = ks_cgroup2_mount(mnt, sizeof(mnt));
	if (!err)
		err = own_cgroup2_path(orig, sizeof(orig));
	if (err) {
		ks_warn("no cgroup2 to find PSI through; PSI fields stay 0", "err=%d", err);
		return;
	}
	remove_stale(mnt, PSI_CGROUP_PREFIX, true);
	snprintf(dir, sizeof(dir), "%s/%s%d", mnt, PSI_CGROUP_PREFIX, getpid());
	snprintf(pid_s, sizeof(pid_s), "%d", getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ks_warn("cannot create cgroup for PSI discovery", "path=%s errno=%d", dir, errno);
		return;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	err = write_file(procs, pid_s);
	if (err)
		ks_warn("cannot enter cgroup for PSI discovery", "path=%s err=%d", procs, err);
	else
		moved = true;
	if (moved && !wait_psi(skel, 100))
		ks_warn("psi_system not found; PSI fields stay 0", NULL);
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", mnt, strcmp(orig, "/") ? orig : "");
	if (moved && (err = write_file(procs, pid_s)))
		ks_warn("cannot return to the original cgroup", "path=%s err=%d", procs, err);
	if (rmdir(dir))
		ks_warn("cannot remove PSI discovery cgroup", "path=%s errno=%d", dir, errno);
}

static int pin_map(struct bpf_map *map, const char *dir, const char *name)
{
	char path[1024];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err = bpf_map__pin(map, path);
	if (err)
		fprintf(stderr, "ksense load: cannot pin map %s: %s\n", path, strerror(-err));
	return err;
}

/* Settings the caller gave that the loaded tree holds otherwise: a load
 * that reports "already loaded" must not drop them silently.  True when
 * some differ (said on stderr with the two ways to apply them). */
static bool settings_differ(const struct load_opts *o, const char *root)
{
	char have[256], want[256], diff[2048] = "", set_cmd[2048] = "";
	struct ksense_config cur;
	size_t i, dl = 0, sl = 0;
	int err = ks_read_config(&cur);

	if (err) {
		fprintf(stderr, "ksense load: %s is loaded but its config pin is unreadable (%s)\n", root,
			strerror(-err));
		return true;
	}
	for (i = 0; i < ks_nr_settings && i < sizeof(o->given); i++) {
		if (!o->given[i])
			continue;
		ks_setting_format(&cur, &ks_settings[i], have, sizeof(have));
		ks_setting_format(&o->cfg, &ks_settings[i], want, sizeof(want));
		if (!strcmp(have, want))
			continue;
		if (dl < sizeof(diff))
			dl += (size_t)snprintf(diff + dl, sizeof(diff) - dl, "  %s: loaded %s, asked %s\n",
					       ks_settings[i].key, have, want);
		if (sl < sizeof(set_cmd))
			sl += (size_t)snprintf(set_cmd + sl, sizeof(set_cmd) - sl, " '%s=%s'", ks_settings[i].key,
					       want);
	}
	if (!dl)
		return false;
	fprintf(stderr, "ksense load: already loaded at %s with other settings than asked:\n%s"
		"Apply them to the loaded tree with `ksense config set%s`, or load anew with "
		"`ksense load --replace` (the history is lost).\n", root, diff, set_cmd);
	return true;
}

/* An existing tree: same schema is success, another refuses unless
 * --replace.  Returns 1 when there is nothing left to do. */
static int check_existing(const struct load_opts *o)
{
	const char *root = ks_pin_root();
	struct ksense_state st;
	int err;

	if (!ks_path_exists(root))
		return 0;
	err = ks_read_state(&st);
	if (!o->replace) {
		if (err) {
			fprintf(stderr, "ksense load: %s exists but its state pin is unreadable (%s); "
				"run `ksense unload` or `ksense load --replace`\n", root, strerror(-err));
			return -EEXIST;
		}
		if (st.schema_version != KSENSE_SCHEMA_VERSION) {
			fprintf(stderr, "ksense load: %s holds schema %u, this ksense writes schema %u; "
				"`ksense load --replace` replaces it (its history is lost)\n",
				root, st.schema_version, KSENSE_SCHEMA_VERSION);
			return -EEXIST;
		}
		if (settings_differ(o, root))
			return -EEXIST;
		printf("ksense: already loaded at %s (schema %u, last window seq %llu)\n", root,
		       st.schema_version, (unsigned long long)st.seq);
		return 1;
	}
	err = ks_remove_tree(root);
	if (err) {
		fprintf(stderr, "ksense load: cannot remove %s for --replace: %s\n", root, strerror(-err));
		return err;
	}
	ks_info("replaced existing pin tree", "root=%s", root);
	return 0;
}

/* The 99 Hz on-CPU sampler: a software clock event on every online CPU,
 * each attached through a BPF link pinned as links/<prog>_cpuN (the link
 * keeps the event alive after we exit). */
static int attach_samplers(struct bpf_program *prog, const char *staging, struct bpf_link **links,
			   int *nlinks, int ncpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = KSENSE_SAMPLE_HZ,
		.freq = 1,
	};
	char path[1024];
	int cpu, fd, err, attached = 0;

	for (cpu = 0; cpu < ncpu && cpu < KSENSE_MAX_CPUS; cpu++) {
		fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* offline CPU */
			err = -errno;
			fprintf(stderr, "ksense load: perf_event_open (cpu %d): %s\n", cpu, strerror(errno));
			return err;
		}
		links[*nlinks] = bpf_program__attach_perf_event(prog, fd);
		if (!links[*nlinks]) {
			err = -errno;
			close(fd);
			fprintf(stderr, "ksense load: cannot attach the sampler on cpu %d: %s\n", cpu, strerror(-err));
			return err;
		}
		snprintf(path, sizeof(path), "%s/" KSENSE_PIN_LINKS "/%s_cpu%d", staging,
			 bpf_program__name(prog), cpu);
		err = bpf_link__pin(links[(*nlinks)++], path);
		if (err) {
			fprintf(stderr, "ksense load: cannot pin %s: %s\n", path, strerror(-err));
			return err;
		}
		attached++;
	}
	if (!attached) {
		fprintf(stderr, "ksense load: no CPU took the on-CPU sampler\n");
		return -ENODEV;
	}
	return 0;
}

static int start_tick(struct ksense *skel)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ksense_start), &run);
	if (err)
		return -errno;
	return run.retval ? (int)run.retval : 0;
}

int cmd_load(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct bpf_link *links[MAX_LINKS] = {};
	const char *btf_path;
	char parent[512], staging[700], path[1024], root_copy[512];
	struct ksense *skel = NULL;
	struct load_opts o;
	struct bpf_program *prog;
	bool staged = false, published = false;
	int err, nlinks = 0, i, ncpu, pass;
	__u32 key = 0;

	if (parse_load_args(argc, argv, &o))
		return 2;
	if (o.help) {
		load_usage(stdout);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "ksense load: must run as root (loading BPF and mounting bpffs need it)\n");
		return 1;
	}
	btf_path = getenv("KSENSE_VMLINUX_BTF");
	if (btf_path && !*btf_path)
		btf_path = NULL;
	if (access(btf_path ? btf_path : "/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "ksense load: no kernel BTF at %s: %s (the kernel needs "
			"CONFIG_DEBUG_INFO_BTF=y, or set KSENSE_VMLINUX_BTF to its BTF file)\n",
			btf_path ? btf_path : "/sys/kernel/btf/vmlinux", strerror(errno));
		return 1;
	}
	snprintf(root_copy, sizeof(root_copy), "%s", ks_pin_root());
	snprintf(parent, sizeof(parent), "%s", dirname(root_copy));
	err = ks_ensure_bpffs(parent);
	if (err) {
		fprintf(stderr, "ksense load: cannot mount bpffs at %s: %s\n", parent, strerror(-err));
		return 1;
	}
	err = ks_ensure_tracefs();
	if (err)
		ks_warn("cannot mount tracefs; tp_btf programs do not need it", "err=%d", err);

	err = check_existing(&o);
	if (err)
		return err > 0 ? 0 : 1;
	remove_stale(parent, STAGING_PREFIX, false);

	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0) {
		fprintf(stderr, "ksense load: cannot count possible CPUs: %s\n", strerror(-ncpu));
		return 1;
	}
	open_opts.btf_custom_path = btf_path;
	skel = ksense__open_opts(&open_opts);
	if (!skel) {
		err = -errno;
		fprintf(stderr, "ksense load: cannot open the BPF object: %s\n", strerror(errno));
		goto cleanup;
	}
	/* fixed for the programs' life: read-only data, not the config pin */
	skel->rodata->ks_nr_cpus = ncpu > KSENSE_MAX_CPUS ? KSENSE_MAX_CPUS : (__u32)ncpu;
	err = ksense__load(skel);
	if (err) {
		fprintf(stderr, "ksense load: the kernel refused the BPF programs (%s); "
			"the end of libbpf's and the verifier's log:\n%s\n",
			strerror(-err), ks_libbpf_tail());
		goto cleanup;
	}

	snprintf(staging, sizeof(staging), "%s/" STAGING_PREFIX "%d", parent, getpid());
	snprintf(path, sizeof(path), "%s/" KSENSE_PIN_LINKS, staging);
	if (mkdir(staging, 0700) || mkdir(path, 0700)) {
		err = -errno;
		fprintf(stderr, "ksense load: cannot create %s: %s\n", path, strerror(errno));
		goto cleanup;
	}
	staged = true;

	err = bpf_map__update_elem(skel->maps.ks_config, &key, sizeof(key), &o.cfg, sizeof(o.cfg), 0);
	if (err) {
		fprintf(stderr, "ksense load: cannot write the config map: %s\n", strerror(-err));
		goto cleanup;
	}
	if ((err = pin_map(skel->maps.ks_config, staging, KSENSE_PIN_CONFIG)) ||
	    (err = pin_map(skel->maps.ks_state, staging, KSENSE_PIN_STATE)) ||
	    (err = pin_map(skel->maps.ks_history, staging, KSENSE_PIN_HISTORY)) ||
	    (err = pin_map(skel->maps.ks_baseline, staging, KSENSE_PIN_BASELINE)) ||
	    (err = pin_map(skel->maps.ks_score, staging, KSENSE_PIN_SCORE)) ||
	    (err = pin_map(skel->maps.ks_decision, staging, KSENSE_PIN_DECISION)) ||
	    (err = pin_map(skel->maps.ks_cgroups, staging, KSENSE_PIN_CGROUPS)) ||
	    (err = pin_map(skel->maps.ks_stacks, staging, KSENSE_PIN_STACKS)) ||
	    (err = pin_map(skel->maps.ks_self, staging, KSENSE_PIN_SELF)) ||
	    (err = pin_map(skel->maps.ks_self_gen, staging, KSENSE_PIN_SELF_GEN)) ||
	    (err = pin_map(skel->maps.ks_totals, staging, KSENSE_PIN_TOTALS)))
		goto cleanup; /* pin_map said which */

	/* two passes: every *_exit program before any other, so an entry
	 * (irq, hrtimer, softirq) is never seen without its exit */
	for (pass = 0; pass < 2; pass++) {
		bpf_object__for_each_program(prog, skel->obj) {
			const char *pname = bpf_program__name(prog);
			size_t plen = strlen(pname);
			bool is_exit = plen > 5 && !strcmp(pname + plen - 5, "_exit");

			if (bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL ||
			    bpf_program__type(prog) == BPF_PROG_TYPE_PERF_EVENT || is_exit != (pass == 0))
				continue;
			if (nlinks == MAX_LINKS) {
				err = -E2BIG;
				fprintf(stderr, "ksense load: more programs than MAX_LINKS\n");
				goto cleanup;
			}
			links[nlinks] = bpf_program__attach(prog);
			if (!links[nlinks]) {
				err = -errno;
				fprintf(stderr, "ksense load: cannot attach %s: %s\n",
					bpf_program__name(prog), strerror(errno));
				goto cleanup;
			}
			snprintf(path, sizeof(path), "%s/" KSENSE_PIN_LINKS "/%s", staging, bpf_program__name(prog));
			err = bpf_link__pin(links[nlinks++], path);
			if (err) {
				fprintf(stderr, "ksense load: cannot pin link %s: %s\n", path, strerror(-err));
				goto cleanup;
			}
		}
	}

	err = attach_samplers(skel->progs.ksense_cpu_sample, staging, links, &nlinks, ncpu);
	if (err)
		goto cleanup;
	discover_psi(skel);
	err = start_tick(skel);
	if (err) {
		fprintf(stderr, "ksense load: cannot start the window timer: %s\n", strerror(-err));
		goto cleanup;
	}
	if (rename(staging, ks_pin_root())) {
		err = -errno;
		fprintf(stderr, "ksense load: cannot publish %s as %s: %s\n", staging,
			ks_pin_root(), strerror(errno));
		goto cleanup;
	}
	published = true;
	printf("ksense: loaded %d programs at %s (schema %u, window %u ms, warm-up %u s, %u CPUs, PSI %s)\n",
	       nlinks, ks_pin_root(), KSENSE_SCHEMA_VERSION, o.cfg.window_ms, o.cfg.warmup_s, skel->rodata->ks_nr_cpus,
	       psi_found(skel) ? "from the kernel's psi_system" : "not found");

cleanup:
	/* Closing our link fds detaches nothing that is pinned; unpinning the
	 * staging tree on failure detaches everything. */
	for (i = 0; i < nlinks; i++) {
		/* libbpf's detach of a perf link disables the perf event itself,
		 * pin or no pin: a published link is let go without detaching */
		if (published)
			bpf_link__disconnect(links[i]);
		bpf_link__destroy(links[i]);
	}
	if (staged && !published && ks_remove_tree(staging))
		fprintf(stderr, "ksense load: could not remove %s; the next load will\n", staging);
	ksense__destroy(skel);
	return err ? 1 : 0;
}
