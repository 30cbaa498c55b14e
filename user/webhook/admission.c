// SPDX-License-Identifier: GPL-2.0
/*
 * AdmissionReview admission.k8s.io/v1 over json.c: the request fields the
 * webhook needs, checked for presence, type and size with a message that
 * names the field, and the response document.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h" /* first: it configures jsmn */
#include "admission.h"

#define API_VERSION "admission.k8s.io/v1"
#define KIND        "AdmissionReview"

enum { REQUIRED = 1, NONEMPTY = 2 };

/* Request values end up in error messages, which end up in logfmt logs and
 * JSON error bodies: control characters become '?', long values are cut. */
static const char *printable(const char *s, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (s[i]) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* The string at i (a member of something, named path in messages) into
 * out: missing or null is "" unless REQUIRED; every other failure names
 * the field and says what was there. */
static int get_str(const struct ks_json *j, int i, const char *path, int flags, char *out,
		   size_t outlen, char *err, size_t errlen)
{
	int rc;

	out[0] = '\0';
	if (i < 0 || ks_json_is_null(j, i)) {
		if (!(flags & REQUIRED))
			return 0;
		if (i < 0)
			snprintf(err, errlen, "%s missing", path);
		else
			snprintf(err, errlen, "%s is not a string (got null)", path);
		return -EINVAL;
	}
	if (!ks_json_is_string(j, i)) {
		snprintf(err, errlen, "%s is not a string (got %s)", path, ks_json_type_name(j, i));
		return -EINVAL;
	}
	rc = ks_json_string(j, i, out, outlen);
	if (rc == -ENOSPC) {
		snprintf(err, errlen, "%s longer than %zu bytes", path, outlen - 1);
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "%s has an invalid escape (lone surrogate or \\u0000)", path);
		return -EINVAL;
	}
	if ((flags & NONEMPTY) && !out[0]) {
		snprintf(err, errlen, "%s is empty", path);
		return -EINVAL;
	}
	return 0;
}

/* An object member: its index, or -1 when absent or null and not
 * REQUIRED; -2 (message in err) for anything else. */
static int get_obj(const struct ks_json *j, int i, const char *path, int flags, char *err,
		   size_t errlen)
{
	if (ks_json_is_object(j, i))
		return i;
	if (i < 0 && !(flags & REQUIRED))
		return -1;
	if (ks_json_is_null(j, i) && !(flags & REQUIRED))
		return -1;
	if (i < 0)
		snprintf(err, errlen, "%s missing", path);
	else
		snprintf(err, errlen, "%s is not an object (got %s)", path, ks_json_type_name(j, i));
	return -2;
}

