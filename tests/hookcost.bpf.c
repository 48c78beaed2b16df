// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_lsm only: the least a program on file_permission or
 * inode_permission could do (one flag test, one field load), to measure
 * what attaching to those hooks costs every read(), write() and path walk
 * on the node. tierwall does not attach them; doc/benchmarks.md says why.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAY_WRITE		0x2
#define CGROUP2_SUPER_MAGIC	0x63677270

SEC("lsm/file_permission")
int BPF_PROG(cost_file_permission, struct file *file, int mask)
{
	if (!(mask & MAY_WRITE))
		return 0;
	return file->f_inode->i_sb->s_magic == CGROUP2_SUPER_MAGIC ? 0 : 0;
}

SEC("lsm/inode_permission")
int BPF_PROG(cost_inode_permission, struct inode *inode, int mask)
{
	if (!(mask & MAY_WRITE))
		return 0;
	return inode->i_sb->s_magic == CGROUP2_SUPER_MAGIC ? 0 : 0;
}

char LICENSE[] SEC("license") = "GPL";
