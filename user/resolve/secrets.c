// SPDX-License-Identifier: GPL-2.0
/*
 * Secret paths resolved to identities: each path name by name (chain.c),
 * what it names now (a file; or a directory and every file already below
 * it, so an existing hard link elsewhere is caught by identity), and the
 * names on its way, which the kernel watches (names.c). A path that does
 * not exist yet is protected from the moment its last name is created:
 * its first missing name is watched, and the daemon resolves on from there.
 * What a rule names is taken in identities.c, below this file and names.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "log.h"
#include "secrets_int.h"
#include "util.h"

const char *tw_dev_mount(uint32_t kdev, char *out, size_t len)
{
	char line[4096], want[32], root[PATH_MAX], mnt[PATH_MAX], devs[32];
	const char *found = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return NULL;
	snprintf(want, sizeof(want), "%u:%u", kdev >> 20, kdev & 0xfffff);
	/* "id parent maj:min root mountpoint ...": the mount of the fs root wins. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %31s %4095s %4095s", devs, root, mnt) != 3 ||
		    strcmp(devs, want))
			continue;
		if (!found || !strcmp(root, "/")) {
			snprintf(out, len, "%s", mnt);
			found = out;
			if (!strcmp(root, "/"))
				break;
		}
	}
	fclose(f);
	return found;
}

/* Resolve rule i; what it names is protected (b NULL: listed for the first push). */
static int resolve_rule(struct tw_secrets *s, struct tw_bpf *b, int i)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[i];
	struct rule *r = &s->r[i];
	int err = tw_chain_resolve(ps->path, s->subvols, &r->ch);

	if (err) {
		tw_err("%s: %s: cannot resolve \"%s\": %s", s->file, ps->jpath, ps->path, strerror(-err));
		return err;
	}
	if (!r->ch.found)
		return 0;
	if (r->ch.kind == TW_CHAIN_NOT_DIR) {
		tw_err("%s: %s: \"%s\" is not a directory (drop the trailing /)", s->file, ps->jpath,
		       ps->path);
		return -ENOTDIR;
	}
	if (r->ch.kind == TW_CHAIN_IS_DIR) {
		tw_err("%s: %s: \"%s\" is a directory: end it with / to protect everything below it",
		       s->file, ps->jpath, ps->path);
		return -EISDIR;
	}
	return tw_secrets_take(s, b, i);
}

int tw_secrets_resolve(struct tw_secrets **out, const struct tw_policy *p, const char *file)
{
	struct tw_secrets *s = calloc(1, sizeof(*s));
	int i, err = 0;

	if (!s)
		return -ENOMEM;
	s->policy = p;
	s->file = file;
	s->subvols = tw_chain_subvols();
	s->r = calloc(p->nsecrets + 1, sizeof(*s->r));
	if (!s->r) {
		free(s);
		return -ENOMEM;
	}
	for (i = 0; i < p->nsecrets && !err; i++) {
		err = resolve_rule(s, NULL, i);
		if (!err && !s->r[i].ch.found)
			tw_info("%s: \"%s\" does not exist yet: protected as soon as it is created",
				p->secrets[i].jpath, p->secrets[i].path);
	}
	if (err) {
		tw_secrets_free(s);
		return err;
	}
	*out = s;
	return 0;
}

uint32_t tw_secrets_count(const struct tw_secrets *s)
{
	uint32_t n = s->n;
	int i;

	/* Directories holding watched names have entries too. */
	for (i = 0; i < s->policy->nsecrets; i++)
		n += s->r[i].ch.n;
	return n;
}

void tw_secrets_size_maps(const struct tw_secrets *s, struct tw_bpf_opts *o)
{
	uint32_t names = 0;
	int i;

	o->files = true;
	o->secrets_capacity = tw_secrets_count(s) + TW_SECRETS_HEADROOM;
	/* Every name on every rule's way (an upper bound), plus room for names that arrive later. */
	for (i = 0; i < s->policy->nsecrets; i++)
		names += s->r[i].ch.n;
	o->names_capacity = names + TW_NAMES_DEFAULT;
}

int tw_secrets_push(struct tw_secrets *s, struct tw_bpf *b)
{
	uint32_t i, pass;
	int err;

	/* Devices first: a directory entry without its device would not be walked to. */
	for (i = 0; i < s->ndevs; i++) {
		err = tw_bpf_add_secret_dev(b, s->devs[i]);
		if (err)
			return err;
	}
	/* Files found below directories first, so a path the policy names wins. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->n; i++) {
			if (s->e[i].val.learned != !pass)
				continue;
			err = tw_bpf_merge_secret(b, &s->e[i].key, &s->e[i].val);
			if (err)
				return err;
		}
	}
	err = tw_names_push(s, b);
	tw_bpf_bump_file_gen(b);
	return err;
}

/* The kernel says when a watched name changes (tw_secrets_tick): no inotify. */
bool tw_secrets_subvols(const struct tw_secrets *s)
{
	return s->subvols;
}

int tw_secrets_fd(const struct tw_secrets *s)
{
	return -1;
}

int tw_secrets_poll(struct tw_secrets *s, struct tw_bpf *b,
		    void (*cb)(void *arg, const char *path), void *arg)
{
	return 0;
}

int tw_secrets_pending(const struct tw_secrets *s)
{
	int i, n = 0;

	for (i = 0; s && i < s->policy->nsecrets; i++)
		n += !s->r[i].ch.found;
	return n;
}

void tw_secrets_free(struct tw_secrets *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->devs);
	free(s->r);
	free(s->nm);
	free(s);
}
