// SPDX-License-Identifier: GPL-2.0
/*
 * What every loaded object does with the net object: reuse its maps (one
 * set of tags, one ring buffer) and hand over its programs to attach. The
 * bottom of the loader: loader.c and objects.c call it, it calls neither.
 */
#include <string.h>
#include "loader_int.h"

void tw_obj_add_progs(struct tw_bpf *b, struct bpf_object *obj)
{
	struct bpf_program *p;

	/* Programs to attach; the syscall one is run by the daemon instead. */
	bpf_object__for_each_program(p, obj)
		if (bpf_program__autoload(p) && b->nprogs < MAX_PROGS &&
		    bpf_program__type(p) != BPF_PROG_TYPE_SYSCALL)
			b->progs[b->nprogs++] = p;
}

int tw_obj_share_maps(struct tw_bpf *b, struct bpf_object *obj)
{
	struct bpf_map *m, *own;
	int err;

	bpf_object__for_each_map(m, obj) {
		if (strchr(bpf_map__name(m), '.'))
			continue;	/* .rodata and friends are per object */
		own = bpf_object__find_map_by_name(b->net->obj, bpf_map__name(m));
		if (!own)
			continue;
		err = bpf_map__reuse_fd(m, bpf_map__fd(own));
		if (err)
			return err;
	}
	return 0;
}
