// SPDX-License-Identifier: GPL-2.0
/*
 * Forward-secure sealing: keys, the one-way step, seal records and their
 * check. Only OpenSSL's HMAC-SHA256 and random bytes: no home-made crypto.
 *
 *   K[0]        random, the operator's verification key
 *   K[e+1]      HMAC-SHA256(K[e], "tierwall seal next")     one way
 *   M[e]        HMAC-SHA256(K[e], "tierwall seal mac")      seals epoch e
 *   key id      SHA-256("tierwall seal id" K[0]), 8 bytes, names the pair
 *
 * A seal line is {"seq":N,...,"mac":"<64 hex>","prev":"<hash>"}; its MAC is
 * HMAC-SHA256(M[e], the same line with the MAC's 64 digits as zeros).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "evlog.h"
#include "seal.h"
#include "util.h"

#define KEY_MAGIC	"tierwall-seal-key v1"
#define VERIFY_MAGIC	"tierwall-verify-key v1"
#define MAC_FIELD	"\"mac\":\""

struct tw_seal {
	int fd;
	char id[TW_SEAL_ID_HEX + 1];
	uint64_t epoch, since;
	unsigned char key[TW_SEAL_KEY_BYTES];
};

struct tw_unseal {
	char id[TW_SEAL_ID_HEX + 1];
	unsigned char k0[TW_SEAL_KEY_BYTES];
	uint64_t epoch;				/* of key[], a step cache */
	unsigned char key[TW_SEAL_KEY_BYTES];
};

static void hex(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex(const char *s, unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		b[i] = v;
	}
	return s[2 * n] && s[2 * n] != '\n' && s[2 * n] != ' ' ? -EINVAL : 0;
}

static void prf(const unsigned char *key, const char *label, unsigned char *out)
{
	unsigned int n = TW_SEAL_KEY_BYTES;

	HMAC(EVP_sha256(), key, TW_SEAL_KEY_BYTES, (const unsigned char *)label, strlen(label),
	     out, &n);
}

void tw_seal_key_id(const unsigned char *k0, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[16 + TW_SEAL_KEY_BYTES];
	unsigned int n = 0;

	memcpy(buf, "tierwall seal id", 16);
	memcpy(buf + 16, k0, TW_SEAL_KEY_BYTES);
	EVP_Digest(buf, sizeof(buf), md, &n, EVP_sha256(), NULL);
	hex(md, TW_SEAL_ID_HEX / 2, out);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* The key file has one fixed length, so each new key overwrites the old one's bytes. */
static int key_text(const struct tw_seal *s, char *out, size_t len)
{
	char k[2 * TW_SEAL_KEY_BYTES + 1];
	int n;

	hex(s->key, TW_SEAL_KEY_BYTES, k);
	n = snprintf(out, len, KEY_MAGIC "\nid %s\nepoch %020llu\nsince %020llu\nkey %s\n", s->id,
		     (unsigned long long)s->epoch, (unsigned long long)s->since, k);
	OPENSSL_cleanse(k, sizeof(k));
	return n;
}

static int write_key(struct tw_seal *s)
{
	char text[256];
	int n = key_text(s, text, sizeof(text)), err = 0;

	if (pwrite(s->fd, text, n, 0) != n || fsync(s->fd))
		err = errno ? -errno : -EIO;
	OPENSSL_cleanse(text, sizeof(text));
	return err;
}

int tw_seal_keygen(const char *seal_path, const char *verify_path, char *verify_text,
		   size_t len, char *why, size_t whylen)
{
	struct tw_seal s = { .fd = -1, .since = tw_now_ns(CLOCK_REALTIME) };
	char k[2 * TW_SEAL_KEY_BYTES + 1];
	int vfd = -1, err;

	if (RAND_bytes(s.key, sizeof(s.key)) != 1) {
		snprintf(why, whylen, "no random bytes from OpenSSL");
		return -EIO;
	}
	tw_seal_key_id(s.key, s.id);
	hex(s.key, TW_SEAL_KEY_BYTES, k);
	snprintf(verify_text, len, VERIFY_MAGIC " id=%s key=%s", s.id, k);
	OPENSSL_cleanse(k, sizeof(k));
	s.fd = open(seal_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s.fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", seal_path, strerror(-err));
		goto out;
	}
	vfd = open(verify_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (vfd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", verify_path, strerror(-err));
		unlink(seal_path);
		goto out;
	}
	err = write_key(&s);
	if (!err && (dprintf(vfd, "%s\n", verify_text) < 0 || fsync(vfd)))
		err = -errno;
	if (err) {
		snprintf(why, whylen, "cannot write the keys: %s", strerror(-err));
		unlink(seal_path);
		unlink(verify_path);
	}
out:
	if (vfd >= 0)
		close(vfd);
	if (s.fd >= 0)
		close(s.fd);
	OPENSSL_cleanse(s.key, sizeof(s.key));
	return err;
}

/* The key must be the daemon's alone, and not where the log's readers read. */
static int check_place(const char *path, int fd, const char *log_dir, char *why, size_t whylen)
{
	char kp[PATH_MAX], lp[PATH_MAX];
	struct stat st;
	size_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
		return -EINVAL;
	}
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		snprintf(why, whylen, "%s is readable by others (mode %03o, uid %u): it must be 0600 and ours",
			 path, st.st_mode & 0777, st.st_uid);
		return -EPERM;
	}
	if (log_dir && realpath(path, kp) && realpath(log_dir, lp)) {
		n = strlen(lp);
		if (!strncmp(kp, lp, n) && kp[n] == '/') {
			snprintf(why, whylen, "%s is inside the log directory %s, where readers of the log look: keep it elsewhere",
				 path, log_dir);
			return -EPERM;
		}
	}
	return 0;
}

