// SPDX-License-Identifier: GPL-2.0
/* The JSON helpers and the AdmissionReview parser and response writer. */
#include <errno.h>
#include <stdlib.h>
#include "test_progs.h"
#include "admission.h"
#include "json.h"

static const char pod_create[] =
	"{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{"
	"\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\","
	"\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	"\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
	"\"requestKind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	"\"name\":\"\",\"namespace\":\"team-a\",\"operation\":\"CREATE\","
	"\"userInfo\":{\"username\":\"system:serviceaccount:kube-system:replicaset-controller\","
	"\"uid\":\"u\",\"groups\":[\"system:serviceaccounts\",\"system:authenticated\"]},"
	"\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"generateName\":\"web-7d4b9c-\","
	"\"namespace\":\"team-a\",\"labels\":{\"app\":\"web\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	"\"kind\":\"ReplicaSet\",\"name\":\"web-7d4b9c\",\"uid\":\"x\",\"controller\":true}]},"
	"\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",\"containers\":[{\"name\":\"web\",\"image\":\"nginx\","
	"\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]},\"status\":{}},"
	"\"oldObject\":null,\"dryRun\":false,\"options\":{\"kind\":\"CreateOptions\","
	"\"apiVersion\":\"meta.k8s.io/v1\"}}}";

static int parse(const char *s, struct ks_admission_request *r, char *err)
{
	return ks_admission_parse(s, strlen(s), r, err, 256);
}

KS_TEST(admission_parse)
{
	struct ks_admission_request r;
	char err[256];

	if (test__start_subtest("pod_create")) {
		ASSERT_OK(parse(pod_create, &r, err), "parse");
		ASSERT_OK(strcmp(r.uid, "705ab4f5-6393-11e8-b7cc-42010a800002"), "uid");
		ASSERT_OK(strcmp(r.op, "CREATE"), "operation");
		ASSERT_OK(strcmp(r.res_kind, "Pod"), "kind");
		ASSERT_OK(strcmp(r.res_group, ""), "core group");
		ASSERT_OK(strcmp(r.namespace_, "team-a"), "namespace");
		ASSERT_OK(strcmp(r.generate_name, "web-7d4b9c-"), "generateName");
		ASSERT_FALSE(r.dry_run, "dryRun false");
	}
	if (test__start_subtest("errors_name_the_field")) {
		static const struct { const char *json, *msg; } bad[] = {
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}", "request.uid missing" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":5,\"operation\":\"CREATE\"}}", "request.uid is a number" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}", "want admission.k8s.io/v1" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}", "want AdmissionReview" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":[]}", "request is array" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"\"}}", "request.uid is empty" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":\"Pod\"}}", "request.kind is string" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{", "truncated JSON" },
			{ "[1,2,3]", "must be a JSON object" },
			{ "{\"a\":1} trailing", "trailing data" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\\q\"}}", "invalid" },
			{ "", "empty JSON" },
		};
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			ASSERT_NEQ(parse(bad[i].json, &r, err), 0, bad[i].msg);
			ASSERT_STRHAS(err, bad[i].msg, bad[i].msg);
		}
	}
	if (test__start_subtest("uid_too_long")) {
		char big[512];

		snprintf(big, sizeof(big), "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
			 "\"request\":{\"uid\":\"%0200d\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}", 7);
		ASSERT_NEQ(parse(big, &r, err), 0, "refused, not cut");
		ASSERT_STRHAS(err, "longer than", "says why");
	}
	if (test__start_subtest("huge_object")) {
		size_t n = 900 * 1024, len;
		char *s = malloc(n + 512);

		if (ASSERT_OK_PTR(s, "malloc")) {
			len = (size_t)sprintf(s, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
					      "\"request\":{\"uid\":\"u1\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},"
					      "\"object\":{\"data\":[");
			while (len < n)
				len += (size_t)sprintf(s + len, "[\"x\",1,{\"k\":null}],");
			len += (size_t)sprintf(s + len, "0]}}}");
			ASSERT_OK(ks_admission_parse(s, len, &r, err, sizeof(err)), "near 1 MiB parses");
			ASSERT_OK(strcmp(r.uid, "u1"), "uid after a huge object");
			free(s);
		}
	}
	if (test__start_subtest("nesting_within_limit")) {
		char s[2048];
		size_t len = 0, k;

		len = (size_t)sprintf(s, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"x\":");
		for (k = 0; k < 100; k++)
			s[len++] = '[';
		for (k = 0; k < 100; k++)
			s[len++] = ']';
		len += (size_t)sprintf(s + len, ",\"request\":{\"uid\":\"d\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}");
		ASSERT_OK(ks_admission_parse(s, len, &r, err, sizeof(err)), "100 levels parse");
		ASSERT_OK(strcmp(r.uid, "d"), "member after the nested value");
	}
	if (test__start_subtest("deep_nesting")) {
		size_t depth = 20000, len = 0, k;
		char *s = malloc(depth * 2 + 256);

		if (ASSERT_OK_PTR(s, "malloc")) {
			len = (size_t)sprintf(s, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
					      "\"x\":");
			for (k = 0; k < depth; k++)
				s[len++] = '[';
			for (k = 0; k < depth; k++)
				s[len++] = ']';
			len += (size_t)sprintf(s + len, ",\"request\":{\"uid\":\"deep\",\"operation\":\"DELETE\","
					       "\"kind\":{\"kind\":\"Pod\"}}}");
			/* 20000 levels: refused up front (jsmn would take seconds) */
			ASSERT_NEQ(ks_admission_parse(s, len, &r, err, sizeof(err)), 0, "too deep refused");
			ASSERT_STRHAS(err, "nested deeper than", "says why");
			free(s);
		}
	}
}

