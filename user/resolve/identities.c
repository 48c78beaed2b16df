// SPDX-License-Identifier: GPL-2.0
/*
 * The identities a secret rule protects: what it names now (a directory:
 * and every file already below it, walked), the superblocks they are on,
 * and the last few it named before, kept until no rule names them. The
 * bottom of the resolver: secrets.c (at start) and names.c (when a name
 * changes) take what a rule names through here; it calls neither.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "log.h"
#include "secrets_int.h"
#include "util.h"

/*
 * One identity: into the list pushed at start (b NULL), or straight into
 * the kernel. At start, two policy paths naming one file are fine for one
 * owner and a conflict for two.
 */
static int add(struct tw_secrets *s, struct tw_bpf *b, const struct tw_secret_key *k,
	       const struct tw_secret_val *v)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[v->secret];
	struct entry *e;
	uint32_t i;

	if (b)
		return tw_bpf_merge_secret(b, k, v);
	for (i = 0; !v->learned && i < s->n; i++) {
		e = &s->e[i];
		if (e->val.learned || memcmp(&e->key, k, sizeof(*k)))
			continue;
		if (e->val.tier == v->tier)
			return 0;
		tw_err("%s: %s: \"%s\" is the same file as %s, which another tier owns",
		       s->file, ps->jpath, ps->path, s->policy->secrets[e->val.secret].jpath);
		return -EINVAL;
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;

		e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n++] = (struct entry){ .key = *k, .val = *v };
	return 0;
}

int tw_secrets_add_dev(struct tw_secrets *s, struct tw_bpf *b, uint32_t dev)
{
	uint32_t i, *nd;

	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i] == dev)
			return 0;
	nd = realloc(s->devs, (s->ndevs + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	s->devs = nd;
	s->devs[s->ndevs++] = dev;
	return b ? tw_bpf_add_secret_dev(b, dev) : 0;
}

/* nftw has no user argument; the daemon resolves from one thread. */
static struct tw_secrets *walk_s;
static struct tw_bpf *walk_b;
static int walk_secret, walk_err;
static uint32_t walk_dev;	/* 0: each file's own; else the device the kernel keys them by */

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	const struct tw_policy_secret *ps = &walk_s->policy->secrets[walk_secret];
	struct tw_secret_val v = { .secret = walk_secret, .tier = ps->tier, .learned = 1 };
	struct tw_secret_key k = { .dev = walk_dev ? walk_dev : tw_kdev(st->st_dev), .ino = st->st_ino };

	if (type == FTW_D || type == FTW_DP || !f->level)
		return 0;
	if (!walk_b && walk_s->n >= TW_SECRETS_MAX_FILES) {
		tw_err("%s: more than %d files below protected directories",
		       walk_s->file, TW_SECRETS_MAX_FILES);
		walk_err = -E2BIG;
		return 1;
	}
	walk_err = add(walk_s, walk_b, &k, &v);
	return walk_err ? 1 : 0;
}

/* Forget the oldest identity of rule i unless some rule names it now. */
static void retire(struct tw_secrets *s, struct tw_bpf *b, struct rule *r)
{
	const struct tw_secret_key *old = &r->ids[0];
	int i;

	for (i = 0; i < s->policy->nsecrets; i++)
		if (s->r[i].ch.found && !memcmp(&s->r[i].ch.key, old, sizeof(*old)))
			break;
	if (i == s->policy->nsecrets && b)
		tw_bpf_drop_secret(b, old);
	memmove(r->ids, r->ids + 1, (TW_RETAIN - 1) * sizeof(r->ids[0]));
	r->nids--;
}

int tw_secrets_take(struct tw_secrets *s, struct tw_bpf *b, int i)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[i];
	struct rule *r = &s->r[i];
	struct tw_secret_val v = {
		.secret = i, .tier = ps->tier, .is_dir = r->ch.is_dir,
		.flags = r->ch.igen_ok ? TW_SV_IGEN : 0, .igen = r->ch.igen,
	};
	struct statfs sfs;
	int j, err;

	err = add(s, b, &r->ch.key, &v);
	if (err)
		return err;
	for (j = 0; j < r->nids && memcmp(&r->ids[j], &r->ch.key, sizeof(r->ch.key)); j++)
		;
	if (j == r->nids) {
		if (r->nids == TW_RETAIN)
			retire(s, b, r);
		r->ids[r->nids++] = r->ch.key;
	}
	if (!r->ch.is_dir)
		return 0;
	/* Files below it are judged by walking up to it: its filesystem is walked. */
	err = tw_secrets_add_dev(s, b, r->ch.sbdev);
	if (err)
		return err;
	walk_s = s;
	walk_b = b;
	walk_secret = i;
	walk_err = 0;
	walk_dev = !s->subvols && !statfs(ps->path, &sfs) && sfs.f_type == BTRFS_SUPER_MAGIC ?
		   r->ch.sbdev : 0;
	if (nftw(ps->path, walk_cb, 32, FTW_PHYS | FTW_MOUNT) < 0 && !walk_err && errno != ENOENT) {
		tw_err("%s: %s: cannot walk \"%s\": %s", s->file, ps->jpath, ps->path, strerror(errno));
		return -errno;
	}
	return walk_err;
}
