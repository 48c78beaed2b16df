/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forward-secure sealing of the event log (after journald's Forward Secure
 * Sealing). The node holds the key of the current epoch only; every epoch
 * ends with a "seal" record whose HMAC-SHA256, under a key derived from the
 * epoch's, covers the whole seal line and so, through "prev", every record
 * before it. Then the key takes a one-way step (HMAC-SHA256 ratchet) and
 * the old one is overwritten on disk: root on the node later can neither
 * forge nor remove a record of an earlier epoch without verify-log naming
 * it. The operator's verification key is the first epoch key, from which
 * the verifier derives every later one.
 */
#ifndef TW_SEAL_H
#define TW_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_SEAL_KEY_BYTES	32
#define TW_SEAL_ID_HEX		16
/* What a missing key's message says to do. */
#define TW_SEAL_KEYGEN_HINT	"tierwall keygen --seal-key FILE --verify-key FILE makes one"

/* The id of a key pair (hex, TW_SEAL_ID_HEX + 1 bytes) from its first key. */
void tw_seal_key_id(const unsigned char *k0, char *out);
/* New key pair: the node's seal key (0600, fails if it exists) and the verification key. */
int tw_seal_keygen(const char *seal_path, const char *verify_path, char *verify_text,
		   size_t len, char *why, size_t whylen);

struct tw_seal;

/* The node's key: 0600, owned by us, outside log_dir. why says what is wrong. */
int tw_seal_open(struct tw_seal **out, const char *path, const char *log_dir, char *why,
		 size_t whylen);
uint64_t tw_seal_epoch(const struct tw_seal *s);
/* When the current epoch began (unix ns). */
uint64_t tw_seal_since(const struct tw_seal *s);
/*
 * The members (no braces) of the record that closes the current epoch, to
 * be written as record seq after the record whose hash is prev.
 */
int tw_seal_body(struct tw_seal *s, uint64_t seq, const char *prev, const char *host,
		 char *out, size_t len);
/* The next epoch, from now_ns: the key file is overwritten in place and fsync'd. */
int tw_seal_advance(struct tw_seal *s, uint64_t now_ns);
void tw_seal_close(struct tw_seal *s);

/* The verifier's side. */
struct tw_unseal;

int tw_unseal_open(struct tw_unseal **out, const char *verify_path, char *why, size_t whylen);
const char *tw_unseal_id(const struct tw_unseal *u);
/*
 * Check a seal record's line (as read: seq first, prev last) as the seal of
 * epoch. 0, -EBADMSG (MAC mismatch), -EKEYREJECTED (another key's seal).
 */
int tw_unseal_check(struct tw_unseal *u, const char *line, size_t len, uint64_t epoch);
void tw_unseal_close(struct tw_unseal *u);

#endif
