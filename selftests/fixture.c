// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fixture.h"
#include "fsutil.h"
#include "pins.h"

const char *fx_bin(void)
{
	const char *b = getenv("KSENSE_BIN");

	return b && *b ? b : "build/ksense";
}

bool fx_is_root(void)
{
	return geteuid() == 0;
}

const char *fx_promtool(void)
{
	static char path[4096];
	const char *p = getenv("KSENSE_PROMTOOL");

	if (!realpath(p && *p ? p : "build/prometheus/usr/bin/promtool", path))
		snprintf(path, sizeof(path), "%s", p && *p ? p : "build/prometheus/usr/bin/promtool");
	return path;
}

int fx_run(char *out, size_t outlen, const char *extra_env, ...)
{
	const char *argv[32];
	int pipefd[2], status, argc = 0;
	size_t used = 0;
	ssize_t n;
	va_list ap;
	pid_t pid;

	argv[argc++] = fx_bin();
	va_start(ap, extra_env);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (extra_env)
			putenv((char *)extra_env);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + used, outlen - 1 - used)) > 0) {
		used += n;
		if (used >= outlen - 1) {
			char sink[4096];

			while (read(pipefd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fx_sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *fx_root(void)
{
	static char root[128];

	/* other tests point KSENSE_PIN_ROOT at trees of their own: re-aim */
	if (!root[0])
		snprintf(root, sizeof(root), "/sys/fs/bpf/ksense-selftest-%d", getpid());
	setenv("KSENSE_PIN_ROOT", root, 1);
	return root;
}

static bool fx_loaded;

static void fx_unload(void)
{
	char out[512];

	if (fx_loaded) {
		fx_root();
		fx_run(out, sizeof(out), NULL, "unload", NULL);
	}
}

/* Trees of test runs that were killed (a CI timeout, a kill -9) stay
 * attached: every later run pays for their programs on every context
 * switch, and a benchmark measures them too.  Unload those whose process
 * is gone; a live run's tree is never touched. */
void fx_unload_orphans(void)
{
	static const char prefix[] = "ksense-selftest-";
	char out[512], env[320];
	struct dirent *e;
	DIR *d = opendir("/sys/fs/bpf");
	int pid;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, sizeof(prefix) - 1) ||
		    sscanf(e->d_name + sizeof(prefix) - 1, "%d", &pid) != 1 || pid <= 0 || pid == getpid() ||
		    !kill(pid, 0) || errno != ESRCH)
			continue;
		snprintf(env, sizeof(env), "KSENSE_PIN_ROOT=/sys/fs/bpf/%s", e->d_name);
		if (!fx_run(out, sizeof(out), env, "unload", NULL))
			printf("    unloaded /sys/fs/bpf/%s: its test run (pid %d) is gone\n", e->d_name, pid);
	}
	closedir(d);
}

int fx_load(void)
{
	char out[8192], win[16];

	fx_root();
	if (fx_loaded)
		return 0;
	fx_unload_orphans();
	snprintf(win, sizeof(win), "%d", FIXTURE_WINDOW_MS);
	if (fx_run(out, sizeof(out), NULL, "load", "--window-ms", win, NULL)) {
		printf("  ksense load failed:\n%s\n", out);
		return -1;
	}
	fx_loaded = true;
	atexit(fx_unload);
	return 0;
}

int fx_wait_window(__u64 after, struct ksense_window *w, int timeout_ms)
{
	int waited = 0;

	for (;;) {
		if (!ks_read_window(w) && w->seq > after)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(10000);
		waited += 10;
	}
}

static void add_lat(struct ksense_lat *s, const struct ksense_lat *l)
{
	s->count += l->count;
	s->sum_ns += l->sum_ns;
	s->avg_ns = s->count ? s->sum_ns / s->count : 0;
	if (l->p50_ns > s->p50_ns) s->p50_ns = l->p50_ns;
	if (l->p95_ns > s->p95_ns) s->p95_ns = l->p95_ns;
	if (l->p99_ns > s->p99_ns) s->p99_ns = l->p99_ns;
	if (l->max_ns > s->max_ns) s->max_ns = l->max_ns;
}

static void add_psi(struct ksense_psi *s, const struct ksense_psi *p)
{
	s->some_avg10_permille += p->some_avg10_permille;
	s->full_avg10_permille += p->full_avg10_permille;
	s->some_permille += p->some_permille;
	s->full_permille += p->full_permille;
}

static void div_psi(struct ksense_psi *s, int n)
{
	s->some_avg10_permille /= n;
	s->full_avg10_permille /= n;
	s->some_permille /= n;
	s->full_permille /= n;
}

static __u64 last_p99[64];
static int last_n;

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

__u64 fx_last_runq_p99_median(void)
{
	__u64 v[64];

	if (!last_n)
		return 0;
	memcpy(v, last_p99, sizeof(v[0]) * last_n);
	qsort(v, last_n, sizeof(v[0]), cmp_u64);
	return v[last_n / 2];
}

int fx_collect(int n, struct ksense_window *sum)
{
	struct ksense_window w;
	__u64 busy = 0, seq;
	int i, err;

	memset(sum, 0, sizeof(*sum));
	/* the window open now started before the caller's workload: skip it */
	err = fx_wait_window(0, &w, 5000);
	if (err)
		return err;
	err = fx_wait_window(w.seq, &w, 5000);
	if (err)
		return err;
	seq = w.seq;
	for (i = 0; i < n; i++) {
		err = fx_wait_window(seq, &w, 5000);
		if (err)
			return err;
		seq = w.seq;
		if (!i)
			sum->start_ns = w.start_ns;
		if (i < 64)
			last_p99[i] = w.runq.p99_ns;
		last_n = i < 64 ? i + 1 : 64;
		sum->seq = w.seq;
		sum->end_ns = w.end_ns;
		sum->duration_ns += w.duration_ns;
		add_lat(&sum->runq, &w.runq);
		add_lat(&sum->dstate, &w.dstate);
		add_lat(&sum->netrx, &w.netrx);
		sum->dstate_ns += w.dstate_ns;
		sum->netrx_ns += w.netrx_ns;
		sum->cpu_busy_ns += w.cpu_busy_ns;
		busy += w.cpu_busy_permille;
		sum->nr_cpus = w.nr_cpus;
		add_psi(&sum->psi_cpu, &w.psi_cpu);
		add_psi(&sum->psi_io, &w.psi_io);
		add_psi(&sum->psi_mem, &w.psi_mem);
		sum->psi_source = w.psi_source;
	}
	sum->cpu_busy_permille = busy / n;
	div_psi(&sum->psi_cpu, n);
	div_psi(&sum->psi_io, n);
	div_psi(&sum->psi_mem, n);
	sum->dstate_us_per_s = sum->duration_ns ? sum->dstate_ns * 1000000 / sum->duration_ns : 0;
	sum->netrx_us_per_s = sum->duration_ns ? sum->netrx_ns * 1000000 / sum->duration_ns : 0;
	return 0;
}

static struct {
	char tag[32];
	char path[96];
} tmpdirs[16];

static void remove_tmpdirs(void)
{
	for (size_t i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]); i++)
		if (tmpdirs[i].path[0])
			ks_remove_tree(tmpdirs[i].path);
}

const char *fx_tmpdir(const char *tag)
{
	size_t i;

	for (i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]) && tmpdirs[i].path[0]; i++)
		if (!strcmp(tmpdirs[i].tag, tag))
			return tmpdirs[i].path;
	if (i == sizeof(tmpdirs) / sizeof(tmpdirs[0]))
		return "/tmp";
	if (!i)
		atexit(remove_tmpdirs);
	snprintf(tmpdirs[i].tag, sizeof(tmpdirs[i].tag), "%s", tag);
	snprintf(tmpdirs[i].path, sizeof(tmpdirs[i].path), "/tmp/ksense-%.31s-%d", tag, getpid());
	mkdir(tmpdirs[i].path, 0700);
	return tmpdirs[i].path;
}
