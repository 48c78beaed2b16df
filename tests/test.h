/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small test framework in the style of the kernel's BPF selftests:
 * TEST() registers a test; ASSERT_*() print what differed, mark the test
 * failed and evaluate to false so the test can `goto` its cleanup.
 */
#ifndef TW_TEST_H
#define TW_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void (*tw_test_fn)(void);

void tw_test_register(const char *name, tw_test_fn fn, const char *file);
/*
 * fn runs once the runner leaves the running test's file (before the next
 * file's first test, and at the end): what a file's tests share ends there.
 */
void tw_test_at_file_end(void (*fn)(void));
void tw_test_fail(void);
/* Has the running test failed so far? (For diagnostics worth printing only then.) */
bool tw_test_failed(void);
/* Mark the running test skipped, with the reason printed. */
void tw_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set by the runner: where the built binaries are. */
extern const char *tw_build_dir;
/*
 * What the running test spent on daemon starts and stops (counted by the
 * fixture, printed by the runner beside the test's time): under TCG these
 * are most of make test's time, so the report shows where it goes.
 */
struct tw_test_costs {
	int starts, stops;
	double start_s, stop_s;
};
extern struct tw_test_costs tw_costs;

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void reg_##name(void)	\
	{								\
		tw_test_register(#name, name, __FILE__);		\
	}								\
	static void name(void)

#define TW_FAILED(fmt, ...) ({						\
	fprintf(stdout, "    %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
	tw_test_fail();							\
	false;								\
})

#define ASSERT_TRUE(cond, what) ({					\
	bool ___ok = (cond);						\
	___ok ? true : TW_FAILED("%s: expected true: %s", what, #cond);	\
})

#define ASSERT_EQ(actual, expected, what) ({				\
	long long ___a = (long long)(actual), ___e = (long long)(expected); \
	___a == ___e ? true :						\
		TW_FAILED("%s: got %lld, want %lld", what, ___a, ___e);	\
})

#define ASSERT_NE(actual, unexpected, what) ({				\
	long long ___a = (long long)(actual), ___e = (long long)(unexpected); \
	___a != ___e ? true :						\
		TW_FAILED("%s: got %lld, want anything else", what, ___a); \
})

#define ASSERT_OK(err, what) ASSERT_EQ(err, 0, what)

#define ASSERT_STREQ(actual, expected, what) ({				\
	const char *___a = (actual), *___e = (expected);		\
	(___a && ___e && !strcmp(___a, ___e)) ? true :			\
		TW_FAILED("%s: got \"%s\", want \"%s\"", what,		\
			  ___a ? ___a : "(null)", ___e ? ___e : "(null)"); \
})

#define ASSERT_CONTAINS(hay, needle, what) ({				\
	const char *___h = (hay), *___n = (needle);			\
	(___h && strstr(___h, ___n)) ? true :				\
		TW_FAILED("%s: \"%s\" not found in \"%s\"", what, ___n,	\
			  ___h ? ___h : "(null)");			\
})

#endif
