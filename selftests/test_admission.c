// SPDX-License-Identifier: GPL-2.0
/* The JSON helpers (json.c) and the AdmissionReview parser and response
 * writer (admission.c).  No root, no network. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include "test_progs.h"
#include "json.h"
#include "webhook/admission.h"

/* A Pod CREATE as kube-apiserver sends it for a ReplicaSet's pod (pretty-
 * printed here; the server sends it compact, whitespace is legal either
 * way). */
static const char pod_create[] =
	"{\n"
	"  \"kind\": \"AdmissionReview\",\n"
	"  \"apiVersion\": \"admission.k8s.io/v1\",\n"
	"  \"request\": {\n"
	"    \"uid\": \"3f0e6d4c-8c1b-4a8e-9f5d-2b7c1e0a9d41\",\n"
	"    \"kind\": {\"group\": \"\", \"version\": \"v1\", \"kind\": \"Pod\"},\n"
	"    \"resource\": {\"group\": \"\", \"version\": \"v1\", \"resource\": \"pods\"},\n"
	"    \"requestKind\": {\"group\": \"\", \"version\": \"v1\", \"kind\": \"Pod\"},\n"
	"    \"requestResource\": {\"group\": \"\", \"version\": \"v1\", \"resource\": \"pods\"},\n"
	"    \"namespace\": \"team-a\",\n"
	"    \"operation\": \"CREATE\",\n"
	"    \"userInfo\": {\n"
	"      \"username\": \"system:serviceaccount:kube-system:replicaset-controller\",\n"
	"      \"uid\": \"b6c1a1f2-0d7e-4f3e-9a7b-5c2d8e9f0a11\",\n"
	"      \"groups\": [\"system:serviceaccounts\", \"system:serviceaccounts:kube-system\", \"system:authenticated\"]\n"
	"    },\n"
	"    \"object\": {\n"
	"      \"kind\": \"Pod\",\n"
	"      \"apiVersion\": \"v1\",\n"
	"      \"metadata\": {\n"
	"        \"generateName\": \"web-7d4b9c6f8d-\",\n"
	"        \"namespace\": \"team-a\",\n"
	"        \"creationTimestamp\": null,\n"
	"        \"labels\": {\"app\": \"web\", \"pod-template-hash\": \"7d4b9c6f8d\"},\n"
	"        \"annotations\": {\"kubectl.kubernetes.io/restartedAt\": \"2024-05-02T10:11:12Z\",\n"
	"                        \"note\": \"line one\\nline \\\"two\\\" \\u2014 caf\\u00e9\"},\n"
	"        \"ownerReferences\": [{\"apiVersion\": \"apps/v1\", \"kind\": \"ReplicaSet\", \"name\": \"web-7d4b9c6f8d\",\n"
	"          \"uid\": \"0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5\", \"controller\": true, \"blockOwnerDeletion\": true}],\n"
	"        \"managedFields\": [{\"manager\": \"kube-controller-manager\", \"operation\": \"Update\",\n"
	"          \"apiVersion\": \"v1\", \"time\": \"2024-05-02T10:11:12Z\", \"fieldsType\": \"FieldsV1\",\n"
	"          \"fieldsV1\": {\"f:metadata\": {\"f:generateName\": {}, \"f:labels\": {\".\": {}, \"f:app\": {}}},\n"
	"                       \"f:spec\": {\"f:containers\": {\"k:{\\\"name\\\":\\\"web\\\"}\": {\".\": {}}}}}}]\n"
	"      },\n"
	"      \"spec\": {\n"
	"        \"volumes\": [{\"name\": \"kube-api-access-x2x9q\", \"projected\": {\"sources\": [\n"
	"          {\"serviceAccountToken\": {\"expirationSeconds\": 3607, \"path\": \"token\"}},\n"
	"          {\"configMap\": {\"name\": \"kube-root-ca.crt\", \"items\": [{\"key\": \"ca.crt\", \"path\": \"ca.crt\"}]}}],\n"
	"          \"defaultMode\": 420}}],\n"
	"        \"containers\": [\n"
	"          {\"name\": \"web\", \"image\": \"nginx:1.25\", \"ports\": [{\"containerPort\": 80, \"protocol\": \"TCP\"}],\n"
	"           \"env\": [{\"name\": \"GREETING\", \"value\": \"hello\\tworld\"}, {\"name\": \"RATIO\", \"value\": \"0.75\"}],\n"
	"           \"resources\": {\"limits\": {\"cpu\": \"500m\", \"memory\": \"128Mi\"},\n"
	"                         \"requests\": {\"cpu\": \"100m\", \"memory\": \"64Mi\"}},\n"
	"           \"volumeMounts\": [{\"name\": \"kube-api-access-x2x9q\", \"readOnly\": true,\n"
	"             \"mountPath\": \"/var/run/secrets/kubernetes.io/serviceaccount\"}],\n"
	"           \"terminationMessagePath\": \"/dev/termination-log\", \"imagePullPolicy\": \"IfNotPresent\"},\n"
	"          {\"name\": \"sidecar\", \"image\": \"busybox:1.36\", \"command\": [\"sh\", \"-c\", \"sleep 3600\"],\n"
	"           \"resources\": {}}\n"
	"        ],\n"
	"        \"restartPolicy\": \"Always\",\n"
	"        \"terminationGracePeriodSeconds\": 30,\n"
	"        \"dnsPolicy\": \"ClusterFirst\",\n"
	"        \"serviceAccountName\": \"default\",\n"
	"        \"securityContext\": {},\n"
	"        \"schedulerName\": \"fuzzy-scheduler\",\n"
	"        \"tolerations\": [{\"key\": \"node.kubernetes.io/not-ready\", \"operator\": \"Exists\",\n"
	"          \"effect\": \"NoExecute\", \"tolerationSeconds\": 300}],\n"
	"        \"priority\": 0,\n"
	"        \"enableServiceLinks\": true,\n"
	"        \"preemptionPolicy\": \"PreemptLowerPriority\"\n"
	"      },\n"
	"      \"status\": {\"phase\": \"Pending\", \"qosClass\": \"Burstable\"}\n"
	"    },\n"
	"    \"oldObject\": null,\n"
	"    \"dryRun\": false,\n"
	"    \"options\": {\"kind\": \"CreateOptions\", \"apiVersion\": \"meta.k8s.io/v1\"}\n"
	"  }\n"
	"}\n";

