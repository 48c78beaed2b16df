/* SPDX-License-Identifier: GPL-2.0 */
/* The self-protection tests' operations (tamperops.c): 0 or -errno, arg a struct fop. */
#ifndef TW_TESTS_TAMPEROPS_H
#define TW_TESTS_TAMPEROPS_H

/* Write text to path (0 or -errno). */
int tw_write_text(const char *path, const char *text);

int op_write(void *a);
int op_open_wr(void *a);
int op_open_rd(void *a);
int op_chown(void *a);
int op_clone3(void *a);
int op_bpf(void *a);
int op_kill(void *a);
int op_sigio(void *a);
int op_ptrace(void *a);
int op_vm_readv(void *a);
int op_proc_mem(void *a);
int op_pidfd_getfd(void *a);
int op_chattr(void *a);
int op_mount(void *a);
int op_umount(void *a);
int op_fsmount(void *a);
int op_private_mount(void *a);
int op_pivot_root(void *a);
int op_netns_sysctl(void *a);
int op_finit_module(void *a);
int op_init_module(void *a);
int op_kexec_file(void *a);
int op_recv_write(void *a);

#endif
