/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libFuzzer targets (clang -fsanitize=fuzzer,address,undefined), one per
 * parser of outside input; `make fuzz` runs each, `make test` briefly.
 * A target aborts (a finding) when a property it checks does not hold.
 */
#ifndef TW_FUZZ_H
#define TW_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (it may hold NULs: the string ends at the first). */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz property failed: %s: ", #cond);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		abort();						\
	}								\
} while (0)

#endif