/* A Pod UPDATE (a label change by kubectl), compact as sent. */
static const char pod_update[] =
	"{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{"
	"\"uid\":\"9a8b7c6d-0000-4000-8000-00000000beef\","
	"\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
	"\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
	"\"name\":\"web-7d4b9c6f8d-abcde\",\"namespace\":\"team-a\",\"operation\":\"UPDATE\","
	"\"userInfo\":{\"username\":\"kubernetes-admin\",\"groups\":[\"kubeadm:cluster-admins\",\"system:authenticated\"]},"
	"\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web-7d4b9c6f8d-abcde\","
	"\"generateName\":\"web-7d4b9c6f8d-\",\"namespace\":\"team-a\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\"}],\"nodeName\":\"node-2\"},"
	"\"status\":{\"phase\":\"Running\"}},"
	"\"oldObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web-7d4b9c6f8d-abcde\","
	"\"namespace\":\"team-a\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[]},\"status\":{}},"
	"\"dryRun\":true,\"options\":{\"kind\":\"UpdateOptions\",\"apiVersion\":\"meta.k8s.io/v1\","
	"\"fieldManager\":\"kubectl-label\"}}}";

/* A Deployment CREATE: the webhook must see it is not a core Pod. */
static const char deploy_create[] =
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
	"\"uid\":\"d3p10y\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
	"\"resource\":{\"group\":\"apps\",\"version\":\"v1\",\"resource\":\"deployments\"},"
	"\"name\":\"web\",\"namespace\":\"team-a\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":\"alice\"},"
	"\"object\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},"
	"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":"
	"{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"}]}}}},"
	"\"oldObject\":null,\"dryRun\":false,\"options\":{\"kind\":\"CreateOptions\",\"apiVersion\":\"meta.k8s.io/v1\"}}}";

#define HEAD "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","

