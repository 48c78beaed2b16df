// SPDX-License-Identifier: GPL-2.0
/*
 * Credential drift: a copy of another tier's secret outside its policy
 * paths. The daemon keeps the fingerprints of every tier's secret files
 * (fingerprint.c, rebuilt when one changes), checks the files below the
 * policy's drift roots (driftscan.c) at start and as they are written, and
 * writes a "drift" record for each copy found. In enforce mode, where the
 * secrets are enforced (BPF LSM), a whole-file copy joins its owner's
 * secrets at once: the inode goes into the secrets map with the original's
 * tier and rule, so the kernel refuses it to other tiers like the original.
 * The same fingerprints serve attestation (attestd.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <openssl/sha.h>
#include "drift.h"
#include "driftscan.h"
#include "fingerprint.h"
#include "log.h"
#include "util.h"

#define SEEN		4096			/* files whose last report is remembered */
#define DEBOUNCE_NS	100000000ull		/* secret files settle before a rebuild */
#define SLICE_NS	5000000ull		/* scanning per turn of the daemon's loop */
#define MAX_REPORTS	8			/* drift records per file and check */

/* A copy protected in the kernel: kept to be put into the maps of a reloaded policy. */
struct copy {
	uint32_t kdev;
	uint64_t ino;
	char *tier;
	char *secret;		/* the original's policy path */
};

struct seen {
	uint32_t kdev;
	uint64_t ino;
	uint8_t md[SHA256_DIGEST_LENGTH];
};

static struct {
	const struct tw_policy *policy;	/* what fp and scan were built from */
	struct tw_bpf *bpf;		/* the maps copies were pushed into */
	struct tw_fp *fp;
	struct tw_driftscan *scan;
	bool fp_dirty;
	uint64_t fp_dirty_at;
	struct copy *copies;
	size_t ncopies;
	struct seen seen[SEEN];
	uint64_t reported[SEEN];	/* (file, content, secret file, match) told already */
	uint64_t found, protected;
} dr;

