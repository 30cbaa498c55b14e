// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: AdmissionReview parsing on arbitrary bytes.  A refusal must
 * say why and leave nothing behind; whatever parses must format a response
 * whose uid, warning and audit annotation read back unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "webhook/admission.h"
#include "json.h"

#define FIELD_OK(f) (strnlen((f), sizeof(f)) < sizeof(f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ks_admission_request zero;
	struct ks_admission_request r;
	const char *warn[1], *audit[2];
	char err[256], back[1024];
	char buf[16384];
	struct ks_json j;
	int n, w, a;

	err[0] = '\0';
	n = ks_admission_parse((const char *)data, size, &r, err, sizeof(err));
	if (n) {
		if (!err[0] || (n != -EINVAL && n != -E2BIG && n != -ENOMEM) || memcmp(&r, &zero, sizeof(r)))
			abort();
		return 0;
	}
	if (!FIELD_OK(r.uid) || !FIELD_OK(r.op) || !FIELD_OK(r.res_group) || !FIELD_OK(r.res_version) ||
	    !FIELD_OK(r.res_kind) || !FIELD_OK(r.namespace_) || !FIELD_OK(r.name) || !FIELD_OK(r.generate_name) ||
	    !r.uid[0] || !r.op[0] || !r.res_kind[0] || strcmp(r.api_version, "admission.k8s.io/v1") ||
	    strcmp(r.kind, "AdmissionReview"))
		abort();
	warn[0] = r.namespace_;
	/* a key the API server would drop is refused, never sent */
	audit[0] = r.generate_name;
	audit[1] = r.name;
	if (!ks_admission_audit_key_valid(r.generate_name)) {
		if (ks_admission_format_response(buf, sizeof(buf), r.uid, true, 0, NULL, warn, 1, audit, 1) != -EINVAL)
			abort();
		audit[0] = "name";
	}
	n = ks_admission_format_response(buf, sizeof(buf), r.uid, true, 0, NULL, warn, 1, audit, 1);
	if (n <= 0 || (size_t)n != strlen(buf))
		abort();
	if (ks_json_parse(&j, buf, (size_t)n, err, sizeof(err)))
		abort();
	if (ks_json_string(&j, ks_json_path(&j, "response.uid"), back, sizeof(back)) || strcmp(back, r.uid))
		abort();
	w = ks_json_index(&j, ks_json_path(&j, "response.warnings"), 0);
	if (ks_json_string(&j, w, back, sizeof(back)) || strcmp(back, r.namespace_))
		abort();
	a = ks_json_path(&j, "response.auditAnnotations");
	if (ks_json_string(&j, a + 1, back, sizeof(back)) || strcmp(back, audit[0]) ||
	    ks_json_string(&j, a + 2, back, sizeof(back)) || strcmp(back, r.name))
		abort();
	if (!ks_json_is_literal(&j, ks_json_path(&j, "response.allowed"), "true"))
		abort();
	ks_json_free(&j);
	return 0;
}