static int parse_request(const struct ks_json *j, struct ks_admission_request *out, char *err,
			 size_t errlen)
{
	char shown[80];
	int req, kind, obj, meta, i;

	if (!ks_json_is_object(j, 0)) {
		snprintf(err, errlen, "AdmissionReview is not a JSON object (got %s)", ks_json_type_name(j, 0));
		return -EINVAL;
	}
	if (get_str(j, ks_json_member(j, 0, "apiVersion"), "apiVersion", REQUIRED, out->api_version,
		    sizeof(out->api_version), err, errlen))
		return -EINVAL;
	if (strcmp(out->api_version, API_VERSION)) {
		snprintf(err, errlen, "apiVersion is %s, want " API_VERSION,
			 printable(out->api_version, shown, sizeof(shown)));
		return -EINVAL;
	}
	if (get_str(j, ks_json_member(j, 0, "kind"), "kind", REQUIRED, out->kind, sizeof(out->kind), err,
		    errlen))
		return -EINVAL;
	if (strcmp(out->kind, KIND)) {
		snprintf(err, errlen, "kind is %s, want " KIND, printable(out->kind, shown, sizeof(shown)));
		return -EINVAL;
	}
	req = get_obj(j, ks_json_member(j, 0, "request"), "request", REQUIRED, err, errlen);
	if (req < 0)
		return -EINVAL;
	if (get_str(j, ks_json_member(j, req, "uid"), "request.uid", REQUIRED | NONEMPTY, out->uid,
		    sizeof(out->uid), err, errlen) ||
	    get_str(j, ks_json_member(j, req, "operation"), "request.operation", REQUIRED | NONEMPTY,
		    out->op, sizeof(out->op), err, errlen))
		return -EINVAL;
	kind = get_obj(j, ks_json_member(j, req, "kind"), "request.kind", REQUIRED, err, errlen);
	if (kind < 0)
		return -EINVAL;
	if (get_str(j, ks_json_member(j, kind, "group"), "request.kind.group", 0, out->res_group,
		    sizeof(out->res_group), err, errlen) ||
	    get_str(j, ks_json_member(j, kind, "version"), "request.kind.version", 0, out->res_version,
		    sizeof(out->res_version), err, errlen) ||
	    get_str(j, ks_json_member(j, kind, "kind"), "request.kind.kind", REQUIRED | NONEMPTY,
		    out->res_kind, sizeof(out->res_kind), err, errlen) ||
	    get_str(j, ks_json_member(j, req, "namespace"), "request.namespace", 0, out->namespace_,
		    sizeof(out->namespace_), err, errlen) ||
	    get_str(j, ks_json_member(j, req, "name"), "request.name", 0, out->name, sizeof(out->name),
		    err, errlen))
		return -EINVAL;
	/* object is null on DELETE and CONNECT; absent or null is fine, any
	 * other non-object is a malformed review */
	obj = get_obj(j, ks_json_member(j, req, "object"), "request.object", 0, err, errlen);
	if (obj == -2)
		return -EINVAL;
	meta = get_obj(j, ks_json_member(j, obj, "metadata"), "request.object.metadata", 0, err, errlen);
	if (meta == -2)
		return -EINVAL;
	if (get_str(j, ks_json_member(j, meta, "generateName"), "request.object.metadata.generateName", 0,
		    out->generate_name, sizeof(out->generate_name), err, errlen))
		return -EINVAL;
	/* a CREATE names the pod in request.name only when the client did; the
	 * object's own name is the same value when both are there */
	if (!out->name[0] &&
	    get_str(j, ks_json_member(j, meta, "name"), "request.object.metadata.name", 0, out->name,
		    sizeof(out->name), err, errlen))
		return -EINVAL;
	i = ks_json_member(j, req, "dryRun");
	if (i >= 0 && !ks_json_is_null(j, i) && ks_json_bool(j, i, &out->dry_run)) {
		snprintf(err, errlen, "request.dryRun is not a boolean (got %s)", ks_json_type_name(j, i));
		return -EINVAL;
	}
	return 0;
}

int ks_admission_parse(const char *body, size_t len, struct ks_admission_request *out, char *err,
		       size_t errlen)
{
	char scratch[1];
	struct ks_json j;
	int rc;

	/* callers may pass no message buffer; snprintf(NULL, 0) is fine but a
	 * 1-byte scratch keeps every path writing somewhere real */
	if (!err || !errlen) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	memset(out, 0, sizeof(*out));
	rc = ks_json_parse(&j, body, len, err, errlen);
	if (rc)
		return rc;
	rc = parse_request(&j, out, err, errlen);
	ks_json_free(&j);
	if (rc)
		memset(out, 0, sizeof(*out)); /* never half a request */
	return rc;
}

/* ---- response ---- */

/* A cursor over a fixed buffer that counts what does not fit, so one
 * function both measures and writes. */
struct out {
	char *buf;
	size_t cap;
	size_t n;
};

static void put_raw(struct out *o, const char *s)
{
	size_t k = strlen(s);

	if (o->n < o->cap)
		memcpy(o->buf + o->n, s, k < o->cap - o->n ? k : o->cap - o->n);
	o->n += k;
}

static void put_str(struct out *o, const char *s)
{
	size_t room = o->n < o->cap ? o->cap - o->n : 0;

	o->n += ks_json_quote(room ? o->buf + o->n : NULL, room, s);
}

