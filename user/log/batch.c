// SPDX-License-Identifier: GPL-2.0
/* The chain's hashes: a line's, a batch's (batch.h), for the writer, the verifier and a restart. */
#include "batch.h"
#include "evlog.h"

static void hex(const unsigned char *md, char *out)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[TW_HASH_HEX] = '\0';
}

void tw_hash_line(const char *line, size_t len, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, line, len);
	SHA256_Final(md, &c);
	hex(md, out);
}

void tw_batch_add(struct tw_batch *b, bool first, const char *line, size_t len)
{
	if (first || !b->open) {
		SHA256_Init(&b->c);
		b->open = true;
	} else {
		SHA256_Update(&b->c, "\n", 1);
	}
	SHA256_Update(&b->c, line, len);
}

void tw_batch_hex(const struct tw_batch *b, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c = b->c;	/* a copy: the batch may go on */

	SHA256_Final(md, &c);
	hex(md, out);
}
