/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small kselftest-style TAP harness for mkvm's test programs.
 *
 *	TEST(name) { ... ASSERT_EQ(a, b); ... }
 *	int main(int argc, char **argv) { return tap_main(argc, argv); }
 *
 * Every test runs in a forked child, in its own process group, with a
 * timeout (TEST_TIMEOUT seconds, or TEST_T(name, seconds)). A failed
 * assertion prints a diagnostic and fails only that test. tap_skip()
 * reports a missing prerequisite as SKIP, never as a pass. The program
 * exits 0 only if no test failed. Arguments select tests by name.
 */
#ifndef MKVM_TAP_H
#define MKVM_TAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_TIMEOUT	30

struct tap_test {
	const char *name;
	void (*fn)(void);
	int timeout;
	struct tap_test *next;
};

void tap_register(struct tap_test *t);
int tap_main(int argc, char **argv);
void tap_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void tap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define TEST_T(name, secs)						\
	static void name(void);						\
	static struct tap_test name##_tap = { #name, name, secs, NULL };\
	__attribute__((constructor)) static void name##_register(void)	\
	{								\
		tap_register(&name##_tap);				\
	}								\
	static void name(void)

#define TEST(name) TEST_T(name, TEST_TIMEOUT)

#define ASSERT_TRUE(cond)						\
	do {								\
		if (!(cond))						\
			tap_fail(__FILE__, __LINE__, "%s", #cond);	\
	} while (0)

#define ASSERT_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b)						\
			tap_fail(__FILE__, __LINE__,			\
				 "%s == %s: %lld != %lld", #a, #b, _a, _b); \
	} while (0)

#define ASSERT_NE(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a == _b)						\
			tap_fail(__FILE__, __LINE__,			\
				 "%s != %s: both %lld", #a, #b, _a);	\
	} while (0)

/* A call that must succeed (return >= 0); evaluates to its result. */
#define ASSERT_OK(call)							\
	({								\
		long _r = (long)(call);					\
		if (_r < 0)						\
			tap_fail(__FILE__, __LINE__, "%s: %s", #call,	\
				 strerror(errno));			\
		_r;							\
	})

/* A call that must fail with -1 and this errno. */
#define ASSERT_ERRNO(call, err)						\
	do {								\
		long _r;						\
		errno = 0;						\
		_r = (long)(call);					\
		if (_r != -1 || errno != (err))				\
			tap_fail(__FILE__, __LINE__,			\
				 "%s: want -1/%s, got %ld/%s", #call,	\
				 strerrorname_np(err), _r,		\
				 errno ? strerrorname_np(errno) : "0");	\
	} while (0)

#endif /* MKVM_TAP_H */
