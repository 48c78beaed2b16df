// SPDX-License-Identifier: GPL-2.0
/*
 * The objects that share the net object's maps: sock (cgroup sock_create, setsockopt),
 * dns (the cgroup_skb DNS guard), files (BPF LSM, secret files) and netlsm
 * (BPF LSM, what the cgroup hooks cannot see), and the kernel probes that
 * decide how each is loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <jansson.h>
#include "fill.h"
#include "guard.h"
#include "loader_int.h"
#include "log.h"
#include "lsm.h"
#include "util.h"

int tw_load_files(struct tw_bpf *b, const struct tw_bpf_opts *o, char *why, size_t len)
{
	struct btf *vmlinux;
	struct files_bpf *f;
	uint32_t names;
	int idmap, err;

	f = b->files = files_bpf__open_opts(tw_open_opts());
	if (!f) {
		err = -errno;
		snprintf(why, len, "cannot open the BPF LSM object: %s", strerror(-err));
		return err;
	}
	vmlinux = tw_vmlinux_btf();
	idmap = vmlinux ? tw_lsm_hook_nargs(vmlinux, "inode_setattr") : -ENOENT;
	if (idmap < 0) {
		snprintf(why, len, "this kernel's BTF has no bpf_lsm_inode_setattr: it was built without CONFIG_BPF_LSM");
		return -EOPNOTSUPP;
	}
	idmap = idmap == 3;	/* 6.3+: the idmap argument */
	bpf_program__set_autoload(f->progs.tw_inode_setattr, !idmap);
	bpf_program__set_autoload(f->progs.tw_inode_setattr_idmap, idmap);
	bpf_map__set_max_entries(f->maps.secrets, o->secrets_capacity);
	names = o->names_capacity ? o->names_capacity : TW_NAMES_DEFAULT;
	bpf_map__set_max_entries(f->maps.fnames, names);
	bpf_map__set_max_entries(f->maps.name_state, names);
	/* libbpf resolves btrfs_inode from the module's BTF, if btrfs is loaded now. */
	b->btrfs_subvols = !access("/sys/kernel/btf/btrfs", F_OK);
	err = tw_obj_share_maps(b, f->obj);
	if (err) {
		snprintf(why, len, "cannot share maps with the BPF LSM object: %s", strerror(-err));
		return err;
	}
	err = files_bpf__load(f);
	if (err) {
		snprintf(why, len, "the kernel refused to load the BPF LSM programs: %s", strerror(-err));
		return err;
	}
	err = tw_files_map_names(b, why, len);
	if (err)
		return err;
	tw_obj_add_progs(b, f->obj);
	return 0;
}

/*
 * Does the kernel let a cgroup_skb program call helper id? A four-insn
 * program answers it; libbpf 1.1's probe misreads 6.12's "cannot use helper".
 */
static bool skb_helper_ok(int id)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_1, .imm = -16 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 16 },
		{ .code = BPF_JMP | BPF_CALL, .imm = id },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, NULL, "GPL", insns, ARRAY_SIZE(insns), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int tw_skb_task_helpers(void)
{
	int h = (skb_helper_ok(BPF_FUNC_get_current_pid_tgid) ? TW_SKB_PID : 0) |
		(skb_helper_ok(BPF_FUNC_get_current_comm) ? TW_SKB_COMM : 0) |
		(skb_helper_ok(BPF_FUNC_get_current_uid_gid) ? TW_SKB_UID : 0);

	/* The sender's tier and who it is, all from its own context. */
	if ((h & TW_SKB_PID) && (h & TW_SKB_COMM) &&
	    skb_helper_ok(BPF_FUNC_get_current_cgroup_id) &&
	    skb_helper_ok(BPF_FUNC_get_current_ancestor_cgroup_id))
		h |= TW_SKB_CGROUP;
	return h;
}