static size_t format(char *buf, size_t cap, const char *uid, bool allowed, int status_code,
		     const char *status_message, const char *const *warnings, size_t n_warnings,
		     const char *const *audit_kv, size_t n_audit_pairs)
{
	struct out o = { buf, cap, 0 };
	char num[24];
	size_t k;

	put_raw(&o, "{\"apiVersion\":\"" API_VERSION "\",\"kind\":\"" KIND "\",\"response\":{\"uid\":");
	put_str(&o, uid);
	put_raw(&o, allowed ? ",\"allowed\":true" : ",\"allowed\":false");
	if (status_code) {
		snprintf(num, sizeof(num), "%d", status_code);
		put_raw(&o, ",\"status\":{\"code\":");
		put_raw(&o, num);
		if (status_message) {
			put_raw(&o, ",\"message\":");
			put_str(&o, status_message);
		}
		put_raw(&o, "}");
	}
	if (n_warnings) {
		put_raw(&o, ",\"warnings\":[");
		for (k = 0; k < n_warnings; k++) {
			if (k)
				put_raw(&o, ",");
			put_str(&o, warnings[k]);
		}
		put_raw(&o, "]");
	}
	if (n_audit_pairs) {
		put_raw(&o, ",\"auditAnnotations\":{");
		for (k = 0; k < n_audit_pairs; k++) {
			if (k)
				put_raw(&o, ",");
			put_str(&o, audit_kv[2 * k]);
			put_raw(&o, ":");
			put_str(&o, audit_kv[2 * k + 1]);
		}
		put_raw(&o, "}");
	}
	put_raw(&o, "}}");
	if (cap)
		buf[o.n < cap ? o.n : cap - 1] = '\0';
	return o.n;
}

bool ks_admission_audit_key_valid(const char *key)
{
	size_t n = strlen(key), i;

	if (!n || n > 63 || !isalnum((unsigned char)key[0]) || !isalnum((unsigned char)key[n - 1]))
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!isalnum((unsigned char)key[i]) && !strchr("-_.", key[i]))
			return false;
	return true;
}

static bool args_ok(const char *uid, const char *const *warnings, size_t n_warnings,
		    const char *const *audit_kv, size_t n_audit_pairs)
{
	size_t k;

	if (!uid || (n_warnings && !warnings) || (n_audit_pairs && !audit_kv) ||
	    n_audit_pairs > SIZE_MAX / 2)
		return false;
	for (k = 0; k < n_warnings; k++)
		if (!warnings[k])
			return false;
	for (k = 0; k < 2 * n_audit_pairs; k++)
		if (!audit_kv[k] || (k % 2 == 0 && !ks_admission_audit_key_valid(audit_kv[k])))
			return false;
	return true;
}

/* parenthesised: the name is also a macro (admission.h) */
int (ks_admission_format_response)(char *buf, size_t len, const char *uid, bool allowed,
				   int status_code, const char *status_message,
				   const char *const *warnings, size_t n_warnings,
				   const char *const *audit_kv, size_t n_audit_pairs)
{
	size_t need;

	if (!buf && len)
		return -EINVAL;
	if (!args_ok(uid, warnings, n_warnings, audit_kv, n_audit_pairs)) {
		if (len)
			buf[0] = '\0';
		return -EINVAL;
	}
	need = format(buf, len, uid, allowed, status_code, status_message, warnings, n_warnings,
		      audit_kv, n_audit_pairs);
	if (need >= len || need > INT_MAX) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)need;
}

int ks_admission_format_response_buf(struct ks_buf *b, const char *uid, bool allowed,
				     int status_code, const char *status_message,
				     const char *const *warnings, size_t n_warnings,
				     const char *const *audit_kv, size_t n_audit_pairs)
{
	size_t need;
	char *tmp;
	int rc;

	if (!args_ok(uid, warnings, n_warnings, audit_kv, n_audit_pairs))
		return -EINVAL;
	need = format(NULL, 0, uid, allowed, status_code, status_message, warnings, n_warnings,
		      audit_kv, n_audit_pairs);
	/* measured first so a response over the buffer's cap costs no
	 * allocation; +1 for the newline, +1 for format()'s NUL */
	if (b->len > b->max || need + 1 > b->max - b->len)
		return -ENOSPC;
	tmp = malloc(need + 2);
	if (!tmp)
		return -ENOMEM;
	format(tmp, need + 1, uid, allowed, status_code, status_message, warnings, n_warnings, audit_kv,
	       n_audit_pairs);
	tmp[need] = '\n';
	rc = ks_buf_append(b, tmp, need + 1);
	free(tmp);
	return rc;
}
