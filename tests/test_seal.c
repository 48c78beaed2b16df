// SPDX-License-Identifier: GPL-2.0
/*
 * Sealing: an untouched sealed log verifies across rotations, gzip segments
 * and restarts; a rewrite that recomputes the plain chain, dropped epochs,
 * and a forged history made with the key found on the node all fail
 * verify-log --verify-key; the key file holds no earlier epoch's key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "evlog.h"
#include "evquery.h"
#include "fixture.h"
#include "seal.h"
#include "test.h"
#include "util.h"

struct sealed {
	char dir[64];
	char log[128], seal[128], verify[128];
};

static bool sealed_init(struct sealed *s)
{
	char why[512], text[256];

	snprintf(s->dir, sizeof(s->dir), "/tmp/tw-seal-XXXXXX");
	if (!ASSERT_TRUE(mkdtemp(s->dir) != NULL, "tmp dir"))
		return false;
	snprintf(s->log, sizeof(s->log), "%s/log", s->dir);
	snprintf(s->seal, sizeof(s->seal), "%s/seal.key", s->dir);
	snprintf(s->verify, sizeof(s->verify), "%s/verify.key", s->dir);
	return ASSERT_OK(tw_seal_keygen(s->seal, s->verify, text, sizeof(text), why, sizeof(why)),
			 "keygen");
}

static void sealed_free(struct sealed *s)
{
	fx_sh(NULL, 0, "rm -rf %s", s->dir);
}

/* n records as one daemon run would write them, ending an epoch every `every` records. */
static int run_sealed(struct sealed *s, int n, int every, uint64_t rotate_bytes)
{
	struct tw_evlog_opts o = { .rotate_bytes = rotate_bytes, .seal_secs = 3600, .host = "h" };
	struct tw_evlog *l;
	char why[512];
	int i, err;

	err = tw_seal_open(&o.seal, s->seal, s->log, why, sizeof(why));
	if (err) {
		printf("    %s\n", why);
		return err;
	}
	err = tw_evlog_open(&l, s->log, &o);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		err = tw_evlog_append(l, json_pack("{s:s, s:s, s:i}", "ts", "2026-11-27T10:00:00.000000000Z",
						   "kind", "connect", "n", i));
		if (!err)
			err = tw_evlog_flush(l);
		if (!err && every && (i + 1) % every == 0)
			err = tw_evlog_end_epoch(l);
	}
	tw_evlog_close(l);	/* a stop seals too */
	return err;
}

static int verify_with(struct sealed *s, const char *key, uint64_t from, char *out, size_t len)
{
	struct tw_verify_opts o = { .verify_key = key, .from_epoch = from };
	FILE *f = fmemopen(out, len, "w");
	int err = tw_verify_log(s->log, f, &o);

	fclose(f);
	return err;
}

/*
 * What root on the node can do to the plain chain: drop lines (sed
 * addresses), renumber seq and recompute every prev and chain.head, so
 * that verify-log without a key says "intact".
 */
static void rechain(const char *dir, const char *sed_delete)
{
	char path[256], *text = NULL, *line, *save = NULL, prev[TW_HASH_HEX + 1];
	uint64_t seq = 0;
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, TW_EVLOG_CURRENT);
	if (sed_delete)
		fx_sh(NULL, 0, "sed -i '%s' %s", sed_delete, path);
	if (tw_read_file(path, &text, NULL))
		return;
	out = fopen(path, "w");
	memset(prev, '0', TW_HASH_HEX);
	prev[TW_HASH_HEX] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *body = strchr(line, ','), rec[8192];
		size_t n;

		n = snprintf(rec, sizeof(rec), "{\"seq\":%llu%.*s\"%s\"}", (unsigned long long)++seq,
			     (int)(strlen(body) - TW_HASH_HEX - 3), body, prev);
		fprintf(out, "%s\n", rec);
		tw_hash_line(rec, n, prev);
	}
	fclose(out);
	free(text);
	snprintf(path, sizeof(path), "%s/%s", dir, TW_EVLOG_HEAD);
	out = fopen(path, "w");
	fprintf(out, "%llu %s\n", (unsigned long long)seq, prev);
	fclose(out);
}

