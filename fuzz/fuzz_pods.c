// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: a node agent's /pods body on arbitrary bytes.  A refusal must
 * say why and leave nothing allocated; whatever parses must hold only
 * NUL-terminated names, known classes and finite non-negative numbers,
 * since the scaler prints them into Events and compares them to thresholds.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "scaler/scaler.h"

#define FIELD_OK(f) (strnlen((f), sizeof(f)) < sizeof(f))

static int num_ok(double v)
{
	return isfinite(v) && v >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_pods_report r;
	char err[256];
	int rc, i, k;

	err[0] = '\0';
	rc = ks_pods_parse((const char *)data, size, &r, err, sizeof(err));
	if (rc) {
		if (!err[0] || (rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) || r.pods || r.npods)
			abort();
		return 0;
	}
	if (!FIELD_OK(r.node) || r.npods < 0 || r.npods > KS_PODS_MAX || (r.npods && !r.pods) ||
	    r.skipped < 0 || (r.skipped && !r.first_skip[0]))
		abort();
	for (i = 0; i < r.npods; i++) {
		const struct ks_pod_report *p = &r.pods[i];

		if (!FIELD_OK(p->uid) || !FIELD_OK(p->namespace_) || !FIELD_OK(p->name) || !p->name[0] ||
		    !p->namespace_[0] || (unsigned int)p->cls >= KS_CLASS__N || !num_ok(p->oncpu_permille) ||
		    !num_ok(p->d_ms_per_s) || !num_ok(p->s_ms_per_s) || !num_ok(p->block_ios_per_s) ||
		    !num_ok(p->block_bytes_per_s) || !num_ok(p->block_ms_per_s) || !num_ok(p->block_lat_avg_us) ||
		    p->ntop < 0 || p->ntop > KS_PODS_TOP)
			abort();
		for (k = 0; k < p->ntop; k++)
			if (!FIELD_OK(p->top[k].function) || !FIELD_OK(p->top[k].module) ||
			    p->top[k].share_permille > 1000)
				abort();
	}
	ks_pods_report_free(&r);
	return 0;
}
