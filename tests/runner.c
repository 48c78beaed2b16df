// SPDX-License-Identifier: GPL-2.0
/*
 * tw_tests [-l] [NAME-SUBSTRING...]: runs the registered tests, one file's
 * together (what they share, e.g. a daemon, ends with the file), and ends
 * with "N passed, N failed, N skipped"; exit status 1 on any failure.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

#define MAX_TESTS 256
#define MAX_FILE_END 8

static struct tw_test {
	const char *name;
	tw_test_fn fn;
	const char *file;
} tests[MAX_TESTS];
static int ntests;
static void (*file_end[MAX_FILE_END])(void);
static int nfile_end;
static bool cur_failed, cur_skipped;
const char *tw_build_dir = "build";
struct tw_test_costs tw_costs;
static struct tw_test_costs total;

void tw_test_register(const char *name, tw_test_fn fn, const char *file)
{
	if (ntests < MAX_TESTS)
		tests[ntests++] = (struct tw_test){ .name = name, .fn = fn, .file = file };
}

void tw_test_at_file_end(void (*fn)(void))
{
	int i;

	for (i = 0; i < nfile_end; i++)
		if (file_end[i] == fn)
			return;
	if (nfile_end < MAX_FILE_END)
		file_end[nfile_end++] = fn;
}

static void end_file(void)
{
	while (nfile_end > 0)
		file_end[--nfile_end]();
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

static int cmp_test(const void *a, const void *b)
{
	const struct tw_test *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	/* Constructors run in link order: by file, then by name within it. */
	return c ? c : strcmp(x->name, y->name);
}

/* " daemon: 2 starts 14.1s, 1 stop 0.3s" or "" (none). */
static const char *costs(char *buf, size_t len)
{
	int n = 0;

	buf[0] = '\0';
	if (tw_costs.starts)
		n = snprintf(buf, len, "; %d start%s %.1fs", tw_costs.starts,
			     tw_costs.starts == 1 ? "" : "s", tw_costs.start_s);
	if (tw_costs.stops && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, "; %d stop%s %.1fs", tw_costs.stops,
			 tw_costs.stops == 1 ? "" : "s", tw_costs.stop_s);
	total.starts += tw_costs.starts;
	total.stops += tw_costs.stops;
	total.start_s += tw_costs.start_s;
	total.stop_s += tw_costs.stop_s;
	memset(&tw_costs, 0, sizeof(tw_costs));
	return buf;
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
	double t0, t;
	char c[96];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("TW_BUILD_DIR"))
		tw_build_dir = getenv("TW_BUILD_DIR");
	qsort(tests, ntests, sizeof(tests[0]), cmp_test);
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
		if (i && strcmp(tests[i].file, tests[i - 1].file))
			end_file();
		costs(c, sizeof(c));	/* a file end's stops are its last test's */
		cur_failed = cur_skipped = false;
		printf("--- %s\n", tests[i].name);
		t0 = seconds();
		tests[i].fn();
		/* How long each took, and its daemons': what to look at when make test grows. */
		t = seconds() - t0;
		costs(c, sizeof(c));
		if (cur_failed) {
			fail++;
			printf("FAIL %s (%.1fs%s)\n", tests[i].name, t, c);
		} else if (cur_skipped) {
			skip++;
			printf("SKIP %s (%.1fs%s)\n", tests[i].name, t, c);
		} else {
			pass++;
			printf("ok   %s (%.1fs%s)\n", tests[i].name, t, c);
		}
	}
	end_file();
	costs(c, sizeof(c));
	printf("daemons: %d starts %.1fs, %d stops %.1fs\n", total.starts, total.start_s,
	       total.stops, total.stop_s);
	printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
