/* SPDX-License-Identifier: GPL-2.0 */
/* AdmissionReview admission.k8s.io/v1: the request fields ksense needs, and
 * the response. */
#ifndef KSENSE_ADMISSION_H
#define KSENSE_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

struct ks_admission_request {
	char uid[128];              /* request.uid, echoed in the response */
	char op[16];                /* request.operation */
	char res_group[64];         /* request.kind.group ("" for core) */
	char res_version[32];
	char res_kind[64];          /* request.kind.kind */
	char namespace_[254];
	char name[254];             /* request.name (may be empty on CREATE) */
	char generate_name[254];    /* request.object.metadata.generateName */
	bool dry_run;
};

/* 0, or negative errno with a message naming the field in err. */
int ks_admission_parse(const char *body, size_t len, struct ks_admission_request *out, char *err,
		       size_t errlen);
/* The AdmissionReview response.  warnings may be NULL; audit_kv holds
 * n_audit key/value pairs (2 * n_audit strings).  0 or negative errno. */
int ks_admission_format_response(struct ks_buf *b, const char *uid, bool allowed, int status_code,
				 const char *status_message, const char *const *warnings,
				 size_t n_warnings, const char *const *audit_kv, size_t n_audit);

#endif
