// SPDX-License-Identifier: GPL-2.0
/*
 * Signed policies (user/policy/sign.c): tierwall sign makes what openssl's
 * own pipeline makes, byte for byte; tierwalld --policy-pubkey refuses an
 * unsigned, badly signed or otherly signed policy at start, reload and
 * watch, keeping the loaded one with a policy_reload_failed record; two
 * keys rotate; tierwall check says the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "fileops.h"
#include "fixture.h"
#include "sign.h"
#include "tamperops.h"
#include "std.h"
#include "test.h"
#include "util.h"

static const char policy_a[] =
"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ] }\n";
static const char policy_b[] =
"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {}, \"dev\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ] }\n";

struct keys {
	char dir[PATH_MAX];
	char key1[PATH_MAX + 16], pub1[PATH_MAX + 16], key2[PATH_MAX + 16], pub2[PATH_MAX + 16];
};

/*
 * One Ed25519 key pair by libcrypto, PEM files as `openssl genpkey` and
 * `openssl pkey -pubout` write them (the guests have no openssl binary).
 */
static bool write_pair(const char *key, const char *pub)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *a = fopen(key, "w"), *b = fopen(pub, "w");
	bool ok = pk && a && b && PEM_write_PrivateKey(a, pk, NULL, NULL, 0, NULL, NULL) &&
		  PEM_write_PUBKEY(b, pk);

	if (a)
		ok &= !fclose(a);
	if (b)
		ok &= !fclose(b);
	EVP_PKEY_free(pk);
	return ok;
}

/* Two Ed25519 key pairs in dir. */
static bool make_keys(struct keys *k, const char *dir)
{
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	snprintf(k->key1, sizeof(k->key1), "%s/k1.pem", dir);
	snprintf(k->pub1, sizeof(k->pub1), "%s/k1.pub", dir);
	snprintf(k->key2, sizeof(k->key2), "%s/k2.pem", dir);
	snprintf(k->pub2, sizeof(k->pub2), "%s/k2.pub", dir);
	return ASSERT_TRUE(write_pair(k->key1, k->pub1) && write_pair(k->key2, k->pub2),
			   "two Ed25519 key pairs written");
}

static int cli(char *out, size_t len, const char *args)
{
	return fx_sh(out, len, "%s/tierwall %s 2>&1", tw_build_dir, args);
}

static int sign(const char *key, const char *file)
{
	char out[4096], args[3 * PATH_MAX];

	snprintf(args, sizeof(args), "sign --key %s %s", key, file);
	return cli(out, sizeof(out), args);
}

TEST(policy_sign_matches_openssl)
{
	char dir[] = "/tmp/tw-sign-XXXXXX", file[PATH_MAX], out[4096], a[256], b[256], args[3 * PATH_MAX];
	const char *pubs[2];
	struct keys k;
	char why[512];
	size_t len;
	char *text;
	int which = -1;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "temp dir") || !make_keys(&k, dir))
		goto out;
	snprintf(file, sizeof(file), "%s/policy.json", dir);
	ASSERT_OK(write_file(file, policy_a, 0644), "policy");
	ASSERT_OK(sign(k.key1, file), "tierwall sign");
	ASSERT_OK(fx_sh(out, sizeof(out), "openssl pkeyutl -sign -rawin -inkey %s -in %s | "
			"openssl base64 -A > %s/openssl.sig && cmp %s.sig %s/openssl.sig && echo same",
			k.key1, file, dir, file, dir), "openssl's pipeline makes the same file");
	ASSERT_CONTAINS(out, "same", "byte for byte");
	ASSERT_OK(fx_sh(a, sizeof(a), "wc -c < %s.sig", file), "size");
	ASSERT_EQ(atoi(a), 88, "base64 of 64 bytes, one line, no newline");

	/* One check for everyone: the library, with a trailing newline, and rotation. */
	if (!ASSERT_OK(tw_read_file(file, &text, &len), "read"))
		goto out;
	pubs[0] = k.pub2;
	pubs[1] = k.pub1;
	ASSERT_OK(tw_policy_verify(file, text, len, pubs, 2, &which, why, sizeof(why)), "verified");
	ASSERT_EQ(which, 1, "by the second key given");
	ASSERT_EQ(tw_policy_verify(file, text, len, pubs, 1, &which, why, sizeof(why)), -EBADMSG,
		  "not by the other key alone");
	ASSERT_CONTAINS(why, "not a signature", "why");
	fx_sh(out, sizeof(out), "echo >> %s.sig", file);
	ASSERT_OK(tw_policy_verify(file, text, len, pubs, 2, &which, why, sizeof(why)),
		  "a trailing newline is ignored");
	text[len - 2] = ' ';
	ASSERT_EQ(tw_policy_verify(file, text, len, pubs, 2, &which, why, sizeof(why)), -EBADMSG,
		  "one byte changed");
	free(text);

	/* tierwall check says the same. */
	snprintf(args, sizeof(args), "check --policy-pubkey %s %s", k.pub1, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 0, "check with the signer's key");
	snprintf(args, sizeof(args), "check --policy-pubkey %s %s", k.pub2, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 1, "check with another key");
	ASSERT_CONTAINS(out, "not a signature", "check says why");
	snprintf(b, sizeof(b), "%s.sig", file);
	unlink(b);
	snprintf(args, sizeof(args), "check --policy-pubkey %s %s", k.pub1, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 1, "check without a .sig");
	ASSERT_CONTAINS(out, "not signed", "check says why");
