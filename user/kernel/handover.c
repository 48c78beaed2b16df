// SPDX-License-Identifier: GPL-2.0
/*
 * Taking over a pinned cgroup link in place. Attaching a new link next to
 * the old one and then unpinning the old one never leaves a hook open, but
 * for that instant both programs judge and both log; swapping the program
 * inside the link is one atomic step for the kernel's effective array.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "handover.h"
#include "log.h"

void tw_link_pin_path(const char *dir, const struct bpf_program *p, char *path, size_t len)
{
	snprintf(path, len, "%s/link_%s", dir, bpf_program__name(p));
}

/* Only a cgroup link of p's own hook on this very cgroup is p's to take. */
static bool same_hook(int link_fd, const struct bpf_program *p, int cgfd, __u32 *prog_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	struct stat st;

	if (fstat(cgfd, &st) || bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return false;
	*prog_id = info.prog_id;
	return info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == st.st_ino &&
	       info.cgroup.attach_type == bpf_program__expected_attach_type(p);
}

struct bpf_link *tw_link_take_over(const char *dir, struct bpf_program *p, int cgfd, int *old_prog)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE);
	char path[512];
	struct bpf_link *l;
	int old;
	__u32 id;

	*old_prog = -1;
	if (!dir || !dir[0] || bpf_program__type(p) == BPF_PROG_TYPE_LSM)
		return NULL;	/* LSM links cannot be updated: those attach anew */
	tw_link_pin_path(dir, p, path, sizeof(path));
	l = bpf_link__open(path);
	if (!l)
		return NULL;
	if (!same_hook(bpf_link__fd(l), p, cgfd, &id))
		goto fresh;
	old = bpf_prog_get_fd_by_id(id);
	if (old < 0)
		goto fresh;
	o.old_prog_fd = old;
	/* BPF_F_REPLACE: only if it still runs the program just looked at. */
	if (bpf_link_update(bpf_link__fd(l), bpf_program__fd(p), &o)) {
		tw_info("cannot take over %s in place (%s): attaching a new link", path, strerror(errno));
		close(old);
		goto fresh;
	}
	*old_prog = old;
	return l;
fresh:
	bpf_link__destroy(l);	/* an opened link: this only closes our descriptor */
	return NULL;
}

int tw_link_give_back(struct bpf_link *l, struct bpf_program *p, int old_prog)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE, .old_prog_fd = bpf_program__fd(p));
	int err = 0;

	if (bpf_link_update(bpf_link__fd(l), old_prog, &o)) {
		err = -errno;
		tw_err("cannot give %s back to the program it ran before: %s",
		       bpf_program__name(p), strerror(-err));
	}
	close(old_prog);
	return err;
}
