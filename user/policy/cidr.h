/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_CIDR_H
#define TW_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct tw_cidr {
	uint8_t family;		/* 4 or 6 */
	uint8_t len;		/* prefix length */
	uint8_t addr[16];	/* network order; v4 in the first 4 bytes */
};

/*
 * Parse "a.b.c.d[/n]" or "x:y::z[/n]". A missing length means a single host.
 * On error returns -EINVAL and writes why into err (e.g. host bits set).
 */
int tw_cidr_parse(const char *s, struct tw_cidr *c, char *err, size_t errlen);

/* Canonical text form ("10.20.0.0/16"). */
void tw_cidr_format(const struct tw_cidr *c, char *out, size_t outlen);

/* Does a contain b (a's prefix no longer than b's and b inside it)? */
bool tw_cidr_contains(const struct tw_cidr *a, const struct tw_cidr *b);

/* Keep only the first len bits of addr (addr_bytes long). */
void tw_prefix_mask(uint8_t *addr, int addr_bytes, int len);

#endif
