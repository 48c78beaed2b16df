// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection: BPF LSM programs that keep a tiered process, root
 * included, from switching tierwall off or stepping around it. Refused to
 * tiered callers, each with a tamper event:
 *   - writing files of a cgroup of another tier (cgroup.procs and
 *     cgroup.threads move tasks; cgroup.kill, cgroup.freeze ...), and moving
 *     tasks at all where the caller could reach above its tier (root outside
 *     a delegated cgroup namespace); clone3(CLONE_INTO_CGROUP);
 *   - bpf(); signalling or tracing tierwalld; reading the memory, environ
 *     or descriptors of a process of another tier or none;
 *   - removing, renaming, writing or covering the daemon's own files (pins,
 *     log, control socket, policy) and the directories above them;
 *   - mounting bpffs, remounting or unmounting what holds the daemon's files;
 *   - root's ways out: /proc/sys, /sys/kernel, /sys/module, securityfs,
 *     tracefs, debugfs, /proc/kcore, raw block devices and /dev/mem, module
 *     and kexec loading.
 * Untagged callers stop after the cheapest test that rules them out (a
 * flag or a mode bit), or after one tier lookup. How cgroups' and the
 * kernel's files are judged is in guard_cgroup.bpf.h and guard_file.bpf.h;
 * here are the hooks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "protect.bpf.h"
#include "guard_cgroup.bpf.h"
#include "guard_file.bpf.h"

SEC("lsm/file_open")
int BPF_PROG(tw_guard_open, struct file *file)
{
	return judge_file(file, TW_HOW_OPEN);
}

SEC("lsm/file_receive")
int BPF_PROG(tw_guard_receive, struct file *file)
{
	return judge_file(file, TW_HOW_RECEIVE);
}

/* The target cgroup of clone3() is not in the hook's arguments: refused outright. */
SEC("lsm/task_alloc")
int BPF_PROG(tw_guard_clone, struct task_struct *task, unsigned long clone_flags)
{
	struct attempt a = { .op = TW_TAMPER_CLONE_INTO_CGROUP };
	struct decision d = {};

	if (!(clone_flags & CLONE_INTO_CGROUP) || !tiered(&d))
		return 0;
	return refuse(&d, &a);
}

static __always_inline int judge_bpf(int cmd)
{
	struct attempt a = { .op = TW_TAMPER_BPF, .arg = cmd };
	struct decision d = {};

	if (!tiered(&d))
		return 0;
	return refuse(&d, &a);
}

/* The hook gained "kernel" in 6.16: the loader keeps the program that fits. */
SEC("lsm/bpf")
int BPF_PROG(tw_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	return judge_bpf(cmd);
}

/* Calls the kernel makes itself (a syscall program's bpf_sys_bpf) were judged at their own bpf(). */
SEC("lsm/bpf")
int BPF_PROG(tw_guard_bpf_kernel, int cmd, union bpf_attr *attr, unsigned int size, bool kernel)
{
	return kernel ? 0 : judge_bpf(cmd);
}

SEC("lsm/task_kill")
int BPF_PROG(tw_guard_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred)
{
	struct attempt a = { .op = TW_TAMPER_SIGNAL, .arg = sig };
	struct decision d = {};

	/* Cheapest first: is the target tierwalld at all? */
	if (!is_daemon(p, guard_get()) || !tiered(&d))
		return 0;
	a.pid = BPF_CORE_READ(p, tgid);
	a.cgroup_id = BPF_CORE_READ(task_cgroup(p), kn, id);
	return refuse(&d, &a);
}

/*
 * F_SETOWN + O_ASYNC sends tierwalld any signal (F_SETSIG) with no
 * task_kill check. The daemon never asks for one: refuse them all, and
 * record it when a tiered process set it off.
 */
SEC("lsm/file_send_sigiotask")
int BPF_PROG(tw_guard_sigio, struct task_struct *tsk, struct fown_struct *fown, int sig)
{
	struct attempt a = { .op = TW_TAMPER_SIGNAL, .how = TW_HOW_SIGIO, .arg = sig };
	struct decision d = {};

	if (!is_daemon(tsk, guard_get()))
		return 0;
	if (!tiered(&d))
		return deny();
	a.pid = BPF_CORE_READ(tsk, tgid);
	d.verdict = TW_VERDICT_DENY;
	count(CNT_DENIED);
	emit(&d, &a);
	return deny();
}

