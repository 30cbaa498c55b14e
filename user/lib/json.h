/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON reading over jsmn, and a string writer.
 *
 * Reading: the input is first checked against the RFC 8259 grammar by a
 * small non-recursive scanner (jsmn, even in strict mode, accepts missing
 * commas and colons, "[\"a\":1]", "tru", "01" and raw control characters,
 * and then builds token trees whose sizes do not match their contents).
 * That pass also counts the tokens exactly, so jsmn then fills an array of
 * precisely that size: no resizing, no second guess.  Strings must be
 * well-formed UTF-8.
 *
 * Nesting is limited to KS_JSON_MAX_DEPTH: jsmn finds the container a
 * closing bracket belongs to by walking up from the newest token, so a
 * body that opens and closes D levels over and over costs about
 * len * D / 4 steps (measured: 1 MiB at D = 100000 took 67 s, at D = 1000
 * 0.7 s).  128 (serde_json's limit too) keeps a hostile 1 MiB body near
 * 0.1 s while real Kubernetes objects stay under 30 levels.
 *
 * Every lookup below is iterative and bounds-checked: any index, including
 * -1 from a failed lookup, may be passed back in and yields -1 / false.
 */
#ifndef KSENSE_JSON_H
#define KSENSE_JSON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * jsmn's token layout depends on JSMN_PARENT_LINKS, so every translation
 * unit must see the same configuration: this header is the one place that
 * includes <jsmn.h>.  json.c defines KS_JSON_JSMN_IMPLEMENTATION and gets
 * jsmn's function bodies (external linkage, so kube_stream.c may still call
 * jsmn_parse); everyone else gets declarations only (JSMN_HEADER), so the
 * implementation is linked exactly once.
 */
#ifdef JSMN_H
#ifndef KS_JSON_JSMN_CONFIGURED
#error "include json.h instead of <jsmn.h>: it fixes jsmn's configuration (strict, parent links)"
#endif
#else
#define KS_JSON_JSMN_CONFIGURED 1
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef KS_JSON_JSMN_IMPLEMENTATION
#define JSMN_HEADER
#endif
#include <jsmn.h>
#endif

#define KS_JSON_MAX_BYTES  (1024 * 1024)
#define KS_JSON_MAX_TOKENS 1000000
#define KS_JSON_MAX_DEPTH  128

struct ks_json {
	const char *src;    /* not owned; must outlive the tokens */
	size_t len;
	jsmntok_t *tok;     /* tok[0] is the root value */
	int ntok;
};

/* Parse one JSON value (surrounding whitespace allowed) within the default
 * limits.  0, or a negative errno with a message in err:
 * -EINVAL "empty JSON", "invalid JSON at byte N: <why>", "truncated JSON
 * (input ends at byte N)", "trailing data after the JSON value at byte N";
 * -E2BIG over KS_JSON_MAX_BYTES, KS_JSON_MAX_TOKENS or KS_JSON_MAX_DEPTH
 * ("JSON nested deeper than 128 levels at byte N"); -ENOMEM.
 * On error j is left empty (ks_json_free is still safe). */
int ks_json_parse(struct ks_json *j, const char *src, size_t len, char *err, size_t errlen);
/* The same with other limits (at most INT_MAX - 1 bytes: jsmn offsets are
 * int).  The token array costs sizeof(jsmntok_t) = 20 bytes per token. */
int ks_json_parse_limits(struct ks_json *j, const char *src, size_t len, size_t max_bytes,
			 int max_tokens, char *err, size_t errlen);
void ks_json_free(struct ks_json *j);

