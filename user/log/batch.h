/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hash chain in batches. A record that carries "prev" starts a batch;
 * the records after it that carry none belong to it. prev is the SHA-256
 * of the batch before: its lines as they are in the file, joined by "\n"
 * (no newline after the last). So every byte of every record is hashed
 * once, in one running hash per batch, instead of one hash per record; a
 * batch of one record hashes to the SHA-256 of its line, so a log whose
 * every record carries prev (every log written before batches) reads the
 * same. chain.head's hash is the batch's up to the record it names.
 */
#ifndef TW_BATCH_H
#define TW_BATCH_H

#include <stdbool.h>
#include <stddef.h>
/* SHA256_*: on the stack, no allocation; EVP_Digest cost twice the hash itself per record. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

struct tw_batch {
	SHA256_CTX c;
	bool open;
};

/* A line into the batch; first starts a new one (the line carries prev). */
void tw_batch_add(struct tw_batch *b, bool first, const char *line, size_t len);
/* The batch's hash so far as 64 hex digits (out has room for 65); b goes on. */
void tw_batch_hex(const struct tw_batch *b, char *out);

#endif
