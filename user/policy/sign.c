// SPDX-License-Identifier: GPL-2.0
/*
 * Signed policies, Ed25519 through OpenSSL's libcrypto (as the log's
 * sealing): no home-made crypto, and the same bytes as operators' own
 * `openssl pkeyutl -sign -rawin` pipelines make.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "sign.h"
#include "util.h"

#define SIG_BYTES	64
#define SIG_B64		88	/* 4 * ceil(64 / 3) */

static EVP_PKEY *read_key(const char *path, bool priv, char *why, size_t whylen)
{
	EVP_PKEY *k;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		snprintf(why, whylen, "%s: not a PEM %s key", path, priv ? "private" : "public");
		return NULL;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(why, whylen, "%s: not an Ed25519 key (openssl genpkey -algorithm ed25519 makes one)",
			 path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

int tw_policy_sign(const char *key_pem, const char *text, size_t len, char *out, size_t outlen,
		   char *why, size_t whylen)
{
	unsigned char sig[SIG_BYTES];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	EVP_PKEY *k = read_key(key_pem, true, why, whylen);
	int ok;

	if (!k)
		return -EINVAL;
	if (outlen < SIG_B64 + 1) {
		EVP_PKEY_free(k);
		return -ENOSPC;
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)text, len) == 1 && siglen == SIG_BYTES;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!ok) {
		snprintf(why, whylen, "%s: signing failed", key_pem);
		return -EINVAL;
	}
	EVP_EncodeBlock((unsigned char *)out, sig, SIG_BYTES);
	return 0;
}

int tw_policy_sign_file(const char *key_pem, const char *file, char *why, size_t whylen)
{
	char b64[SIG_B64 + 1], sig[4096], tmp[4096];
	size_t len;
	char *text;
	FILE *f;
	int err = tw_read_file(file, &text, &len);

	if (err) {
		snprintf(why, whylen, "%s: %s", file, strerror(-err));
		return err;
	}
	err = tw_policy_sign(key_pem, text, len, b64, sizeof(b64), why, whylen);
	free(text);
	if (err)
		return err;
	snprintf(sig, sizeof(sig), "%s" TW_SIG_SUFFIX, file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", sig);
	f = fopen(tmp, "we");
	if (!f || fputs(b64, f) < 0 || fflush(f) || rename(tmp, sig)) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", sig, strerror(errno));
	}
	if (f)
		fclose(f);
	if (err)
		unlink(tmp);
	return err;
}

/* file.sig: one base64 line of 64 bytes (a trailing newline ignored). */
static int read_sig(const char *file, unsigned char *sig, char *why, size_t whylen)
{
	unsigned char raw[SIG_B64 + 3];
	char path[4096];
	size_t len;
	char *text;
	int err, n;

	snprintf(path, sizeof(path), "%s" TW_SIG_SUFFIX, file);
	err = tw_read_file(path, &text, &len);
	if (err) {
		snprintf(why, whylen, "%s: %s: the policy is not signed", path, strerror(-err));
		return err;
	}
	if (len && text[len - 1] == '\n')
		len--;
	/* 88 base64 characters decode to 66 bytes, the last two padding ("=="). */
	n = len == SIG_B64 && text[SIG_B64 - 2] == '=' && text[SIG_B64 - 1] == '=' ?
	    EVP_DecodeBlock(raw, (unsigned char *)text, len) : -1;
	free(text);
	if (n != SIG_B64 / 4 * 3) {
		snprintf(why, whylen, "%s: not one base64 line of a 64-byte Ed25519 signature", path);
		return -EINVAL;
	}
	memcpy(sig, raw, SIG_BYTES);
	return 0;
}

static int verify_one(EVP_PKEY *k, const unsigned char *sig, const char *text, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
		 EVP_DigestVerify(ctx, sig, SIG_BYTES, (const unsigned char *)text, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

int tw_policy_verify(const char *file, const char *text, size_t len, const char *const *pubs,
		     int npub, int *which, char *why, size_t whylen)
{
	unsigned char sig[SIG_BYTES];
	int i, err = read_sig(file, sig, why, whylen);

	if (err)
		return err;
	for (i = 0; i < npub; i++) {
		EVP_PKEY *k = read_key(pubs[i], false, why, whylen);
		bool ok = k && verify_one(k, sig, text, len);

		EVP_PKEY_free(k);
		if (!k)
			return -EINVAL;
		if (ok) {
			*which = i;
			return 0;
		}
	}
	snprintf(why, whylen, "%s" TW_SIG_SUFFIX ": not a signature of %s by %s%s", file, file,
		 npub > 1 ? "any of the --policy-pubkey keys, e.g. " : "", npub ? pubs[0] : "(no key)");
	return -EBADMSG;
}

int tw_policy_pubkey_check(const char *pem, char *why, size_t whylen)
{
	EVP_PKEY *k = read_key(pem, false, why, whylen);

	EVP_PKEY_free(k);
	return k ? 0 : -EINVAL;
}
