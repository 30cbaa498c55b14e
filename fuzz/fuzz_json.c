// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the JSON helpers on arbitrary bytes.  A refusal must say why;
 * what parses must be a consistent token tree (every value skippable, every
 * key found again by lookup), and every string that unescapes must come
 * back byte-exact through the writer and the parser.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

/* quote(s) parses back as one string token that unescapes to s */
static void check_round_trip(const char *s, size_t n)
{
	struct ks_json q;
	char err[256];
	size_t need = ks_json_quote_n(NULL, 0, s, n);
	char *lit = malloc(need + 1), *back = malloc(need + 1);

	if (!lit || !back)
		abort();
	if (ks_json_quote_n(lit, need + 1, s, n) != need || strlen(lit) != need)
		abort();
	if (ks_json_parse(&q, lit, need, err, sizeof(err)) || q.ntok != 1 || !ks_json_is_string(&q, 0))
		abort();
	if (ks_json_string(&q, 0, back, need + 1) || strlen(back) != n || memcmp(back, s, n))
		abort();
	ks_json_free(&q);
	free(lit);
	free(back);
}

/*
 * The walker agrees with the parser: over an object or array it takes as
 * many values as the root token has children, each of which parses on its
 * own, and it accepts the document exactly when ks_json_parse does (below
 * the parser's size limits).  Returns the children walked, or -1.
 */
static int walk_all(const char *src, size_t size)
{
	struct ks_json_walk w;
	struct ks_json v;
	const char *name;
	size_t nlen, off, len;
	char err[256];
	int rc, n = 0;
	size_t i = 0;

	while (i < size && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r'))
		i++;
	if (i >= size || (src[i] != '{' && src[i] != '['))
		return -2;
	rc = ks_json_walk_open(&w, src, size, src[i], true, err, sizeof(err));
	while (!rc && (rc = ks_json_walk_next(&w, &name, &nlen, &off, err, sizeof(err))) == 1) {
		if (src[i] == '{' && (!name || name + nlen > src + size || name[nlen] != '"'))
			abort();
		rc = ks_json_walk_value(&w, &len, err, sizeof(err));
		if (rc)
			break;
		if (off + len > size || ks_json_parse(&v, src + off, len, err, sizeof(err)))
			abort();
		ks_json_free(&v);
		n++;
	}
	if (rc && ((rc != -EINVAL && rc != -E2BIG) || !err[0]))
		abort();
	return rc ? -1 : n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"request.uid", "request.kind.kind", "metadata.name", "spec.containers.0.name", "0", "0.0.1",
		"a.b.c", "", ".", "a..b",
	};
	const char *src = (const char *)data;
	int i, k, member_checks = 0;
	struct ks_json j;
	char err[256];
	int rc;

	int walked = walk_all((const char *)data, size);

	err[0] = '\0';
	rc = ks_json_parse(&j, src, size, err, sizeof(err));
	if (rc == -EINVAL && walked >= 0)
		abort(); /* the walker took what the parser refuses */
	if (!rc && walked != -2 && walked != j.tok[0].size)
		abort();
	if (rc) {
		/* -ENOTRECOVERABLE: the grammar check passed what jsmn refused */
		if (!err[0] || (rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) || j.tok || j.ntok)
			abort();
		return 0;
	}
	if (j.ntok < 1 || ks_json_next(&j, 0) != j.ntok)
		abort();
	for (k = 0; k < (int)(sizeof(paths) / sizeof(paths[0])); k++) {
		int at = ks_json_path(&j, paths[k]);

		if (at < -1 || at >= j.ntok)
			abort();
	}
	for (i = 0; i < j.ntok; i++) {
		const jsmntok_t *t = &j.tok[i];
		int next = ks_json_next(&j, i);

		if (t->start < 0 || t->end < t->start || (size_t)t->end > size || next <= i || next > j.ntok)
			abort();
		if (!ks_json_type_name(&j, i))
			abort();
		if (t->type == JSMN_STRING) {
			size_t raw = (size_t)(t->end - t->start);
			char *out = malloc(raw + 1);

			if (!out)
				abort();
			/* unescaping never grows a string: raw + 1 always fits */
			rc = ks_json_string(&j, i, out, raw + 1);
			if (rc == 0)
				check_round_trip(out, strlen(out));
			else if (rc != -EINVAL)
				abort();
			free(out);
		} else if (t->type == JSMN_ARRAY) {
			int el = i + 1;

			for (k = 0; k < t->size && k < 8; k++, el = ks_json_next(&j, el))
				if (ks_json_index(&j, i, k) != el)
					abort();
			if (ks_json_index(&j, i, t->size) != -1)
				abort();
		} else if (t->type == JSMN_OBJECT) {
			int key = i + 1;

			/* every key looks up to itself or an earlier twin; bounded
			 * so a wide object stays linear */
			for (k = 0; k < t->size && member_checks < 4096; k++, member_checks++) {
				size_t raw = (size_t)(j.tok[key].end - j.tok[key].start);
				char *name = malloc(raw + 1);
				int v;

				if (!name || !ks_json_is_string(&j, key))
					abort();
				if (!ks_json_string(&j, key, name, raw + 1)) {
					v = ks_json_member(&j, i, name);
					if (v <= i || v > key + 1 || !ks_json_is_string(&j, v - 1))
						abort();
				}
				free(name);
				key = ks_json_next(&j, key + 1);
			}
		}
	}
	ks_json_free(&j);
	return 0;
}
