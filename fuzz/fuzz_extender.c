// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the extender's parser (kube-scheduler's ExtenderArgs) on
 * arbitrary bytes.  A refusal must say why; what parses must hold its
 * invariants, and both answers built from it (ExtenderFilterResult with
 * every kind of verdict, HostPriorityList) must be valid JSON that names
 * every candidate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "scheduler/kube_extender.h"
#include "pieces.h"

static void check_json(const struct ks_buf *b)
{
	struct ks_json j;
	char err[256];

	FUZZ_CHECK(!b->overflow);
	FUZZ_CHECK(!ks_json_parse_limits(&j, b->data, b->len, b->len + 1, KS_EXT_MAX_TOKENS, err, sizeof(err)));
	ks_json_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ext_verdict *v;
	struct ks_ext_args a;
	struct ks_buf out;
	char err[256] = "";
	int *score, i;

	if (ks_ext_args_parse((const char *)data, size, &a, err, sizeof(err))) {
		FUZZ_CHECK(err[0]);
		ks_ext_args_free(&a);
		return 0;
	}
	FUZZ_CHECK(a.n >= 0 && a.n <= KS_EXT_MAX_NODES);
	v = calloc((size_t)a.n + 1, sizeof(*v));
	score = calloc((size_t)a.n + 1, sizeof(*score));
	FUZZ_CHECK(v && score);
	for (i = 0; i < a.n; i++) {
		FUZZ_CHECK(a.names[i][0] && strlen(a.names[i]) < KS_EXT_NAME_LEN);
		v[i].pass = i % 3 == 0;
		v[i].unresolvable = i % 3 == 1;
		memcpy(v[i].reason, a.names[i], strlen(a.names[i]) < sizeof(v[i].reason) ? strlen(a.names[i]) : 0);
		score[i] = i * 7 - 20;
	}
	ks_buf_init(&out, 256u << 20);
	FUZZ_CHECK(!ks_ext_filter_result(&a, v, &out));
	check_json(&out);
	ks_buf_reset(&out);
	FUZZ_CHECK(!ks_ext_priorities(&a, score, &out));
	check_json(&out);
	ks_buf_free(&out);
	free(v);
	free(score);
	ks_ext_args_free(&a);
	return 0;
}
