// SPDX-License-Identifier: GPL-2.0
/*
 * Log-linear histogram: the bucket math on the host, and the percentiles
 * the BPF side computes (the same ksense_hist_add and ksense_lat_from_merged
 * the sensors and the tick run, driven through BPF_PROG_TEST_RUN) against an
 * exact nearest-rank computation.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "hist.h"
#include "cghist.h"
#include "ksense_test.skel.h"

/* pins/README.md states this bound: half a bucket width over the bucket's
 * lower edge, i.e. 1/16. */
#define REL_ERR_NUM 1
#define REL_ERR_DEN 16

KS_TEST_F(hist_index, KS_SAN | KS_HOST)
{
	__u64 v, prev_lo = 0;
	__u32 i, prev = 0;
	int shift;

	if (test__start_subtest("exact_below_16")) {
		for (v = 0; v < 16; v++)
			if (!ASSERT_EQ(ksense_hist_value(ksense_hist_index(v)), v, "small value exact"))
				break;
	}
	if (test__start_subtest("bucket_contains_value")) {
		for (shift = 0; shift < 42; shift++) {
			__u64 base = 1ull << shift, probes[] = { base - 1, base, base + 1, base + base / 3,
								 base * 2 - 1 };
			unsigned int k;

			for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
				v = probes[k];
				i = ksense_hist_index(v);
				if (!ASSERT_LT(i, KSENSE_HIST_BUCKETS, "index in range") ||
				    !ASSERT_LE(ksense_hist_lo(i), v, "lo <= v") ||
				    !ASSERT_GT(ksense_hist_lo(i) + ksense_hist_width(i), v, "v < lo + width"))
					return;
			}
		}
	}
	if (test__start_subtest("monotonic_and_contiguous")) {
		for (i = 1; i < KSENSE_HIST_BUCKETS; i++) {
			if (!ASSERT_EQ(ksense_hist_lo(i), ksense_hist_lo(i - 1) + ksense_hist_width(i - 1),
				       "buckets tile the line"))
				return;
			if (!ASSERT_EQ(ksense_hist_index(ksense_hist_lo(i)), i, "lo maps back"))
				return;
			prev_lo = ksense_hist_lo(i);
			prev = i;
		}
		ASSERT_EQ(prev, KSENSE_HIST_BUCKETS - 1, "last bucket");
		ASSERT_GT(prev_lo, 1ull << 41, "range reaches 2^41 ns");
	}
	if (test__start_subtest("clamp_huge")) {
		ASSERT_EQ(ksense_hist_index(~0ull), KSENSE_HIST_BUCKETS - 1, "u64 max clamps");
		ASSERT_EQ(ksense_hist_index(1ull << 42), KSENSE_HIST_BUCKETS - 1, "2^42 clamps");
	}
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static __u64 exact_pct(const __u64 *sorted, __u32 n, __u32 permille)
{
	__u64 r = ksense_rank(n, permille);

	return sorted[r ? r - 1 : 0];
}

static bool within_bound(__u64 got, __u64 exact)
{
	__u64 diff = got > exact ? got - exact : exact - got;

	/* diff / exact <= 1/16, in integers; values up to 2^42 cannot overflow */
	return diff * REL_ERR_DEN <= exact * REL_ERR_NUM;
}

static unsigned int rng_state = 12345;

static __u64 rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) ^ ((__u64)rand() << 20);
}

enum dist { D_UNIFORM, D_LOGSPREAD, D_EQUAL, D_TWO_POINT, D_POW2_EDGES, D_TAIL, D_SINGLE, D_HUGE };

static __u32 fill(enum dist d, __u64 *v, __u32 max)
{
	__u32 i, n = max;

	for (i = 0; i < n; i++) {
		switch (d) {
		case D_UNIFORM: v[i] = rnd() % 5000000; break;
		case D_LOGSPREAD: v[i] = rnd() % (1ull << (rnd() % 40)); break;
		case D_EQUAL: v[i] = 123456; break;
		/* 95 % at one value, 5 % at a value 8x bigger: p95 sits on the edge */
		case D_TWO_POINT: v[i] = i % 100 < 95 ? 1000 : 8000; break;
		case D_POW2_EDGES: v[i] = (1ull << (i % 40)) - (i & 1); break;
		case D_TAIL: v[i] = i < n - n / 100 ? 50 + i % 7 : 900000000ull + i; break;
		case D_SINGLE: n = 1; v[0] = 777; break;
		case D_HUGE: v[i] = (1ull << 43) + i; break;
		}
	}
	return n;
}

