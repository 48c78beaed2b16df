/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LSM_H
#define TW_LSM_H

#include <stddef.h>
#include <bpf/libbpf.h>

/*
 * 0 if "bpf" is in the kernel's active LSM list (mounting securityfs if
 * needed), else -errno and why not, with the fix. The list alone is not
 * enough: the caller must still load and attach for real.
 */
int tw_lsm_active(char *why, size_t len);
/*
 * 0 if BPF LSM programs really load, attach and enforce here (the list,
 * then a two-instruction program loaded and attached); else -errno and why.
 */
int tw_lsm_usable(char *why, size_t len);
/* The kernel's BTF, parsed once per process (several megabytes: never per object); NULL if none. */
struct btf *tw_vmlinux_btf(void);

/* Skeletons open with these: with --verbose, the verifier's statistics per program. */
const struct bpf_object_open_opts *tw_open_opts(void);

#endif