/*
 * /proc/PID/mem, environ, fd/, ns/, process_vm_readv, ptrace attach,
 * pidfd_getfd and the rest all ask ptrace_may_access(): a tiered process
 * may only look into its own tier. ps and friends probe with NOAUDIT to
 * decide what to show: refused without a record.
 */
SEC("lsm/ptrace_access_check")
int BPF_PROG(tw_guard_ptrace, struct task_struct *child, unsigned int mode)
{
	struct cgroup *cg = task_cgroup(child);
	struct attempt a = { .op = TW_TAMPER_PTRACE, .arg = mode };
	struct decision d = {};
	__u64 tagged = 0;

	if (!tiered(&d))
		return 0;
	d.target = cgroup_tier(cg, &tagged);
	if (d.target == d.tier && !is_daemon(child, guard_get()))
		return 0;
	if (mode & PTRACE_MODE_NOAUDIT)
		return audit_mode(&d) ? 0 : deny();
	a.pid = BPF_CORE_READ(child, tgid);
	a.cgroup_id = BPF_CORE_READ(cg, kn, id);
	return refuse(&d, &a);
}

/* ---- the daemon's files, and cgroups of other tiers ---- */

SEC("lsm/inode_unlink")
int BPF_PROG(tw_guard_unlink, struct inode *dir, struct dentry *dentry)
{
	return judge_dentry(dentry, TW_GUARD_SELF, TW_TAMPER_UNLINK);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(tw_guard_rmdir, struct inode *dir, struct dentry *dentry)
{
	struct attempt a = { .dn = dentry, .op = TW_TAMPER_RMDIR };
	struct decision d = {};

	if (!tiered(&d))
		return 0;
	if (touches_guarded(dentry, TW_GUARD_SELF | TW_GUARD_CHILDREN | TW_GUARD_ABOVE))
		return refuse(&d, &a);
	return judge_cgroup_dentry(dentry, &d, &a);
}

SEC("lsm/inode_rename")
int BPF_PROG(tw_guard_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	const __u32 any = TW_GUARD_SELF | TW_GUARD_CHILDREN | TW_GUARD_ABOVE;
	struct attempt a = { .op = TW_TAMPER_RENAME };
	struct decision d = {};

	if (!tiered(&d))
		return 0;
	if (touches_guarded(old_dentry, any))
		a.dn = old_dentry;
	else if (touches_guarded(new_dentry, any))
		a.dn = new_dentry;
	return a.dn ? refuse(&d, &a) : 0;
}

SEC("lsm/inode_link")
int BPF_PROG(tw_guard_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry)
{
	int err = judge_dentry(old_dentry, TW_GUARD_SELF, TW_TAMPER_LINK);

	return err ? err : judge_dentry(new_dentry, 0, TW_TAMPER_LINK);
}

SEC("lsm/inode_create")
int BPF_PROG(tw_guard_create, struct inode *dir, struct dentry *dentry, umode_t mode)
{
	return judge_create(dir, dentry);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(tw_guard_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode)
{
	return judge_create(dir, dentry);
}

SEC("lsm/inode_symlink")
int BPF_PROG(tw_guard_symlink, struct inode *dir, struct dentry *dentry, const char *old_name)
{
	return judge_create(dir, dentry);
}

SEC("lsm/inode_mknod")
int BPF_PROG(tw_guard_mknod, struct inode *dir, struct dentry *dentry, umode_t mode, dev_t dev)
{
	return judge_create(dir, dentry);
}

/* chattr +i or +a on the log stops the daemon writing it: through a descriptor opened to read. */
SEC("lsm/file_ioctl")
int BPF_PROG(tw_guard_ioctl, struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd != FS_IOC_SETFLAGS && cmd != FS_IOC32_SETFLAGS && cmd != FS_IOC_FSSETXATTR)
		return 0;
	return judge_dentry(file->f_path.dentry, TW_GUARD_SELF | TW_GUARD_ABOVE, TW_TAMPER_SETATTR);
}

SEC("lsm/path_truncate")
int BPF_PROG(tw_guard_truncate, const struct path *path)
{
	return judge_dentry(path->dentry, TW_GUARD_SELF, TW_TAMPER_TRUNCATE);
}

/* chmod, chown, utimes: of the daemon's files, and of cgroups of other tiers. */
static __always_inline int judge_setattr(struct dentry *dn)
{
	struct attempt a = { .dn = dn, .op = TW_TAMPER_SETATTR };
	struct decision d = {};

	if (!dn || !tiered(&d))
		return 0;
	if (touches_guarded(dn, TW_GUARD_SELF | TW_GUARD_ABOVE))
		return refuse(&d, &a);
	return judge_cgroup_dentry(dn, &d, &a);
}

/* The hook gained an idmap argument in 6.3: the loader keeps the one that fits. */
SEC("lsm/inode_setattr")
int BPF_PROG(tw_guard_setattr, struct dentry *dentry, struct iattr *attr)
{
	return judge_setattr(dentry);
}

SEC("lsm/inode_setattr")
int BPF_PROG(tw_guard_setattr_idmap, void *idmap, struct dentry *dentry, struct iattr *attr)
{
	return judge_setattr(dentry);
}

/* ---- mounts ---- */

static __always_inline __u32 current_mnt_ns(void)
{
	return BPF_CORE_READ(bpf_get_current_task_btf(), nsproxy, mnt_ns, ns.inum);
}

/*
 * Is a change at this mount point seen by the daemon? In its own mount
 * namespace, or through propagation from a shared mount. A container's
 * private namespace (runc makes it a slave) changes only itself.
 */
static __always_inline bool seen_by_daemon(struct vfsmount *mnt)
{
	struct tw_guard *g = guard_get();

	if (!g || !g->mnt_ns || current_mnt_ns() == g->mnt_ns)
		return true;
	return BPF_CORE_READ(mnt, mnt_flags) & MNT_SHARED;
}

static __always_inline bool is_bpffs(struct super_block *sb)
{
	return BPF_CORE_READ(sb, s_magic) == BPF_FS_MAGIC;
}

static __always_inline bool guarded_fs(struct super_block *sb)
{
	__u32 dev = BPF_CORE_READ(sb, s_dev);

	return is_bpffs(sb) || bpf_map_lookup_elem(&guarded_devs, &dev);
}

static __always_inline int mount_refused(struct decision *d, struct dentry *dn, int op, int how,
					 __u32 flags)
{
	struct attempt a = { .dn = dn, .op = op, .how = how, .arg = flags };

	return refuse(d, &a);
}

SEC("lsm/sb_mount")
int BPF_PROG(tw_guard_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data)
{
	struct dentry *dn = path->dentry;
	struct decision d = {};
	char fstype[4] = {};

	if (!tiered(&d))
		return 0;
	/* Propagation changes only: nothing is mounted over anything. */
	if (!(flags & ~(MS_PROPAGATION | MS_REC_SILENT)) && (flags & MS_PROPAGATION))
		return 0;
	if ((flags & MS_REMOUNT) && !(flags & MS_BIND)) {
		/* Superblock flags (read-only ...) change for every namespace. */
		if (guarded_fs(BPF_CORE_READ(path->mnt, mnt_sb)))
			return mount_refused(&d, dn, TW_TAMPER_MOUNT, TW_HOW_GUARDED_FS, flags);
		return 0;
	}
	if (!(flags & (MS_REMOUNT | MS_BIND | MS_MOVE)) && type) {
		bpf_probe_read_kernel_str(fstype, sizeof(fstype), type);
		if (fstype[0] == 'b' && fstype[1] == 'p' && fstype[2] == 'f' && !fstype[3])
			return mount_refused(&d, dn, TW_TAMPER_MOUNT, TW_HOW_BPFFS, flags);
	}
	if (!seen_by_daemon(path->mnt))
		return 0;
	/* The source of MS_MOVE is a string the hook cannot resolve. */
	if (flags & MS_MOVE)
		return mount_refused(&d, dn, TW_TAMPER_MOUNT, TW_HOW_DAEMON_NS, flags);
	if (covers_guarded(dn))
		return mount_refused(&d, dn, TW_TAMPER_MOUNT, TW_HOW_GUARDED, flags);
	return 0;
}

/* fsopen() + fsmount() + move_mount(), and open_tree() + move_mount(). */
SEC("lsm/move_mount")
int BPF_PROG(tw_guard_move_mount, const struct path *from_path, const struct path *to_path)
{
	struct dentry *from = from_path->dentry, *to = to_path->dentry;
	struct decision d = {};

	if (!tiered(&d))
		return 0;
	if (is_bpffs(BPF_CORE_READ(from_path->mnt, mnt_sb)))
		return mount_refused(&d, to, TW_TAMPER_MOVE_MOUNT, TW_HOW_BPFFS, 0);
	if (seen_by_daemon(to_path->mnt) && covers_guarded(to))
		return mount_refused(&d, to, TW_TAMPER_MOVE_MOUNT, TW_HOW_GUARDED, 0);
	/* Moving away a mount that holds the daemon's files. */
	if (seen_by_daemon(from_path->mnt) && (guard_flags(BPF_CORE_READ(from, d_inode)) ||
					       covers_guarded(from)))
		return mount_refused(&d, from, TW_TAMPER_MOVE_MOUNT, TW_HOW_GUARDED, 0);
	return 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(tw_guard_umount, struct vfsmount *mnt, int flags)
{
	struct dentry *root = BPF_CORE_READ(mnt, mnt_root);
	struct decision d = {};

	if (!tiered(&d))
		return 0;
	if (is_bpffs(BPF_CORE_READ(mnt, mnt_sb)))
		return mount_refused(&d, root, TW_TAMPER_UMOUNT, TW_HOW_BPFFS, flags);
	if (seen_by_daemon(mnt) && covers_guarded(root))
		return mount_refused(&d, root, TW_TAMPER_UMOUNT, TW_HOW_GUARDED, flags);
	return 0;
}

/* pivot_root() moves the root of every process in the namespace, tierwalld's too. */
SEC("lsm/sb_pivotroot")
int BPF_PROG(tw_guard_pivotroot, const struct path *old_path, const struct path *new_path)
{
	struct tw_guard *g = guard_get();
	struct decision d = {};

	if (!tiered(&d) || (g && g->mnt_ns && current_mnt_ns() != g->mnt_ns))
		return 0;
	return mount_refused(&d, new_path->dentry, TW_TAMPER_PIVOT_ROOT, TW_HOW_DAEMON_NS, 0);
}

/* ---- code into the kernel ---- */

static __always_inline int load_op(int id)
{
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_FIRMWARE))
		return 0;	/* the kernel's own choice, from /lib/firmware */
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		return TW_TAMPER_MODULE;
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_KEXEC_IMAGE) ||
	    id == bpf_core_enum_value(enum kernel_read_file_id, READING_KEXEC_INITRAMFS))
		return TW_TAMPER_KEXEC;
	return TW_TAMPER_KERNEL_LOAD;
}

static __always_inline int judge_load(int op, int id, struct dentry *dn)
{
	struct attempt a = { .dn = dn, .op = op, .arg = id };
	struct decision d = {};

	if (!op || !tiered(&d))
		return 0;
	return refuse(&d, &a);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(tw_guard_read_file, struct file *file, enum kernel_read_file_id id, bool contents)
{
	return judge_load(load_op(id), id, file ? BPF_CORE_READ(file, f_path.dentry) : NULL);
}

/* kernel_load_data_id numbers its members like kernel_read_file_id. */
SEC("lsm/kernel_load_data")
int BPF_PROG(tw_guard_load_data, enum kernel_load_data_id id, bool contents)
{
	return judge_load(load_op(id), id, NULL);
}

/* ---- the daemon says who it is ---- */

struct tw_guard_ctx {
	__u64 set;	/* 1: the caller is tierwalld; 0: it stops */
};

SEC("syscall")
int tw_guard_set(struct tw_guard_ctx *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct tw_guard *g = guard_get();

	if (!g)
		return 1;
	if (!ctx->set) {
		g->tgid = 0;
		return 0;
	}
	g->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	g->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	g->net_ns = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
	g->tgid = BPF_CORE_READ(t, tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