static int parse(const char *s, struct ks_admission_request *r, char *err)
{
	return ks_admission_parse(s, strlen(s), r, err, 256);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A review around the given request members, for the error cases. */
static char *review(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(buf, len, HEAD "\"request\":{");
	va_list ap;

	va_start(ap, fmt);
	n += (size_t)vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	snprintf(buf + n, len - n, "}}");
	return buf;
}

KS_TEST_F(json_parse, KS_SAN | KS_HOST)
{
	struct ks_json j;
	char err[256];

	if (test__start_subtest("values_and_types")) {
		static const char doc[] = " {\"s\":\"x\",\"n\":-0.5e+10,\"i\":0,\"t\":true,\"f\":false,\"z\":null,"
					  "\"a\":[1,[],{}],\"o\":{}} \r\n\t";

		if (ASSERT_OK(ks_json_parse(&j, doc, strlen(doc), err, sizeof(err)), "parse")) {
			ASSERT_TRUE(ks_json_is_object(&j, 0), "root object");
			ASSERT_TRUE(ks_json_is_string(&j, ks_json_path(&j, "s")), "string");
			ASSERT_TRUE(ks_json_is_number(&j, ks_json_path(&j, "n")), "number");
			ASSERT_TRUE(ks_json_is_number(&j, ks_json_path(&j, "i")), "zero");
			ASSERT_TRUE(ks_json_is_bool(&j, ks_json_path(&j, "t")), "true");
			ASSERT_TRUE(ks_json_is_bool(&j, ks_json_path(&j, "f")), "false");
			ASSERT_TRUE(ks_json_is_null(&j, ks_json_path(&j, "z")), "null");
			ASSERT_TRUE(ks_json_is_array(&j, ks_json_path(&j, "a")), "array");
			ASSERT_FALSE(ks_json_is_number(&j, ks_json_path(&j, "t")), "true is no number");
			ASSERT_FALSE(ks_json_is_bool(&j, ks_json_path(&j, "z")), "null is no bool");
			ASSERT_STRHAS(ks_json_type_name(&j, ks_json_path(&j, "t")), "boolean", "name bool");
			ASSERT_STRHAS(ks_json_type_name(&j, ks_json_path(&j, "z")), "null", "name null");
			ASSERT_STRHAS(ks_json_type_name(&j, ks_json_path(&j, "n")), "number", "name number");
			ASSERT_STRHAS(ks_json_type_name(&j, ks_json_path(&j, "o")), "object", "name object");
			ASSERT_STRHAS(ks_json_type_name(&j, ks_json_path(&j, "a")), "array", "name array");
			ASSERT_STRHAS(ks_json_type_name(&j, -1), "missing", "name missing");
			ASSERT_EQ(ks_json_next(&j, 0), j.ntok, "root spans every token");
			ASSERT_EQ(j.ntok, 1 + 8 * 2 + 3, "one token per key and value");
			ks_json_free(&j);
		}
	}
	if (test__start_subtest("scalar_roots")) {
		static const struct { const char *doc; const char *type; } ok[] = {
			{ "42", "number" }, { "-0", "number" }, { " 1e-7 ", "number" }, { "true", "boolean" },
			{ "null\n", "null" }, { "\"s\\u00e9\"", "string" }, { "\"\"", "string" },
		};
		unsigned int i;
		char out[16];

		for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			if (!ASSERT_OK(ks_json_parse(&j, ok[i].doc, strlen(ok[i].doc), err, sizeof(err)), ok[i].doc))
				continue;
			ASSERT_EQ(j.ntok, 1, "one token");
			ASSERT_STRHAS(ks_json_type_name(&j, 0), ok[i].type, ok[i].doc);
			ks_json_free(&j);
		}
		if (ASSERT_OK(ks_json_parse(&j, "\"caf\\u00e9\"", 11, err, sizeof(err)), "string root")) {
			ASSERT_OK(ks_json_string(&j, 0, out, sizeof(out)), "root string value");
			ASSERT_OK(strcmp(out, "caf\xc3\xa9"), "root string unescaped");
			ks_json_free(&j);
		}
	}
	if (test__start_subtest("grammar_errors")) {
		/* everything here jsmn alone (even strict) accepts or mis-reports */
		static const struct { const char *doc; const char *msg; } bad[] = {
			{ "{\"a\" 1}", "expected ':'" },
			{ "{\"a\":1 \"b\":2}", "expected ',' or '}'" },
			{ "[1 2]", "expected ',' or ']'" },
			{ "[1,]", "expected a value" },
			{ "{\"a\":1,}", "expected a string key" },
			{ "[\"a\":1]", "expected ',' or ']'" },
			{ "{,}", "expected a string key or '}'" },
			{ "{1:2}", "expected a string key" },
			{ "[01]", "expected ',' or ']'" },
			{ "01", "trailing data" },
			{ "[1.]", "digit after '.'" },
			{ "[1e]", "exponent" },
			{ "[-]", "expected a digit" },
			{ "[tru]", "invalid literal" },
			{ "[trux]", "invalid literal" },
			{ "[nul]", "invalid literal" },
			{ "[True]", "expected a value" },
			{ "[+1]", "expected a value" },
			{ "['a']", "expected a value" },
			{ "[\"a\x01\"]", "control character" },
			{ "[\"a\nb\"]", "control character" },
			{ "[\"\\q\"]", "invalid escape" },
			{ "[\"\\u12G4\"]", "four hex digits" },
			{ "[\"\xc0\x80\"]", "invalid UTF-8" },          /* overlong NUL */
			{ "[\"\xed\xa0\x80\"]", "invalid UTF-8" },      /* encoded surrogate */
			{ "[\"\xf4\x90\x80\x80\"]", "invalid UTF-8" },  /* above U+10FFFF */
			{ "[\"\xff\"]", "invalid UTF-8" },
			{ "\xef\xbb\xbf{}", "expected a value" },        /* a BOM is not JSON */
			{ "{}{}", "trailing data" },
			{ "{} x", "trailing data after the JSON value at byte 3" },
			{ "[}", "expected a value" },
			{ "{]", "expected a string key or '}'" },
			{ "]", "expected a value" },
			{ "", "empty JSON" },
			{ " \n\t ", "empty JSON" },
			{ "{\"a\":", "truncated JSON" },
			{ "[\"abc", "truncated JSON" },
			{ "[1,", "truncated JSON" },
			{ "-", "truncated JSON" },
			{ "tr", "truncated JSON" },
			{ "[\"\\u00", "truncated JSON" },
			{ "[\"\xe2\x82", "truncated JSON" },
		};
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			ASSERT_EQ(ks_json_parse(&j, bad[i].doc, strlen(bad[i].doc), err, sizeof(err)), -EINVAL, bad[i].msg);
			ASSERT_STRHAS(err, bad[i].msg, bad[i].doc);
			ASSERT_TRUE(j.tok == NULL && j.ntok == 0, "nothing left behind");
			ks_json_free(&j);
		}
		/* an embedded NUL is not the end of the input */
		ASSERT_EQ(ks_json_parse(&j, "{}\0{}", 5, err, sizeof(err)), -EINVAL, "NUL after the value");
		ASSERT_STRHAS(err, "trailing data after the JSON value at byte 2", "NUL is trailing data");
		ASSERT_EQ(ks_json_parse(&j, "[\"a\0b\"]", 7, err, sizeof(err)), -EINVAL, "NUL in a string");
		ASSERT_STRHAS(err, "control character", "NUL is a control character");
		ASSERT_STRHAS(err, "at byte 3", "offset of the NUL");
	}
	if (test__start_subtest("every_prefix_is_truncated")) {
		size_t n = strlen(pod_update), k;
		int fails = 0;

		for (k = 0; k < n; k++) {
			err[0] = '\0';
			if (ks_json_parse(&j, pod_update, k, err, sizeof(err)) != -EINVAL ||
			    (!strstr(err, "truncated JSON") && !(k == 0 && strstr(err, "empty JSON")))) {
				if (!fails++)
					ASSERT_STRHAS(err, "truncated JSON", "a prefix is truncated");
			}
		}
		ASSERT_EQ(fails, 0, "every proper prefix refused as truncated");
		ASSERT_OK(ks_json_parse(&j, pod_update, n, err, sizeof(err)), "the whole parses");
		ks_json_free(&j);
	}
	if (test__start_subtest("limits")) {
		size_t n = KS_JSON_MAX_BYTES + 1, k;
		char *s = malloc(n + 1);
		double t0;

		if (!ASSERT_OK_PTR(s, "malloc"))
			return;
		memset(s, ' ', n);
		s[0] = '0';
		ASSERT_EQ(ks_json_parse(&j, s, n, err, sizeof(err)), -E2BIG, "over 1 MiB");
		ASSERT_STRHAS(err, "byte limit", "says the limit");
		ASSERT_OK(ks_json_parse(&j, s, n - 1, err, sizeof(err)), "exactly 1 MiB is fine");
		ks_json_free(&j);
		ASSERT_EQ(ks_json_parse_limits(&j, "[1,2,3]", 7, 100, 3, err, sizeof(err)), -E2BIG, "token limit");
		ASSERT_STRHAS(err, "4 tokens is over the 3 token limit", "says the count");
		ASSERT_OK(ks_json_parse_limits(&j, "[1,2,3]", 7, 100, 4, err, sizeof(err)), "at the token limit");
		ks_json_free(&j);
		ASSERT_EQ(ks_json_parse_limits(&j, "[1,2,3]", 7, 6, 4, err, sizeof(err)), -E2BIG, "byte limit");

		/* depth: 128 levels parse, 129 do not */
		for (k = 0; k < KS_JSON_MAX_DEPTH; k++) {
			s[k] = '[';
			s[2 * KS_JSON_MAX_DEPTH - 1 - k] = ']';
		}
		if (ASSERT_OK(ks_json_parse(&j, s, 2 * KS_JSON_MAX_DEPTH, err, sizeof(err)), "128 deep")) {
			ASSERT_EQ(j.ntok, KS_JSON_MAX_DEPTH, "one token a level");
			ASSERT_EQ(ks_json_next(&j, 0), j.ntok, "next over the nest");
			ASSERT_EQ(ks_json_path(&j, "0.0.0.0"), 4, "indexes down the nest");
			ks_json_free(&j);
		}
		memmove(s + 1, s, 2 * KS_JSON_MAX_DEPTH);
		s[0] = '[';
		s[2 * KS_JSON_MAX_DEPTH + 1] = ']';
		ASSERT_EQ(ks_json_parse(&j, s, 2 * KS_JSON_MAX_DEPTH + 2, err, sizeof(err)), -E2BIG, "129 deep");
		ASSERT_STRHAS(err, "nested deeper than 128 levels at byte 128", "says where");

		/* the worst case for jsmn's bracket matching is refused before
		 * jsmn runs, so it is as cheap as any other bad input */
		memset(s, '[', n - 1);
		t0 = now_s();
		ASSERT_EQ(ks_json_parse(&j, s, n - 1, err, sizeof(err)), -E2BIG, "1 MiB of '['");
		ASSERT_LT((now_s() - t0) * 1000, 50, "refused in under 50 ms");
		free(s);
	}
	if (test__start_subtest("hostile_nesting_cost")) {
		/* open and close 128 levels again and again up to 1 MiB: what
		 * the depth limit is for (json.h) */
		size_t n = 0, cap = KS_JSON_MAX_BYTES, k;
		char *s = malloc(cap);
		double t0, dt;

		if (!ASSERT_OK_PTR(s, "malloc"))
			return;
		s[n++] = '[';
		while (n + 2 * (KS_JSON_MAX_DEPTH - 1) + 2 < cap) {
			for (k = 0; k < KS_JSON_MAX_DEPTH - 1; k++)
				s[n++] = '[';
			for (k = 0; k < KS_JSON_MAX_DEPTH - 1; k++)
				s[n++] = ']';
			s[n++] = ',';
		}
		s[n++] = '0';
		s[n++] = ']';
		t0 = now_s();
		ASSERT_OK(ks_json_parse(&j, s, n, err, sizeof(err)), "1 MiB at the depth limit");
		dt = now_s() - t0;
		if (test__verbose())
			printf("  hostile 1 MiB at depth %d: %d tokens in %.1f ms\n", KS_JSON_MAX_DEPTH, j.ntok,
			       dt * 1000);
		ASSERT_LT(dt, 2.0, "bounded cost (ASan included)");
		ks_json_free(&j);
		free(s);
	}
	if (test__start_subtest("lookups")) {
		static const char doc[] = "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"x\":[[1],[2]]}]},"
					  "\"u\\u0069d\":\"escaped key\",\"ksense.io/score\":\"7\",\"dup\":1,\"dup\":2,"
					  "\"\":\"empty key\"}";
		char out[64];
		int c;

		if (!ASSERT_OK(ks_json_parse(&j, doc, strlen(doc), err, sizeof(err)), "parse"))
			return;
		ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "spec.containers.1.name"), out, sizeof(out)), "index path");
		ASSERT_OK(strcmp(out, "b"), "second container");
		ASSERT_TRUE(ks_json_is_literal(&j, ks_json_path(&j, "spec.containers.1.x.1.0"), "2"), "nested index");
		ASSERT_EQ(ks_json_path(&j, "spec.containers.2"), -1, "index past the end");
		ASSERT_EQ(ks_json_path(&j, "spec.containers.-1"), -1, "negative index is a key, not found");
		ASSERT_EQ(ks_json_path(&j, "spec.containers.99999999999"), -1, "huge index");
		c = ks_json_path(&j, "spec.containers");
		ASSERT_EQ(ks_json_index(&j, c, 1), ks_json_path(&j, "spec.containers.1"), "index = path");
		ASSERT_EQ(ks_json_path_at(&j, ks_json_index(&j, c, 0), "name"), ks_json_path(&j, "spec.containers.0.name"),
			  "relative path");
		ASSERT_OK(ks_json_string(&j, ks_json_member(&j, 0, "uid"), out, sizeof(out)), "escaped key matches");
		ASSERT_OK(strcmp(out, "escaped key"), "value of the escaped key");
		ASSERT_GT(ks_json_member(&j, 0, "ksense.io/score"), 0, "dotted key by member");
		ASSERT_EQ(ks_json_path(&j, "ksense.io/score"), -1, "dotted key is not a path");
		ASSERT_TRUE(ks_json_is_literal(&j, ks_json_member(&j, 0, "dup"), "1"), "first of a repeated key");
		ASSERT_GT(ks_json_member(&j, 0, ""), 0, "empty key");
		ASSERT_EQ(ks_json_path(&j, ""), 0, "empty path is the root");
		ASSERT_EQ(ks_json_path(&j, "spec."), -1, "trailing dot");
		ASSERT_EQ(ks_json_path(&j, ".spec"), -1, "leading dot");
		ASSERT_EQ(ks_json_path(&j, "spec..containers"), -1, "empty segment");
		ASSERT_EQ(ks_json_path(&j, "spec.containers.0.name.x"), -1, "through a string");
		ASSERT_EQ(ks_json_member(&j, 0, NULL), -1, "NULL key");
		ASSERT_EQ(ks_json_member(&j, -1, "spec"), -1, "-1 in, -1 out");
		ASSERT_EQ(ks_json_member(&j, j.ntok, "spec"), -1, "past the end");
		ASSERT_EQ(ks_json_next(&j, -1), -1, "next of nothing");
		ASSERT_EQ(ks_json_path_at(&j, -1, "spec"), -1, "path from nothing");
		ASSERT_FALSE(ks_json_is_string(&j, -1), "type of nothing");
		ks_json_free(&j);
		ks_json_free(&j); /* twice is fine */
	}
}

