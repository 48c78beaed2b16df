/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the loader: the loaded objects, shared by loader.c (the net
 * object, maps, attach, pins) and objects.c (the objects that share the net
 * object's maps: sock, dns, files, netlsm, protect).
 */
#ifndef TW_LOADER_INT_H
#define TW_LOADER_INT_H

#include "loader.h"
#include "net.skel.h"
#include "sock.skel.h"
#include "dns.skel.h"
#include "files.skel.h"
#include "netlsm.skel.h"
#include "explainer.h"

#define MAX_PROGS	64
#define TW_OBJECTS	6

struct tw_bpf {
	struct net_bpf *net;
	struct sock_bpf *sock;
	struct dns_bpf *dns;
	struct files_bpf *files;
	struct netlsm_bpf *netlsm;
	char netlsm_why[256];		/* why netlsm is not loaded */
	struct tw_explainer *explain;	/* the live maps' explainer, or NULL */
	char explain_why[256];		/* why it is not loaded */
	struct protect_bpf *protect;	/* NULL: unprotected, for protect_why */
	char protect_why[256];
	int nprotect;			/* of progs[], protect's */
	struct bpf_program *progs[MAX_PROGS];
	struct bpf_link *links[MAX_PROGS];
	bool taken[MAX_PROGS];		/* links[i] was pinned before, taken over in place */
	int old_prog[MAX_PROGS];	/* what a taken link ran, until pinned; then -1 */
	int nprogs;
	struct tw_runtime *rt;		/* mmapped runtime map */
	struct tw_name_state *names;	/* mmapped name_state map (files) */
	uint32_t nnames;		/* its slots */
	bool btrfs_subvols;		/* files tells btrfs subvolumes apart (btrfs BTF at load) */
	char pin_dir[256];
	int ncpus;
};

/* objshare.c: programs of obj to attach (the syscall one is run by the daemon instead). */
void tw_obj_add_progs(struct tw_bpf *b, struct bpf_object *obj);
/* One set of tags, one ring buffer: obj reuses every map the net object also has. */
int tw_obj_share_maps(struct tw_bpf *b, struct bpf_object *obj);

/* Each: open, size, share, load, fill; -errno and why. */
int tw_load_sock(struct tw_bpf *b, char *why, size_t len);
int tw_load_dns(struct tw_bpf *b, const struct tw_tables *t, char *why, size_t len);
int tw_load_files(struct tw_bpf *b, const struct tw_bpf_opts *o, char *why, size_t len);
/* After files loaded: map its name_state (filemaps.c); munmap it at destroy. */
int tw_files_map_names(struct tw_bpf *b, char *why, size_t len);
void tw_files_unmap_names(struct tw_bpf *b);
/* Where BPF LSM runs; elsewhere b->netlsm stays NULL and netlsm_why says why. */
void tw_load_netlsm(struct tw_bpf *b, bool dns_guard);
/*
 * The explainer on the live maps, on first use (tw_bpf_explainer); elsewhere
 * b->explain stays NULL and explain_why says why.
 */
void tw_load_explain(struct tw_bpf *b);
/* Self-protection, whatever the policy; not fatal: elsewhere protect_why says why. */
void tw_load_protect(struct tw_bpf *b);

#endif
