// SPDX-License-Identifier: GPL-2.0
/*
 * Where a container's cgroup is, from what the runtime says: the pid's
 * /proc/PID/cgroup (the kernel's answer, every driver and layout), or the
 * runtime spec's linux.cgroupsPath, expanded as the cgroup driver would.
 * Paths are the unified hierarchy's ("0::" line), also on hybrid hosts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "runtime.h"

/* No empty, "." or ".." component: a runtime's path must not climb. */
static bool clean(const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
			return false;
		p += n;
	}
	return true;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", as systemd nests slices. */
static int expand_slice(const char *slice, char *out, size_t len)
{
	size_t n = strlen(slice), base, o = 0, i;

	if (n < 6 || strcmp(slice + n - 6, ".slice") || strchr(slice, '/'))
		return -EINVAL;
	if (!strcmp(slice, "-.slice")) {
		out[0] = '\0';
		return 0;
	}
	base = n - 6;
	if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
		return -EINVAL;
	for (i = 0; i <= base; i++) {
		if (i < base && slice[i] != '-')
			continue;
		if (o + i + 8 >= len)
			return -ENAMETOOLONG;
		o += snprintf(out + o, len - o, "/%.*s.slice", (int)i, slice);
	}
	return 0;
}

int tw_runtime_cgroup(const char *cg, char *out, size_t len)
{
	const char *c1, *c2;
	char slice[256], prefix[128], name[256];
	int err;

	if (!cg || !*cg)
		return -EINVAL;
	if (cg[0] == '/') {
		/* cgroupfs driver: the path itself. */
		if (!clean(cg) || strchr(cg, ':'))
			return -EINVAL;
		return snprintf(out, len, "%s", cg) >= (int)len ? -ENAMETOOLONG : 0;
	}
	if (!strchr(cg, ':')) {
		/* systemd driver: a pod's slice (its cgroup parent); never the root. */
		err = expand_slice(cg, out, len);
		return err ?: (out[0] ? 0 : -EINVAL);
	}
	/* systemd driver: "slice:prefix:name". */
	c1 = strchr(cg, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || strchr(c2 + 1, ':') || strchr(cg, '/') ||
	    snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - cg), cg) >= (int)sizeof(slice) ||
	    snprintf(prefix, sizeof(prefix), "%.*s", (int)(c2 - c1 - 1), c1 + 1) >= (int)sizeof(prefix) ||
	    snprintf(name, sizeof(name), "%s", c2 + 1) >= (int)sizeof(name) || !name[0])
		return -EINVAL;
	err = expand_slice(slice[0] ? slice : "system.slice", out, len);
	if (err)
		return err;
	len -= strlen(out);
	out += strlen(out);
	/* A name that is a slice is the unit; anything else runs in PREFIX-NAME.scope. */
	if (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ".slice"))
		return snprintf(out, len, "/%s", name) >= (int)len ? -ENAMETOOLONG : 0;
	return snprintf(out, len, "/%s%s%s.scope", prefix, prefix[0] ? "-" : "", name) >= (int)len ?
	       -ENAMETOOLONG : 0;
}