TEST(unit_seal_untouched_log_verifies_across_rotation_gzip_restart)
{
	struct sealed s;
	char out[4096];

	if (!sealed_init(&s))
		return;
	ASSERT_OK(run_sealed(&s, 40, 7, 2048), "a run that rotates (and gzips) several times");
	ASSERT_OK(run_sealed(&s, 10, 0, 0), "a restart on the same log and key");
	ASSERT_OK(verify_with(&s, s.verify, 0, out, sizeof(out)), "verifies with the key");
	printf("%s", out);
	ASSERT_CONTAINS(out, "SEALED: epochs 0..", "every epoch from the first");
	ASSERT_CONTAINS(out, "the last sealed epoch is", "names the last sealed epoch");
	fx_sh(out, sizeof(out), "ls %s | grep -c '\\.jsonl\\.gz$'", s.log);
	ASSERT_TRUE(atoi(out) >= 2, "gzip segments were verified");
	/* Retention removes whole segments: each must end its epoch. */
	fx_sh(out, sizeof(out), "cd %s && for f in events.*.jsonl.gz; do zcat $f | tail -n 1; done | "
	      "grep -vc '\"kind\":\"seal\"'", s.log);
	ASSERT_EQ(atoi(out), 0, "every rotated segment ends with a seal");
	ASSERT_OK(verify_with(&s, NULL, 0, out, sizeof(out)), "the plain chain too");
	ASSERT_CONTAINS(out, "cannot be detected", "and without a key it says a rewrite cannot be detected");
	sealed_free(&s);
}

TEST(unit_seal_detects_what_the_chain_cannot)
{
	struct sealed s;
	char out[4096], keep[300];

	if (!sealed_init(&s))
		return;
	ASSERT_OK(run_sealed(&s, 30, 6, 0), "five epochs of six records and a stop");
	snprintf(keep, sizeof(keep), "cp %s/%s %s/orig; cp %s/%s %s/head", s.log, TW_EVLOG_CURRENT, s.dir,
		 s.log, TW_EVLOG_HEAD, s.dir);
	fx_sh(NULL, 0, "%s", keep);
	ASSERT_OK(verify_with(&s, s.verify, 0, out, sizeof(out)), "the untouched log verifies");

	/* A record deleted in epoch 1, the chain and chain.head recomputed. */
	rechain(s.log, "10d");
	ASSERT_OK(verify_with(&s, NULL, 0, out, sizeof(out)), "the plain chain cannot tell");
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "the seals can");
	printf("    %s", out);
	ASSERT_CONTAINS(out, "the seal of epoch 1 does not match", "names the epoch");
	ASSERT_CONTAINS(out, "(seq 8)", "and the first record its seal fails to cover");

	/* One record altered, chain recomputed. */
	fx_sh(NULL, 0, "cp %s/orig %s/%s", s.dir, s.log, TW_EVLOG_CURRENT);
	rechain(s.log, "3s/\"n\":2/\"n\":9/");
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "an altered record");
	ASSERT_CONTAINS(out, "the seal of epoch 0 does not match", "in epoch 0");

	/* Two records swapped. */
	fx_sh(NULL, 0, "cp %s/orig %s/%s", s.dir, s.log, TW_EVLOG_CURRENT);
	rechain(s.log, "16{h;d};17G");
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "reordered records");

	/* A whole epoch (its records and its seal) dropped. */
	fx_sh(NULL, 0, "cp %s/orig %s/%s", s.dir, s.log, TW_EVLOG_CURRENT);
	rechain(s.log, "8,14d");
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "a dropped epoch");
	ASSERT_CONTAINS(out, "whole epochs were removed", "says epochs are missing");

	/* The oldest epochs gone, as retention removes them: only --from-epoch accepts that. */
	fx_sh(NULL, 0, "cp %s/orig %s/%s; cp %s/head %s/%s", s.dir, s.log, TW_EVLOG_CURRENT, s.dir, s.log,
	      TW_EVLOG_HEAD);
	fx_sh(NULL, 0, "sed -i 1,14d %s/%s", s.log, TW_EVLOG_CURRENT);
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "leading epochs dropped");
	ASSERT_CONTAINS(out, "epochs before it were removed", "says so");
	if (!ASSERT_OK(verify_with(&s, s.verify, 2, out, sizeof(out)), "--from-epoch 2 names the new start"))
		printf("%s", out);

	/* Restored, a restart goes on sealing. */
	fx_sh(NULL, 0, "cp %s/orig %s/%s; cp %s/head %s/%s", s.dir, s.log, TW_EVLOG_CURRENT, s.dir, s.log,
	      TW_EVLOG_HEAD);
	ASSERT_OK(run_sealed(&s, 2, 0, 0), "a restart adds two records");
	ASSERT_OK(verify_with(&s, s.verify, 0, out, sizeof(out)), "verifies");
	sealed_free(&s);
}