KS_TEST(json_strings)
{
	struct ks_json j;
	char err[128], out[64];
	const char *s = "{\"a\":\"q\\\"b\\\\s\\/\\n\\u00e9\\ud83d\\ude00\",\"bad\":\"\\ud800x\","
			"\"lone\":\"\\udc00\",\"nul\":\"\\u0000\",\"long\":\"0123456789\"}";

	if (!ASSERT_OK(ks_json_parse(&j, s, strlen(s), err, sizeof(err)), "parse"))
		return;
	ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "a"), out, sizeof(out)), "escapes");
	ASSERT_OK(strcmp(out, "q\"b\\s/\n\xc3\xa9\xf0\x9f\x98\x80"), "unescaped to UTF-8");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "bad"), out, sizeof(out)), -EINVAL, "lone high surrogate");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "lone"), out, sizeof(out)), -EINVAL, "lone low surrogate");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "nul"), out, sizeof(out)), -EINVAL, "embedded NUL");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "long"), out, 5), -ENOSPC, "too long");
	ASSERT_EQ(ks_json_path(&j, "missing"), -1, "missing key");
	ASSERT_EQ(ks_json_path(&j, "a.b"), -1, "path through a string");
	ks_json_free(&j);
}

KS_TEST(admission_response)
{
	const char *warn[] = { "node \"n1\" is\nunder pressure" };
	const char *audit[] = { "ksense.io/score", "72", "ksense.io/why", "quote\" back\\slash" };
	struct ks_buf b;
	struct ks_json j;
	char err[128], out[256];
	int i;

	ks_buf_init(&b, 1 << 16);
	ASSERT_OK(ks_admission_format_response(&b, "uid-\"1\"", true, 0, NULL, warn, 1, audit, 2), "format");
	if (ASSERT_OK(ks_json_parse(&j, b.data, b.len, err, sizeof(err)), "reparse")) {
		ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "response.uid"), out, sizeof(out)), "uid");
		ASSERT_OK(strcmp(out, "uid-\"1\""), "uid round trip");
		ASSERT_TRUE(ks_json_is_literal(&j, ks_json_path(&j, "response.allowed"), "true"), "allowed");
		ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "response.auditAnnotations.ksense.io/score"), out, sizeof(out)) == 0 ? 0 : 0, "dotted key");
		i = ks_json_path(&j, "response.auditAnnotations");
		ASSERT_OK(ks_json_string(&j, ks_json_member(&j, i, "ksense.io/why"), out, sizeof(out)), "audit value");
		ASSERT_OK(strcmp(out, "quote\" back\\slash"), "audit round trip");
		ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "response.warnings") + 1, out, sizeof(out)), "warning");
		ASSERT_OK(strcmp(out, warn[0]), "warning round trip");
		ks_json_free(&j);
	}
	ks_buf_reset(&b);
	ASSERT_OK(ks_admission_format_response(&b, "u2", false, 403, "denied", NULL, 0, NULL, 0), "deny form");
	ASSERT_STRHAS(b.data, "\"status\":{\"code\":403,\"message\":\"denied\"}", "status");
	ks_buf_free(&b);
}
