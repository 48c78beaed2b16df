// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall-nri against a real daemon, for the pod tests on the host and in
 * the guests: a process standing in for runc's init waits in its cgroup
 * while the hook places it, then runs its first instruction.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include "net.h"
#include "podhook.h"
#include "test.h"

/* Open path read-only: 0 or -errno. */
static int tw_open_rd(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}


int init_start(struct fx *f, const char *rel, const char *addr, int port, struct init_proc *p)
{
	char dir[PATH_MAX * 2], c;
	int go[2], joined[2];

	snprintf(dir, sizeof(dir), "%s/%s", f->root, rel);
	if (pipe(go))
		return -errno;
	if (pipe(joined)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (!p->pid) {
		close(go[1]);
		close(joined[0]);
		if (tw_join_cgroup(dir))
			_exit(100);
		if (write(joined[1], "j", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(101);
		_exit(-(p->path ? tw_open_rd(p->path) : tw_net(TW_OP_TCP_CONNECT, addr, port)));
	}
	close(go[0]);
	close(joined[1]);
	p->go = go[1];
	/* In its cgroup before the runtime's hook looks, as runc's init is. */
	c = read(joined[0], &c, 1) == 1 ? 0 : -EIO;
	close(joined[0]);
	return c;
}

/* Let it run its first instruction: 0 if allowed, else the errno it met. */
int init_run(struct init_proc *p)
{
	int st = -1;

	if (write(p->go, "x", 1) != 1)
		return -1;
	close(p->go);
	waitpid(p->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run tierwall-nri invoke as containerd would; its JSON result. */
json_t *nri_invoke(struct fx *f, int pid, const char *id, const char *ns, const char *pod,
			  const char *tier, int timeout_ms)
{
	char path[PATH_MAX + 16], out[4096];
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:i, s:{s:s, s:{s:s}}, s:{s:s, s:s, s:s},"
				" s:{s:s, s:[s], s:i}}",
				"version", "0.1", "state", "create", "id", id, "sandboxID", "sb-x",
				"pid", pid, "spec", "cgroupsPath", "/unused", "annotations",
				"io.kubernetes.cri.container-name", "app",
				"labels", "io.kubernetes.pod.name", pod, "io.kubernetes.pod.namespace", ns,
				"io.kubernetes.pod.uid", "uid-1",
				"conf", "socket", f->sock, "exempt_namespaces", "kube-system",
				"timeout_ms", timeout_ms);

	if (tier)
		json_object_set_new(json_object_get(req, "labels"), "tierwall.io/tier", json_string(tier));
	snprintf(path, sizeof(path), "%s/nri-request.json", f->tmp);
	json_dump_file(req, path, 0);
	json_decref(req);
	fx_sh(out, sizeof(out), "%s/tierwall-nri invoke < %s 2>/dev/null", tw_build_dir, path);
	return json_loads(out, 0, NULL);
}

const char *result_error(json_t *r)
{
	return r ? json_string_value(json_object_get(r, "error")) : "not JSON";
}

/* The hook let the container start: a result without "error". */
bool placed(json_t *r, const char *what)
{
	if (r && !json_object_get(r, "error"))
		return true;
	return TW_FAILED("%s: %s", what, result_error(r));
}
