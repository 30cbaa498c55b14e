/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small test runner in the style of the kernel's test_progs: named tests
 * that register themselves, subtests, ASSERT_* macros that name the check
 * and return whether it held, `-t NAME` filters, and a closing line
 * "N passed, N failed, N skipped" followed by the names of what failed.
 *
 * KS_TEST_LIVE marks a test that measures a live workload (a burner's
 * run-queue latency, a stall's PSI) on a shared 2-CPU machine: another
 * process can steal the CPU for a whole window.  Such a test runs again
 * once when it fails, and passes only if one whole attempt passes; both
 * attempts' output stays in the log, and `-n` turns the retry off.
 *
 * A test says what it is in its registration, KS_TEST_F(name, marks), and
 * `-m` selects by those marks (`-m san`, `-m '!host'`), so no list of names
 * elsewhere has to follow the tests:
 *   KS_LIVE  the retry above (KS_TEST_LIVE is KS_TEST_F(name, KS_LIVE));
 *   KS_SAN   its subject is userspace code (the library, a daemon, the
 *            CLI): the ASan/UBSan pass of `make test` runs it;
 *   KS_HOST  host code only, no BPF in it: the same on every kernel, so
 *            tools/vmtest leaves it out of the guest.
 */
#ifndef KSENSE_TEST_PROGS_H
#define KSENSE_TEST_PROGS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct ks_test {
	const char *name;
	void (*fn)(void);
	struct ks_test *next;
	unsigned int marks;
};

enum ks_test_mark {
	KS_LIVE = 1u << 0,
	KS_SAN = 1u << 1,
	KS_HOST = 1u << 2,
};

void ks_register_test(struct ks_test *t);

#define KS_TEST_F(tname, tmarks)                                        \
	static void test_##tname(void);                                       \
	static struct ks_test ks_test_##tname = {                             \
		.name = #tname, .fn = test_##tname, .marks = (tmarks) };      \
	__attribute__((constructor)) static void ks_register_##tname(void)   \
	{                                                                     \
		ks_register_test(&ks_test_##tname);                           \
	}                                                                     \
	static void test_##tname(void)

#define KS_TEST(tname) KS_TEST_F(tname, 0)
#define KS_TEST_LIVE(tname) KS_TEST_F(tname, KS_LIVE)

/* Returns false when the subtest is filtered out: `if (!test__start_subtest(x)) ...` */
bool test__start_subtest(const char *name);
void test__skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test__fail(void);
/* Whether anything in the current test failed so far (to dump logs). */
bool test__failed(void);
bool test__verbose(void);
/* Seconds since the test started, for messages. */
double test__elapsed_s(void);

void ks_assert_fail(const char *file, int line, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define ASSERT_TRUE(cond, name) ({                                            \
	bool ___ok = (cond);                                                  \
	if (!___ok)                                                           \
		ks_assert_fail(__FILE__, __LINE__, name, "unexpected false: %s", #cond); \
	___ok; })
#define ASSERT_FALSE(cond, name) ASSERT_TRUE(!(cond), name)

#define ASSERT_OK(expr, name) ({                                              \
	long long ___r = (long long)(expr);                                   \
	bool ___ok = ___r == 0;                                               \
	if (!___ok)                                                           \
		ks_assert_fail(__FILE__, __LINE__, name, "unexpected error: %lld", ___r); \
	___ok; })

#define ASSERT_OK_PTR(ptr, name) ({                                           \
	const void *___p = (ptr);                                             \
	bool ___ok = ___p != NULL;                                            \
	if (!___ok)                                                           \
		ks_assert_fail(__FILE__, __LINE__, name, "unexpected NULL");  \
	___ok; })

#define KS_ASSERT_CMP(a, b, op, name) ({                                      \
	long long ___a = (long long)(a), ___b = (long long)(b);               \
	bool ___ok = ___a op ___b;                                            \
	if (!___ok)                                                           \
		ks_assert_fail(__FILE__, __LINE__, name,                      \
			       "unexpected %s: actual %lld " #op " %lld", #a, ___a, ___b); \
	___ok; })

#define ASSERT_EQ(a, b, name) KS_ASSERT_CMP(a, b, ==, name)
#define ASSERT_NEQ(a, b, name) KS_ASSERT_CMP(a, b, !=, name)
#define ASSERT_LT(a, b, name) KS_ASSERT_CMP(a, b, <, name)
#define ASSERT_LE(a, b, name) KS_ASSERT_CMP(a, b, <=, name)
#define ASSERT_GT(a, b, name) KS_ASSERT_CMP(a, b, >, name)
#define ASSERT_GE(a, b, name) KS_ASSERT_CMP(a, b, >=, name)

#define ASSERT_STRHAS(hay, needle, name) ({                                   \
	const char *___h = (hay), *___n = (needle);                           \
	bool ___ok = ___h && strstr(___h, ___n);                              \
	if (!___ok)                                                           \
		ks_assert_fail(__FILE__, __LINE__, name, "'%s' not found in output", ___n); \
	___ok; })

#define ASSERT_STREQ(actual, expected, name) ({                              \
	const char *___a = (actual), *___e = (expected);                      \
	bool ___ok = ___a && !strcmp(___a, ___e);                             \
	if (!___ok)                                                           \
		ks_assert_fail(__FILE__, __LINE__, name, "actual '%s' != expected '%s'", \
			       ___a ? ___a : "(null)", ___e);                 \
	___ok; })

#endif
