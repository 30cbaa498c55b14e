// SPDX-License-Identifier: GPL-2.0
/*
 * GET /pods (see pods.h).  Every number is the `cgroups` pin's last window
 * of each cgroup, per second of that window; the top functions are the
 * `stacks` pin's samples since load (the pin is cumulative), symbolized in
 * the sampled process and cached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cgpath.h"
#include "log.h"
#include "pins.h"
#include "podmap.h"
#include "podmeta.h"
#include "names.h"
#include "pods.h"
#include "pods_waits.h"
#include "symbolize.h"

/* Symbolization cache: (tgid, addr) -> function and module.  Entries live
 * SYM_TTL_MS so an exec or a reused pid is named afresh; the table is
 * emptied between requests when it holds SYM_MAX_LEN, so one request
 * (at most 2 x KSENSE_MAX_STACKS keys) always fits in SYM_CAP slots. */
#define SYM_CAP     (1u << 16)
#define SYM_MAX_LEN (KSENSE_MAX_STACKS)
#define SYM_TTL_MS  60000ull
/* Naming an address reads /proc/PID/maps, and the server's one thread
 * answers admissions too: each request names at most this many new
 * addresses, the most sampled first; the rest still count in the shares'
 * denominators and are named by later requests. */
#define SYM_FRESH_PER_REQUEST 512

struct sym_ent {
	__u64 addr;
	__u32 tgid;
	__u32 used;
	unsigned long long at_ms;
	char *func;
	char *module;
};

struct ks_pods {
	struct ks_cgpath *cgp;
	struct ks_symbolizer *sy;
	struct sym_ent *syms;        /* SYM_CAP slots */
	size_t nr_syms;
};

struct row {
	__u64 id;
	struct ksense_cgroup cg;
	struct ks_pod_ref ref;
	double dur_s;                /* length of the cgroup's window */
	size_t pod;
};

struct fn {
	const char *func, *module;   /* owned by the symbol cache */
	__u64 samples;
};

struct pod {
	char uid[KS_POD_UID_LEN];
	char ns[254], name[254];
	size_t first, n;             /* its rows */
	bool excluded;
	struct fn *fns;
	size_t nr_fns, cap_fns;
	__u64 stack_samples;
};

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

struct ks_pods *ks_pods_new(void)
{
	struct ks_pods *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->syms = calloc(SYM_CAP, sizeof(*p->syms));
	p->sy = ks_symbolizer_new();
	if (!p->syms || !p->sy) {
		ks_pods_free(p);
		return NULL;
	}
	return p;
}

static void syms_clear(struct ks_pods *p)
{
	size_t i;

	for (i = 0; i < SYM_CAP; i++)
		if (p->syms[i].used) {
			free(p->syms[i].func);
			free(p->syms[i].module);
		}
	memset(p->syms, 0, SYM_CAP * sizeof(*p->syms));
	p->nr_syms = 0;
}

void ks_pods_free(struct ks_pods *p)
{
	if (!p)
		return;
	if (p->syms)
		syms_clear(p);
	free(p->syms);
	ks_symbolizer_free(p->sy);
	ks_cgpath_free(p->cgp);
	free(p);
}

/* The cached name of (tgid, addr), symbolizing on a miss or when stale
 * while *budget lasts; NULL when out of budget (*budget 0) or memory. */
static const struct sym_ent *symbol(struct ks_pods *p, __u32 tgid, __u64 addr, unsigned long long now,
				    int *budget)
{
	size_t k = (size_t)(((addr ^ ((__u64)tgid << 40)) * 0x9e3779b97f4a7c15ull) >> 48) & (SYM_CAP - 1);
	struct sym_ent *e;
	char func[256], module[512];

	for (; p->syms[k].used; k = (k + 1) & (SYM_CAP - 1))
		if (p->syms[k].tgid == tgid && p->syms[k].addr == addr)
			break;
	e = &p->syms[k];
	if (e->used && now - e->at_ms < SYM_TTL_MS)
		return e;
	if (*budget <= 0)
		return NULL;
	--*budget;
	/* unknown addresses come back as module+offset, a gone process as
	 * "[unknown]": both are cached like names */
	ks_symbolize_split(p->sy, (pid_t)tgid, addr, func, sizeof(func), module, sizeof(module));
	if (e->used) {
		free(e->func);
		free(e->module);
	} else {
		p->nr_syms++;
	}
	e->used = 1;
	e->tgid = tgid;
	e->addr = addr;
	e->at_ms = now;
	e->func = strdup(func);
	e->module = strdup(module);
	if (!e->func || !e->module) {
		free(e->func);
		free(e->module);
		e->func = e->module = NULL;
		e->at_ms = 0;
		return NULL;
	}
	return e;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->ref.uid, y->ref.uid);

	return c ? c : strcmp(x->ref.container_id, y->ref.container_id);
}

