// SPDX-License-Identifier: GPL-2.0
/*
 * The secret-file maps from userspace: identities merged with what an
 * entry says about watched names in a directory, the watched names, and
 * the name_state slots the kernel bumps and the daemon marks resolved
 * (mmapped: the daemon's store must not overwrite a concurrent bump).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "loader_int.h"

#define NAMES_ANY	(TW_SV_NAMES | TW_SV_NAMES_PATH)

int tw_files_map_names(struct tw_bpf *b, char *why, size_t len)
{
	struct bpf_map *m = b->files->maps.name_state;
	size_t page = sysconf(_SC_PAGESIZE);
	size_t sz = (bpf_map__max_entries(m) * sizeof(struct tw_name_state) + page - 1) / page * page;
	void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);

	if (p == MAP_FAILED) {
		snprintf(why, len, "cannot map the name_state map: %s", strerror(errno));
		return -errno;
	}
	b->names = p;
	b->nnames = bpf_map__max_entries(m);
	return 0;
}

void tw_files_unmap_names(struct tw_bpf *b)
{
	size_t page = sysconf(_SC_PAGESIZE);

	if (b->names)
		munmap(b->names, (b->nnames * sizeof(struct tw_name_state) + page - 1) / page * page);
	b->names = NULL;
}

/* Protects what it names, or only holds watched names? */
static bool protects(const struct tw_secret_val *v)
{
	return v->is_dir || !(v->flags & NAMES_ANY);
}

int tw_bpf_merge_secret(struct tw_bpf *b, const struct tw_secret_key *k,
			const struct tw_secret_val *v)
{
	struct tw_secret_val cur, nv = *v;
	int fd;

	if (!b->files)
		return -EOPNOTSUPP;
	fd = bpf_map__fd(b->files->maps.secrets);
	if (!bpf_map_lookup_elem(fd, k, &cur)) {
		if (!protects(v))
			nv = cur;	/* names only: the protection already there stays */
		nv.flags |= (cur.flags | v->flags) & NAMES_ANY;
	}
	return bpf_map_update_elem(fd, k, &nv, 0) ? -errno : 0;
}

int tw_bpf_drop_secret(struct tw_bpf *b, const struct tw_secret_key *k)
{
	struct tw_secret_val cur;
	int fd;

	if (!b->files)
		return -EOPNOTSUPP;
	fd = bpf_map__fd(b->files->maps.secrets);
	if (bpf_map_lookup_elem(fd, k, &cur))
		return 0;
	if (!(cur.flags & NAMES_ANY))
		return bpf_map_delete_elem(fd, k) && errno != ENOENT ? -errno : 0;
	cur.is_dir = 0;
	cur.tier = 0;
	cur.flags &= NAMES_ANY;
	return bpf_map_update_elem(fd, k, &cur, 0) ? -errno : 0;
}

int tw_bpf_set_fname(struct tw_bpf *b, const struct tw_fname_key *k, const struct tw_fname_val *v)
{
	int fd;

	if (!b->files)
		return -EOPNOTSUPP;
	fd = bpf_map__fd(b->files->maps.fnames);
	if (v)
		return bpf_map_update_elem(fd, k, v, 0) ? -errno : 0;
	return bpf_map_delete_elem(fd, k) && errno != ENOENT ? -errno : 0;
}

struct tw_name_state *tw_bpf_name_state(struct tw_bpf *b, uint32_t *n)
{
	*n = b->names ? b->nnames : 0;
	return b->names;
}

bool tw_bpf_btrfs_subvols(struct tw_bpf *b)
{
	return b->btrfs_subvols;
}