static void watch_fd(struct daemon *d, int fd, bool add)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (fd >= 0)
		epoll_ctl(d->ep_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

static void build_fp(struct daemon *d)
{
	struct tw_fp *fp;
	int err = tw_fp_build(&fp, d->policy);

	if (err) {
		tw_err("fingerprints of the secret files: %s (attestation and drift keep the old ones)",
		       strerror(-err));
		return;
	}
	watch_fd(d, tw_fp_fd(dr.fp), false);
	tw_fp_free(dr.fp);
	dr.fp = fp;
	watch_fd(d, tw_fp_fd(fp), true);
	dr.fp_dirty = false;
}

static bool protects_files(struct daemon *d)
{
	return d->secrets && d->policy->drift.mode == TW_MODE_ENFORCE;
}

static int push_copy(struct daemon *d, const struct copy *c)
{
	struct tw_secret_key k = { .dev = c->kdev, .ino = c->ino };
	struct tw_secret_val v = { .tier = tw_policy_tier_id(d->policy, c->tier), .learned = 1 };
	int i;

	for (i = 0; i < d->policy->nsecrets && strcmp(d->policy->secrets[i].path, c->secret); i++)
		;
	if (!v.tier || i == d->policy->nsecrets)
		return -ENOENT;	/* the policy no longer has that secret */
	v.secret = i;
	return tw_bpf_add_secret(d->bpf, &k, &v);
}

/* A reloaded policy has new maps: the copies protected so far go into them. */
static void policy_changed(struct daemon *d)
{
	size_t i, kept = 0;

	dr.policy = d->policy;
	dr.bpf = d->bpf;
	build_fp(d);
	for (i = 0; i < dr.ncopies; i++) {
		if (protects_files(d) && !push_copy(d, &dr.copies[i])) {
			dr.copies[kept++] = dr.copies[i];
			continue;
		}
		free(dr.copies[i].tier);
		free(dr.copies[i].secret);
	}
	dr.ncopies = kept;
	if (d->secrets)
		tw_bpf_bump_file_gen(d->bpf);
	watch_fd(d, tw_driftscan_fd(dr.scan), false);
	tw_driftscan_free(dr.scan);
	dr.scan = NULL;
	if (d->policy->drift.nroots &&
	    !tw_driftscan_new(&dr.scan, d->policy->drift.roots, d->policy->drift.nroots))
		watch_fd(d, tw_driftscan_fd(dr.scan), true);
	memset(dr.seen, 0, sizeof(dr.seen));
	memset(dr.reported, 0, sizeof(dr.reported));
}

int dm_drift_init(struct daemon *d)
{
	policy_changed(d);
	if (!dr.fp)
		return -ENOMEM;
	if (d->policy->drift.nroots && !dr.scan) {
		tw_err("drift: cannot watch the roots: out of memory or inotify instances");
		return -ENOMEM;
	}
	return 0;
}

void dm_drift_free(struct daemon *d)
{
	size_t i;

	tw_fp_free(dr.fp);
	tw_driftscan_free(dr.scan);
	for (i = 0; i < dr.ncopies; i++) {
		free(dr.copies[i].tier);
		free(dr.copies[i].secret);
	}
	free(dr.copies);
	memset(&dr, 0, sizeof(dr));
}

/* After a reload, or once changed secret files have settled (force: now). */
static void refresh(struct daemon *d, bool force)
{
	if (dr.policy != d->policy || dr.bpf != d->bpf) {
		policy_changed(d);
	} else if (dr.fp_dirty && (force || tw_now_ns(CLOCK_MONOTONIC) - dr.fp_dirty_at >= DEBOUNCE_NS)) {
		build_fp(d);
		if (dr.scan)
			tw_driftscan_rescan(dr.scan);	/* what was no copy may be one now */
		memset(dr.seen, 0, sizeof(dr.seen));
	}
}

const struct tw_fp *dm_fingerprints(struct daemon *d)
{
	refresh(d, true);	/* never judge by another policy's, or stale, fingerprints */
	return dr.fp;
}

/* ---- checking a file ---- */

struct check {
	struct daemon *d;
	const char *path;
	uint32_t kdev;
	uint64_t ino;
	uint8_t md[SHA256_DIGEST_LENGTH];	/* of its content */
	int reports;
	const char *files[MAX_REPORTS];	/* secret files already named for this file */
};

static const char *const match_names[] = {
	[TW_FP_FILE] = "file", [TW_FP_LINE] = "line", [TW_FP_TOKEN] = "token",
};

static bool protect(struct check *c, const struct tw_fp_hit *h, const char **why)
{
	struct daemon *d = c->d;
	struct copy cp = { .kdev = c->kdev, .ino = c->ino };
	struct copy *nc;

	*why = h->kind != TW_FP_FILE ? "partial_copy" : !d->secrets ? "secrets_not_enforced" :
	       d->policy->drift.mode != TW_MODE_ENFORCE ? "audit_mode" : NULL;
	if (*why)
		return false;
	cp.tier = strdup(dm_tier_name(d, h->tier));
	cp.secret = strdup(d->policy->secrets[h->secret].path);
	nc = realloc(dr.copies, (dr.ncopies + 1) * sizeof(*nc));
	if (!cp.tier || !cp.secret || !nc || push_copy(d, &cp)) {
		free(cp.tier);
		free(cp.secret);
		if (nc)
			dr.copies = nc;
		*why = "secrets_map_full";
		return false;
	}
	dr.copies = nc;
	dr.copies[dr.ncopies++] = cp;
	tw_bpf_bump_file_gen(d->bpf);	/* cached answers for this inode are stale */
	dr.protected++;
	return true;
}

/* Found before in this file with this content? A rescan after new fingerprints tells only news. */
static bool reported_before(const struct check *c, const struct tw_fp_hit *h)
{
	uint8_t key[SHA256_DIGEST_LENGTH], buf[PATH_MAX + 64];
	size_t n = strlen(h->copies) + 1;
	uint64_t k;

	memcpy(buf, c->md, sizeof(c->md));
	memcpy(buf + sizeof(c->md), &c->ino, sizeof(c->ino));
	buf[sizeof(c->md) + sizeof(c->ino)] = h->kind;
	memcpy(buf + sizeof(c->md) + sizeof(c->ino) + 1, h->copies, n < PATH_MAX ? n : PATH_MAX);
	SHA256(buf, sizeof(c->md) + sizeof(c->ino) + 1 + (n < PATH_MAX ? n : PATH_MAX), key);
	memcpy(&k, key, sizeof(k));
	k |= 1;		/* 0 is an empty slot */
	if (dr.reported[k % SEEN] == k)
		return true;
	dr.reported[k % SEEN] = k;
	return false;
}

static void on_hit(void *arg, const struct tw_fp_hit *h)
{
	struct check *c = arg;
	const char *why = NULL;
	char dev[32];
	bool prot;
	json_t *o;
	int i;

	for (i = 0; i < c->reports && strcmp(c->files[i], h->copies); i++)
		;
	if (i < c->reports || c->reports == MAX_REPORTS)
		return;	/* one record per secret file it copies */
	c->files[c->reports++] = h->copies;
	if (reported_before(c, h))
		return;
	prot = protect(c, h, &why);
	snprintf(dev, sizeof(dev), "%u:%u", c->kdev >> 20, c->kdev & 0xfffff);
	o = tw_event_daemon("drift", &c->d->ectx);
	json_object_set_new(o, "kind", json_string("drift"));
	json_object_del(o, "event");
	json_object_update_new(o, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:s?}",
		"path", c->path, "dev", dev, "ino", (json_int_t)c->ino,
		"target_tier", dm_tier_name(c->d, h->tier),
		"secret", c->d->policy->secrets[h->secret].path,
		"copies", h->copies, "rule", c->d->policy->secrets[h->secret].jpath,
		"match", match_names[h->kind], "protected", prot, "reason", why));
	if (h->line)
		json_object_set_new(o, "line", json_integer(h->line));
	dm_log_json(c->d, o);
	dm_log_flush(c->d);
	dr.found++;
	tw_warn("drift: %s %s %s's secret %s%s", c->path, h->kind == TW_FP_FILE ? "is a copy of" :
		"holds part of", dm_tier_name(c->d, h->tier), h->copies,
		prot ? ": protected as that secret" : "");
}