out:
	fx_sh(out, sizeof(out), "rm -rf %s", dir);
}

TEST(policy_sign_cli_errors)
{
	char dir[] = "/tmp/tw-sign-XXXXXX", file[PATH_MAX], out[4096], args[3 * PATH_MAX];
	struct keys k;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "temp dir") || !make_keys(&k, dir))
		goto out;
	snprintf(file, sizeof(file), "%s/policy.json", dir);
	ASSERT_OK(write_file(file, policy_a, 0644), "policy");
	snprintf(args, sizeof(args), "sign %s", file);
	ASSERT_EQ(cli(out, sizeof(out), args), 2, "sign without --key");
	ASSERT_CONTAINS(out, "--key", "names the option");
	snprintf(args, sizeof(args), "sign --key %s/none.pem %s", dir, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 1, "a missing key");
	ASSERT_CONTAINS(out, "none.pem", "names the key");
	snprintf(args, sizeof(args), "sign --key %s %s", k.pub1, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 1, "a public key to sign with");
	ASSERT_CONTAINS(out, "not a PEM private key", "says so");
	ASSERT_OK(fx_sh(out, sizeof(out), "openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 "
			"-out %s/rsa.pem 2>&1", dir), "an RSA key");
	snprintf(args, sizeof(args), "sign --key %s/rsa.pem %s", dir, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 1, "an RSA key");
	ASSERT_CONTAINS(out, "not an Ed25519 key", "says so");
	snprintf(args, sizeof(args), "sign --key %s %s/none.json", k.key1, dir);
	ASSERT_EQ(cli(out, sizeof(out), args), 1, "a missing policy");
	snprintf(args, sizeof(args), "check --policy-pubkey %s %s", k.key1, file);
	ASSERT_EQ(cli(out, sizeof(out), args), 2, "check with a private key as --policy-pubkey");
	ASSERT_CONTAINS(out, "--policy-pubkey", "names the option");
	ASSERT_OK(fx_sh(out, sizeof(out), "%s/tierwalld --policy %s --policy-pubkey %s/none.pub 2>&1",
			tw_build_dir, file, dir) == 2 ? 0 : -1, "tierwalld: a missing --policy-pubkey");
	ASSERT_CONTAINS(out, "--policy-pubkey", "names the option");
out:
	fx_sh(out, sizeof(out), "rm -rf %s", dir);
}

static bool is_reload_failed(json_t *e, const void *arg)
{
	return !strcmp(json_string_value(json_object_get(e, "event")) ?: "", "policy_reload_failed");
}

/* The newest policy_reload_failed record names what. */
static bool last_failure_says(struct fx *f, const char *what)
{
	json_t *e = fx_last_event(f, is_reload_failed, NULL);
	char *s = e ? json_dumps(e, 0) : NULL;
	bool ok = ASSERT_TRUE(s && strstr(s, what), "policy_reload_failed says why");

	free(s);
	json_decref(e);
	return ok;
}

static void reload_refused_saying(struct fx *f, const char *what)
{
	if (ASSERT_EQ(fx_sighup_reload(f), 1, "the reload is refused"))
		last_failure_says(f, what);
}

