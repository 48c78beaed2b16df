// SPDX-License-Identifier: GPL-2.0
/*
 * Event log files as `tierwall events` and `verify-log` read them: plain
 * or gzip segments (given raw, or compressed here), with chain.head, with
 * and without seals checked. Byte 0 picks: bits 0-1 the file kind, bit 2
 * a chain.head from the last line, bit 3 --verify-key.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "evlog.h"
#include "evquery.h"
#include "fuzz.h"
#include "seal.h"
#include "util.h"

static char dir[64], vkey[96];
static FILE *devnull;

#define K0_HEX	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
static const unsigned char K0[32] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

/* A seed: a log sealed with K0 over three epochs, as byte 0 (plain, head, key) + its lines. */
static int make_seed(const char *out)
{
	struct tw_evlog_opts o = { .host = "h" };
	char key[128], sdir[128], why[256], id[32], *text = NULL;
	struct tw_evlog *l;
	FILE *f;
	int i;

	snprintf(sdir, sizeof(sdir), "%s.seed", dir);
	snprintf(key, sizeof(key), "%s.key", dir);
	tw_seal_key_id(K0, id);
	f = fopen(key, "w");
	fprintf(f, "tierwall-seal-key v1\nid %s\nepoch 00000000000000000000\nsince 01795788908924017012\nkey %s\n",
		id, K0_HEX);
	fclose(f);
	chmod(key, 0600);
	if (tw_seal_open(&o.seal, key, NULL, why, sizeof(why)) || tw_evlog_open(&l, sdir, &o))
		return 1;
	for (i = 0; i < 6; i++) {
		tw_evlog_append(l, json_pack("{s:s, s:s, s:s, s:s, s:i}", "ts", "2026-11-27T10:00:00Z",
					     "kind", "connect", "tier", "staging", "cgroup", "/a/b", "pid", i));
		/* Two records a block: batches (batch.h) of more than one record. */
		if (i % 2) {
			tw_evlog_flush(l);
			tw_evlog_end_epoch(l);
		}
	}
	tw_evlog_close(l);
	snprintf(key, sizeof(key), "%s/%s", sdir, TW_EVLOG_CURRENT);
	if (tw_read_file(key, &text, NULL))
		return 1;
	f = fopen(out, "w");
	fputc(0x0c, f);
	fputs(text, f);
	fclose(f);
	free(text);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char id[32];
	FILE *f;

	snprintf(dir, sizeof(dir), "/dev/shm/tw-fuzz-evlog-%d", getpid());
	snprintf(vkey, sizeof(vkey), "%s.verify", dir);
	mkdir(dir, 0700);
	/* The key the sealed seeds were made with (TW_FUZZ_SEED below). */
	tw_seal_key_id(K0, id);
	f = fopen(vkey, "w");
	if (!f)
		abort();
	fprintf(f, "tierwall-verify-key v1 id=%s key=%s\n", id, K0_HEX);
	fclose(f);
	if (getenv("TW_FUZZ_SEED"))
		exit(make_seed(getenv("TW_FUZZ_SEED")));
	devnull = fopen("/dev/null", "w");
	return 0;
}

static void put(const char *name, const void *data, size_t size, int kind)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (kind == 2) {
		gzFile g = gzopen(path, "wb1");

		if (!g)
			abort();
		if (size)
			gzwrite(g, data, size);
		gzclose(g);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

static int seen(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct tw_filter f = { .tier = "staging", .cgroup = "/a", .since_ns = 1, .until_ns = 1ull << 62 };
	json_t *o = line ? json_loadb(line, len, 0, NULL) : NULL;

	if (o)
		tw_filter_match(&f, o);
	json_decref(o);
	(*(long *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_verify_opts o = {};
	int kind;
	long n = 0;

	if (!size)
		return 0;
	kind = data[0] & 3;
	{
		char cmd[PATH_MAX];

		snprintf(cmd, sizeof(cmd), "%s/events.00000001.jsonl.gz", dir);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/%s", dir, TW_EVLOG_HEAD);
		unlink(cmd);
	}
	if (kind == 0 || kind == 3) {
		put(TW_EVLOG_CURRENT, data + 1, size - 1, 0);
	} else {
		put("events.00000001.jsonl.gz", data + 1, size - 1, kind);
		put(TW_EVLOG_CURRENT, "", 0, 0);
	}
	if (data[0] & 4) {
		const char *last = memrchr(data + 1, '\n', size - 1);
		char head[128], hash[65] = "";

		if (last)
			memcpy(hash, last + 1, (const char *)data + size - last - 1 < 64 ?
			       (const char *)data + size - last - 1 : 64);
		snprintf(head, sizeof(head), "%zu %s\n", size, hash);
		put(TW_EVLOG_HEAD, head, strlen(head), 0);
	}
	if (data[0] & 8)
		o.verify_key = vkey;
	tw_verify_log(dir, devnull, &o);
	tw_evlog_scan(dir, seen, &n);
	return 0;
}
