// SPDX-License-Identifier: GPL-2.0
/*
 * DNS names from the wire: the reference parser the BPF guard is compared
 * with, the presentation formatter that writes "name" into events, and the
 * policy name key. Any bytes, any output size.
 */
#include "compile.h"
#include "event.h"
#include "fuzz.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[TW_DNS_NAME_MAX * 4 + 8], small[16];
	size_t outlen;
	int r;

	r = tw_ref_dns(data, size);
	FZ_CHECK(r == 0 || r == 1, "verdict %d", r);
	if (size) {
		outlen = 8 + data[0] % (sizeof(out) - 8);
		tw_dns_name_format(data + 1, size - 1, out, outlen);
		FZ_CHECK(strlen(out) < outlen, "formatted name fits its buffer");
		tw_dns_name_format(data + 1, size - 1, small, sizeof(small));
		FZ_CHECK(strlen(small) < sizeof(small), "and a small one");
	}
	if (size <= TW_HOSTNAME_MAX) {
		struct tw_name_key k;
		char *name = fz_cstr(data, size);

		tw_name_key(name, &k);
		FZ_CHECK(k.prefixlen <= 8 * sizeof(k.name), "key within its trie");
		free(name);
	}
	return 0;
}
