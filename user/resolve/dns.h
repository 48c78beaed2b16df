/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DNS_H
#define TW_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "loader.h"
#include "policy.h"

/*
 * The resolver side of hostnames: resolves each exact policy hostname (A and
 * AAAA, with c-ares), keeps its addresses in the kernel's host_addrs map,
 * refreshes before the TTL runs out and keeps an address for a grace period
 * after it leaves the answer. Wildcards are left to the DNS guard.
 */
struct tw_dns;

struct tw_dns_opts {
	const char *servers;		/* "ip[:port],..."; NULL: /etc/resolv.conf */
	unsigned int grace_s;		/* keep a departed address this long */
	unsigned int max_refresh_s;	/* re-resolve at least this often */
	unsigned int max_backoff_s;	/* retry a failing name at least this often */
	/* Lifecycle records for the event log ("hostname_addresses", ...). */
	void (*report)(void *arg, const char *what, json_t *extra);
	void *arg;
};

/* -errno with why filled; *out is NULL (nothing to do) when the policy has no exact names. */
int tw_dns_new(struct tw_dns **out, const struct tw_policy *p, struct tw_bpf *b,
	       const struct tw_dns_opts *o, char *why, size_t len);
/* Is a --dns-server list usable? -EINVAL with why if not. */
int tw_dns_check_servers(const char *servers, char *why, size_t len);
/* Resolve everything once, waiting at most ms for the answers (retries go on later). */
void tw_dns_settle(struct tw_dns *d, int ms);
/* A descriptor that becomes readable when resolver sockets are; -1 if none. */
int tw_dns_fd(const struct tw_dns *d);
/* Answers, timeouts, refreshes and expiries that are due: call often. */
void tw_dns_run(struct tw_dns *d);
json_t *tw_dns_status(const struct tw_dns *d);
/* Every address each exact name is known to have now: {"name": ["addr", ...]}. */
json_t *tw_dns_known(const struct tw_dns *d);
/*
 * Addresses known from before (a previous policy, a previous instance):
 * enforced at once and kept like an answer's until a real answer replaces
 * them. Returns how many were added.
 */
int tw_dns_seed(struct tw_dns *d, json_t *known);
/* Names currently unresolved (failing) and addresses held in the kernel. */
void tw_dns_counts(const struct tw_dns *d, int *names, int *failing, int *addrs);
void tw_dns_free(struct tw_dns *d);

#endif
