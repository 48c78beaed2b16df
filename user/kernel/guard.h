/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Self-protection's kernel side (bpf/protect.bpf.c): open and load it the
 * way this kernel needs, and tell it who tierwalld is and what it keeps.
 * The loader shares its maps with the other objects and attaches it.
 */
#ifndef TW_GUARD_H
#define TW_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/btf.h>
#include "trusted.h"

struct protect_bpf;

/* Arguments of this kernel's LSM hook (bpf_lsm_HOOK in its BTF), -errno if there is none. */
int tw_lsm_hook_nargs(const struct btf *vmlinux, const char *hook);

/*
 * The object opened, with the programs this kernel's hooks fit; NULL with
 * why filled when BPF LSM cannot be used here (checked with a two-insn
 * program first: a kernel that refuses LSM programs says so at once).
 */
struct protect_bpf *tw_guard_open(char *why, size_t len);
/* Load it (after the loader shared its maps), quietly unless it fails unexpectedly. */
int tw_guard_load(struct protect_bpf *s, char *why, size_t len);
struct bpf_object *tw_guard_obj(struct protect_bpf *s);
void tw_guard_destroy(struct protect_bpf *s);

/* The calling process is tierwalld (set), or stops being it (!set). */
int tw_guard_self(struct protect_bpf *s, bool set);
/*
 * The daemon's files and directories, and those above them, are exactly
 * keys[0..n) with TW_GUARD_* flags[i]: added first, the rest then removed.
 */
int tw_guard_files(struct protect_bpf *s, const struct tw_secret_key *keys, const uint32_t *flags, int n);
/* A filesystem holding one of them: no remount by tiered processes. */
int tw_guard_dev(struct protect_bpf *s, uint32_t dev);
/* The names trusted paths resolve through are exactly keys[0..n), the same way. */
int tw_guard_names(struct protect_bpf *s, const struct tw_fname_key *keys, int n);
/* The seal key (dev 0: none), which no tiered process opens. */
int tw_guard_sealed(struct protect_bpf *s, uint32_t dev, uint64_t ino);

#endif
