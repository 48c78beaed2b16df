/* SPDX-License-Identifier: GPL-2.0 */
/* The resolver's state, shared by dns.c (resolving) and dnsview.c (what it shows). */
#ifndef TW_RESOLVE_DNS_INT_H
#define TW_RESOLVE_DNS_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <time.h>
#include <ares.h>
#include "dns.h"
#include "util.h"

struct addr {
	struct tw_host_key key;
	bool in_answer;			/* in the latest successful answer */
	uint64_t last_seen_ms;		/* when an answer last had it */
};

enum name_state { NS_PENDING, NS_RESOLVED, NS_FAILING };

struct name {
	struct tw_dns *d;
	int host;			/* index into policy hosts */
	int rule;			/* kernel rule index of its destination entry */
	struct addr *addrs;
	int naddrs, cap;
	enum name_state state;
	bool inflight;
	int failures;			/* consecutive */
	unsigned int ttl;		/* of the last answer */
	uint64_t next_ms;		/* next query */
	char error[96];
};

struct tw_dns {
	const struct tw_policy *p;
	struct tw_bpf *bpf;
	struct tw_dns_opts o;
	ares_channel ch;
	int ep;				/* the resolver's sockets, for the daemon's epoll */
	struct name *names;
	int n;
	bool destroying;
	struct timespec resolv_mtime;	/* of the resolv.conf the channel read */
	ino_t resolv_ino;
	uint64_t next_resolv_check;
};

static inline uint64_t now_ms(void)
{
	return tw_now_ns(CLOCK_MONOTONIC) / 1000000;
}

static inline const char *addr_str(const struct tw_host_key *k, char *buf, size_t len)
{
	return inet_ntop(k->family == 4 ? AF_INET : AF_INET6, k->addr, buf, len);
}

static inline const struct tw_policy_host *host_of(const struct name *nm)
{
	return &nm->d->p->hosts[nm->host];
}

/* The addresses as a JSON array of text. */
json_t *tw_dns_addr_list(struct tw_host_key *keys, int n);

#endif