static int cmp_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return strcmp(x->func, y->func);
}

/* Every key of a hash map, sorted and without duplicates: a key deleted
 * under us (LRU eviction, a cgroup removed) makes get_next_key start over,
 * so the walk is bounded and deduplicated rather than trusted. */
static int map_keys(int fd, size_t key_size, size_t max, int (*cmp)(const void *, const void *), void **out,
		    size_t *nout)
{
	char *keys = malloc(max * key_size), cur[64], next[64];
	size_t n = 0, i, w;
	bool first = true;

	if (!keys)
		return -ENOMEM;
	while (n < max && !bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
		memcpy(keys + n * key_size, next, key_size);
		memcpy(cur, next, key_size);
		first = false;
		n++;
	}
	qsort(keys, n, key_size, cmp);
	for (i = w = 0; i < n; i++)
		if (!w || cmp(keys + (w - 1) * key_size, keys + i * key_size))
			memmove(keys + w++ * key_size, keys + i * key_size, key_size);
	n = w;
	*out = keys;
	*nout = n;
	return 0;
}

/* Length of window `seq` in s, from the history ring; cfg's window_ms when
 * the slot was overwritten.  A few seqs per request: cached in `memo`. */
static double window_s(int hist_fd, __u64 seq, __u32 window_ms, __u64 memo[8][2])
{
	struct ksense_window hw;
	int i = (int)(seq % 8);

	if (memo[i][0] == seq && memo[i][1])
		return memo[i][1] / 1e9;
	memo[i][0] = seq;
	memo[i][1] = hist_fd >= 0 && !ks_read_history(hist_fd, seq, &hw) && hw.duration_ns ? hw.duration_ns
											      : window_ms * 1000000ull;
	return memo[i][1] / 1e9;
}

static bool excluded(const struct ks_pods_opts *o, const char *ns)
{
	int i;

	for (i = 0; ns[0] && i < o->nr_exclude; i++)
		if (!strcmp(o->exclude[i], ns))
			return true;
	return false;
}