/* Checked before with this very content, against these fingerprints? Then not again. */
static bool seen_before(struct check *c, const void *buf, size_t len)
{
	struct seen *s = &dr.seen[(c->ino ^ c->kdev) % SEEN];

	SHA256(buf, len, c->md);
	if (s->kdev == c->kdev && s->ino == c->ino && !memcmp(s->md, c->md, sizeof(c->md)))
		return true;
	*s = (struct seen){ .kdev = c->kdev, .ino = c->ino };
	memcpy(s->md, c->md, sizeof(c->md));
	return false;
}

static bool is_copy(uint32_t kdev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < dr.ncopies; i++)
		if (dr.copies[i].kdev == kdev && dr.copies[i].ino == ino)
			return true;
	return false;
}

static void check_file(void *arg, const char *path)
{
	struct check c = { .d = arg, .path = path };
	struct stat st;
	ssize_t r = -1;
	char *buf = NULL;
	int fd;

	/* O_NOATIME: looking must not change what `ls -lu` tells an investigator. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size || st.st_size > TW_FP_MAX_FILE)
		goto out;
	c.kdev = tw_kdev(st.st_dev);
	c.ino = st.st_ino;
	if (tw_fp_is_secret_file(dr.fp, c.kdev, c.ino) || is_copy(c.kdev, c.ino))
		goto out;	/* the original, a hard link of it, or protected already */
	buf = malloc(st.st_size);
	if (buf)
		r = tw_read_fd(fd, buf, st.st_size);
	if (r > 0 && !seen_before(&c, buf, r))
		tw_fp_scan(dr.fp, buf, r, 1, (size_t)r <= tw_fp_max_size(dr.fp), 0, on_hit, &c);
out:
	free(buf);
	close(fd);
}

void dm_drift_tick(struct daemon *d)
{
	refresh(d, false);
	if (dr.scan && dr.fp)
		tw_driftscan_work(dr.scan, tw_now_ns(CLOCK_MONOTONIC) + SLICE_NS, check_file, d);
}

bool dm_drift_event(struct daemon *d, int fd)
{
	if (fd < 0)
		return false;
	if (fd == tw_fp_fd(dr.fp)) {
		if (tw_fp_changed(dr.fp) && !dr.fp_dirty) {
			dr.fp_dirty = true;
			dr.fp_dirty_at = tw_now_ns(CLOCK_MONOTONIC);
		}
		return true;
	}
	if (fd == tw_driftscan_fd(dr.scan)) {
		tw_driftscan_events(dr.scan);
		return true;
	}
	return false;
}

json_t *dm_drift_status(struct daemon *d)
{
	json_t *o = tw_driftscan_status(dr.scan);

	json_object_set_new(o, "fingerprints", tw_fp_status(dr.fp));
	json_object_set_new(o, "mode", json_string(d->policy->drift.mode == TW_MODE_AUDIT ?
						   "audit" : "enforce"));
	json_object_set_new(o, "copies_found", json_integer(dr.found));
	json_object_set_new(o, "copies_protected", json_integer(dr.protected));
	return o;
}
