/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON reading over jsmn (strict mode): a bounded token array sized by a
 * counting pass, member lookup by key or dotted path, string extraction
 * with full unescaping (\uXXXX and surrogate pairs to UTF-8).
 */
#ifndef KSENSE_JSON_H
#define KSENSE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#define JSMN_HEADER
#define JSMN_STRICT
/* parent links make closing a bracket O(1); without them jsmn scans back
 * through every open token, O(n^2) on deeply nested input */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define KS_JSON_MAX_BYTES  (1024 * 1024)
#define KS_JSON_MAX_TOKENS 1000000
/* jsmn finds what a bracket closes by walking up the open tokens, so its
 * cost grows with length x depth; real Kubernetes objects nest < 30 deep */
#define KS_JSON_MAX_DEPTH  128

struct ks_json {
	const char *src;
	size_t len;
	jsmntok_t *tok;
	int ntok;
};

/* 0, or negative errno with a message naming the byte offset in err. */
int ks_json_parse(struct ks_json *j, const char *src, size_t len, char *err, size_t errlen);
void ks_json_free(struct ks_json *j);
/* Index of the token after the whole value at i. */
int ks_json_next(const struct ks_json *j, int i);
/* Value of member `key` of the object at i, or -1. */
int ks_json_member(const struct ks_json *j, int i, const char *key);
/* Value at a dotted path from the root ("request.kind.kind"), or -1. */
int ks_json_path(const struct ks_json *j, const char *path);
bool ks_json_is_string(const struct ks_json *j, int i);
bool ks_json_is_object(const struct ks_json *j, int i);
/* true, false, null or other primitive. */
bool ks_json_is_literal(const struct ks_json *j, int i, const char *lit);
/* The JSON type's name, for messages. */
const char *ks_json_type_name(const struct ks_json *j, int i);
/* Unescaped string value into out: 0, -EINVAL (bad escape / not a string)
 * or -ENOSPC (does not fit). */
int ks_json_string(const struct ks_json *j, int i, char *out, size_t outlen);

#endif
