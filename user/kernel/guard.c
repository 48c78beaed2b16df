// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection's kernel side: protect.bpf.o opened with the programs
 * that fit this kernel's hooks, loaded without noise where the kernel
 * refuses LSM programs by design, and told who the daemon is and which
 * (device, inode) pairs are its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "guard.h"
#include "lsm.h"
#include "log.h"
#include "tierwall.h"
#include "trusted.h"
#include "protect.skel.h"

int tw_lsm_hook_nargs(const struct btf *vmlinux, const char *hook)
{
	const struct btf_type *t;
	char name[64];
	int id;

	snprintf(name, sizeof(name), "bpf_lsm_%s", hook);
	id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC);
	if (id <= 0)
		return -ENOENT;
	t = btf__type_by_id(vmlinux, btf__type_by_id(vmlinux, id)->type);
	return btf_vlen(t);
}

struct protect_bpf *tw_guard_open(char *why, size_t len)
{
	struct btf *vmlinux;
	int setattr, bpf;
	struct protect_bpf *s;

	/* A two-instruction program first: where LSM is refused, quietly and at once. */
	if (tw_lsm_usable(why, len))
		return NULL;
	vmlinux = tw_vmlinux_btf();
	if (!vmlinux) {
		snprintf(why, len, "no kernel BTF: %s", strerror(errno));
		return NULL;
	}
	setattr = tw_lsm_hook_nargs(vmlinux, "inode_setattr");
	bpf = tw_lsm_hook_nargs(vmlinux, "bpf");
	if (setattr < 0 || bpf < 0) {
		snprintf(why, len, "this kernel was built without CONFIG_BPF_LSM");
		return NULL;
	}
	s = protect_bpf__open_opts(tw_open_opts());
	if (!s) {
		snprintf(why, len, "cannot open the self-protection object: %s", strerror(errno));
		return NULL;
	}
	bpf_program__set_autoload(s->progs.tw_guard_setattr, setattr != 3);
	bpf_program__set_autoload(s->progs.tw_guard_setattr_idmap, setattr == 3);
	bpf_program__set_autoload(s->progs.tw_guard_bpf, bpf != 4);
	bpf_program__set_autoload(s->progs.tw_guard_bpf_kernel, bpf == 4);
	return s;
}

/*
 * libbpf's messages while loading, shown only if it fails: the last ones
 * (the verifier's verdict ends its log, one long message).
 */
static char load_log[16384];
static size_t load_log_len;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t half = sizeof(load_log) / 2, n;
	char *msg = NULL, *tail;

	if (level == LIBBPF_DEBUG || vasprintf(&msg, fmt, ap) < 0)
		return 0;
	n = strlen(msg);
	tail = msg + (n > half ? n - half : 0);
	n = strlen(tail);
	if (load_log_len + n >= sizeof(load_log)) {
		memmove(load_log, load_log + load_log_len - (half - n), half - n);
		load_log_len = half - n;
	}
	memcpy(load_log + load_log_len, tail, n);
	load_log_len += n;
	load_log[load_log_len] = '\0';
	free(msg);
	return 0;
}

int tw_guard_load(struct protect_bpf *s, char *why, size_t len)
{
	libbpf_print_fn_t old;
	int err;

	load_log_len = 0;
	load_log[0] = '\0';
	old = libbpf_set_print(capture_print);
	err = protect_bpf__load(s);
	libbpf_set_print(old);
	if (err) {
		snprintf(why, len, "the kernel refused to load the self-protection programs: %s",
			 strerror(-err));
		tw_warn("self-protection did not load; libbpf said:\n%s", load_log);
	}
	return err;
}

struct bpf_object *tw_guard_obj(struct protect_bpf *s)
{
	return s->obj;
}

void tw_guard_destroy(struct protect_bpf *s)
{
	protect_bpf__destroy(s);
}

int tw_guard_self(struct protect_bpf *s, bool set)
{
	__u64 ctx = set;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	if (!s)
		return -EOPNOTSUPP;
	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.tw_guard_set), &opts))
		return -errno;
	return opts.retval ? -ENOENT : 0;
}

int tw_guard_dev(struct protect_bpf *s, uint32_t dev)
{
	uint32_t one = 1;

	if (!s)
		return -EOPNOTSUPP;
	return bpf_map_update_elem(bpf_map__fd(s->maps.guarded_devs), &dev, &one, 0) ? -errno : 0;
}

/*
 * Make the hash map fd hold exactly keys[i] -> vals[i] (key size ksz): each
 * written first, then every other key removed, so nothing guarded before
 * and still wanted is ever missing for a moment.
 */
static int map_sync(int fd, const void *keys, size_t ksz, const uint32_t *vals, int n)
{
	static char gone[64][128];
	char k[128], next[128];
	int i, j, ngone, rounds;

	if (ksz > sizeof(k))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * ksz, &vals[i], 0))
			return -errno;
	/* Deleting while walking may restart the walk: collect, then delete, in bounded rounds. */
	for (rounds = 0; rounds < 64; rounds++) {
		void *prev = NULL;

		ngone = 0;
		while (ngone < 64 && !bpf_map_get_next_key(fd, prev, next)) {
			memcpy(k, next, ksz);
			prev = k;
			for (j = 0; j < n && memcmp(next, (const char *)keys + j * ksz, ksz); j++)
				;
			if (j == n)
				memcpy(gone[ngone++], next, ksz);
		}
		for (i = 0; i < ngone; i++)
			bpf_map_delete_elem(fd, gone[i]);
		if (ngone < 64)
			break;
	}
	return 0;
}

int tw_guard_files(struct protect_bpf *s, const struct tw_secret_key *keys, const uint32_t *flags, int n)
{
	if (!s)
		return -EOPNOTSUPP;
	return map_sync(bpf_map__fd(s->maps.guarded), keys, sizeof(*keys), flags, n);
}

int tw_guard_names(struct protect_bpf *s, const struct tw_fname_key *keys, int n)
{
	uint32_t ones[TW_GUARDED_NAMES];
	int i;

	if (!s)
		return -EOPNOTSUPP;
	if (n > TW_GUARDED_NAMES)
		return -E2BIG;
	for (i = 0; i < n; i++)
		ones[i] = 1;
	return map_sync(bpf_map__fd(s->maps.guarded_names), keys, sizeof(*keys), ones, n);
}

int tw_guard_sealed(struct protect_bpf *s, uint32_t dev, uint64_t ino)
{
	struct tw_sealed v = { .dev = dev, .ino = ino };
	uint32_t zero = 0;

	if (!s)
		return -EOPNOTSUPP;
	return bpf_map_update_elem(bpf_map__fd(s->maps.sealed), &zero, &v, 0) ? -errno : 0;
}