int tw_seal_open(struct tw_seal **out, const char *path, const char *log_dir, char *why,
		 size_t whylen)
{
	struct tw_seal *s = calloc(1, sizeof(*s));
	char text[256] = "", k[2 * TW_SEAL_KEY_BYTES + 2] = "";
	unsigned long long epoch, since;
	ssize_t n;
	int err;

	if (!s)
		return -ENOMEM;
	s->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (s->fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s (" TW_SEAL_KEYGEN_HINT ")",
			 path, strerror(-err));
		goto out_free;
	}
	err = check_place(path, s->fd, log_dir, why, whylen);
	if (err)
		goto out_free;
	n = pread(s->fd, text, sizeof(text) - 1, 0);
	if (n <= 0 || sscanf(text, KEY_MAGIC "\nid %16s\nepoch %llu\nsince %llu\nkey %65s", s->id,
			     &epoch, &since, k) != 4 || strlen(s->id) != TW_SEAL_ID_HEX ||
	    unhex(k, s->key, TW_SEAL_KEY_BYTES)) {
		snprintf(why, whylen, "%s is not a tierwall seal key", path);
		err = -EINVAL;
		goto out_free;
	}
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(k, sizeof(k));
	s->epoch = epoch;
	s->since = since;
	*out = s;
	return 0;
out_free:
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(k, sizeof(k));
	tw_seal_close(s);
	return err;
}

uint64_t tw_seal_epoch(const struct tw_seal *s)
{
	return s->epoch;
}

uint64_t tw_seal_since(const struct tw_seal *s)
{
	return s->since;
}

/* HMAC of the line with the MAC's digits zeroed; mac_at points at them. */
static void line_mac(const unsigned char *epoch_key, const char *line, size_t len, size_t mac_at,
		     unsigned char *out)
{
	unsigned char m[TW_SEAL_KEY_BYTES];
	unsigned int n = TW_SEAL_KEY_BYTES;
	char *copy = malloc(len);

	prf(epoch_key, "tierwall seal mac", m);
	if (copy) {
		memcpy(copy, line, len);
		memset(copy + mac_at, '0', 2 * TW_SEAL_KEY_BYTES);
		HMAC(EVP_sha256(), m, sizeof(m), (unsigned char *)copy, len, out, &n);
	} else {
		memset(out, 0, TW_SEAL_KEY_BYTES);	/* will not verify: loud, not silent */
	}
	free(copy);
	OPENSSL_cleanse(m, sizeof(m));
}