KS_TEST_F(json_strings, KS_SAN | KS_HOST)
{
	struct ks_json j;
	char err[128], out[64];
	bool b = false;
	const char *s = "{\"a\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\","
			"\"bad\":\"\\ud800x\",\"hihi\":\"\\ud800\\ud800\",\"lone\":\"\\udc00\",\"nul\":\"\\u0000\","
			"\"long\":\"0123456789\",\"raw\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"n\":5,\"t\":true,"
			"\"esc\":\"\\u0041\\u00e9\"}";

	if (!ASSERT_OK(ks_json_parse(&j, s, strlen(s), err, sizeof(err)), "parse"))
		return;
	ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "a"), out, sizeof(out)), "every escape");
	ASSERT_OK(strcmp(out, "q\"b\\s/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "unescaped to UTF-8");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "bad"), out, sizeof(out)), -EINVAL, "lone high surrogate");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "hihi"), out, sizeof(out)), -EINVAL, "high + high");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "lone"), out, sizeof(out)), -EINVAL, "lone low surrogate");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "nul"), out, sizeof(out)), -EINVAL, "embedded NUL");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "n"), out, sizeof(out)), -EINVAL, "not a string");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "missing"), out, sizeof(out)), -EINVAL, "missing");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "long"), out, 0), -EINVAL, "no room at all");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "long"), out, 10), -ENOSPC, "one short");
	ASSERT_OK(strcmp(out, ""), "refused, not cut");
	ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "long"), out, 11), "exact fit");
	ASSERT_OK(strcmp(out, "0123456789"), "exact fit value");
	ASSERT_EQ(ks_json_string(&j, ks_json_path(&j, "a"), out, 20), -ENOSPC, "cut inside a 4-byte char");
	ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "a"), out, 21), "4-byte char exactly fits");
	ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "raw"), out, sizeof(out)), "raw UTF-8");
	ASSERT_OK(strcmp(out, "caf\xc3\xa9 \xf0\x9f\x98\x80"), "raw UTF-8 unchanged");
	ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "esc"), out, sizeof(out)), "\\u escapes");
	ASSERT_OK(strcmp(out, "A\xc3\xa9"), "\\u escapes to UTF-8");
	ASSERT_OK(ks_json_bool(&j, ks_json_path(&j, "t"), &b), "bool");
	ASSERT_TRUE(b, "true");
	ASSERT_EQ(ks_json_bool(&j, ks_json_path(&j, "n"), &b), -EINVAL, "a number is no bool");
	ks_json_free(&j);
}

