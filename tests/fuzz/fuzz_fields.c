// SPDX-License-Identifier: GPL-2.0
/*
 * Each field's own syntax on its own: CIDRs, hostnames, durations, times,
 * numbers, --dns-server lists, strict UTF-8; the first byte picks the parser.
 */
#include <errno.h>
#include "cidr.h"
#include "dns.h"
#include "evquery.h"
#include "fuzz.h"
#include "policy.h"
#include "text.h"
#include "util.h"

static void cidr(const char *s)
{
	struct tw_cidr c, again;
	char err[256], out[64];

	if (tw_cidr_parse(s, &c, err, sizeof(err)))
		return;
	/* What parses formats back to something that parses to the same prefix. */
	tw_cidr_format(&c, out, sizeof(out));
	FZ_CHECK(!tw_cidr_parse(out, &again, err, sizeof(err)), "\"%s\" -> \"%s\": %s", s, out, err);
	FZ_CHECK(again.family == c.family && again.len == c.len && !memcmp(again.addr, c.addr, 16),
		 "\"%s\" round trip", s);
}

static void hostname(const char *s)
{
	char out[TW_HOSTNAME_MAX + 3], again[TW_HOSTNAME_MAX + 3], why[256];
	bool wild, wild2;

	if (!tw_hostname_parse(s, out, &wild, why, sizeof(why)))
		return;
	FZ_CHECK(strlen(out) <= TW_HOSTNAME_MAX, "\"%s\" normalised too long", s);
	FZ_CHECK(tw_hostname_parse(out, again, &wild2, why, sizeof(why)) && !strcmp(out, again) &&
		 wild == wild2, "\"%s\": normalising is idempotent", s);
}

static void text(const uint8_t *d, size_t n)
{
	char *fixed = tw_utf8_fix((const char *)d, n);

	FZ_CHECK(fixed && tw_utf8_valid(fixed, strlen(fixed)), "U+FFFD in place of bad bytes gives UTF-8");
	FZ_CHECK(!tw_utf8_valid((const char *)d, n) || (strlen(fixed) == n && !memcmp(fixed, d, n)),
		 "valid UTF-8 is kept byte for byte");
	free(fixed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, why[256];
	uint64_t ns;
	long v;

	if (!size)
		return 0;
	s = fz_cstr(data + 1, size - 1);
	switch (data[0] % 7) {
	case 0: cidr(s); break;
	case 1: hostname(s); break;
	case 2: tw_parse_duration(s, &v); break;
	case 3: tw_parse_time(s, &ns); tw_filter_time(s, 1ull << 62, &ns); break;
	case 4: tw_parse_long(s, -5, 1 << 20, &v); break;
	case 5: tw_dns_check_servers(s, why, sizeof(why)); break;
	default: text(data + 1, size - 1); break;
	}
	free(s);
	return 0;
}