int tw_seal_body(struct tw_seal *s, uint64_t seq, const char *prev, const char *host,
		 char *out, size_t len)
{
	char ts[64], since[64], line[1024], mac_hex[2 * TW_SEAL_KEY_BYTES + 1];
	unsigned char mac[TW_SEAL_KEY_BYTES];
	const char *h;
	int head, n;
	char *at;

	tw_format_time(tw_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	tw_format_time(s->since, since, sizeof(since));
	/* A seal line must stay plain JSON whatever the host is called: printable ASCII or "?". */
	for (h = host; *h && *h > 0x20 && *h < 0x7f && *h != '"' && *h != '\\'; h++)
		;
	if (*h || h - host > 255)
		host = "?";
	head = snprintf(line, sizeof(line), "{\"seq\":%llu,", (unsigned long long)seq);
	n = snprintf(line + head, sizeof(line) - head,
		     "\"v\":1,\"ts\":\"%s\",\"host\":\"%s\",\"kind\":\"seal\",\"epoch\":%llu,"
		     "\"since\":\"%s\",\"key_id\":\"%s\",\"pid\":%d," MAC_FIELD "%064d\"",
		     ts, host, (unsigned long long)s->epoch, since,
		     s->id, (int)getpid(), 0);
	if (n < 0 || (size_t)n >= len || head + n + 80 >= (int)sizeof(line))
		return -ENOSPC;
	snprintf(line + head + n, sizeof(line) - head - n, ",\"prev\":\"%s\"}", prev);
	at = strstr(line, MAC_FIELD);
	line_mac(s->key, line, strlen(line), at - line + strlen(MAC_FIELD), mac);
	hex(mac, sizeof(mac), mac_hex);
	memcpy(at + strlen(MAC_FIELD), mac_hex, 2 * TW_SEAL_KEY_BYTES);
	memcpy(out, line + head, n);
	return n;
}

int tw_seal_advance(struct tw_seal *s, uint64_t now_ns)
{
	unsigned char next[TW_SEAL_KEY_BYTES];

	prf(s->key, "tierwall seal next", next);
	memcpy(s->key, next, sizeof(next));
	OPENSSL_cleanse(next, sizeof(next));
	s->epoch++;
	s->since = now_ns;
	return write_key(s);
}

void tw_seal_close(struct tw_seal *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* ---- verifying ---- */

int tw_unseal_open(struct tw_unseal **out, const char *verify_path, char *why, size_t whylen)
{
	struct tw_unseal *u = calloc(1, sizeof(*u));
	char *text = NULL, *id, *k;
	char want[TW_SEAL_ID_HEX + 1];
	int err;

	if (!u)
		return -ENOMEM;
	err = tw_read_file(verify_path, &text, NULL);
	if (err) {
		snprintf(why, whylen, "%s: %s", verify_path, strerror(-err));
		goto out_free;
	}
	id = strstr(text, " id=");
	k = strstr(text, " key=");
	if (strncmp(text, VERIFY_MAGIC, strlen(VERIFY_MAGIC)) || !id || !k ||
	    sscanf(id + 4, "%16s", u->id) != 1 || unhex(k + 5, u->k0, TW_SEAL_KEY_BYTES)) {
		snprintf(why, whylen, "%s is not a tierwall verification key (\"%s id=... key=...\")",
			 verify_path, VERIFY_MAGIC);
		err = -EINVAL;
		goto out_free;
	}
	tw_seal_key_id(u->k0, want);
	if (strcmp(want, u->id)) {
		snprintf(why, whylen, "%s: the key does not match its id (a digit changed?)", verify_path);
		err = -EINVAL;
		goto out_free;
	}
	memcpy(u->key, u->k0, sizeof(u->key));
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	*out = u;
	return 0;
out_free:
	if (text)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	free(u);
	return err;
}

const char *tw_unseal_id(const struct tw_unseal *u)
{
	return u->id;
}

static void key_at(struct tw_unseal *u, uint64_t epoch)
{
	unsigned char next[TW_SEAL_KEY_BYTES];

	if (epoch < u->epoch) {
		memcpy(u->key, u->k0, sizeof(u->key));
		u->epoch = 0;
	}
	for (; u->epoch < epoch; u->epoch++) {
		prf(u->key, "tierwall seal next", next);
		memcpy(u->key, next, sizeof(next));
	}
}

int tw_unseal_check(struct tw_unseal *u, const char *line, size_t len, uint64_t epoch)
{
	char want[2 * TW_SEAL_KEY_BYTES + 1], id[TW_SEAL_ID_HEX + 1] = "";
	unsigned char mac[TW_SEAL_KEY_BYTES];
	const char *at = memmem(line, len, MAC_FIELD, strlen(MAC_FIELD)), *idp;
	size_t off;

	if (!at || (size_t)(at - line) + strlen(MAC_FIELD) + 2 * TW_SEAL_KEY_BYTES > len)
		return -EBADMSG;
	idp = memmem(line, len, "\"key_id\":\"", 10);
	if (idp)
		snprintf(id, sizeof(id), "%.*s", TW_SEAL_ID_HEX, idp + 10);
	if (strcmp(id, u->id))
		return -EKEYREJECTED;
	off = at - line + strlen(MAC_FIELD);
	key_at(u, epoch);
	line_mac(u->key, line, len, off, mac);
	hex(mac, sizeof(mac), want);
	return CRYPTO_memcmp(want, line + off, 2 * TW_SEAL_KEY_BYTES) ? -EBADMSG : 0;
}

void tw_unseal_close(struct tw_unseal *u)
{
	if (!u)
		return;
	OPENSSL_cleanse(u, sizeof(*u));
	free(u);
}