KS_TEST_F(json_quote, KS_SAN | KS_HOST)
{
	struct ks_json j;
	char err[128], out[512], lit[1024];
	size_t n;
	int c;

	if (test__start_subtest("escapes")) {
		n = ks_json_quote(lit, sizeof(lit), "a\"b\\c\n\x01\x1f\x7f/\xc3\xa9");
		ASSERT_OK(strcmp(lit, "\"a\\\"b\\\\c\\u000a\\u0001\\u001f\x7f/\xc3\xa9\""), "escaped");
		ASSERT_EQ(n, strlen(lit), "length returned");
		ks_json_quote(lit, sizeof(lit), "bad \xff \xc3 \xed\xa0\x80 end");
		ASSERT_OK(strcmp(lit, "\"bad \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd end\""), "invalid UTF-8 replaced");
		ASSERT_EQ(ks_json_quote(NULL, 0, "abc"), 5, "measure only");
		ASSERT_EQ(ks_json_quote(NULL, 0, "\xc3\xa9\xf0\x9f\x98\x80"), 8, "measure multi-byte");
		ASSERT_EQ(ks_json_quote(lit, 3, "\xc3\xa9\xc3\xa9"), 6, "cut inside multi-byte");
		ASSERT_EQ(ks_json_quote(lit, 4, "abcdef"), 8, "snprintf-style length");
		ASSERT_OK(strcmp(lit, "\"ab"), "cut output is NUL-terminated");
		ks_json_quote(lit, sizeof(lit), NULL);
		ASSERT_OK(strcmp(lit, "\"\""), "NULL is the empty string");
		ks_json_quote_n(lit, sizeof(lit), "a\0b", 3);
		ASSERT_OK(strcmp(lit, "\"a\\u0000b\""), "explicit length keeps NUL");
	}
	if (test__start_subtest("round_trip")) {
		char in[256];
		int fails = 0;

		/* every byte 1..127, then multi-byte characters */
		for (c = 1; c < 128; c++)
			in[c - 1] = (char)c;
		strcpy(in + 127, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
		n = ks_json_quote(lit, sizeof(lit), in);
		ASSERT_LT(n, sizeof(lit), "fits");
		if (ASSERT_OK(ks_json_parse(&j, lit, n, err, sizeof(err)), "quoted parses")) {
			if (ASSERT_OK(ks_json_string(&j, 0, out, sizeof(out)), "unescapes"))
				fails += !!strcmp(out, in);
			ks_json_free(&j);
		}
		ASSERT_EQ(fails, 0, "byte-exact round trip");
	}
}

KS_TEST_F(admission_parse, KS_SAN | KS_HOST)
{
	struct ks_admission_request r;
	char err[256], buf[2048];

	if (test__start_subtest("pod_create")) {
		if (ASSERT_OK(parse(pod_create, &r, err), "parse")) {
			ASSERT_OK(strcmp(r.api_version, "admission.k8s.io/v1"), "apiVersion");
			ASSERT_OK(strcmp(r.kind, "AdmissionReview"), "kind");
			ASSERT_OK(strcmp(r.uid, "3f0e6d4c-8c1b-4a8e-9f5d-2b7c1e0a9d41"), "uid");
			ASSERT_OK(strcmp(r.op, "CREATE"), "operation");
			ASSERT_OK(strcmp(r.res_group, ""), "core group");
			ASSERT_OK(strcmp(r.res_version, "v1"), "version");
			ASSERT_OK(strcmp(r.res_kind, "Pod"), "kind.kind");
			ASSERT_OK(strcmp(r.namespace_, "team-a"), "namespace");
			ASSERT_OK(strcmp(r.name, ""), "no name yet");
			ASSERT_OK(strcmp(r.generate_name, "web-7d4b9c6f8d-"), "generateName");
			ASSERT_FALSE(r.dry_run, "dryRun false");
		}
		if (test__verbose())
			printf("  %s\n", err);
	}
	if (test__start_subtest("pod_update")) {
		if (ASSERT_OK(parse(pod_update, &r, err), "parse")) {
			ASSERT_OK(strcmp(r.op, "UPDATE"), "operation");
			ASSERT_OK(strcmp(r.name, "web-7d4b9c6f8d-abcde"), "name");
			ASSERT_OK(strcmp(r.res_kind, "Pod"), "kind");
			ASSERT_TRUE(r.dry_run, "dryRun true");
		}
	}
	if (test__start_subtest("deployment")) {
		if (ASSERT_OK(parse(deploy_create, &r, err), "parse")) {
			ASSERT_OK(strcmp(r.res_group, "apps"), "group");
			ASSERT_OK(strcmp(r.res_kind, "Deployment"), "kind");
			ASSERT_OK(strcmp(r.name, "web"), "name");
			ASSERT_OK(strcmp(r.op, "CREATE"), "operation");
		}
	}
	if (test__start_subtest("delete_and_fallbacks")) {
		/* DELETE: object null, oldObject set, no dryRun; cluster-scoped */
		ASSERT_OK(parse(review(buf, sizeof(buf), "\"uid\":\"del\",\"operation\":\"DELETE\","
				       "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Node\"},\"name\":\"n1\","
				       "\"object\":null,\"oldObject\":{\"metadata\":{\"name\":\"n1\"}},\"dryRun\":null"),
				&r, err), "delete");
		ASSERT_OK(strcmp(r.namespace_, ""), "no namespace");
		ASSERT_OK(strcmp(r.name, "n1"), "name");
		ASSERT_FALSE(r.dry_run, "dryRun null is false");
		/* no request.name: the object's own name, escapes decoded */
		ASSERT_OK(parse(review(buf, sizeof(buf), "\"uid\":\"u\\u002d1\",\"operation\":\"CREATE\","
				       "\"kind\":{\"kind\":\"Pod\"},\"namespace\":\"t\\u0065am\",\"future\":{\"x\":[1]},"
				       "\"object\":{\"metadata\":{\"name\":\"p\\u00e9\"}}"), &r, err), "fallbacks");
		ASSERT_OK(strcmp(r.uid, "u-1"), "uid unescaped");
		ASSERT_OK(strcmp(r.namespace_, "team"), "namespace unescaped");
		ASSERT_OK(strcmp(r.name, "p\xc3\xa9"), "name from the object");
		ASSERT_OK(strcmp(r.res_version, ""), "version may be absent");
		/* no message buffer */
		ASSERT_OK(ks_admission_parse(pod_update, strlen(pod_update), &r, NULL, 0), "NULL err ok");
		ASSERT_EQ(ks_admission_parse("[", 1, &r, NULL, 0), -EINVAL, "NULL err on error");
	}
	if (test__start_subtest("errors_name_the_field")) {
		static const struct { const char *req; const char *msg; } bad[] = {
			{ "\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}", "request.uid missing" },
			{ "\"uid\":5,\"operation\":\"CREATE\"", "request.uid is not a string (got number)" },
			{ "\"uid\":null", "request.uid is not a string (got null)" },
			{ "\"uid\":{\"a\":1}", "request.uid is not a string (got object)" },
			{ "\"uid\":[\"a\"]", "request.uid is not a string (got array)" },
			{ "\"uid\":true", "request.uid is not a string (got boolean)" },
			{ "\"uid\":\"\"", "request.uid is empty" },
			{ "\"uid\":\"a\\ud800\"", "request.uid has an invalid escape" },
			{ "\"uid\":\"a\\u0000b\"", "request.uid has an invalid escape" },
			{ "\"uid\":\"a\"", "request.operation missing" },
			{ "\"uid\":\"a\",\"operation\":1", "request.operation is not a string (got number)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\"", "request.kind missing" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":\"Pod\"", "request.kind is not an object (got string)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{}", "request.kind.kind missing" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\",\"group\":7}",
			  "request.kind.group is not a string (got number)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},\"namespace\":[]",
			  "request.namespace is not a string (got array)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},\"object\":\"x\"",
			  "request.object is not an object (got string)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},\"object\":{\"metadata\":1}",
			  "request.object.metadata is not an object (got number)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},\"object\":{\"metadata\":"
			  "{\"generateName\":false}}", "request.object.metadata.generateName is not a string (got boolean)" },
			{ "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},\"dryRun\":\"yes\"",
			  "request.dryRun is not a boolean (got string)" },
			{ "\"uid\":\"a\",\"operation\":\"CONNECT-AND-MORE\",\"kind\":{\"kind\":\"Pod\"}",
			  "request.operation longer than 15 bytes" },
		};
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			ASSERT_EQ(parse(review(buf, sizeof(buf), "%s", bad[i].req), &r, err), -EINVAL, bad[i].msg);
			ASSERT_STRHAS(err, bad[i].msg, bad[i].msg);
			ASSERT_OK(strcmp(r.uid, ""), "no half request");
		}
	}
	if (test__start_subtest("envelope_errors")) {
		static const struct { const char *json, *msg; } bad[] = {
			{ "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
			  "apiVersion is admission.k8s.io/v1beta1, want admission.k8s.io/v1" },
			{ "{\"kind\":\"AdmissionReview\",\"request\":{}}", "apiVersion missing" },
			{ "{\"apiVersion\":1,\"kind\":\"AdmissionReview\"}", "apiVersion is not a string (got number)" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}", "kind is Pod, want AdmissionReview" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\"}", "kind missing" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "request missing" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":[]}",
			  "request is not an object (got array)" },
			{ "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":null}",
			  "request is not an object (got null)" },
			{ "{\"apiVersion\":\"a\\nb\\u0007\",\"kind\":\"AdmissionReview\"}", "apiVersion is a?b?, want" },
			{ "[1,2,3]", "AdmissionReview is not a JSON object (got array)" },
			{ "\"AdmissionReview\"", "AdmissionReview is not a JSON object (got string)" },
			{ HEAD "\"request\":{", "truncated JSON (input ends at byte 72)" },
			{ HEAD "\"request\":{\"uid\":\"a\\q\"}}", "invalid JSON at byte 81: invalid escape" },
			{ HEAD "\"request\":{\"uid\" \"a\"}}", "invalid JSON at byte 78: expected ':'" },
			{ "{\"a\":1} trailing", "trailing data after the JSON value at byte 8" },
			{ "", "empty JSON" },
		};
		unsigned int i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			ASSERT_EQ(parse(bad[i].json, &r, err), -EINVAL, bad[i].msg);
			ASSERT_STRHAS(err, bad[i].msg, bad[i].msg);
		}
	}
	if (test__start_subtest("field_sizes")) {
		char v[512];

		/* a namespace of 253 bytes (the DNS-1123 maximum) fits; 254 is refused, not cut */
		memset(v, 'n', 253);
		v[253] = '\0';
		ASSERT_OK(parse(review(buf, sizeof(buf), "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},"
				       "\"namespace\":\"%s\"", v), &r, err), "253-byte namespace");
		ASSERT_EQ(strlen(r.namespace_), 253, "kept whole");
		strcat(v, "n");
		ASSERT_EQ(parse(review(buf, sizeof(buf), "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},"
				       "\"namespace\":\"%s\"", v), &r, err), -EINVAL, "254-byte namespace");
		ASSERT_STRHAS(err, "request.namespace longer than 253 bytes", "says which and how long");
		memset(v, 'u', 128);
		v[128] = '\0';
		ASSERT_EQ(parse(review(buf, sizeof(buf), "\"uid\":\"%s\"", v), &r, err), -EINVAL, "128-byte uid");
		ASSERT_STRHAS(err, "request.uid longer than 127 bytes", "uid too long");
		v[127] = '\0';
		ASSERT_OK(parse(review(buf, sizeof(buf), "\"uid\":\"%s\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}", v),
				&r, err), "127-byte uid");
		/* 64 x \u00e9 is 384 raw bytes but 128 decoded: too long for uid */
		strcpy(v, "");
		for (int k = 0; k < 64; k++)
			strcat(v, "\\u00e9");
		ASSERT_EQ(parse(review(buf, sizeof(buf), "\"uid\":\"%s\"", v), &r, err), -EINVAL, "decoded length counts");
		memset(v, 'g', 260);
		v[260] = '\0';
		ASSERT_EQ(parse(review(buf, sizeof(buf), "\"uid\":\"a\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},"
				       "\"object\":{\"metadata\":{\"generateName\":\"%s\"}}", v), &r, err), -EINVAL,
			  "long generateName");
		ASSERT_STRHAS(err, "generateName longer than 253 bytes", "generateName too long");
	}
	if (test__start_subtest("every_prefix_refused")) {
		size_t n = strlen(pod_create), k;
		int fails = 0;

		for (k = 0; k + 1 < n; k++) /* the last byte is a newline */
			if (ks_admission_parse(pod_create, k, &r, err, sizeof(err)) != -EINVAL)
				fails++;
		ASSERT_EQ(fails, 0, "no prefix parses");
	}
	if (test__start_subtest("huge_object")) {
		size_t n = KS_JSON_MAX_BYTES - 64, len;
		char *s = malloc(KS_JSON_MAX_BYTES + 64);
		double t0, dt;

		if (ASSERT_OK_PTR(s, "malloc")) {
			len = (size_t)sprintf(s, HEAD "\"request\":{\"uid\":\"u1\",\"operation\":\"CREATE\","
					      "\"kind\":{\"kind\":\"Pod\"},\"object\":{\"data\":[");
			while (len < n - 64)
				len += (size_t)sprintf(s + len, "[\"x\",1,{\"k\":null}],");
			len += (size_t)sprintf(s + len, "0]},\"namespace\":\"after\"}}");
			ASSERT_LE(len, KS_JSON_MAX_BYTES, "under the limit");
			t0 = now_s();
			ASSERT_OK(ks_admission_parse(s, len, &r, err, sizeof(err)), "near 1 MiB parses");
			dt = now_s() - t0;
			ASSERT_OK(strcmp(r.namespace_, "after"), "member after a huge value");
			ASSERT_LT(dt, 1.0, "in well under a second");
			if (test__verbose())
				printf("  %zu bytes in %.1f ms\n", len, dt * 1000);
			/* one byte over the limit is refused up front */
			memset(s + len, ' ', KS_JSON_MAX_BYTES + 1 - len);
			ASSERT_EQ(ks_admission_parse(s, KS_JSON_MAX_BYTES + 1, &r, err, sizeof(err)), -E2BIG, "over 1 MiB");
			free(s);
		}
	}
	if (test__start_subtest("deep_nesting")) {
		size_t depth = KS_JSON_MAX_DEPTH - 3, len, k;
		char *s = malloc(200000);

		if (!ASSERT_OK_PTR(s, "malloc"))
			return;
		/* the root and request.object use two levels, the arrays the rest */
		len = (size_t)sprintf(s, HEAD "\"request\":{\"object\":");
		for (k = 0; k < depth; k++)
			s[len++] = '[';
		for (k = 0; k < depth; k++)
			s[len++] = ']';
		len += (size_t)sprintf(s + len, ",\"uid\":\"deep\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}");
		ASSERT_EQ(parse(s, &r, err), -EINVAL, "deep arrays parse, then object is refused as an array");
		ASSERT_STRHAS(err, "request.object is not an object (got array)", "the lookup got past them");
		len = (size_t)sprintf(s, HEAD "\"x\":");
		for (k = 0; k < depth + 1; k++)
			s[len++] = '[';
		for (k = 0; k < depth + 1; k++)
			s[len++] = ']';
		len += (size_t)sprintf(s + len, ",\"request\":{\"uid\":\"deep\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}");
		ASSERT_OK(ks_admission_parse(s, len, &r, err, sizeof(err)), "127 levels, member after");
		ASSERT_OK(strcmp(r.uid, "deep"), "uid after the deep value");
		/* 100000 levels: refused at the limit, quickly */
		len = (size_t)sprintf(s, HEAD "\"x\":");
		for (k = 0; k < 100000; k++)
			s[len++] = '[';
		for (k = 0; k < 10; k++)
			s[len++] = ']';
		ASSERT_EQ(ks_admission_parse(s, len, &r, err, sizeof(err)), -E2BIG, "100000 levels");
		ASSERT_STRHAS(err, "nested deeper than 128 levels", "says so");
		free(s);
	}
}