TEST(integ_policy_pubkey_start_reload_watch)
{
	char sig[PATH_MAX + 8], k3[PATH_MAX + 8], p3[PATH_MAX + 8];
	const char *both[] = { "--policy-pubkey", NULL, "--policy-pubkey", NULL, NULL, NULL };
	const char *one[] = { "--policy-pubkey", NULL, NULL };
	struct keys k;
	struct fx f;
	int loads, fails;

	memset(&f, 0, sizeof(f));
	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture") || !make_keys(&k, f.tmp))
		goto out;
	one[1] = both[1] = k.pub1;
	both[3] = k.pub2;
	snprintf(sig, sizeof(sig), "%s.sig", f.policy);
	fx_write_policy(&f, policy_a);

	/* At start: no .sig, a bad one, another key's: refused, each saying so. */
	ASSERT_EQ(fx_start(&f, one), 1, "no signature: no start");
	ASSERT_TRUE(fx_await_output(&f, "not signed"), "says it is not signed");
	ASSERT_OK(write_file(sig, "bm90IGEgc2lnbmF0dXJl\n", 0644), "a bad .sig");
	ASSERT_EQ(fx_start(&f, one), 1, "a bad signature: no start");
	ASSERT_TRUE(fx_await_output(&f, "not one base64 line"), "says it is malformed");
	ASSERT_OK(sign(k.key2, f.policy), "signed by key 2");
	ASSERT_EQ(fx_start(&f, one), 1, "another key's signature: no start");
	ASSERT_TRUE(fx_await_output(&f, "not a signature"), "says whose it is not");

	/* Rotation: either key; reloads need a signature too, and keep the loaded policy. */
	if (!ASSERT_OK(fx_start(&f, both), "signed by key 2, keys 1 and 2 given"))
		goto out;
	ASSERT_OK(sign(k.key1, f.policy), "re-signed by key 1");
	ASSERT_EQ(fx_sighup_reload(&f), 0, "key 1's signature reloads");
	fx_write_policy(&f, policy_b);
	reload_refused_saying(&f, "not a signature");
	unlink(sig);
	reload_refused_saying(&f, "not signed");
	snprintf(k3, sizeof(k3), "%s/k3.pem", f.tmp);
	snprintf(p3, sizeof(p3), "%s/k3.pub", f.tmp);
	ASSERT_TRUE(write_pair(k3, p3), "a third key");
	ASSERT_OK(sign(k3, f.policy), "signed by a key not given");
	reload_refused_saying(&f, "not a signature");
	fx_stop(&f);

	/* --watch-policy: an unsigned change is refused; its signature arriving loads it. */
	ASSERT_OK(sign(k.key1, f.policy), "policy B signed by key 1");
	both[4] = "--watch-policy";
	if (!ASSERT_OK(fx_start(&f, both), "start with --watch-policy"))
		goto out;
	loads = fx_await_daemon_events(&f, "policy_loaded", 1);
	fails = fx_await_daemon_events(&f, "policy_reload_failed", 1);
	fx_write_policy(&f, policy_a);
	ASSERT_EQ(fx_await_daemon_events(&f, "policy_reload_failed", fails + 1), fails + 1,
		  "the watch refuses it");
	last_failure_says(&f, "not a signature");
	ASSERT_OK(sign(k.key2, f.policy), "signed by key 2");
	ASSERT_EQ(fx_await_daemon_events(&f, "policy_loaded", loads + 1), loads + 1,
		  "the watched .sig change reloads the signed policy");
out:
	fx_cleanup(&f);
}

/*
 * The keys the daemon checks signatures with are as trusted as the policy:
 * a root process in staging that could write its own key over one would
 * sign a policy of its own, loaded at the next reload, watch or start.
 */
TEST(lsm_policy_pubkey_guarded)
{
	const char *one[] = { "--policy-pubkey", NULL, NULL };
	char junk[PATH_MAX + 16];
	struct fop x = {};
	struct keys k;
	struct fx f;

	memset(&f, 0, sizeof(f));
	if (!fx_lsm_ready() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture") || !make_keys(&k, f.tmp))
		goto out;
	one[1] = k.pub1;
	fx_write_policy(&f, policy_a);
	if (!ASSERT_OK(sign(k.key1, f.policy), "signed by key 1") || !fx_started(&f, one))
		goto out;
	x.path = k.pub2;
	x.path2 = k.pub1;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_rename, &x, NULL), EPERM,
		  "staging root: rename its own key over the policy key");
	x.path = k.pub1;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, NULL), EPERM,
		  "staging root: open the policy key for writing");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_unlink, &x, NULL), EPERM,
		  "staging root: unlink the policy key");
	snprintf(junk, sizeof(junk), "%s/junk", f.tmp);
	x.path2 = junk;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_link, &x, NULL), EPERM, "staging root: a hard link to it");
	x.path = k.pub1;
	ASSERT_EQ(fx_do(&f, "untagged", op_open_rd, &x, NULL), 0, "untagged root reads it");
out:
	fx_cleanup(&f);
}