/* root on the node takes the key file as it is now and writes a new history. */
TEST(unit_seal_forged_history_with_the_nodes_key_fails)
{
	struct sealed s, forged;
	char out[4096];

	if (!sealed_init(&s) || !sealed_init(&forged))
		return;
	ASSERT_OK(run_sealed(&s, 20, 5, 0), "the real history: epochs 0..4");
	/* The forger's key file is the node's, relabelled as epoch 0. */
	fx_sh(NULL, 0, "sed 's/^epoch .*/epoch 00000000000000000000/' %s > %s", s.seal, forged.seal);
	ASSERT_OK(run_sealed(&forged, 20, 5, 0), "a forged history sealed with the node's current key");
	fx_sh(NULL, 0, "rm -rf %s && cp -a %s %s", s.log, forged.log, s.log);
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "fails the real key");
	ASSERT_CONTAINS(out, "the seal of epoch 0 does not match", "at the first seal");

	/* Or labelled truthfully from the node's epoch on: the earlier epochs are missing. */
	fx_sh(NULL, 0, "rm -rf %s; cp %s %s", forged.log, s.seal, forged.seal);
	ASSERT_OK(run_sealed(&forged, 10, 5, 0), "a history starting at the node's epoch");
	fx_sh(NULL, 0, "rm -rf %s && cp -a %s %s", s.log, forged.log, s.log);
	ASSERT_EQ(verify_with(&s, s.verify, 0, out, sizeof(out)), -EBADMSG, "fails");
	ASSERT_CONTAINS(out, "epochs before it were removed", "earlier epochs missing");
	sealed_free(&forged);
	sealed_free(&s);
}

TEST(unit_seal_key_file_holds_no_earlier_key)
{
	unsigned char k[32], next[32];
	char hex[65], *file = NULL, *v = NULL, *at;
	unsigned int n = 32;
	struct sealed s;
	struct stat st;
	int e, i;

	if (!sealed_init(&s))
		return;
	ASSERT_OK(run_sealed(&s, 12, 3, 0), "epochs 0..4 sealed, 5 open");
	if (!ASSERT_OK(tw_read_file(s.verify, &v, NULL), "verification key") ||
	    !ASSERT_OK(tw_read_file(s.seal, &file, NULL), "seal key") ||
	    !ASSERT_TRUE((at = strstr(v, "key=")) != NULL, "key="))
		goto out;
	for (i = 0; i < 32; i++)
		sscanf(at + 4 + 2 * i, "%2hhx", &k[i]);
	ASSERT_CONTAINS(file, "epoch 00000000000000000005", "the node is at epoch 5");
	for (e = 0; e <= 5; e++) {
		for (i = 0; i < 32; i++)
			sprintf(hex + 2 * i, "%02x", k[i]);
		if (e < 5)
			ASSERT_TRUE(!strstr(file, hex), "an earlier epoch's key is not in the file");
		else
			ASSERT_CONTAINS(file, hex, "the current key is (K[e+1] = HMAC(K[e], label))");
		HMAC(EVP_sha256(), k, 32, (const unsigned char *)"tierwall seal next", 18, next, &n);
		memcpy(k, next, 32);
	}
	ASSERT_OK(stat(s.seal, &st), "stat");
	ASSERT_EQ(st.st_mode & 0777, 0600, "the seal key is 0600");
	fx_sh(NULL, 0, "chmod 0640 %s", s.seal);
	ASSERT_NE(run_sealed(&s, 1, 0, 0), 0, "a seal key others may read is refused");
out:
	free(file);
	free(v);
	sealed_free(&s);
}

/* An epoch with no record still ends with a seal. */
TEST(unit_seal_empty_epoch_sealed)
{
	struct tw_evlog_opts o = { .seal_secs = 1, .host = "h" };
	struct tw_evlog *l = NULL;
	struct sealed s;
	char out[4096], why[256];

	if (!sealed_init(&s))
		return;
	if (!ASSERT_OK(tw_seal_open(&o.seal, s.seal, s.log, why, sizeof(why)), "seal key") ||
	    !ASSERT_OK(tw_evlog_open(&l, s.log, &o), "log"))
		goto out;
	usleep(1100 * 1000);	/* one epoch passes with nothing to log */
	tw_evlog_flush(l);
	tw_evlog_close(l);
	fx_sh(out, sizeof(out), "grep -c '\"kind\":\"seal\"' %s/%s", s.log, TW_EVLOG_CURRENT);
	ASSERT_EQ(atoi(out), 2, "the empty epoch's seal, then the stop's");
	ASSERT_OK(verify_with(&s, s.verify, 0, out, sizeof(out)), "verifies");
	ASSERT_CONTAINS(out, "epochs 0..1", "both epochs");
out:
	sealed_free(&s);
}
