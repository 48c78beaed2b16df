// SPDX-License-Identifier: GPL-2.0
/*
 * The policy compiler against the brute-force reference: the input draws a
 * valid policy (CIDRs of any length, nested and overlapping, some scoped to
 * ports) and addresses to probe; the compiled DIR-16-8-8 table (IPv4) or the
 * LPM entries (IPv6) must give the reference's answer for every probe.
 */
#include "cidr.h"
#include "compile.h"
#include "fuzz.h"
#include "reference.h"

struct in {
	const uint8_t *d;
	size_t n, at;
};

static uint8_t byte(struct in *in)
{
	return in->at < in->n ? in->d[in->at++] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct tw_policy p = { .ntiers = 3 };
	struct tw_diags d = {};
	struct tw_tables t;
	int family = byte(&in) & 1 ? 6 : 4, bytes = family == 4 ? 4 : 16, nrules, i, k;

	nrules = 1 + byte(&in) % 64;
	p.rules = calloc(nrules, sizeof(*p.rules));
	for (i = 0; i < nrules && in.at < in.n; i++) {
		struct tw_policy_rule *r = &p.rules[p.nrules];

		memset(r, 0, sizeof(*r));
		r->cidr.family = family;
		/* A narrow space (first bytes few values) so prefixes nest. */
		r->cidr.addr[0] = family == 4 ? 10 : 0xfd;
		for (k = 1; k < bytes; k++)
			r->cidr.addr[k] = k < 3 ? byte(&in) % 3 : byte(&in);
		r->cidr.len = byte(&in) % (bytes * 8 + 1);
		tw_prefix_mask(r->cidr.addr, bytes, r->cidr.len);
		for (k = 0; k < p.nrules; k++)
			if (!memcmp(&p.rules[k].cidr, &r->cidr, sizeof(r->cidr)))
				break;
		if (k < p.nrules)
			continue;	/* equal prefixes are the parser's business */
		r->tier = 1 + byte(&in) % 3;
		r->nports = byte(&in) % 4 ? 0 : 1;
		r->ports[0] = 1000 + byte(&in) % 4;
		snprintf(r->jpath, sizeof(r->jpath), "r%d", p.nrules);
		p.nrules++;
	}
	if (!p.nrules || tw_compile(&p, &t, &d))
		goto out;	/* past the table's limits: refused with a message, fine */
	while (in.at < in.n) {
		uint8_t a[16] = {};
		uint16_t port = 1000 + byte(&in) % 5;
		int want, got;

		a[0] = family == 4 ? 10 : 0xfd;
		for (k = 1; k < bytes; k++)
			a[k] = k < 3 ? byte(&in) % 3 : byte(&in);
		want = tw_ref_match(&p, family, a, port);
		got = tw_tables_match(&t, family, a, port);
		FZ_CHECK(want == got, "IPv%d probe port %u: tables say rule %d, reference %d", family, port,
			 got, want);
	}
	tw_tables_free(&t);
out:
	free(p.rules);
	tw_diags_free(&d);
	return 0;
}
