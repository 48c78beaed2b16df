// SPDX-License-Identifier: GPL-2.0
/*
 * The names rules watch: in the kernel's fnames, one name_state slot each,
 * and here. When the kernel says names changed (it bumped their slots),
 * every rule through them is resolved again, what it names now is
 * protected and reported, the names are brought up to date, and only then
 * are the slots marked resolved, which ends the kernel's refusals behind
 * them. A name created while this runs is caught by resolving once more.
 * The hooks count a change before it is done: each directory on the way is
 * read first (chain.c's settled resolve), which waits for an operation
 * still under way there, so a slot is never marked resolved on what its
 * name was just before the change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "secrets_int.h"

#define TW_SETTLE	8	/* resolutions per rule per tick, until what it names holds still */

static struct wname *find(struct tw_secrets *s, const struct tw_fname_key *k)
{
	uint32_t i;

	for (i = 0; i < s->nnm; i++)
		if ((s->nm[i].live || s->nm[i].want) && !memcmp(&s->nm[i].key, k, sizeof(*k)))
			return &s->nm[i];
	return NULL;
}

/* A slot for a new name: a free one, or the next; it starts resolved. */
static struct wname *slot_new(struct tw_secrets *s, struct tw_bpf *b, const struct tw_fname_key *k)
{
	struct tw_name_state *ns;
	struct wname *w = NULL;
	uint32_t i, cap;

	ns = tw_bpf_name_state(b, &cap);
	for (i = 0; i < s->nnm && !w; i++)
		if (!s->nm[i].live && !s->nm[i].want)
			w = &s->nm[i];
	if (!w) {
		if (s->nnm + 1 >= cap)
			return NULL;	/* slot 0 is everyone's */
		if (s->nnm == s->capnm) {
			uint32_t c = s->capnm ? s->capnm * 2 : 64;

			w = realloc(s->nm, c * sizeof(*w));
			if (!w)
				return NULL;
			s->nm = w;
			s->capnm = c;
		}
		w = &s->nm[s->nnm++];
	}
	memset(w, 0, sizeof(*w));
	w->key = *k;
	w->val.slot = w - s->nm + 1;
	if (ns)
		__atomic_store_n(&ns[w->val.slot].resolved,
				 __atomic_load_n(&ns[w->val.slot].changed, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	return w;
}

/* Make the kernel's names what the rules pass now: new ones first, gone ones last. */
int tw_names_push(struct tw_secrets *s, struct tw_bpf *b)
{
	uint32_t i;
	int j, k, err = 0;

	for (i = 0; i < s->nnm; i++)
		s->nm[i].want = false;
	for (j = 0; j < s->policy->nsecrets; j++) {
		const struct tw_chain *c = &s->r[j].ch;
		int tier = s->policy->secrets[j].tier;

		for (k = 0; k < c->n; k++) {
			const struct tw_link *l = &c->link[k];
			struct tw_secret_val dv = {
				.flags = l->what & (TW_FN_FILE | TW_FN_DIR) ? TW_SV_NAMES : TW_SV_NAMES_PATH,
			};
			struct wname *w = find(s, &l->key);

			if (!w && !(w = slot_new(s, b, &l->key))) {
				tw_err("%s: more watched names than the kernel has room for (%u)", s->file, s->nnm);
				return -ENOSPC;
			}
			if (!w->want) {
				w->want = true;
				w->val.secret = j;
				w->val.tier = tier;
				w->val.what = 0;
			} else if (w->val.tier != tier) {
				w->val.tier = 0;	/* rules of several tiers pass here: every tier is refused */
			}
			if (l->what & (TW_FN_FILE | TW_FN_DIR))
				w->val.secret = j;	/* events name the rule whose own name it is */
			w->val.what |= l->what;
			err = tw_bpf_merge_secret(b, &l->key.dir, &dv);
			if (!err)
				err = tw_secrets_add_dev(s, b, l->sbdev);
			if (err)
				return err;
		}
	}
	for (i = 0; i < s->nnm && !err; i++) {
		if (s->nm[i].want) {
			err = tw_bpf_set_fname(b, &s->nm[i].key, &s->nm[i].val);
			s->nm[i].live = !err;
		}
	}
	for (i = 0; i < s->nnm && !err; i++) {
		if (s->nm[i].live && !s->nm[i].want) {
			err = tw_bpf_set_fname(b, &s->nm[i].key, NULL);
			s->nm[i].live = false;
		}
	}
	return err;
}

static bool passes(const struct rule *r, const struct tw_fname_key *k)
{
	int i;

	for (i = 0; i < r->ch.n; i++)
		if (!memcmp(&r->ch.link[i].key, k, sizeof(*k)))
			return true;
	return false;
}

/* Resolve rule i again; report what it names now if that changed. false: it could not be. */
static bool refresh(struct tw_secrets *s, struct tw_bpf *b, int i, const struct tw_secrets_report *rep)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[i];
	struct rule *r = &s->r[i];
	struct tw_chain was = r->ch;
	int err = tw_chain_resolve_settled(ps->path, s->subvols, &r->ch);

	if (err) {
		if (err != r->err)
			tw_err("%s: %s: cannot resolve \"%s\" again: %s (what lies behind its changed names "
			       "stays refused to other tiers)", s->file, ps->jpath, ps->path, strerror(-err));
		r->err = err;
		r->ch = was;
		return false;
	}
	r->err = 0;
	if (!r->ch.found || (was.found && !memcmp(&was.key, &r->ch.key, sizeof(was.key))))
		return true;
	/* What it named last, even if a tick saw it missing in between (mv a b; mv c a). */
	if (!was.found && r->nids) {
		was.key = r->ids[r->nids - 1];
		was.found = true;
		if (!memcmp(&was.key, &r->ch.key, sizeof(was.key)))
			return true;	/* back to what it named: still protected */
	}
	/* Whatever it names now is protected, file or directory (a changed kind fails closed). */
	err = tw_secrets_take(s, b, i);
	if (err) {
		tw_err("%s: %s: \"%s\" names something new that cannot be protected: %s", s->file,
		       ps->jpath, ps->path, strerror(-err));
		return false;
	}
	if (!was.found && rep->appeared)
		rep->appeared(rep->arg, ps->path);
	else if (was.found && rep->rotated)
		rep->rotated(rep->arg, ps, &was.key, &r->ch.key);
	return true;
}

/*
 * Re-resolve the rules through names the kernel saw change (every rule:
 * all), until what they name holds still; then mark those names resolved,
 * and slot 0 once no watched name is left waiting. 1: not settled (a
 * path could not be resolved, or kept moving): the next tick tries again.
 */
static int settle(struct tw_secrets *s, struct tw_bpf *b, const struct tw_secrets_report *rep,
		  struct tw_name_state *ns, bool all_rules)
{
	uint64_t all = __atomic_load_n(&ns[0].changed, __ATOMIC_ACQUIRE), c;
	bool *dirty, ok = true, moved;
	int j, round, err = 0;
	uint32_t i;