/* Values of distribution d through BPF program prog (which reads
 * test_values[0..test_nr) and writes *out), against the exact values;
 * percentiles within `within`, or, at and above `top` (the open-ended
 * last bucket), the max.  The sorted values into sorted, n into *nout;
 * false when the run itself failed. */
static bool run_dist(struct ksense_test *skel, struct bpf_program *prog, const struct ksense_lat *out,
		     bool (*within)(__u64, __u64), __u64 top, enum dist d, __u32 nmax, __u64 *sorted, __u32 *nout)
{
	static __u64 vals[8192];
	LIBBPF_OPTS(bpf_test_run_opts, run);
	__u64 sum = 0;
	__u32 n, i;
	int err;

	n = fill(d, vals, nmax);
	for (i = 0; i < n; i++) {
		skel->bss->test_values[i] = vals[i];
		sum += vals[i];
	}
	skel->bss->test_nr = n;
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &run);
	if (!ASSERT_OK(err, "test_run") || !ASSERT_OK(run.retval, "retval"))
		return false;
	memcpy(sorted, vals, n * sizeof(*vals));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	*nout = n;
	ASSERT_EQ(out->count, n, "count");
	ASSERT_EQ(out->sum_ns, sum, "sum");
	ASSERT_EQ(out->max_ns, sorted[n - 1], "max");
	if (d == D_HUGE) {
		/* beyond the histogram's range every percentile is the max */
		ASSERT_EQ(out->p99_ns, sorted[n - 1], "clamped p99 is max");
		return true;
	}
	if (!ASSERT_TRUE(exact_pct(sorted, n, 500) >= top ? out->p50_ns == sorted[n - 1] :
			 within(out->p50_ns, exact_pct(sorted, n, 500)), "p50 within the bound"))
		printf("    p50 got %llu exact %llu\n", (unsigned long long)out->p50_ns,
		       (unsigned long long)exact_pct(sorted, n, 500));
	if (!ASSERT_TRUE(exact_pct(sorted, n, 990) >= top ? out->p99_ns == sorted[n - 1] :
			 within(out->p99_ns, exact_pct(sorted, n, 990)), "p99 within the bound"))
		printf("    p99 got %llu exact %llu\n", (unsigned long long)out->p99_ns,
		       (unsigned long long)exact_pct(sorted, n, 990));
	ASSERT_LE(out->p99_ns, out->max_ns, "p99 <= max");
	ASSERT_LE(out->p50_ns, out->p99_ns, "p50 <= p99");
	return true;
}

static void check_dist(struct ksense_test *skel, const char *name, enum dist d, __u32 nmax)
{
	static __u64 sorted[8192];
	struct ksense_lat *out = &skel->bss->test_out;
	__u32 n;

	if (!test__start_subtest(name) ||
	    !run_dist(skel, skel->progs.ksense_test_hist, out, within_bound, 1ull << (KSENSE_HIST_MAX_MSB + 1), d,
		      nmax, sorted, &n) || d == D_HUGE)
		return;
	if (!ASSERT_TRUE(within_bound(out->p95_ns, exact_pct(sorted, n, 950)), "p95 within 1/16"))
		printf("    p95 got %llu exact %llu\n", (unsigned long long)out->p95_ns,
		       (unsigned long long)exact_pct(sorted, n, 950));
	ASSERT_LE(out->p50_ns, out->p95_ns, "p50 <= p95");
	ASSERT_LE(out->p95_ns, out->p99_ns, "p95 <= p99");
}

/* Every distribution, adversarial and random, through check (a subtest
 * each); the random ones seeded from seed. */
