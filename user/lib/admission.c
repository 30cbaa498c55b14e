// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "admission.h"
#include "json.h"

#define API_VERSION "admission.k8s.io/v1"

/* A string field: required or optional; wrong type or too long is an
 * error that names the field. */
static int get_str(const struct ks_json *j, int at, const char *path, bool required, char *out,
		   size_t outlen, char *err, size_t errlen)
{
	int i = at < 0 ? ks_json_path(j, path) : at, rc;

	out[0] = '\0';
	if (i < 0 || ks_json_is_literal(j, i, "null")) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s missing", path);
		return -EINVAL;
	}
	if (!ks_json_is_string(j, i)) {
		snprintf(err, errlen, "%s is a %s, want a string", path, ks_json_type_name(j, i));
		return -EINVAL;
	}
	rc = ks_json_string(j, i, out, outlen);
	if (rc == -ENOSPC) {
		snprintf(err, errlen, "%s longer than %zu bytes", path, outlen - 1);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "%s has an invalid escape", path);
		return rc;
	}
	return 0;
}

int ks_admission_parse(const char *body, size_t len, struct ks_admission_request *out, char *err,
		       size_t errlen)
{
	struct ks_json j;
	char api[64], kind[64];
	int rc, req, i;

	memset(out, 0, sizeof(*out));
	rc = ks_json_parse(&j, body, len, err, errlen);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (!ks_json_is_object(&j, 0)) {
		snprintf(err, errlen, "AdmissionReview must be a JSON object, not a %s", ks_json_type_name(&j, 0));
		goto out;
	}
	if (get_str(&j, -1, "apiVersion", true, api, sizeof(api), err, errlen) ||
	    get_str(&j, -1, "kind", true, kind, sizeof(kind), err, errlen))
		goto out;
	if (strcmp(api, API_VERSION)) {
		snprintf(err, errlen, "apiVersion is %s, want " API_VERSION, api);
		goto out;
	}
	if (strcmp(kind, "AdmissionReview")) {
		snprintf(err, errlen, "kind is %s, want AdmissionReview", kind);
		goto out;
	}
	req = ks_json_path(&j, "request");
	if (!ks_json_is_object(&j, req)) {
		snprintf(err, errlen, "request is %s, want an object", ks_json_type_name(&j, req));
		goto out;
	}
	if (get_str(&j, -1, "request.uid", true, out->uid, sizeof(out->uid), err, errlen))
		goto out;
	if (!out->uid[0]) {
		snprintf(err, errlen, "request.uid is empty");
		goto out;
	}
	if (get_str(&j, -1, "request.operation", true, out->op, sizeof(out->op), err, errlen))
		goto out;
	i = ks_json_path(&j, "request.kind");
	if (!ks_json_is_object(&j, i)) {
		snprintf(err, errlen, "request.kind is %s, want an object", ks_json_type_name(&j, i));
		goto out;
	}
	if (get_str(&j, -1, "request.kind.group", false, out->res_group, sizeof(out->res_group), err, errlen) ||
	    get_str(&j, -1, "request.kind.version", false, out->res_version, sizeof(out->res_version), err, errlen) ||
	    get_str(&j, -1, "request.kind.kind", true, out->res_kind, sizeof(out->res_kind), err, errlen) ||
	    get_str(&j, -1, "request.namespace", false, out->namespace_, sizeof(out->namespace_), err, errlen) ||
	    get_str(&j, -1, "request.name", false, out->name, sizeof(out->name), err, errlen) ||
	    get_str(&j, -1, "request.object.metadata.generateName", false, out->generate_name,
		    sizeof(out->generate_name), err, errlen))
		goto out;
	if (!out->name[0] &&
	    get_str(&j, -1, "request.object.metadata.name", false, out->name, sizeof(out->name), err, errlen))
		goto out;
	i = ks_json_path(&j, "request.dryRun");
	out->dry_run = ks_json_is_literal(&j, i, "true");
	rc = 0;
out:
	ks_json_free(&j);
	return rc;
}

int ks_admission_format_response(struct ks_buf *b, const char *uid, bool allowed, int status_code,
				 const char *status_message, const char *const *warnings,
				 size_t n_warnings, const char *const *audit_kv, size_t n_audit)
{
	size_t k;
	int err;

	err = ks_buf_printf(b, "{\"apiVersion\":\"" API_VERSION "\",\"kind\":\"AdmissionReview\","
			    "\"response\":{\"uid\":");
	err = err ?: ks_buf_json_str(b, uid);
	err = err ?: ks_buf_printf(b, ",\"allowed\":%s", allowed ? "true" : "false");
	if (status_code) {
		err = err ?: ks_buf_printf(b, ",\"status\":{\"code\":%d,\"message\":", status_code);
		err = err ?: ks_buf_json_str(b, status_message ? status_message : "");
		err = err ?: ks_buf_printf(b, "}");
	}
	if (n_warnings) {
		err = err ?: ks_buf_printf(b, ",\"warnings\":[");
		for (k = 0; k < n_warnings; k++) {
			err = err ?: ks_buf_printf(b, "%s", k ? "," : "");
			err = err ?: ks_buf_json_str(b, warnings[k]);
		}
		err = err ?: ks_buf_printf(b, "]");
	}
	if (n_audit) {
		err = err ?: ks_buf_printf(b, ",\"auditAnnotations\":{");
		for (k = 0; k < n_audit; k++) {
			err = err ?: ks_buf_printf(b, "%s", k ? "," : "");
			err = err ?: ks_buf_json_str(b, audit_kv[2 * k]);
			err = err ?: ks_buf_printf(b, ":");
			err = err ?: ks_buf_json_str(b, audit_kv[2 * k + 1]);
		}
		err = err ?: ks_buf_printf(b, "}");
	}
	return err ?: ks_buf_printf(b, "}}\n");
}
