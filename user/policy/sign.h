/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signed policies: POLICY.sig beside POLICY holds the raw 64-byte Ed25519
 * signature of the policy file's bytes, base64 on one line, as
 *   openssl pkeyutl -sign -rawin -inkey KEY -in POLICY | openssl base64 -A
 * makes it. One check for tierwalld (start, reload, watch) and tierwall check.
 */
#ifndef TW_POLICY_SIGN_H
#define TW_POLICY_SIGN_H

#include <stddef.h>

#define TW_SIG_SUFFIX	".sig"

/*
 * Sign text with the Ed25519 private key in key_pem (PEM, as openssl genpkey
 * writes it): out gets the base64 line (no newline). 0, or -errno with why.
 */
int tw_policy_sign(const char *key_pem, const char *text, size_t len, char *out, size_t outlen,
		   char *why, size_t whylen);
/* tw_policy_sign of file, written to file.sig (replaced whole; no newline, as openssl base64 -A). */
int tw_policy_sign_file(const char *key_pem, const char *file, char *why, size_t whylen);
/*
 * Is text (the bytes of file) signed, in file.sig, by one of the npub
 * Ed25519 public keys in PEM files pubs? 0 if so (*which: its index), else
 * -errno with why: no .sig, not base64 of 64 bytes, signed by none of them,
 * an unreadable key.
 */
int tw_policy_verify(const char *file, const char *text, size_t len, const char *const *pubs,
		     int npub, int *which, char *why, size_t whylen);
/* A public key file that is an Ed25519 public key: 0, or -EINVAL with why. */
int tw_policy_pubkey_check(const char *pem, char *why, size_t whylen);

#endif
