// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: AdmissionReview parsing on arbitrary bytes; whatever parses
 * must format a response whose uid reads back unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "admission.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_admission_request r;
	struct ks_json j;
	struct ks_buf b;
	char err[256], uid[256];

	if (ks_admission_parse((const char *)data, size, &r, err, sizeof(err))) {
		if (!err[0])
			abort(); /* every refusal says why */
		return 0;
	}
	ks_buf_init(&b, 1 << 20);
	if (ks_admission_format_response(&b, r.uid, true, 0, NULL, NULL, 0, NULL, 0))
		abort();
	if (ks_json_parse(&j, b.data, b.len, err, sizeof(err)))
		abort();
	if (ks_json_string(&j, ks_json_path(&j, "response.uid"), uid, sizeof(uid)) || strcmp(uid, r.uid))
		abort();
	ks_json_free(&j);
	ks_buf_free(&b);
	return 0;
}