static int add_fn(struct pod *pd, const struct sym_ent *e, __u64 count)
{
	size_t i;

	pd->stack_samples += count;
	for (i = 0; i < pd->nr_fns; i++)
		if (!strcmp(pd->fns[i].func, e->func) && !strcmp(pd->fns[i].module, e->module)) {
			pd->fns[i].samples += count;
			return 0;
		}
	if (pd->nr_fns == pd->cap_fns) {
		size_t cap = pd->cap_fns ? pd->cap_fns * 2 : 16;
		struct fn *g = realloc(pd->fns, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		pd->fns = g;
		pd->cap_fns = cap;
	}
	pd->fns[pd->nr_fns++] = (struct fn){ e->func, e->module, count };
	return 0;
}

static int cmp_stack_key(const void *a, const void *b)
{
	const struct ksense_stack_key *x = a, *y = b;

	if (x->cgroup_id != y->cgroup_id)
		return x->cgroup_id < y->cgroup_id ? -1 : 1;
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct rowref {
	__u64 id;
	size_t row;
};

static int cmp_rowref(const void *a, const void *b)
{
	return cmp_u64(&((const struct rowref *)a)->id, &((const struct rowref *)b)->id);
}

struct hit {
	__u64 count;
	size_t key;
	size_t pod;
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->count > y->count ? -1 : x->count < y->count;
}

/* Samples of the stacks pin into each reported pod's function tally. */
static int tally_stacks(struct ks_pods *p, int fd, struct row *rows, size_t nr, struct pod *pods)
{
	struct rowref *idx = malloc((nr ? nr : 1) * sizeof(*idx));
	struct ksense_stack_key *keys = NULL;
	struct hit *hits = NULL;
	unsigned long long now = mono_ms();
	size_t nk = 0, nh = 0, i;
	int err, budget = SYM_FRESH_PER_REQUEST;

	if (!idx)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		idx[i] = (struct rowref){ rows[i].id, i };
	qsort(idx, nr, sizeof(*idx), cmp_rowref);
	if (p->nr_syms >= SYM_MAX_LEN)
		syms_clear(p);
	err = map_keys(fd, sizeof(*keys), 2 * KSENSE_MAX_STACKS, cmp_stack_key, (void **)&keys, &nk);
	if (!err && !(hits = malloc((nk ? nk : 1) * sizeof(*hits))))
		err = -ENOMEM;
	for (i = 0; !err && i < nk; i++) {
		struct rowref want = { keys[i].cgroup_id, 0 }, *hit;
		__u64 count;

		hit = bsearch(&want, idx, nr, sizeof(*idx), cmp_rowref);
		if (!hit || pods[rows[hit->row].pod].excluded || bpf_map_lookup_elem(fd, &keys[i], &count) || !count)
			continue;
		hits[nh++] = (struct hit){ count, i, rows[hit->row].pod };
	}
	if (!err && nh > 1)
		qsort(hits, nh, sizeof(*hits), cmp_hit);
	for (i = 0; !err && i < nh; i++) {
		const struct ksense_stack_key *k = &keys[hits[i].key];
		const struct sym_ent *e = symbol(p, k->tgid, k->addr, now, &budget);

		if (e)
			err = add_fn(&pods[hits[i].pod], e, hits[i].count);
		else if (budget > 0)
			err = -ENOMEM;
		else
			pods[hits[i].pod].stack_samples += hits[i].count; /* named next time */
	}
	free(hits);
	free(keys);
	free(idx);
	return err;
}

struct sums {
	__u64 on_cpu_permille, samples, io_count, io_bytes, throttled_permille;
	double d_ms_per_s, s_ms_per_s, ios_per_s, bytes_per_s, io_ms_per_s, throttled_ms_per_s;
	double runq_wait_permille; /* run-queue wait, task-time per window (‰ of one CPU) */
};

static void add_row(struct sums *s, const struct row *r)
{
	const struct ksense_cgroup *cg = &r->cg;

	s->on_cpu_permille += cg->on_cpu_permille;
	s->throttled_permille += cg->throttled_permille;
	s->throttled_ms_per_s += cg->throttled_ns / 1e6 / r->dur_s;
	s->runq_wait_permille += cg->rq_sum_ns / 1e6 / r->dur_s;
	s->samples += cg->samples;
	s->io_count += cg->io_count;
	s->d_ms_per_s += cg->d_ns / 1e6 / r->dur_s;
	s->s_ms_per_s += cg->s_ns / 1e6 / r->dur_s;
	s->ios_per_s += cg->io_count / r->dur_s;
	s->bytes_per_s += cg->io_bytes / r->dur_s;
	/* time the cgroup's I/O was in flight, summed over requests */
	s->io_ms_per_s += (double)cg->io_count * cg->io_lat_avg_ns / 1e6 / r->dur_s;
}

/* The busiest non-idle cgroup (on-CPU + D + S + throttled), whose class
 * is the pod's; NULL (IDLE) when every one is idle. */
static const struct ksense_cgroup *pod_class_cg(const struct row *rows, const struct pod *pd)
{
	const struct ksense_cgroup *best_cg = NULL;
	__u64 best = 0;
	size_t i;

	for (i = pd->first; i < pd->first + pd->n; i++) {
		const struct ksense_cgroup *cg = &rows[i].cg;
		__u64 busy = (__u64)cg->on_cpu_permille + cg->d_permille + cg->s_permille + cg->throttled_permille;

		if (cg->class == KSENSE_CLASS_IDLE || cg->class == KSENSE_CLASS_UNKNOWN)
			continue;
		if (!best_cg || busy > best) {
			best = busy;
			best_cg = cg;
		}
	}
	return best_cg;
}

/* The CFS quota that binds r's tasks, as the group's own counters show
 * it over the window ("cpu_limit": null when no group up the tree has a
 * quota). */
static void render_cg_limit(struct ks_buf *b, const struct ksense_cgroup *cg, double dur_s)
{
	if (cg->bw_level == ~0u || !cg->bw_period_us) {
		ks_buf_printf(b, ",\"cpu_limit\":null");
		return;
	}
	ks_buf_printf(b,
		      ",\"cpu_limit\":{\"millicores\":%llu,\"quota_us\":%llu,\"period_us\":%llu,\"level\":%u,"
		      "\"cgroup_id\":%llu,\"periods\":%u,\"throttled_periods\":%u,\"throttled_ms_per_s\":%.3f}",
		      (unsigned long long)(cg->bw_quota_us * 1000 / cg->bw_period_us),
		      (unsigned long long)cg->bw_quota_us, (unsigned long long)cg->bw_period_us, cg->bw_level,
		      (unsigned long long)cg->bw_cgroup_id, cg->bw_nr_periods, cg->bw_nr_throttled,
		      cg->bw_throttled_ns / 1e6 / dur_s);
}

static void render_psi_one(struct ks_buf *b, const char *name, const struct ksense_psi *p)
{
	ks_buf_printf(b, "\"%s\":{\"some_avg10_permille\":%u,\"full_avg10_permille\":%u,\"some_permille\":%u,"
		      "\"full_permille\":%u}", name, p->some_avg10_permille, p->full_avg10_permille, p->some_permille,
		      p->full_permille);
}

/* ,"runq":{...},"psi":{...} of one cgroup (psi null when the kernel keeps
 * none for it). */
static void render_cg_runq_psi(struct ks_buf *b, const struct ksense_cgroup *cg, double dur_s)
{
	ks_buf_printf(b, ",\"runq\":{\"waits_per_s\":%.3f,\"avg_us\":%.3f,\"p50_us\":%.3f,\"p99_us\":%.3f,"
		      "\"max_us\":%.3f}", cg->rq_count / dur_s, cg->rq_avg_ns / 1e3, cg->rq_p50_ns / 1e3,
		      cg->rq_p99_ns / 1e3, cg->rq_max_ns / 1e3);
	if (cg->psi_source != KSENSE_PSI_KERNEL) {
		ks_buf_printf(b, ",\"psi\":null");
		return;
	}
	ks_buf_printf(b, ",\"psi\":{");
	render_psi_one(b, "cpu", &cg->psi_cpu);
	ks_buf_printf(b, ",");
	render_psi_one(b, "io", &cg->psi_io);
	ks_buf_printf(b, ",");
	render_psi_one(b, "memory", &cg->psi_mem);
	ks_buf_printf(b, "}");
}

/* A pod's run-queue latency and PSI: percentiles cannot be added, so
 * p50/p99 are those of the container with the most waits (a pod's tasks
 * are its containers'), avg is count-weighted, max the largest; PSI is
 * its most stalled container's (cpu some avg10). */
static void render_pod_runq_psi(struct ks_buf *b, const struct row *rows, const struct pod *pd)
{
	const struct row *busiest = NULL, *stalled = NULL;
	struct ksense_cgroup agg;
	double dur_s = 1.0, waits_per_s = 0;
	__u64 count = 0, sum = 0, max = 0;
	size_t i;

	for (i = pd->first; i < pd->first + pd->n; i++) {
		const struct ksense_cgroup *cg = &rows[i].cg;

		count += cg->rq_count;
		sum += cg->rq_sum_ns;
		waits_per_s += cg->rq_count / rows[i].dur_s;
		if (cg->rq_max_ns > max)
			max = cg->rq_max_ns;
		if (!busiest || cg->rq_count > busiest->cg.rq_count)
			busiest = &rows[i];
		if (cg->psi_source == KSENSE_PSI_KERNEL &&
		    (!stalled || cg->psi_cpu.some_avg10_permille > stalled->cg.psi_cpu.some_avg10_permille))
			stalled = &rows[i];
	}
	memset(&agg, 0, sizeof(agg));
	if (busiest) {
		agg.rq_p50_ns = busiest->cg.rq_p50_ns;
		agg.rq_p99_ns = busiest->cg.rq_p99_ns;
	}
	if (stalled) {
		agg.psi_source = KSENSE_PSI_KERNEL;
		agg.psi_cpu = stalled->cg.psi_cpu;
		agg.psi_io = stalled->cg.psi_io;
		agg.psi_mem = stalled->cg.psi_mem;
	}
	agg.rq_avg_ns = count ? sum / count : 0;
	agg.rq_max_ns = max;
	/* waits_per_s is summed per each row's own window */
	agg.rq_count = (__u64)(waits_per_s + 0.5);
	render_cg_runq_psi(b, &agg, dur_s);
}

/* The pod's limit: that of its most throttled cgroup (or of any that has
 * one); containers of one pod limited by the pod's own quota show the same
 * group, counted once. */
static void render_limit(struct ks_buf *b, const struct row *rows, const struct pod *pd)
{
	const struct row *best = NULL;
	size_t i;

	for (i = pd->first; i < pd->first + pd->n; i++) {
		const struct ksense_cgroup *cg = &rows[i].cg;

		if (cg->bw_level == ~0u || !cg->bw_period_us)
			continue;
		if (!best || cg->bw_throttled_ns > best->cg.bw_throttled_ns)
			best = &rows[i];
	}
	if (best)
		render_cg_limit(b, &best->cg, best->dur_s);
	else
		ks_buf_printf(b, ",\"cpu_limit\":null");
}

static void render_pod(struct ks_buf *b, struct ks_pods *p, const struct ks_pods_opts *o, const struct row *rows,
		       struct pod *pd)
{
	const struct ksense_cgroup *cls_cg = pod_class_cg(rows, pd);
	struct ks_wait_row *wr = calloc(pd->n ? pd->n : 1, sizeof(*wr));
	struct sums s = {};
	size_t i, nc = 0, k;

	for (i = pd->first; i < pd->first + pd->n; i++)
		add_row(&s, &rows[i]);
	ks_buf_printf(b, "{\"uid\":");
	ks_buf_json_str(b, pd->uid);
	ks_buf_printf(b, ",\"namespace\":");
	ks_buf_json_str(b, pd->ns);
	ks_buf_printf(b, ",\"name\":");
	ks_buf_json_str(b, pd->name);
	ks_buf_printf(b,
		      ",\"class\":\"%s\",\"oncpu_permille\":%llu,\"d_ms_per_s\":%.3f,\"s_ms_per_s\":%.3f,"
		      "\"throttled_permille\":%llu,\"throttled_ms_per_s\":%.3f,\"runq_wait_permille\":%.0f,"
		      "\"block_ios_per_s\":%.3f,\"block_bytes_per_s\":%.1f,\"block_ms_per_s\":%.3f,"
		      "\"block_lat_avg_us\":%.3f,\"samples\":%llu",
		      ks_cgroup_class_name(cls_cg ? cls_cg->class : KSENSE_CLASS_IDLE), (unsigned long long)s.on_cpu_permille, s.d_ms_per_s,
		      s.s_ms_per_s, (unsigned long long)s.throttled_permille, s.throttled_ms_per_s, s.runq_wait_permille,
		      s.ios_per_s,
		      s.bytes_per_s, s.io_ms_per_s, s.ios_per_s > 0 ? s.io_ms_per_s * 1000.0 / s.ios_per_s : 0.0,
		      (unsigned long long)s.samples);
	render_limit(b, rows, pd);
	render_pod_runq_psi(b, rows, pd);
	for (i = 0; wr && i < pd->n; i++)
		wr[i] = (struct ks_wait_row){ &rows[pd->first + i].cg, rows[pd->first + i].dur_s };
	ks_pods_render_waits(b, p->cgp, o->meta, pd->uid, wr, wr ? pd->n : 0, cls_cg);
	free(wr);
	ks_buf_printf(b, ",\"top\":[");
	if (pd->nr_fns > 1)
		qsort(pd->fns, pd->nr_fns, sizeof(*pd->fns), cmp_fn);
	for (k = 0; k < pd->nr_fns && k < KS_PODS_TOP; k++) {
		ks_buf_printf(b, "%s{\"function\":", k ? "," : "");
		ks_buf_json_str(b, pd->fns[k].func);
		ks_buf_printf(b, ",\"module\":");
		ks_buf_json_str(b, pd->fns[k].module);
		ks_buf_printf(b, ",\"share_permille\":%llu}",
			      (unsigned long long)(pd->fns[k].samples * 1000 / pd->stack_samples));
	}
	ks_buf_printf(b, "],\"containers\":[");
	for (i = pd->first; i < pd->first + pd->n; i++) {
		const struct row *r = &rows[i];
		struct sums c = {};
		char cname[254] = "";

		/* the pod-level cgroup adds to the pod's sums but is no container */
		if (!r->ref.container_id[0])
			continue;
		add_row(&c, r);
		if (o->meta)
			ks_podmeta_container(o->meta, pd->uid, r->ref.container_id, cname, sizeof(cname));
		ks_buf_printf(b, "%s{\"name\":", nc++ ? "," : "");
		ks_buf_json_str(b, cname);
		ks_buf_printf(b, ",\"id\":");
		ks_buf_json_str(b, r->ref.container_id);
		ks_buf_printf(b,
			      ",\"cgroup_id\":%llu,\"class\":\"%s\",\"oncpu_permille\":%u,\"d_ms_per_s\":%.3f,"
			      "\"s_ms_per_s\":%.3f,\"throttled_permille\":%u,\"throttled_ms_per_s\":%.3f,"
			      "\"runq_wait_permille\":%.0f,\"block_ios_per_s\":%.3f,\"block_ms_per_s\":%.3f,"
			      "\"block_lat_avg_us\":%.3f,\"samples\":%llu",
			      (unsigned long long)r->id, ks_cgroup_class_name(r->cg.class), r->cg.on_cpu_permille, c.d_ms_per_s,
			      c.s_ms_per_s, r->cg.throttled_permille, c.throttled_ms_per_s, c.runq_wait_permille,
			      c.ios_per_s, c.io_ms_per_s,
			      r->cg.io_lat_avg_ns / 1e3, (unsigned long long)r->cg.samples);
		render_cg_limit(b, &r->cg, r->dur_s);
		render_cg_runq_psi(b, &r->cg, r->dur_s);
		{
			struct ks_wait_row one = { &r->cg, r->dur_s };

			ks_pods_render_waits(b, p->cgp, o->meta, pd->uid, &one, 1, &r->cg);
		}
		ks_buf_printf(b, "}");
	}
	ks_buf_printf(b, "]}");
}

/* What one request reads: the recent cgroups mapped to pods, grouped. */
struct collected {
	struct ksense_window w;
	struct ksense_config cfg;
	struct row *rows;
	struct pod *pods;
	size_t nr, np;
	int st_fd;
};

static void collected_free(struct collected *c)
{
	size_t i;

	for (i = 0; c->pods && i < c->np; i++)
		free(c->pods[i].fns);
	free(c->pods);
	free(c->rows);
	ks_close(c->st_fd);
	memset(c, 0, sizeof(*c));
	c->st_fd = -1;
}

/* Every cgroup of the pin active in the last KS_PODS_RECENT_WINDOWS,
 * mapped to its pod and container and grouped by pod.  0, or the HTTP
 * status (503, 500) with the reason in msg; c is freed by the caller
 * either way. */
static int collect(struct ks_pods *p, const struct ks_pods_opts *o, struct collected *c, char *msg, size_t msglen)
{
	__u64 *ids = NULL, memo[8][2] = {};
	size_t nids = 0, i;
	char path[4096];
	int cg_fd = -1, hist_fd = -1, err, status = 0;

	memset(c, 0, sizeof(*c));
	c->st_fd = -1;
	err = ks_read_config(&c->cfg);
	if (!err)
		err = ks_read_window(&c->w);
	if (err) {
		snprintf(msg, msglen, "pins unreadable at %s: %s (is ksense loaded?)", ks_pin_root(), strerror(-err));
		return 503;
	}
	if (!c->w.seq) {
		snprintf(msg, msglen, "no window closed yet");
		return 503;
	}
	cg_fd = ks_pin_open(KSENSE_PIN_CGROUPS);
	c->st_fd = ks_pin_open(KSENSE_PIN_STACKS);
	if (cg_fd < 0 || c->st_fd < 0) {
		snprintf(msg, msglen, "pin %s/%s missing: %s (a ksense older than schema 3?)", ks_pin_root(),
			 cg_fd < 0 ? KSENSE_PIN_CGROUPS : KSENSE_PIN_STACKS, strerror(-(cg_fd < 0 ? cg_fd : c->st_fd)));
		status = 503;
		goto out;
	}
	if (!p->cgp) {
		/* made on first use, and again after a failure: a cgroup2
		 * mount that appears later is picked up */
		p->cgp = ks_cgpath_new(NULL, msg, msglen);
		if (!p->cgp) {
			ks_warn("cannot map cgroup ids to paths", "err=\"%s\"", msg);
			status = 503;
			goto out;
		}
	}
	hist_fd = ks_pin_open(KSENSE_PIN_HISTORY);
	err = map_keys(cg_fd, sizeof(__u64), 2 * KSENSE_MAX_CGROUPS, cmp_u64, (void **)&ids, &nids);
	if (!err && !(c->rows = calloc(nids ? nids : 1, sizeof(*c->rows))))
		err = -ENOMEM;
	for (i = 0; !err && i < nids; i++) {
		struct row *rw = &c->rows[c->nr];
		int rc;

		/* gone since the key walk: skip, as any cgroup may vanish */
		if (bpf_map_lookup_elem(cg_fd, &ids[i], &rw->cg))
			continue;
		/* the tick may close a window between our reads: a cgroup of
		 * a newer window than w is recent too */
		if (rw->cg.seq < c->w.seq && c->w.seq - rw->cg.seq > KS_PODS_RECENT_WINDOWS)
			continue;
		rc = ks_cgpath_lookup(p->cgp, ids[i], path, sizeof(path));
		if (rc == -ENOENT || rc == -ENOSPC)
			continue;
		if (rc) {
			snprintf(msg, msglen, "cannot read the cgroup2 tree at %s: %s", ks_cgpath_mount(p->cgp),
				 strerror(-rc));
			status = 503;
			goto out;
		}
		if (ks_podmap_parse(path, &rw->ref))
			continue;
		rw->id = ids[i];
		rw->dur_s = window_s(hist_fd, rw->cg.seq, c->cfg.window_ms, memo);
		if (rw->dur_s <= 0)
			rw->dur_s = 1.0;
		c->nr++;
	}
	if (!err && !(c->pods = calloc(c->nr ? c->nr : 1, sizeof(*c->pods))))
		err = -ENOMEM;
	if (err) {
		snprintf(msg, msglen, "cannot read the cgroups pin: %s", strerror(-err));
		status = 500;
		goto out;
	}
	qsort(c->rows, c->nr, sizeof(*c->rows), cmp_row);
	for (i = 0; i < c->nr; i++) {
		if (!c->np || strcmp(c->pods[c->np - 1].uid, c->rows[i].ref.uid)) {
			struct pod *pd = &c->pods[c->np++];

			strcpy(pd->uid, c->rows[i].ref.uid);
			pd->first = i;
			if (o->meta)
				ks_podmeta_pod(o->meta, pd->uid, pd->ns, sizeof(pd->ns), pd->name, sizeof(pd->name));
			pd->excluded = excluded(o, pd->ns);
		}
		c->pods[c->np - 1].n++;
		c->rows[i].pod = c->np - 1;
	}
out:
	free(ids);
	ks_close(cg_fd);
	ks_close(hist_fd);
	return status;
}

void ks_pods_render(struct ks_pods *p, const struct ks_pods_opts *o, struct ks_response *r)
{
	struct collected c;
	char msg[512];
	size_t i;
	bool first = true;
	int status = collect(p, o, &c, msg, sizeof(msg)), err;

	if (status) {
		ks_response_error(r, status, msg);
		goto out;
	}
	err = tally_stacks(p, c.st_fd, c.rows, c.nr, c.pods);
	if (err) {
		snprintf(msg, sizeof(msg), "cannot read the stacks pin: %s", strerror(-err));
		ks_response_error(r, 500, msg);
		goto out;
	}
	ks_buf_printf(&r->body, "{\"node\":");
	ks_buf_json_str(&r->body, o->node);
	ks_buf_printf(&r->body, ",\"seq\":%llu,\"window_ms\":%u,\"pods\":[", (unsigned long long)c.w.seq,
		      c.cfg.window_ms);
	for (i = 0; i < c.np; i++) {
		if (c.pods[i].excluded)
			continue;
		if (!first)
			ks_buf_printf(&r->body, ",");
		first = false;
		render_pod(&r->body, p, o, c.rows, &c.pods[i]);
	}
	ks_buf_printf(&r->body, "]}\n");
out:
	collected_free(&c);
}

void ks_pods_prometheus(struct ks_pods *p, const struct ks_pods_opts *o, struct ks_buf *b)
{
	static const struct {
		const char *name, *type, *help;
	} fams[] = {
		{ "ksense_pod_class", "gauge", "1 on the container's bottleneck class as the kernel sees it (CPU, "
		  "THROTTLED, BLOCK, OFFCPU, IDLE), per container of this node's pods" },
		{ "ksense_pod_cpu_ratio", "gauge", "Share of one CPU the container ran in its last window." },
		{ "ksense_pod_throttled_ratio", "gauge", "Share of its last window the container's CFS quota held it back." },
		{ "ksense_pod_offcpu_ratio", "gauge",
		  "Task time off CPU per second of its last window, by state (d: uninterruptible, s: interruptible)." },
		{ "ksense_pod_runqueue_wait_ratio", "gauge",
		  "Task time runnable but waiting for a CPU per second of its last window: with cpu_ratio, its CPU demand." },
		{ "ksense_pod_runqueue_latency_p99_seconds", "gauge", "The container's run-queue latency p99 in its last window." },
	};
	struct collected c;
	char msg[512];
	size_t i, k;
	int f;

	if (collect(p, o, &c, msg, sizeof(msg))) {
		collected_free(&c);
		return; /* ksense_pins_up says why when the pins are gone */
	}
	for (f = 0; f < (int)(sizeof(fams) / sizeof(fams[0])); f++) {
		ks_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help, fams[f].name, fams[f].type);
		for (i = 0; i < c.np; i++) {
			const struct pod *pd = &c.pods[i];

			if (pd->excluded)
				continue;
			for (k = pd->first; k < pd->first + pd->n; k++) {
				const struct row *r = &c.rows[k];
				char cname[254] = "";

				if (!r->ref.container_id[0])
					continue; /* the pod-level cgroup: no container */
				if (o->meta)
					ks_podmeta_container(o->meta, pd->uid, r->ref.container_id, cname, sizeof(cname));
				ks_buf_printf(b, "%s{namespace=\"", fams[f].name);
				ks_buf_prom_label(b, pd->ns);
				ks_buf_printf(b, "\",pod=\"");
				ks_buf_prom_label(b, pd->name[0] ? pd->name : pd->uid);
				ks_buf_printf(b, "\",container=\"");
				ks_buf_prom_label(b, cname[0] ? cname : r->ref.container_id);
				switch (f) {
				case 0:
					ks_buf_printf(b, "\",class=\"%s\"} 1\n", ks_cgroup_class_name(r->cg.class));
					break;
				case 1:
					ks_buf_printf(b, "\"} %.3f\n", r->cg.on_cpu_permille / 1e3);
					break;
				case 2:
					ks_buf_printf(b, "\"} %.3f\n", r->cg.throttled_permille / 1e3);
					break;
				case 3:
					ks_buf_printf(b, "\",state=\"d\"} %.6f\n", r->cg.d_ns / 1e9 / r->dur_s);
					ks_buf_printf(b, "%s{namespace=\"", fams[f].name);
					ks_buf_prom_label(b, pd->ns);
					ks_buf_printf(b, "\",pod=\"");
					ks_buf_prom_label(b, pd->name[0] ? pd->name : pd->uid);
					ks_buf_printf(b, "\",container=\"");
					ks_buf_prom_label(b, cname[0] ? cname : r->ref.container_id);
					ks_buf_printf(b, "\",state=\"s\"} %.6f\n", r->cg.s_ns / 1e9 / r->dur_s);
					break;
				case 4:
					ks_buf_printf(b, "\"} %.6f\n", r->cg.rq_sum_ns / 1e9 / r->dur_s);
					break;
				default:
					ks_buf_printf(b, "\"} %.9f\n", r->cg.rq_p99_ns / 1e9);
					break;
				}
			}
		}
	}
	collected_free(&c);
}
