// SPDX-License-Identifier: GPL-2.0
/* The explainer: load and run bpf/explain.bpf.c (see explainer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "explainer.h"
#include "explain.skel.h"
#include "fill.h"
#include "lsm.h"

struct tw_explainer {
	struct explain_bpf *skel;
};

int tw_explainer_open(struct tw_explainer **out)
{
	struct tw_explainer *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->skel = explain_bpf__open_opts(tw_open_opts());
	if (!x->skel) {
		int err = -errno;

		free(x);
		return err;
	}
	*out = x;
	return 0;
}

struct bpf_object *tw_explainer_object(struct tw_explainer *x)
{
	return x->skel->obj;
}

/* A map nobody shared with us: as small as the question needs. */
static void size_own(struct bpf_map *m, uint32_t n)
{
	if (bpf_map__fd(m) < 0)
		bpf_map__set_max_entries(m, n ? n : 1);
}

int tw_explainer_load(struct tw_explainer *x, const struct tw_tables *t, uint32_t nhosts,
		      uint32_t nsecrets, char *why, size_t len)
{
	struct explain_bpf *s = x->skel;
	int err;

	size_own(s->maps.rules, t ? t->nrules : 0);
	size_own(s->maps.v4_blocks, t ? t->ndense : 0);
	size_own(s->maps.v4_l24, t ? t->nl24 : 0);
	size_own(s->maps.v4_tail, t ? t->tail_len / TW_DIR_TAIL_SIZE : 0);
	size_own(s->maps.v6_pfx, t ? t->nv6 : 0);
	size_own(s->maps.names, t ? t->nnames : 0);
	size_own(s->maps.host_addrs, nhosts);
	size_own(s->maps.secrets, nsecrets);
	size_own(s->maps.secret_devs, nsecrets);
	size_own(s->maps.fnames, 0);
	size_own(s->maps.name_state, 0);
	size_own(s->maps.cgroup_tiers, 0);
	size_own(s->maps.flood, 0);
	/* Never written by explain; a ring buffer is at least a page. */
	if (bpf_map__fd(s->maps.events) < 0)
		bpf_map__set_max_entries(s->maps.events, sysconf(_SC_PAGESIZE));
	err = explain_bpf__load(s);
	if (err)
		snprintf(why, len, "the kernel refused the explain program: %s", strerror(-err));
	return err;
}

int tw_explainer_fill(struct tw_explainer *x, const struct tw_tables *t, const struct tw_policy *p)
{
	int err = tw_fill_tables(x->skel->obj, t, p);

	return err ? err : tw_fill_names(x->skel->maps.names, t);
}

int tw_explainer_host(struct tw_explainer *x, const struct tw_host_key *k, const struct tw_host_val *v)
{
	return bpf_map_update_elem(bpf_map__fd(x->skel->maps.host_addrs), k, v, 0) ? -errno : 0;
}

int tw_explainer_secret(struct tw_explainer *x, const struct tw_secret_key *k,
			const struct tw_secret_val *v)
{
	return bpf_map_update_elem(bpf_map__fd(x->skel->maps.secrets), k, v, 0) ? -errno : 0;
}

int tw_explainer_secret_dev(struct tw_explainer *x, uint32_t dev)
{
	uint32_t one = 1;

	return bpf_map_update_elem(bpf_map__fd(x->skel->maps.secret_devs), &dev, &one, 0) ?
	       -errno : 0;
}

int tw_explainer_run(struct tw_explainer *x, struct tw_explain *io)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd = bpf_map__fd(x->skel->maps.explain_io);
	uint32_t zero = 0;

	if (bpf_map_update_elem(fd, &zero, io, 0) ||
	    bpf_prog_test_run_opts(bpf_program__fd(x->skel->progs.tw_explain), &opts) ||
	    bpf_map_lookup_elem(fd, &zero, io))
		return -errno;
	return opts.retval ? -EIO : 0;
}

void tw_explainer_free(struct tw_explainer *x)
{
	if (!x)
		return;
	explain_bpf__destroy(x->skel);
	free(x);
}
