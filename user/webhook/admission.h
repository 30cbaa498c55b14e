/* SPDX-License-Identifier: GPL-2.0 */
/* AdmissionReview admission.k8s.io/v1: the request fields ksense needs, and
 * the response. */
#ifndef KSENSE_ADMISSION_H
#define KSENSE_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

struct ks_admission_request {
	char api_version[64];       /* top level: always "admission.k8s.io/v1" after a parse */
	char kind[64];              /* top level: always "AdmissionReview" */
	char uid[128];              /* request.uid: required, non-empty; echoed in the response */
	char op[16];                /* request.operation: CREATE, UPDATE, DELETE, CONNECT */
	char res_group[64];         /* request.kind.group ("" for the core group) */
	char res_version[32];       /* request.kind.version */
	char res_kind[64];          /* request.kind.kind: required */
	char namespace_[254];       /* request.namespace ("" when cluster-scoped) */
	char name[254];             /* request.name, else request.object.metadata.name; "" when
	                             * the API server has not named the object yet */
	char generate_name[254];    /* request.object.metadata.generateName, may be "" */
	bool dry_run;               /* request.dryRun */
};

/*
 * Parse an AdmissionReview request body.  0, or a negative errno with a
 * human message in err, for example "request.uid missing", "request.uid is
 * not a string (got number)", "apiVersion is admission.k8s.io/v1beta1, want
 * admission.k8s.io/v1", "invalid JSON at byte 123: expected ':' after an
 * object key", "request.namespace longer than 253 bytes".  Unknown fields
 * are ignored; a string that does not fit its field is an error, never
 * silently cut.  -EINVAL for bad input, -E2BIG over the JSON limits
 * (json.h), -ENOMEM.  *out is zeroed first and only complete on 0.
 */
int ks_admission_parse(const char *body, size_t len, struct ks_admission_request *out, char *err,
		       size_t errlen);

/*
 * An auditAnnotations key the API server keeps: it prefixes each key with
 * the webhook's name and a '/' ("pods.ksense.io/score") and drops any
 * whose result is not a qualified name, so the key itself must be a name
 * part without a prefix: 1..63 of [A-Za-z0-9-_.], alphanumeric at both
 * ends.
 */
bool ks_admission_audit_key_valid(const char *key);

/*
 * The AdmissionReview response:
 * {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":
 *  {"uid":..,"allowed":true|false[,"status":{"code":..,"message":..}]
 *   [,"warnings":[..]][,"auditAnnotations":{k:v,..}]}}
 * status only when status_code != 0 (message omitted when NULL); warnings
 * only when n_warnings > 0; audit_kv holds n_audit_pairs key/value pairs
 * (2 * n_audit_pairs strings; a key that is not
 * ks_admission_audit_key_valid is -EINVAL).  Every string is escaped (json.h's
 * ks_json_quote).  Writes a NUL-terminated document into buf and returns
 * its length, or -ENOSPC when it (with the NUL) does not fit in len bytes
 * (buf is then ""), or -EINVAL for a NULL uid or a NULL string.
 */
int ks_admission_format_response(char *buf, size_t len, const char *uid, bool allowed,
				 int status_code, const char *status_message,
				 const char *const *warnings, size_t n_warnings,
				 const char *const *audit_kv, size_t n_audit_pairs);

/*
 * The same document plus a newline appended to a ks_buf, as the webhook's
 * handler has always called it: 0 or a negative errno (-ENOSPC past the
 * buffer's cap).
 */
int ks_admission_format_response_buf(struct ks_buf *b, const char *uid, bool allowed,
				     int status_code, const char *status_message,
				     const char *const *warnings, size_t n_warnings,
				     const char *const *audit_kv, size_t n_audit_pairs);

/*
 * user/webhook/handlers.c calls ks_admission_format_response(&r->body, ...)
 * with a struct ks_buf *; this keeps that call compiling and working while
 * every other caller gets the char-buffer function above.  The macro is not
 * re-expanded inside itself, so the name still reaches the function.
 */
#define ks_admission_format_response(dst, ...)                                    \
	_Generic((dst), struct ks_buf *: ks_admission_format_response_buf,         \
		 default: ks_admission_format_response)((dst), __VA_ARGS__)

#endif
