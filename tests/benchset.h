/* SPDX-License-Identifier: GPL-2.0 */
/* tw_bench's rule sets (benchset.c): the CIDRs, the policy and the nftables file. */
#ifndef TW_BENCHSET_H
#define TW_BENCHSET_H

#include <stdint.h>

struct cidr {
	uint32_t addr;
	int len;
};

/* n CIDRs (n < 0: -n scattered as a threat feed); the caller frees. */
struct cidr *make_cidrs(int n);
int write_policy(const char *path, const struct cidr *c, int n, int hostnames);
int write_nft(const char *path, const struct cidr *c, int n, const char *cg);

#endif