/*
 * Walk a document too large to tokenize whole (a List of 64 MiB) one
 * member or element at a time: each value is checked by the same grammar
 * as ks_json_parse (and its depth limit) when taken, and then parsed on
 * its own, so memory follows the largest value, not the document.
 *   open:  src holds an object ('{') or array ('['); whole: nothing but
 *          whitespace may follow it (else it is a prefix, see pos);
 *   next:  1 with the next member's raw name (escapes not decoded; NULL
 *          name is allowed) and its value's offset, 0 after the closing
 *          bracket (w->pos is then just past it), or -EINVAL;
 *   value: take the pending value, checked, its length in *value_len;
 *   skip:  the caller took value_len bytes itself (a nested walk's pos).
 * Errors are -EINVAL, or -E2BIG for a value nested deeper than
 * KS_JSON_MAX_DEPTH (counted from the value), with the byte offset and why
 * in err.
 */
struct ks_json_walk {
	const char *s;
	size_t len, pos, n;
	char open;
	bool whole, pending, done;
};
int ks_json_walk_open(struct ks_json_walk *w, const char *src, size_t len, char open, bool whole, char *err,
		      size_t errlen);
int ks_json_walk_next(struct ks_json_walk *w, const char **name, size_t *name_len, size_t *value_off, char *err,
		      size_t errlen);
int ks_json_walk_value(struct ks_json_walk *w, size_t *value_len, char *err, size_t errlen);
void ks_json_walk_skip(struct ks_json_walk *w, size_t value_len);

/* Index of the token after the whole value at i (ntok at the end). */
int ks_json_next(const struct ks_json *j, int i);
/* Value of member `key` of the object at i (the first one if repeated), or -1. */
int ks_json_member(const struct ks_json *j, int i, const char *key);
/* Element n of the array at i, or -1. */
int ks_json_index(const struct ks_json *j, int i, int n);
/* Value at a dotted path below the value at i, or -1.  A segment of digits
 * indexes an array ("spec.containers.0.name"); keys that contain dots need
 * ks_json_member. */
int ks_json_path_at(const struct ks_json *j, int i, const char *path);
/* ks_json_path_at from the root ("request.kind.kind"). */
int ks_json_path(const struct ks_json *j, const char *path);

bool ks_json_is_object(const struct ks_json *j, int i);
bool ks_json_is_array(const struct ks_json *j, int i);
bool ks_json_is_string(const struct ks_json *j, int i);
bool ks_json_is_number(const struct ks_json *j, int i);
bool ks_json_is_bool(const struct ks_json *j, int i);
bool ks_json_is_null(const struct ks_json *j, int i);
/* A primitive spelled exactly lit ("true", "null", "0"). */
bool ks_json_is_literal(const struct ks_json *j, int i, const char *lit);
/* "object", "array", "string", "number", "boolean", "null", or "missing"
 * for an index that is not a token; for messages. */
const char *ks_json_type_name(const struct ks_json *j, int i);

/* The string at i unescaped into out (\" \\ \/ \b \f \n \r \t \uXXXX,
 * surrogate pairs to 4-byte UTF-8), NUL-terminated.  0, -EINVAL (not a
 * string, a bad or lone-surrogate escape, \u0000 which C strings cannot
 * hold, a raw control character, outlen 0) or -ENOSPC (does not fit; out
 * is then empty, never cut).  The result is never longer than the raw
 * token, so end - start + 1 bytes always suffice. */
int ks_json_string(const struct ks_json *j, int i, char *out, size_t outlen);
/* The boolean at i: 0 or -EINVAL. */
int ks_json_bool(const struct ks_json *j, int i, bool *out);

/* Write s (n bytes / NUL-terminated) as a JSON string literal with its
 * quotes: '"' and '\\' escaped, control characters as \u00XX, bytes that
 * are not well-formed UTF-8 replaced by \ufffd so the output is always
 * valid JSON.  snprintf-style: returns the length the whole literal needs
 * (without the NUL); writes at most outlen bytes including a NUL when
 * outlen > 0; out may be NULL when outlen is 0. */
size_t ks_json_quote_n(char *out, size_t outlen, const char *s, size_t n);
size_t ks_json_quote(char *out, size_t outlen, const char *s);

#endif
