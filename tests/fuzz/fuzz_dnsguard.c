// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF DNS guard itself (BPF_PROG_TEST_RUN on this kernel) against the
 * plain reference, on whatever packets the fuzzer makes: byte 0 picks IPv4
 * or IPv6 (with 0-3 extension headers), UDP or TCP; the rest is the payload
 * to port 53 from a staging caller. Needs root and BPF.
 */
#include "fuzz.h"
#include "dnsguard.h"
#include "reference.h"

static struct guard g;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err = guard_open(&g);

	if (err) {
		fprintf(stderr, "fuzz_dnsguard: cannot load the DNS guard (%d): root and BPF needed\n", err);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[2048];
	int family, l4, nhop, got, want;

	if (!size || size > 1400)
		return 0;
	family = data[0] & 1 ? 6 : 4;
	l4 = data[0] & 2 ? L4_TCP : L4_UDP;
	nhop = family == 6 ? (data[0] >> 2) & 3 : 0;
	got = guard_run(&g, pkt, frame(pkt, family, l4, 53, data + 1, size - 1, nhop));
	want = l4 == L4_UDP ? tw_ref_dns(data + 1, size - 1) : tw_ref_dns_tcp(data + 1, size - 1);
	FZ_CHECK(got == want, "IPv%d %s, %zu bytes: guard %d, reference %d", family,
		 l4 == L4_UDP ? "UDP" : "TCP", size - 1, got, want);
	return 0;
}
