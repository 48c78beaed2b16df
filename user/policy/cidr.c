// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cidr.h"
#include "util.h"

void tw_prefix_mask(uint8_t *addr, int addr_bytes, int len)
{
	int i;

	for (i = 0; i < addr_bytes; i++) {
		int bits = len - i * 8;

		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int tw_cidr_parse(const char *s, struct tw_cidr *c, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct tw_cidr masked;
	int max, bytes;
	long len;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "not a CIDR: \"%.64s...\" is too long", s);
		return -EINVAL;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';

	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = 4;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = 6;
		/* Mapped addresses are judged by the v4 rules: say it once, here. */
		if (!memcmp(c->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			snprintf(err, errlen,
				 "\"%s\" is an IPv4-mapped IPv6 address: write the IPv4 form, it covers both",
				 s);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "not an IPv4 or IPv6 address: \"%s\"", buf);
		return -EINVAL;
	}
	max = c->family == 4 ? 32 : 128;
	bytes = max / 8;
	if (!slash) {
		c->len = max;
		return 0;
	}
	if (tw_parse_long(slash + 1, 0, max, &len)) {
		snprintf(err, errlen, "prefix length \"%s\" in \"%s\" is not a number from 0 to %d",
			 slash + 1, s, max);
		return -EINVAL;
	}
	c->len = len;
	masked = *c;
	tw_prefix_mask(masked.addr, bytes, len);
	if (memcmp(masked.addr, c->addr, bytes)) {
		char want[INET6_ADDRSTRLEN + 8];

		tw_cidr_format(&masked, want, sizeof(want));
		snprintf(err, errlen, "host bits set in \"%s\" (did you mean %s?)", s, want);
		return -EINVAL;
	}
	return 0;
}

void tw_cidr_format(const struct tw_cidr *c, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(out, outlen, "%s/%u", a, c->len);
}

bool tw_cidr_contains(const struct tw_cidr *a, const struct tw_cidr *b)
{
	uint8_t x[16];

	if (a->family != b->family || a->len > b->len)
		return false;
	memcpy(x, b->addr, 16);
	tw_prefix_mask(x, a->family == 4 ? 4 : 16, a->len);
	return !memcmp(x, a->addr, a->family == 4 ? 4 : 16);
}
