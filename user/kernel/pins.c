// SPDX-License-Identifier: GPL-2.0
/*
 * What a daemon left pinned: its links (link_* in the pin directory) as the
 * kernel describes them. Read by a starting daemon (its predecessor's
 * programs are not another instance's) and by `tierwall status` when no
 * daemon runs (are they still attached?).
 */
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