static void all_dists(void (*check)(struct ksense_test *, const char *, enum dist, __u32), unsigned int seed)
{
	struct ksense_test *skel;
	int i;

	if (geteuid()) {
		test__skip("needs root to load BPF");
		return;
	}
	skel = ksense_test__open_and_load();
	if (!ASSERT_OK_PTR(skel, "ksense_test__open_and_load"))
		return;
	check(skel, "uniform", D_UNIFORM, 8192);
	check(skel, "log_spread", D_LOGSPREAD, 8192);
	check(skel, "all_equal", D_EQUAL, 1000);
	check(skel, "two_point_edge", D_TWO_POINT, 2000);
	check(skel, "pow2_edges", D_POW2_EDGES, 4000);
	check(skel, "long_tail", D_TAIL, 5000);
	check(skel, "single", D_SINGLE, 1);
	check(skel, "beyond_range", D_HUGE, 100);
	for (i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "random_%02d", i);
		rng_state = seed + i;
		check(skel, name, i % 2 ? D_LOGSPREAD : D_UNIFORM, 100 + i * 397);
	}
	ksense_test__destroy(skel);
}

KS_TEST_F(hist_percentiles, KS_SAN)
{
	all_dists(check_dist, 1000);
}

/* ---- the per-cgroup run-queue histogram (kern/cghist.h) ---- */

/* pins/README.md: within 1/8 of the exact percentile at and above 1 us,
 * within 512 ns below */
static bool cg_within_bound(__u64 got, __u64 exact)
{
	__u64 diff = got > exact ? got - exact : exact - got;

	if (exact < 1024)
		return diff <= 512;
	return diff * 8 <= exact;
}

KS_TEST_F(hist_cgroup_index, KS_SAN | KS_HOST)
{
	__u64 v;
	__u32 i;
	int m;

	ASSERT_EQ(KSENSE_CG_RQ_BUCKETS * sizeof(__u32), 392, "392 bytes per cgroup");
	ASSERT_EQ(ks_cg_rq_index(0), 0, "0: below 1 us");
	ASSERT_EQ(ks_cg_rq_index(1023), 0, "1023: below 1 us");
	ASSERT_EQ(ks_cg_rq_index(1024), 1, "1 us: first bucket");
	ASSERT_EQ(ks_cg_rq_index(1ull << 34), KSENSE_CG_RQ_BUCKETS - 1, "2^34: open-ended");
	ASSERT_EQ(ks_cg_rq_index(~0ull), KSENSE_CG_RQ_BUCKETS - 1, "u64 max");
	/* every value from 1 us up is in a bucket whose midpoint is within 1/8 of it */
	for (m = 10; m < 34; m++) {
		__u64 base = 1ull << m, probes[] = { base, base + 1, base + base / 4 - 1, base + base / 4,
						     base + base / 3, base * 2 - 1 };
		unsigned int k;

		for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
			v = probes[k];
			i = ks_cg_rq_index(v);
			if (!ASSERT_TRUE(cg_within_bound(ks_cg_rq_value(i), v), "midpoint within 1/8")) {
				printf("    v %llu bucket %u value %llu\n", (unsigned long long)v, i,
				       (unsigned long long)ks_cg_rq_value(i));
				return;
			}
		}
	}
	for (i = 1; i + 1 < KSENSE_CG_RQ_BUCKETS; i++)
		if (!ASSERT_GT(ks_cg_rq_value(i), ks_cg_rq_value(i - 1), "values increase"))
			break;
}

static void check_cg_dist(struct ksense_test *skel, const char *name, enum dist d, __u32 nmax)
{
	static __u64 sorted[8192];
	__u32 n;

	if (test__start_subtest(name))
		run_dist(skel, skel->progs.ksense_test_cg_hist, &skel->bss->test_cg_out, cg_within_bound,
			 1ull << (KSENSE_CG_RQ_MAX_SHIFT + 1), d, nmax, sorted, &n);
}

/* The sensors' per-CPU hold and flush and the tick's walk, run as BPF,
 * against the exact nearest-rank percentiles of the same values. */
KS_TEST_F(hist_cgroup_percentiles, KS_SAN)
{
	all_dists(check_cg_dist, 2000);
}