int tw_load_dns(struct tw_bpf *b, const struct tw_tables *t, char *why, size_t len)
{
	struct dns_bpf *s;
	int err;

	s = b->dns = dns_bpf__open_opts(tw_open_opts());
	if (!s) {
		err = -errno;
		snprintf(why, len, "cannot open the DNS guard object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(s->maps.names, t->nnames);
	s->rodata->task_helpers = tw_skb_task_helpers();
	err = tw_obj_share_maps(b, s->obj);
	if (err) {
		snprintf(why, len, "cannot share maps with the DNS guard object: %s", strerror(-err));
		return err;
	}
	err = dns_bpf__load(s);
	if (err) {
		snprintf(why, len, "cannot load the DNS guard program: %s (the verifier log is above)",
			 strerror(-err));
		return err;
	}
	err = tw_fill_names(s->maps.names, t);
	if (err) {
		snprintf(why, len, "cannot fill the DNS guard's names: %s", strerror(-err));
		return err;
	}
	tw_obj_add_progs(b, s->obj);
	return 0;
}


int tw_load_sock(struct tw_bpf *b, char *why, size_t len)
{
	struct sock_bpf *s;
	int err;

	s = b->sock = sock_bpf__open_opts(tw_open_opts());
	if (!s) {
		err = -errno;
		snprintf(why, len, "cannot open the socket object: %s", strerror(-err));
		return err;
	}
	err = tw_obj_share_maps(b, s->obj);
	if (!err)
		err = sock_bpf__load(s);
	if (err) {
		snprintf(why, len, "cannot load the sock_create and setsockopt programs: %s (the verifier log is above)",
			 strerror(-err));
		return err;
	}
	tw_obj_add_progs(b, s->obj);
	return 0;
}

void tw_load_netlsm(struct tw_bpf *b, bool dns_guard)
{
	struct netlsm_bpf *s;
	char why[200];
	int err;

	err = tw_lsm_usable(why, sizeof(why));
	if (err) {
		snprintf(b->netlsm_why, sizeof(b->netlsm_why), "BPF LSM is not usable: %s", why);
		return;
	}
	s = netlsm_bpf__open_opts(tw_open_opts());
	if (!s) {
		snprintf(b->netlsm_why, sizeof(b->netlsm_why), "cannot open the object: %s", strerror(errno));
		return;
	}
	s->rodata->dns_guard = dns_guard;
	err = tw_obj_share_maps(b, s->obj);
	if (!err)
		err = netlsm_bpf__load(s);
	if (err) {
		snprintf(b->netlsm_why, sizeof(b->netlsm_why), "the kernel refused the programs: %s",
			 strerror(-err));
		netlsm_bpf__destroy(s);
		return;
	}
	b->netlsm = s;
	tw_obj_add_progs(b, s->obj);
}

json_t *tw_bpf_netlsm_json(struct tw_bpf *b)
{
	return json_pack("{s:b, s:s?}", "loaded", b->netlsm != NULL,
			 "why", b->netlsm ? NULL : b->netlsm_why);
}

/* Share a map of another loaded object by name (the net object's are shared already). */
static int share_from(struct bpf_object *obj, struct bpf_object *owner, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	struct bpf_map *own = owner ? bpf_object__find_map_by_name(owner, name) : NULL;

	return m && own ? bpf_map__reuse_fd(m, bpf_map__fd(own)) : 0;
}

void tw_load_explain(struct tw_bpf *b)
{
	struct bpf_object *obj;
	struct tw_explainer *x;
	char why[200] = "";
	int err;

	err = tw_explainer_open(&x);
	if (err) {
		snprintf(b->explain_why, sizeof(b->explain_why), "cannot open the object: %s",
			 strerror(-err));
		return;
	}
	obj = tw_explainer_object(x);
	err = tw_obj_share_maps(b, obj);
	if (!err)
		err = share_from(obj, b->dns ? b->dns->obj : NULL, "names");
	if (!err)
		err = share_from(obj, b->files ? b->files->obj : NULL, "secrets");
	if (!err)
		err = share_from(obj, b->files ? b->files->obj : NULL, "secret_devs");
	if (!err)
		err = share_from(obj, b->files ? b->files->obj : NULL, "fnames");
	if (!err)
		err = share_from(obj, b->files ? b->files->obj : NULL, "name_state");
	if (err)
		snprintf(why, sizeof(why), "cannot share maps: %s", strerror(-err));
	else
		err = tw_explainer_load(x, NULL, 0, 0, why, sizeof(why));
	if (err) {
		snprintf(b->explain_why, sizeof(b->explain_why), "%s", why);
		tw_explainer_free(x);
		return;
	}
	b->explain = x;
}

/* Loaded on the first question, not at start: its verifier pass is a start's second longest. */
struct tw_explainer *tw_bpf_explainer(struct tw_bpf *b, const char **why)
{
	if (!b->explain && !b->explain_why[0])
		tw_load_explain(b);
	*why = b->explain ? NULL : b->explain_why;
	return b->explain;
}

void tw_load_protect(struct tw_bpf *b)
{
	char *why = b->protect_why;
	size_t len = sizeof(b->protect_why);
	int err;

	if (tw_lsm_active(why, len))
		return;
	b->protect = tw_guard_open(why, len);
	if (!b->protect)
		return;
	err = tw_obj_share_maps(b, tw_guard_obj(b->protect));
	if (err)
		snprintf(why, len, "cannot share maps with the self-protection object: %s", strerror(-err));
	else
		err = tw_guard_load(b->protect, why, len);
	if (err) {
		tw_guard_destroy(b->protect);
		b->protect = NULL;
		return;
	}
	why[0] = '\0';
	b->nprotect = b->nprogs;
	tw_obj_add_progs(b, tw_guard_obj(b->protect));
	b->nprotect = b->nprogs - b->nprotect;
}
