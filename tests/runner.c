// SPDX-License-Identifier: GPL-2.0
/*
 * tw_tests [-l] [NAME-SUBSTRING...]: runs the registered tests in order and
 * ends with "N passed, N failed, N skipped"; exit status 1 on any failure.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

#define MAX_TESTS 256

static struct {
	const char *name;
	tw_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static bool cur_failed, cur_skipped;
const char *tw_build_dir = "build";

void tw_test_register(const char *name, tw_test_fn fn)
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests++].fn = fn;
	}
}

void tw_test_fail(void)
{
	cur_failed = true;
}

bool tw_test_failed(void)
{
	return cur_failed;
}

void tw_test_skip(const char *fmt, ...)
{
	va_list ap;

	printf("    skipped: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	cur_skipped = true;
}

static int cmp_name(const void *a, const void *b)
{
	/* Constructors run in link order; sort by file-independent name prefix. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int pass = 0, fail = 0, skip = 0, i, j, first = 1;
	double t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("TW_BUILD_DIR"))
		tw_build_dir = getenv("TW_BUILD_DIR");
	qsort(tests, ntests, sizeof(tests[0]), cmp_name);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < ntests; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	for (i = 0; i < ntests; i++) {
		bool selected = argc <= first;

		for (j = first; j < argc; j++)
			selected |= strstr(tests[i].name, argv[j]) != NULL;
		if (!selected)
			continue;
		cur_failed = cur_skipped = false;
		printf("--- %s\n", tests[i].name);
		t0 = seconds();
		tests[i].fn();
		/* How long each took: what to look at when make test grows. */
		if (cur_failed) {
			fail++;
			printf("FAIL %s (%.1fs)\n", tests[i].name, seconds() - t0);
		} else if (cur_skipped) {
			skip++;
			printf("SKIP %s (%.1fs)\n", tests[i].name, seconds() - t0);
		} else {
			pass++;
			printf("ok   %s (%.1fs)\n", tests[i].name, seconds() - t0);
		}
	}
	printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
