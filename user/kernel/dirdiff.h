/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A reload's destination tables written into the loaded maps in place
 * (dirdiff.c), and the rule slots that let the unchanged rules keep their
 * numbers (ruleslots.c): no program is reloaded, and at every instant each
 * address is judged by the old or by the new policy.
 */
#ifndef TW_DIRDIFF_H
#define TW_DIRDIFF_H

#include <stdint.h>
#include "compile.h"
#include "loader.h"
#include "policy.h"

/*
 * A table for n entries with room for the entries an in-place reload adds
 * before it removes: n/16, at least least (loader.c sizes the maps with it).
 */
uint32_t tw_dirdiff_room(uint32_t n, uint32_t least);

/* The loaded maps, mapped for one reload. */
struct tw_dirdiff;

struct tw_dirdiff_stats {
	uint32_t changed16;		/* /16s whose entries changed */
	uint32_t l24_set, l24_del;	/* hashed /24 entries written, deleted */
	uint32_t v6_set, v6_del;
	uint32_t blocks, tails;		/* fresh dense and nibble blocks */
};

int tw_dirdiff_open(struct tw_bpf *b, struct tw_dirdiff **out);
void tw_dirdiff_close(struct tw_dirdiff *dd);
/* The loaded rules (cap slots) as the programs read them. */
const struct tw_rule *tw_dirdiff_rules(struct tw_dirdiff *dd, uint32_t *cap);

struct tw_slots;

/*
 * What writing nt (its values rule indexes of the new policy, renumbered
 * by s) over the maps that live describes needs: -ENOSPC if the maps lack
 * room or the IPv6 lengths would grow (v6_lens cannot change atomically);
 * the caller swaps programs instead. Nothing is written.
 */
int tw_dirdiff_plan(struct tw_dirdiff *dd, const struct tw_tables *live, struct tw_tables *nt,
		    const struct tw_slots *s, struct tw_dirdiff_stats *st);
/*
 * Then write it: the rules of the fresh slots first, then each changed
 * entry, a new subtree complete before the one store that links it, hash
 * entries added before the level above stops using them and deleted
 * after. Nothing already linked is reused: fresh blocks come from those
 * unreachable when the reload began (the programs ended with the last
 * reload's sync). On success nt becomes the mirror of the maps (live's
 * successor: values by slot, its blocks, tail and rules only in the kernel).
 */
int tw_dirdiff_write(struct tw_dirdiff *dd, struct tw_dirdiff_stats *st);

/* Rule slots: where each new rule lives in the rules map. */
struct tw_slots {
	uint32_t n;		/* slots spanned: the permuted arrays' size */
	uint32_t *of;		/* new rule index -> slot */
	uint8_t *fresh;		/* per slot: a rule this reload writes */
	uint8_t *retired;	/* per slot: an old rule the new policy drops */
	uint8_t *dirty16;	/* per /16: a fresh or retired rule covers part of it */
};

/*
 * A new rule keeps the slot of an old one with the same prefix, tier,
 * ports and (by slot) parent; the others take slots no old rule uses.
 * -ENOSPC if the rules map is full.
 */
int tw_slots_assign(const struct tw_policy *op, const struct tw_rule *krules, uint32_t cap,
		    const struct tw_policy *np, const struct tw_tables *nt, struct tw_slots *s);
/* The slot reference of a new table value (rule index + 1 or a link). */
uint32_t tw_slots_ref(const struct tw_slots *s, uint32_t v);
/*
 * The new rules into the loaded policy op, by slot (kept ones take their
 * new text position): the retired ones stay until tw_slots_retire, after
 * the programs synced, as events may still name them.
 */
int tw_slots_adopt(const struct tw_slots *s, const struct tw_policy *np, struct tw_policy *op);
void tw_slots_retire(const struct tw_slots *s, struct tw_policy *p);
void tw_slots_free(struct tw_slots *s);
/* Rules of p that are not empty slots. */
int tw_slots_count(const struct tw_policy *p);

#endif
