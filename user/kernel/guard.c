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
	struct btf *vmlinux = tw_vmlinux_btf();
	int setattr, bpf;
	struct protect_bpf *s;

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
	/* A two-instruction program first: where LSM is refused, quietly and at once. */
	if (tw_lsm_usable(why, len))
		return NULL;
	s = protect_bpf__open();
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

int tw_guard_path(struct protect_bpf *s, uint32_t dev, uint64_t ino, uint32_t flags)
{
	struct tw_secret_key k = { .dev = dev, .ino = ino };
	uint32_t v = 0;
	int fd;

	if (!s)
		return -EOPNOTSUPP;
	fd = bpf_map__fd(s->maps.guarded);
	bpf_map_lookup_elem(fd, &k, &v);
	v |= flags;
	return bpf_map_update_elem(fd, &k, &v, 0) ? -errno : 0;
}

int tw_guard_dev(struct protect_bpf *s, uint32_t dev)
{
	uint32_t one = 1;

	if (!s)
		return -EOPNOTSUPP;
	return bpf_map_update_elem(bpf_map__fd(s->maps.guarded_devs), &dev, &one, 0) ? -errno : 0;
}