KS_TEST_F(admission_response, KS_SAN | KS_HOST)
{
	const char *warn[] = { "node \"n1\" is\nunder pressure", "second \\ warning\t\x01" };
	const char *audit[] = { "score", "72", "why", "quote\" back\\slash\r\nnext" };
	struct ks_admission_request r;
	struct ks_json j;
	char err[256], out[256], buf[1024];
	int n, i;

	if (test__start_subtest("round_trip")) {
		n = ks_admission_format_response(buf, sizeof(buf), "uid-\"1\"\n\xc3\xa9", true, 0, NULL, warn, 2, audit, 2);
		ASSERT_GT(n, 0, "format");
		ASSERT_EQ((size_t)n, strlen(buf), "returns the length");
		if (test__verbose())
			printf("  %s\n", buf);
		if (ASSERT_OK(ks_json_parse(&j, buf, (size_t)n, err, sizeof(err)), "reparse")) {
			ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "apiVersion"), out, sizeof(out)), "apiVersion");
			ASSERT_OK(strcmp(out, "admission.k8s.io/v1"), "apiVersion value");
			ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "kind"), out, sizeof(out)), "kind");
			ASSERT_OK(strcmp(out, "AdmissionReview"), "kind value");
			ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "response.uid"), out, sizeof(out)), "uid");
			ASSERT_OK(strcmp(out, "uid-\"1\"\n\xc3\xa9"), "uid round trip");
			ASSERT_TRUE(ks_json_is_literal(&j, ks_json_path(&j, "response.allowed"), "true"), "allowed");
			ASSERT_EQ(ks_json_path(&j, "response.status"), -1, "no status");
			ASSERT_TRUE(ks_json_is_array(&j, ks_json_path(&j, "response.warnings")), "warnings array");
			for (i = 0; i < 2; i++) {
				ASSERT_OK(ks_json_string(&j, ks_json_index(&j, ks_json_path(&j, "response.warnings"), i),
							 out, sizeof(out)), "warning");
				ASSERT_OK(strcmp(out, warn[i]), "warning round trip");
			}
			i = ks_json_path(&j, "response.auditAnnotations");
			ASSERT_EQ(j.tok[i].size, 2, "two annotations");
			ASSERT_OK(ks_json_string(&j, ks_json_member(&j, i, "score"), out, sizeof(out)), "score");
			ASSERT_OK(strcmp(out, "72"), "score round trip");
			ASSERT_OK(ks_json_string(&j, ks_json_member(&j, i, "why"), out, sizeof(out)), "why");
			ASSERT_OK(strcmp(out, audit[3]), "quotes and newlines round trip");
			ks_json_free(&j);
		}
	}
	if (test__start_subtest("status_and_minimal")) {
		n = ks_admission_format_response(buf, sizeof(buf), "u2", false, 403, "denied: \"busy\"", NULL, 0, NULL, 0);
		ASSERT_GT(n, 0, "deny form");
		ASSERT_OK(strcmp(buf, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":"
				 "{\"uid\":\"u2\",\"allowed\":false,\"status\":{\"code\":403,\"message\":\"denied: \\\"busy\\\"\"}}}"),
			  "exact document");
		n = ks_admission_format_response(buf, sizeof(buf), "u3", true, 0, NULL, NULL, 0, NULL, 0);
		ASSERT_OK(strcmp(buf, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":"
				 "{\"uid\":\"u3\",\"allowed\":true}}"), "minimal document");
		ASSERT_EQ(ks_admission_format_response(buf, (size_t)n, "u3", true, 0, NULL, NULL, 0, NULL, 0), -ENOSPC,
			  "no room for the NUL");
		ASSERT_OK(strcmp(buf, ""), "empty after ENOSPC");
		ASSERT_EQ(ks_admission_format_response(buf, (size_t)n + 1, "u3", true, 0, NULL, NULL, 0, NULL, 0), n,
			  "exact fit");
		ASSERT_EQ(ks_admission_format_response(buf, 10, "u3", true, 0, NULL, warn, 2, audit, 2), -ENOSPC, "small");
		ASSERT_EQ(ks_admission_format_response(buf, sizeof(buf), NULL, true, 0, NULL, NULL, 0, NULL, 0), -EINVAL,
			  "NULL uid");
		ASSERT_EQ(ks_admission_format_response(buf, sizeof(buf), "u", true, 0, NULL, NULL, 1, NULL, 0), -EINVAL,
			  "NULL warnings");
	}
	if (test__start_subtest("ks_buf_form")) {
		struct ks_buf b;

		/* the webhook handler's call: same document plus a newline */
		ks_buf_init(&b, 1 << 16);
		n = ks_admission_format_response(buf, sizeof(buf), "u4", true, 0, NULL, warn, 1, audit, 1);
		ASSERT_OK(ks_admission_format_response(&b, "u4", true, 0, NULL, warn, 1, audit, 1), "buf form");
		ASSERT_EQ(b.len, (size_t)n + 1, "length");
		ASSERT_TRUE(b.data && !memcmp(b.data, buf, (size_t)n) && b.data[n] == '\n', "same bytes + newline");
		ks_buf_free(&b);
		ks_buf_init(&b, 50);
		ASSERT_EQ(ks_admission_format_response(&b, "u4", true, 0, NULL, warn, 1, audit, 1), -ENOSPC, "over the cap");
		ks_buf_free(&b);
	}
	if (test__start_subtest("parse_format_parse")) {
		/* the uid as the API server might escape it comes back byte-exact */
		static const char req[] = HEAD "\"request\":{\"uid\":\"\\u0041\\\"\\\\\\/\\ud83d\\ude00\\u00e9\\n\","
					  "\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}";

		if (ASSERT_OK(parse(req, &r, err), "parse")) {
			ASSERT_OK(strcmp(r.uid, "A\"\\/\xf0\x9f\x98\x80\xc3\xa9\n"), "decoded uid");
			n = ks_admission_format_response(buf, sizeof(buf), r.uid, true, 0, NULL, NULL, 0, NULL, 0);
			if (ASSERT_GT(n, 0, "format") &&
			    ASSERT_OK(ks_json_parse(&j, buf, (size_t)n, err, sizeof(err)), "reparse")) {
				ASSERT_OK(ks_json_string(&j, ks_json_path(&j, "response.uid"), out, sizeof(out)), "uid");
				ASSERT_OK(strcmp(out, r.uid), "uid round trip");
				ks_json_free(&j);
			}
		}
	}
	if (test__start_subtest("audit_keys")) {
		static const char *const good[] = { "score", "decision", "a", "a-b_c.d", "0x9",
			"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk" /* 63 */ };
		static const char *const bad[] = { "", "ksense.io/score", "-a", "a-", "_a", "a.", "a b", "a/b",
			"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl" /* 64 */, "\xc3\xa9" };
		const char *kv[2] = { NULL, "1" };
		size_t i;

		/* what the API server keeps once it prefixes "<webhook>/" */
		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			kv[0] = good[i];
			if (!ASSERT_TRUE(ks_admission_audit_key_valid(good[i]), "valid key"))
				printf("    key '%s'\n", good[i]);
			ASSERT_GT(ks_admission_format_response(buf, sizeof(buf), "u", true, 0, NULL, NULL, 0, kv, 1), 0,
				  "formatted");
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			kv[0] = bad[i];
			if (!ASSERT_FALSE(ks_admission_audit_key_valid(bad[i]), "invalid key"))
				printf("    key '%s'\n", bad[i]);
			ASSERT_EQ(ks_admission_format_response(buf, sizeof(buf), "u", true, 0, NULL, NULL, 0, kv, 1),
				  -EINVAL, "refused, never sent to be dropped");
		}
	}
}

