// SPDX-License-Identifier: GPL-2.0
/*
 * explain: the decision the hooks would make, for any caller and target,
 * from the live maps. Run by the daemon with BPF_PROG_TEST_RUN; it calls
 * the same functions the hooks do (tier_of, dst_owner, name_owner,
 * secret_at and file_owner, mode_verdict), never a second copy, and
 * records and counts nothing.
 *
 * A raw_tp program rather than a syscall one: syscall programs are
 * sleepable, and sleepable programs may not use LPM tries (v6_lpm, names).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "dst.bpf.h"
#include "names.bpf.h"
#include "secret.bpf.h"

/* The question and the answer: one slot, written and read by the daemon around each run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_explain);
	__uint(max_entries, 1);
} explain_io SEC(".maps");

static __always_inline int explain_net(struct tw_explain *x, struct decision *d)
{
	__u32 w[4], host = 0;
	struct dst dst = {};
	int owner;

	__builtin_memcpy(w, x->addr, 16);
	/* As an unbound socket would send it: 0.0.0.0 and :: to loopback. */
	if (x->family == 4)
		dst_v4(&dst, w[0], 0, false);
	else
		dst_v6(&dst, w[0], w[1], w[2], w[3], false, 0);
	dst.port = x->port;
	owner = dst_owner(&dst, d, &host);
	x->host = host;
	x->judged_family = dst.family;
	__builtin_memcpy(x->judged, dst.ip, 16);
	return owner;
}

/* The walk files.bpf.c makes over dentries, over the identities the daemon read. */
static __always_inline int explain_file(struct tw_explain *x, struct decision *d)
{
	struct tw_secret_val *v;
	bool too_deep = false;
	int i;

	if (!x->nfiles)
		return OWNER_NONE;
	v = secret_at(&x->files[0], 0);
	if (!v && secret_dev_walks(x->files[0].dev)) {
		for (i = 1; i < TW_EXPLAIN_FILES; i++) {
			if (i >= x->nfiles)
				break;
			v = secret_at(&x->files[i], i);
			if (v)
				break;
		}
		too_deep = !v && x->more_parents;
	}
	x->too_deep = too_deep;
	return file_owner(v, too_deep, d);
}

SEC("raw_tp")
int tw_explain(void *ctx)
{
	struct decision d = {};
	struct tw_explain *x;
	__u32 zero = 0;
	int owner = OWNER_NONE;

	x = bpf_map_lookup_elem(&explain_io, &zero);
	if (!x)
		return 1;
	if (x->tier_given)
		d.tier = x->tier;
	else
		tier_of(TIER_GIVEN, x->ancestors, &d);
	x->out_tier = d.tier;
	x->tagged = d.tagged;
	x->target_tier = 0;
	x->rule = 0;
	x->host = 0;
	x->too_deep = 0;
	x->judged_family = 0;
	/* Untiered callers: every hook lets them through at once. */
	if (d.tier != TW_TIER_NONE) {
		if (x->what == TW_EXPLAIN_NET)
			owner = explain_net(x, &d);
		else if (x->what == TW_EXPLAIN_NAME)
			owner = name_owner(&x->name, &d);
		else if (x->what == TW_EXPLAIN_FILE)
			owner = explain_file(x, &d);
		else if (x->what == TW_EXPLAIN_REFUSAL)
			owner = OWNER_OTHER;
	}
	x->owner = owner;
	x->target_tier = d.target;
	x->rule = d.rule;
	x->verdict = owner == OWNER_OTHER ? mode_verdict(&d) : TW_VERDICT_ALLOW;
	x->recorded = owner == OWNER_OTHER || (owner == OWNER_SELF && logs_all(d.tier));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
