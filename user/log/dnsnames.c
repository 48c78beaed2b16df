// SPDX-License-Identifier: GPL-2.0
/*
 * The names in a DNS guard record: the query name from its wire form, the
 * query type and the guard's reason, as event.c writes them and the CLI
 * shows them.
 */
#include <stdio.h>
#include <string.h>
#include "event.h"
#include "util.h"

int tw_dns_name_format(const uint8_t *wire, size_t len, char *out, size_t outlen)
{
	size_t pos = 0, n = 0;
	int complete = -1;

	if (outlen < 8)
		return -1;
	while (pos < len && n + 8 < outlen) {
		uint8_t l = wire[pos];
		size_t i;

		if (!l) {
			complete = 0;
			break;
		}
		if (l & 0xc0)
			break;	/* pointer or reserved label type: shown as cut off */
		if (n)
			out[n++] = '.';
		for (i = 1; i <= l && pos + i < len && n + 8 < outlen; i++) {
			uint8_t c = wire[pos + i];

			/* RFC 1035 presentation: \. for a dot in a label, \DDD for the unprintable. */
			if (c == '.' || c == '\\') {
				out[n++] = '\\';
				out[n++] = c;
			} else if (c > 0x20 && c < 0x7f) {
				out[n++] = c;
			} else {
				n += snprintf(out + n, outlen - n, "\\%03u", c);
			}
		}
		if (i <= l)
			break;
		pos += l + 1;
	}
	if (complete && n + 4 < outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	} else if (!n) {
		out[n++] = '.';	/* the root */
	}
	out[n] = '\0';
	return complete;
}

const char *tw_qtype_name(unsigned int qtype, char *buf, size_t len)
{
	static const struct { unsigned int t; const char *n; } names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 15, "MX" },
		{ 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" }, { 43, "DS" },
		{ 48, "DNSKEY" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" }, { 255, "ANY" },
		{ 257, "CAA" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].t == qtype)
			return names[i].n;
	snprintf(buf, len, "TYPE%u", qtype);	/* RFC 3597 */
	return buf;
}

const char *tw_dns_reason_name(int reason)
{
	static const char *const names[] = {
		[TW_DNS_OWNED] = "name_of_other_tier",
		[TW_DNS_POINTER] = "compression_pointer",
		[TW_DNS_LABEL] = "label_too_long",
		[TW_DNS_LONG] = "name_too_long",
		[TW_DNS_TRUNCATED] = "truncated",
		[TW_DNS_COUNT] = "question_count",
		[TW_DNS_UNPARSED] = "unparsed_headers",
		[TW_DNS_URGENT] = "urgent_data",
		[TW_DNS_PAGED] = "data_in_sender_pages",
		[TW_DNS_ANSWER] = "answer_names_other_tier",
	};

	return reason > 0 && reason <= TW_DNS_REASON_MAX ? names[reason] : NULL;
}
