// SPDX-License-Identifier: GPL-2.0
/*
 * What a daemon left pinned: its links (link_* in the pin directory) as the
 * kernel describes them. Read by a starting daemon (its predecessor's
 * programs are not another instance's) and by `tierwall status` when no
 * daemon runs (are they still attached?).
 */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "pins.h"

int tw_pinned_links(const char *dir, struct bpf_link_info *out, int max)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dp = dir && dir[0] ? opendir(dir) : NULL;
	int n = 0;

	while (dp && n < max && (e = readdir(dp))) {
		uint32_t len = sizeof(*out);
		int fd;

		if (strncmp(e->d_name, "link_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&out[n], 0, sizeof(*out));
		if (!bpf_obj_get_info_by_fd(fd, &out[n], &len))
			n++;
		close(fd);
	}
	if (dp)
		closedir(dp);
	return n;
}

bool tw_link_attached(const struct bpf_link_info *info)
{
	/* A detached cgroup link reports no cgroup. */
	return info->type != BPF_LINK_TYPE_CGROUP || info->cgroup.cgroup_id;
}

/* Is this link attached and running a tierwall program (all are named tw_*)? */
static bool tierwall_link(__u32 id)
{
	struct bpf_link_info li = {};
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(li);
	int fd = bpf_link_get_fd_by_id(id), pfd = -1;
	bool ours = false;

	if (fd < 0)
		return false;	/* gone meanwhile */
	if (!bpf_obj_get_info_by_fd(fd, &li, &len) && tw_link_attached(&li))
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
	len = sizeof(pi);
	if (pfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &pi, &len))
		ours = !strncmp(pi.name, "tw_", 3);
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return ours;
}

int tw_tierwall_links(void)
{
	__u32 id = 0;
	int n = 0, i, err = 0;

	/* Bounded: link ids are finite, but a node may hold many. */
	for (i = 0; i < 1000000 && !(err = bpf_link_get_next_id(id, &id)); i++)
		n += tierwall_link(id);
	if (!err || err == -ENOENT)
		return n;
	return err < 0 ? err : -errno;
}
