// SPDX-License-Identifier: GPL-2.0
/*
 * Plain references that the fast code is compared with, by the unit tests
 * and by the fuzz targets (tests/fuzz/): the compiled destination tables,
 * and the DNS guard's parser. And the policy those tests start from.
 */
#include <ctype.h>
#include <string.h>
#include "reference.h"

struct tw_policy *tw_ref_policy(const char *text, struct tw_diags *d)
{
	struct tw_policy *p = NULL;

	tw_policy_parse("t.json", text, strlen(text), &p, d);
	return p;
}

/* Reference: most specific rule whose ports match, walking as the kernel does. */
int tw_ref_match(const struct tw_policy *p, int family, const uint8_t *addr, uint16_t port)
{
	struct tw_cidr host = { .family = family, .len = family == 4 ? 32 : 128 };
	int i, j, best = -1;

	memcpy(host.addr, addr, 16);
	for (i = 0; i < p->nrules; i++) {
		const struct tw_policy_rule *r = &p->rules[i];
		bool port_ok = !r->nports;

		for (j = 0; j < r->nports; j++)
			port_ok |= r->ports[j] == port;
		if (!port_ok || !tw_cidr_contains(&r->cidr, &host))
			continue;
		/* Longer prefix wins; among equal prefixes the later entry does. */
		if (best < 0 || r->cidr.len >= p->rules[best].cidr.len)
			best = i;
	}
	return best;
}

/*
 * The reference the fuzz compares with: the same rules written plainly in
 * userspace. 1 pass, 0 drop, for a UDP payload.
 */
int tw_ref_dns(const uint8_t *m, size_t len)
{
	char name[1024];
	size_t pos = 12, n = 0, i;
	unsigned int qd;

	if (len < 12)
		return 0;
	qd = m[4] << 8 | m[5];
	if (qd != 1)
		return 0;	/* none (a tiered caller's is refused) or several */
	for (;;) {
		if (pos >= len)
			return 0;
		if (!m[pos])
			break;
		if (m[pos] & 0xc0)
			return 0;
		if (pos - 12 + m[pos] + 1 > 254)
			return 0;
		if (n)
			name[n++] = '.';
		for (i = 1; i <= m[pos]; i++) {
			uint8_t c = pos + i < len ? m[pos + i] : 0;

			name[n++] = c == '.' || c == 0 ? 1 : tolower(c);
		}
		pos += m[pos] + 1;
	}
	if (pos + 5 > len)
		return 0;
	name[n] = '\0';
	if (!strcmp(name, "api.prod.test"))
		return 0;
	if (n > strlen(".wild.prod.test") && !strcmp(name + n - strlen(".wild.prod.test"), ".wild.prod.test"))
		return 0;
	return 1;
}

/* TCP: whole length-prefixed messages only, at most two per segment; none passes. */
int tw_ref_dns_tcp(const uint8_t *p, size_t len)
{
	size_t off = 0;
	int i;

	if (!len)
		return 1;
	for (i = 0; i < 2; i++) {
		size_t mlen;

		if (off + 2 > len)
			return 0;
		mlen = p[off] << 8 | p[off + 1];
		off += 2;
		if (off + mlen > len || !tw_ref_dns(p + off, mlen))
			return 0;
		off += mlen;
		if (off >= len)
			return 1;
	}
	return 0;
}