/* The walker (json.h) over a document too large to tokenize whole: the
 * same grammar as ks_json_parse, one value at a time, nested walks. */
KS_TEST_F(json_walk, KS_SAN | KS_HOST)
{
	const char *doc = " {\"a\":1, \"it\\\"ems\":[ {\"x\":\"]\"} ,[],2 ], \"z\":{\"k\":[true]} } ";
	struct ks_json_walk w, a;
	const char *name;
	size_t nlen, off, len, aoff, names = 0, elems = 0;
	char err[160];
	int rc;

	ASSERT_OK(ks_json_walk_open(&w, doc, strlen(doc), '{', true, err, sizeof(err)), err);
	while ((rc = ks_json_walk_next(&w, &name, &nlen, &off, err, sizeof(err))) == 1) {
		names++;
		if (nlen == 7 && !memcmp(name, "it\\\"ems", 7)) {
			ASSERT_OK(ks_json_walk_open(&a, doc + off, strlen(doc) - off, '[', false, err, sizeof(err)), err);
			while ((rc = ks_json_walk_next(&a, NULL, NULL, &aoff, err, sizeof(err))) == 1) {
				ASSERT_OK(ks_json_walk_value(&a, &len, err, sizeof(err)), err);
				elems++;
			}
			ASSERT_OK(rc, "nested walk ends");
			ASSERT_EQ(doc[off + a.pos - 1], ']', "nested walk stops past its bracket");
			ks_json_walk_skip(&w, a.pos);
			continue;
		}
		ASSERT_OK(ks_json_walk_value(&w, &len, err, sizeof(err)), err);
	}
	ASSERT_OK(rc, "walk ends");
	ASSERT_EQ(names, 3, "three members, raw names");
	ASSERT_EQ(elems, 3, "three elements, brackets in strings ignored");
	ASSERT_EQ(ks_json_walk_next(&w, &name, &nlen, &off, err, sizeof(err)), 0, "stays ended");

	static const char *const bad[] = { "{\"a\" 1}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1} x", "[1 2]", "{\"a\":[}]}",
					   "{\"a\":tru}", "{\"a\":\"\x01\"}", "[" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t l = strlen(bad[i]);

		rc = ks_json_walk_open(&w, bad[i], l, bad[i][0], true, err, sizeof(err));
		while (!rc && (rc = ks_json_walk_next(&w, &name, &nlen, &off, err, sizeof(err))) == 1)
			rc = ks_json_walk_value(&w, &len, err, sizeof(err));
		ASSERT_EQ(rc, -EINVAL, bad[i]);
		ASSERT_STRHAS(err, "byte", "says where");
	}
	ASSERT_EQ(ks_json_walk_open(&w, "[1]", 3, '{', true, err, sizeof(err)), -EINVAL, "not an object");
}