	dirty = calloc(s->policy->nsecrets + 1, sizeof(*dirty));
	if (!dirty)
		return -ENOMEM;
	for (j = 0; all_rules && j < s->policy->nsecrets; j++)
		dirty[j] = true;
	for (i = 0; i < s->nnm; i++) {
		struct wname *w = &s->nm[i];

		w->seen = 0;
		if (!w->live)
			continue;
		c = __atomic_load_n(&ns[w->val.slot].changed, __ATOMIC_ACQUIRE);
		if (c == __atomic_load_n(&ns[w->val.slot].resolved, __ATOMIC_ACQUIRE))
			continue;
		w->seen = c;
		for (j = 0; j < s->policy->nsecrets; j++)
			dirty[j] |= passes(&s->r[j], &w->key);
	}
	/* Until it holds still: a name created before it was watched is found this way. */
	for (round = 0, moved = true; moved && round < TW_SETTLE; round++) {
		moved = false;
		for (j = 0; j < s->policy->nsecrets; j++) {
			struct tw_chain was = s->r[j].ch;

			if (!dirty[j])
				continue;
			ok &= refresh(s, b, j, rep);
			moved |= !tw_chain_same(&was, &s->r[j].ch);
		}
		err = tw_names_push(s, b);
		tw_bpf_bump_file_gen(b);
		if (err) {
			ok = false;
			break;
		}
	}
	free(dirty);
	if (!ok || moved)
		return err ? err : 1;	/* stays stale: the next tick tries again */
	for (i = 0; i < s->nnm; i++)
		if (s->nm[i].live && s->nm[i].seen)
			__atomic_store_n(&ns[s->nm[i].val.slot].resolved, s->nm[i].seen, __ATOMIC_RELEASE);
	for (i = 0; i < s->nnm; i++)
		if (s->nm[i].live && __atomic_load_n(&ns[s->nm[i].val.slot].changed, __ATOMIC_ACQUIRE) !=
				     __atomic_load_n(&ns[s->nm[i].val.slot].resolved, __ATOMIC_ACQUIRE))
			return 0;	/* changed meanwhile: next tick */
	__atomic_store_n(&ns[0].resolved, all, __ATOMIC_RELEASE);
	return 0;
}

int tw_secrets_tick(struct tw_secrets *s, struct tw_bpf *b, const struct tw_secrets_report *rep)
{
	struct tw_name_state *ns;
	uint32_t cap;
	int err;

	ns = s ? tw_bpf_name_state(b, &cap) : NULL;
	if (ns && s->resync)
		return tw_secrets_resync(s, b, rep);
	if (!ns || __atomic_load_n(&ns[0].changed, __ATOMIC_ACQUIRE) ==
		   __atomic_load_n(&ns[0].resolved, __ATOMIC_ACQUIRE))
		return 0;
	err = settle(s, b, rep, ns, false);
	return err < 0 ? err : 0;
}

int tw_secrets_resync(struct tw_secrets *s, struct tw_bpf *b, const struct tw_secrets_report *rep)
{
	struct tw_name_state *ns;
	uint32_t cap;
	int err;

	ns = s ? tw_bpf_name_state(b, &cap) : NULL;
	if (!ns)
		return 0;
	/* No slot says what changed before the programs watched: until every path settles, all again. */
	err = settle(s, b, rep, ns, true);
	s->resync = err != 0;
	return err < 0 ? err : 0;
}
