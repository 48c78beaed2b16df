/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hostnames end to end, shared by test_dns_e2e.c and test_dns_resolver.c:
 * a private DNS world (fx_dns_start) serving HOSTS_V1, a daemon enforcing
 * dns_policy, and clients that resolve from inside a cgroup.
 */
#ifndef TW_DNSE2E_H
#define TW_DNSE2E_H

#include <stdbool.h>
#include "fixture.h"

#define HOSTS_V1 "127.44.0.1 api.prod.test\nfd00:44::1 api.prod.test\n127.45.0.1 api.staging.test\n" \
		 "127.46.0.1 free.test\n"

extern const char *dns_policy;

/* getaddrinfo() in a child in rel: 0 if it resolved to want (NULL: anything), else 1 (via fx_do). */
int lookup_in(struct fx *f, const char *rel, const char *name, const char *want, pid_t *pid);
/* One query (UDP, or TCP) to server from a child in rel: 0, or the positive errno. */
int query_in(struct fx *f, const char *rel, const char *server, const char *name, bool tcp,
	     pid_t *pid);
/* Start dnsmasq and the daemon; 0, or 1 when the test was skipped. */
int dns_setup_with(struct fx *f, struct fx_dns *x, const char *const *extra,
		   const char *policy, const char *hosts);
int dns_setup(struct fx *f, struct fx_dns *x, const char *const *extra);
/*
 * Connect from staging until it returns want: the daemon acts on its own
 * time (a TTL, a retry); secs is when that is due, the bound is generous.
 */
bool eventually(struct fx *f, const char *addr, int port, int want, int secs);

#endif
