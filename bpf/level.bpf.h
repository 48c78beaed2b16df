/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: what one level of a walk up a file's parents finds, by
 * identities and names only. One copy for the hooks (match.bpf.h walks
 * dentries) and explain (which walks the chain of identities and names the
 * daemon read for a path): a directory's secrets entry, and the name the
 * walk came up through in it.
 */
#ifndef TW_LEVEL_BPF_H
#define TW_LEVEL_BPF_H

#include "secrets.bpf.h"

enum match_state {
	M_NONE,
	M_SECRET,		/* a rule protects it */
	M_STALE,		/* a name on a rule's path changed: the daemon is re-resolving */
	M_DEEP,			/* the walk ran out of depth on a filesystem with protected directories */
	M_DISCONNECTED,		/* a dentry cut off from its parents (open_by_handle_at) */
	M_UNPLACED,		/* below more mounts than the walk looks through */
};

struct match {
	struct tw_secret_val v;	/* the rule: M_SECRET, M_STALE */
	__u8 state;
};

/* Does a secrets entry protect what it names (not only hold watched names)? */
static __always_inline bool entry_protects(const struct tw_secret_val *v, struct match *m)
{
	if (!v->is_dir && (v->flags & (TW_SV_NAMES | TW_SV_NAMES_PATH)))
		return false;
	if (v->flags & TW_SV_PATH) {
		if (!slot_stale(v->slot))
			return false;
		m->state = M_STALE;
	} else {
		m->state = M_SECRET;
	}
	m->v = *v;
	return true;
}

/* A watched name: a rule's own name protects; a name on its way, while it is stale. */
static __always_inline bool name_protects(const struct tw_fname_val *n, struct match *m)
{
	if (n->what & (TW_FN_FILE | TW_FN_DIR))
		m->state = M_SECRET;
	else if (slot_stale(n->slot))
		m->state = M_STALE;
	else
		return false;
	__builtin_memset(&m->v, 0, sizeof(m->v));
	m->v.secret = n->secret;
	m->v.tier = n->tier;
	m->v.is_dir = !!(n->what & TW_FN_DIR);
	return true;
}

/*
 * One level: the entry of directory k (igen: its inode's i_generation),
 * and whether the name the walk came up through must be looked up in it
 * (a directory of watched names; names on a rule's way only while some
 * name is stale).
 */
static __always_inline struct tw_secret_val *level_dir(const struct tw_secret_key *k, __u32 igen,
						       bool any_gen, bool stale, bool *names)
{
	struct tw_secret_val *v = entry_at(k, igen, any_gen);

	*names = v && ((v->flags & TW_SV_NAMES) || ((v->flags & TW_SV_NAMES_PATH) && stale));
	return v;
}

/* ... and what it says, given that name's watch n (NULL: none, or not looked up): true ends the walk. */
static __always_inline bool level_protects(const struct tw_secret_val *v, const struct tw_fname_val *n,
					   struct match *m)
{
	if (n && name_protects(n, m))
		return true;
	return v && v->is_dir && entry_protects(v, m);
}

#endif
