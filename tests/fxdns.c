// SPDX-License-Identifier: GPL-2.0
/* The fixture's private DNS world: a network namespace with dnsmasq (see fixture.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sched.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "cgroup.h"
#include "ctl.h"
#include "fixture.h"
#include "lsm.h"
#include "loader.h"
#include "net.h"
#include "sockets.h"
#include "test.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

int fx_dns_start(struct fx_dns *x, struct fx *f, const char *hosts)
{
	char resolv[PATH_MAX + 16], log[PATH_MAX + 16];
	bool gone = false;

	memset(x, 0, sizeof(*x));
	x->old_net = x->old_mnt = x->old_cwd = -1;
	if (access(DNSMASQ, X_OK)) {
		tw_test_skip("no %s: the DNS tests need Debian's dnsmasq-base (make deps)", DNSMASQ);
		return 1;
	}
	snprintf(x->hosts, sizeof(x->hosts), "%s/hosts", f->tmp);
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", f->tmp);
	snprintf(log, sizeof(log), "%s/dnsmasq.log", f->tmp);
	if (write_text(x->hosts, hosts) || fx_dns_set_resolver(f, "127.0.0.1"))
		return -EIO;
	x->old_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	x->old_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	x->old_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->old_net < 0 || x->old_mnt < 0 || unshare(CLONE_NEWNET | CLONE_NEWNS))
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL))
		return -errno;
	if (lo_up())
		return -ENETDOWN;
	fflush(stdout);
	x->dnsmasq = fork();
	if (x->dnsmasq < 0)
		return -errno;
	if (!x->dnsmasq) {
		char addn[PATH_MAX + 16], logf[PATH_MAX + 32];

		snprintf(addn, sizeof(addn), "--addn-hosts=%s", x->hosts);
		snprintf(logf, sizeof(logf), "--log-facility=%s", log);
		execl(DNSMASQ, DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--user=root",
		      "--no-resolv", "--no-hosts", addn, "--local-ttl=1", "--local=/test/",
		      "--address=/wild.prod.test/127.44.0.7",
		      /* names no tier owns that lead into tiers' names (test_dns_cname.c) */
		      "--cname=alias.free.test,api.prod.test", "--cname=walias.free.test,db.wild.prod.test",
		      "--cname=salias.free.test,api.staging.test", "--listen-address=127.0.0.1",
		      "--listen-address=::1", "--bind-interfaces", "--port=53", "--pid-file=",
		      logf, "--log-queries", (char *)NULL);
		_exit(127);
	}
	/* Up when it accepts on 127.0.0.1:53 (no ss(8) needed: the guests lack it). */
	if (!FX_UNTIL(!tw_net(TW_OP_TCP_CONNECT, "127.0.0.1", 53) ||
		      (gone = waitpid(x->dnsmasq, NULL, WNOHANG) == x->dnsmasq), 60000))
		return -ETIMEDOUT;
	if (gone)
		x->dnsmasq = 0;
	return gone ? -ECHILD : 0;
}

int fx_dns_set_resolver(struct fx *f, const char *server)
{
	char path[PATH_MAX + 16], text[128];

	snprintf(path, sizeof(path), "%s/resolv.conf", f->tmp);
	snprintf(text, sizeof(text), "nameserver %s\noptions timeout:1 attempts:1\n", server);
	return write_text(path, text);
}

int fx_dns_set_hosts(struct fx_dns *x, const char *hosts)
{
	int err = write_text(x->hosts, hosts);

	if (!err && kill(x->dnsmasq, SIGHUP))
		err = -errno;
	return err;
}

void fx_dns_stop(struct fx_dns *x)
{
	if (x->dnsmasq > 0 && waitpid(x->dnsmasq, NULL, WNOHANG) == 0) {
		kill(x->dnsmasq, SIGTERM);
		waitpid(x->dnsmasq, NULL, 0);
	}
	x->dnsmasq = 0;
	/* Back to where the other tests run; the private namespaces go with us leaving. */
	if (x->old_net >= 0 && setns(x->old_net, CLONE_NEWNET))
		fprintf(stdout, "    cannot return to the original network namespace: %s\n", strerror(errno));
	if (x->old_mnt >= 0 && setns(x->old_mnt, CLONE_NEWNS))
		fprintf(stdout, "    cannot return to the original mount namespace: %s\n", strerror(errno));
	/* setns() to a mount namespace moves us to its root: go back (build dir is relative). */
	if (x->old_cwd >= 0 && fchdir(x->old_cwd))
		fprintf(stdout, "    cannot return to the working directory: %s\n", strerror(errno));
	if (x->old_net >= 0)
		close(x->old_net);
	if (x->old_mnt >= 0)
		close(x->old_mnt);
	if (x->old_cwd >= 0)
		close(x->old_cwd);
	x->old_net = x->old_mnt = x->old_cwd = -1;
}
