// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "lsm.h"

int tw_lsm_active(char *why, size_t len)
{
	static const char path[] = "/sys/kernel/security/lsm";
	char list[512] = "", *tok, *save, copy[512];
	struct statfs sfs;
	ssize_t n;
	int fd;

	/* securityfs is not always mounted; the LSM list lives there. */
	if (access(path, R_OK) && !statfs("/sys/kernel/security", &sfs) &&
	    sfs.f_type != SECURITYFS_MAGIC)
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot read %s (%s): is securityfs available?", path,
			 strerror(errno));
		return -ENOENT;
	}
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	list[n > 0 ? n : 0] = '\0';
	list[strcspn(list, "\n")] = '\0';
	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			return 0;
	snprintf(why, len, "BPF LSM is not active: the kernel's LSM list is \"%s\"; boot with lsm=%s,bpf",
		 list, list);
	return -EOPNOTSUPP;
}

/*
 * The kernel's BTF, parsed once per process. libbpf 1.1 parses it again for
 * every object that loads LSM programs (and frees it after the load): in a
 * TCG guest, seconds per start. The static tierwalld links with
 * --wrap=btf__load_vmlinux_btf,--wrap=btf__free (Makefile), so libbpf's own
 * loads share this one, which it never frees; elsewhere __real_* are unset
 * (weak) and libbpf parses its own as before.
 */
static struct btf *vmlinux;

struct btf *__real_btf__load_vmlinux_btf(void) __attribute__((weak));
void __real_btf__free(struct btf *btf) __attribute__((weak));

struct btf *tw_vmlinux_btf(void)
{
	if (!vmlinux)
		vmlinux = __real_btf__load_vmlinux_btf ? __real_btf__load_vmlinux_btf() :
			  btf__load_vmlinux_btf();
	return vmlinux;	/* NULL, errno set, on failure */
}

struct btf *__wrap_btf__load_vmlinux_btf(void);
struct btf *__wrap_btf__load_vmlinux_btf(void)
{
	return tw_vmlinux_btf();
}

void __wrap_btf__free(struct btf *btf);
void __wrap_btf__free(struct btf *btf)
{
	if (btf && btf != vmlinux && __real_btf__free)
		__real_btf__free(btf);
}

static int lsm_probe(char *why, size_t len)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC);
	struct btf *vmlinux;
	int id, prog, link, err;

	/* Without bpf in the active list, programs load and attach but enforce nothing. */
	err = tw_lsm_active(why, len);
	if (err)
		return err;
	/*
	 * Refused before the hook is even looked up (no permission, or a host
	 * that refuses LSM programs by design): said without parsing the
	 * kernel's BTF. Anywhere else a made-up hook id fails otherwise.
	 */
	opts.attach_btf_id = 1;
	prog = bpf_prog_load(BPF_PROG_TYPE_LSM, "tw_probe", "GPL", insns, 2, &opts);
	if (prog >= 0)
		close(prog);
	else if (errno == EPERM) {
		snprintf(why, len, "loading an lsm/file_open program fails with %s", strerror(EPERM));
		return -EPERM;
	}
	vmlinux = tw_vmlinux_btf();
	if (!vmlinux) {
		snprintf(why, len, "no kernel BTF");
		return -ENOENT;
	}
	id = btf__find_by_name_kind(vmlinux, "bpf_lsm_file_open", BTF_KIND_FUNC);
	if (id <= 0) {
		snprintf(why, len, "kernel built without CONFIG_BPF_LSM");
		return -EOPNOTSUPP;
	}
	opts.attach_btf_id = id;
	prog = bpf_prog_load(BPF_PROG_TYPE_LSM, "tw_probe", "GPL", insns, 2, &opts);
	if (prog < 0) {
		err = -errno;
		snprintf(why, len, "loading an lsm/file_open program fails with %s", strerror(-err));
		return err;
	}
	link = bpf_link_create(prog, 0, BPF_LSM_MAC, NULL);
	err = link < 0 ? -errno : 0;
	if (err)
		snprintf(why, len, "attaching an lsm/file_open program fails with %s", strerror(-err));
	else
		close(link);
	close(prog);
	return err;
}

/* The kernel's answer does not change while we run: asked once (each probe parsed the kernel's BTF). */
int tw_lsm_usable(char *why, size_t len)
{
	static char said[256];
	static int err = 1;

	if (err > 0) {
		err = lsm_probe(said, sizeof(said));
		if (!err)
			said[0] = '\0';
	}
	snprintf(why, len, "%s", said);
	return err;
}

const struct bpf_object_open_opts *tw_open_opts(void)
{
	static struct bpf_object_open_opts o = { .sz = sizeof(o) };

	o.kernel_log_level = tw_verbose ? 4 : 0;	/* BPF_LOG_STATS: insns, states, time */
	return &o;
}
