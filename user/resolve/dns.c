// SPDX-License-Identifier: GPL-2.0
/*
 * Policy hostnames -> addresses in the kernel's host_addrs map.
 *
 * c-ares rather than libresolv: it is asynchronous (hundreds of names
 * resolve in parallel inside the daemon's event loop, no thread and no
 * blocking res_query), gives each address's TTL and the CNAME chain's TTLs
 * from ares_getaddrinfo, and reads /etc/resolv.conf like the clients do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <ares.h>
#include "dns_int.h"
#include "log.h"
#include "util.h"

#define MIN_REFRESH_MS	1000
#define RESOLV_CONF	"/etc/resolv.conf"
#define RESOLV_CHECK_MS	2000	/* how often a changed resolv.conf is looked for */

static void report(struct tw_dns *d, const char *what, json_t *extra)
{
	if (d->o.report)
		d->o.report(d->o.arg, what, extra);
	else
		json_decref(extra);
}

/*
 * Recompute who owns one address from every name that holds it, and write
 * that to the kernel. A shared address keeps its first TW_HOST_OWNERS
 * destination entries; the rest are reported, never silently dropped.
 */
static void sync_addr(struct tw_dns *d, const struct tw_host_key *k)
{
	struct tw_host_val v = {};
	int i, j, o, owners = 0, extra = 0, tier = 0;
	char txt[INET6_ADDRSTRLEN];
	bool shared = false;

	for (i = 0; i < d->n; i++) {
		struct name *nm = &d->names[i];

		for (j = 0; j < nm->naddrs; j++) {
			if (memcmp(&nm->addrs[j].key, k, sizeof(*k)))
				continue;
			for (o = 0; o < owners; o++)
				if (v.rule[o] == (uint32_t)nm->rule + 1)
					break;
			if (o < owners)
				break;
			if (owners == TW_HOST_OWNERS) {
				extra++;
				break;
			}
			v.rule[owners] = nm->rule + 1;
			v.host[owners++] = nm->host + 1;
			shared |= tier && tier != host_of(nm)->tier;
			tier = host_of(nm)->tier;
		}
	}
	if (tw_bpf_host_set(d->bpf, k, owners ? &v : NULL))
		tw_err("cannot update host_addrs for %s: %s", addr_str(k, txt, sizeof(txt)),
		       strerror(errno));
	if (extra)
		tw_warn("%s is an address of more than %d hostname destinations; %d not recorded",
			addr_str(k, txt, sizeof(txt)), TW_HOST_OWNERS, extra);
	if (shared)
		tw_warn("%s is an address of names of more than one tier: every tier is refused it "
			"unless a CIDR rule says whose it is", addr_str(k, txt, sizeof(txt)));
}

json_t *tw_dns_addr_list(struct tw_host_key *keys, int n)
{
	json_t *a = json_array();
	char txt[INET6_ADDRSTRLEN];
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(addr_str(&keys[i], txt, sizeof(txt))));
	return a;
}

static void report_change(struct name *nm, struct tw_host_key *added, int nadded,
			  struct tw_host_key *removed, int nremoved, const char *why)
{
	const struct tw_policy_host *h = host_of(nm);

	if (!nadded && !nremoved)
		return;
	tw_info("%s (%s): %d address(es) added, %d removed%s%s", h->name,
		nm->d->p->tiers[h->tier].name, nadded, nremoved, why ? ": " : "", why ? why : "");
	report(nm->d, "hostname_addresses",
	       json_pack("{s:s, s:s, s:o, s:o, s:i, s:s?}", "hostname", h->name,
			 "owner_tier", nm->d->p->tiers[h->tier].name,
			 "added", tw_dns_addr_list(added, nadded), "removed", tw_dns_addr_list(removed, nremoved),
			 "ttl", nm->ttl, "why", why));
}

static int find_addr(const struct name *nm, const struct tw_host_key *k)
{
	int i;

	for (i = 0; i < nm->naddrs; i++)
		if (!memcmp(&nm->addrs[i].key, k, sizeof(*k)))
			return i;
	return -1;
}

static void key_of(const struct sockaddr *sa, struct tw_host_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		k->family = 4;
		memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return;
	}
	k->family = 6;
	memcpy(k->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	/* ::ffff:a.b.c.d is judged as a.b.c.d by the programs. */
	if (!memcmp(k->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		k->family = 4;
		memmove(k->addr, k->addr + 12, 4);
		memset(k->addr + 4, 0, 12);
	}
}

/* When to ask again: before the TTL runs out, never faster than once a second. */
static uint64_t refresh_ms(const struct tw_dns *d, unsigned int ttl)
{
	uint64_t ms = (uint64_t)ttl * 1000;

	ms -= ms / 10 > 1000 ? ms / 10 : (ms >= 2000 ? 1000 : 0);
	if (ms > (uint64_t)d->o.max_refresh_s * 1000)
		ms = (uint64_t)d->o.max_refresh_s * 1000;
	return ms < MIN_REFRESH_MS ? MIN_REFRESH_MS : ms;
}

static void answered(struct name *nm, struct ares_addrinfo *res)
{
	struct tw_dns *d = nm->d;
	struct ares_addrinfo_node *an;
	struct ares_addrinfo_cname *cn;
	struct tw_host_key added[64];
	uint64_t now = now_ms();
	int i, nadded = 0;
	unsigned int ttl = UINT32_MAX;

	for (i = 0; i < nm->naddrs; i++)
		nm->addrs[i].in_answer = false;
	for (cn = res->cnames; cn; cn = cn->next)
		if ((unsigned int)cn->ttl < ttl)
			ttl = cn->ttl < 0 ? 0 : cn->ttl;
	for (an = res->nodes; an; an = an->ai_next) {
		struct tw_host_key k;

		if (an->ai_family != AF_INET && an->ai_family != AF_INET6)
			continue;
		if ((unsigned int)an->ai_ttl < ttl)
			ttl = an->ai_ttl < 0 ? 0 : an->ai_ttl;
		key_of(an->ai_addr, &k);
		i = find_addr(nm, &k);
		if (i < 0) {
			if (nm->naddrs == nm->cap) {
				int cap = nm->cap ? nm->cap * 2 : 4;
				struct addr *a = realloc(nm->addrs, cap * sizeof(*a));

				if (!a) {
					tw_err("%s: out of memory for addresses", host_of(nm)->name);
					break;
				}
				nm->addrs = a;
				nm->cap = cap;
			}
			i = nm->naddrs++;
			nm->addrs[i].key = k;
			if (nadded < (int)ARRAY_SIZE(added))
				added[nadded++] = k;
			sync_addr(d, &k);	/* after it is in the list */
		}
		nm->addrs[i].in_answer = true;
		nm->addrs[i].last_seen_ms = now;
	}
	nm->ttl = ttl == UINT32_MAX ? 0 : ttl;
	if (nm->state == NS_FAILING)
		report(d, "hostname_resolved", json_pack("{s:s, s:i}", "hostname", host_of(nm)->name,
							 "after_failures", nm->failures));
	nm->state = NS_RESOLVED;
	nm->failures = 0;
	nm->error[0] = '\0';
	nm->next_ms = now + refresh_ms(d, nm->ttl);
	report_change(nm, added, nadded, NULL, 0, NULL);
}

static void failed(struct name *nm, int status)
{
	struct tw_dns *d = nm->d;
	uint64_t backoff;
	int i;

	/* The name is gone (or has no addresses): its addresses start their grace. */
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		for (i = 0; i < nm->naddrs; i++)
			nm->addrs[i].in_answer = false;
	nm->failures++;
	backoff = 1000ull << (nm->failures - 1 < 10 ? nm->failures - 1 : 10);
	if (backoff > (uint64_t)d->o.max_backoff_s * 1000)
		backoff = (uint64_t)d->o.max_backoff_s * 1000;
	nm->next_ms = now_ms() + backoff;
	nm->state = NS_FAILING;
	snprintf(nm->error, sizeof(nm->error), "%s", ares_strerror(status));
	/* Loud, but not once a second forever: the 1st, 2nd, 4th, 8th... failure. */
	if (!(nm->failures & (nm->failures - 1))) {
		tw_warn("cannot resolve %s (%s): %s; retrying in %llu s%s", host_of(nm)->name,
			d->p->tiers[host_of(nm)->tier].name, nm->error,
			(unsigned long long)backoff / 1000,
			nm->naddrs ? "; its known addresses stay enforced" : "");
		report(d, "hostname_unresolved",
		       json_pack("{s:s, s:s, s:s, s:i, s:I, s:i}", "hostname", host_of(nm)->name,
				 "owner_tier", d->p->tiers[host_of(nm)->tier].name, "error", nm->error,
				 "failures", nm->failures, "retry_in_ms", (json_int_t)backoff,
				 "addresses_kept", nm->naddrs));
	}
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct name *nm = arg;

	if (nm->d->destroying) {
		ares_freeaddrinfo(res);
		return;
	}
	nm->inflight = false;
	if (status == ARES_SUCCESS && res)
		answered(nm, res);
	else
		failed(nm, status);
	ares_freeaddrinfo(res);
}

/* Addresses out of the answer for longer than the grace period leave the kernel. */
static void expire(struct tw_dns *d, struct name *nm, uint64_t now)
{
	struct tw_host_key removed[64];
	int i, nremoved = 0;

	for (i = 0; i < nm->naddrs;) {
		struct addr *a = &nm->addrs[i];
		struct tw_host_key k;

		if (a->in_answer || now - a->last_seen_ms < (uint64_t)d->o.grace_s * 1000) {
			i++;
			continue;
		}
		k = a->key;
		nm->addrs[i] = nm->addrs[--nm->naddrs];
		sync_addr(d, &k);
		if (nremoved < (int)ARRAY_SIZE(removed))
			removed[nremoved++] = k;
	}
	report_change(nm, NULL, 0, removed, nremoved, "left the answer longer than the grace period ago");
}

static void ask(struct name *nm)
{
	struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_flags = ARES_AI_NOSORT };
	char fqdn[TW_HOSTNAME_MAX + 2];

	/* Absolute: search domains must not turn a policy name into another. */
	snprintf(fqdn, sizeof(fqdn), "%s.", host_of(nm)->name);
	nm->inflight = true;
	ares_getaddrinfo(nm->d->ch, fqdn, NULL, &hints, on_answer, nm);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct tw_dns *d = data;
	struct epoll_event ev = { .events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0),
				  .data.fd = fd };

	if (!readable && !writable) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(d->ep, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void resolv_stat(struct tw_dns *d, struct timespec *mtime, ino_t *ino)
{
	struct stat st;

	memset(mtime, 0, sizeof(*mtime));
	*ino = 0;
	if (!stat(RESOLV_CONF, &st)) {
		*mtime = st.st_mtim;
		*ino = st.st_ino;
	}
}

/* A c-ares channel on the daemon's epoll, with --dns-server or resolv.conf's servers. */
static int open_channel(struct tw_dns *d, char *why, size_t len)
{
	struct ares_options ao = { .sock_state_cb = sock_state, .sock_state_cb_data = d };
	int err;

	resolv_stat(d, &d->resolv_mtime, &d->resolv_ino);
	err = ares_init_options(&d->ch, &ao, ARES_OPT_SOCK_STATE_CB);
	if (err) {
		snprintf(why, len, "cannot start the resolver: %s", ares_strerror(err));
		d->ch = NULL;
		return -EIO;
	}
	if (d->o.servers && (err = ares_set_servers_ports_csv(d->ch, d->o.servers))) {
		snprintf(why, len, "--dns-server \"%s\": %s (expected ADDR[:PORT],...)", d->o.servers,
			 ares_strerror(err));
		return -EINVAL;
	}
	return 0;
}

/*
 * resolv.conf changed (DHCP, a new cluster DNS): a new channel reads it and
 * every name is asked again at once; known addresses stay meanwhile.
 */
static void follow_resolv_conf(struct tw_dns *d, uint64_t now)
{
	struct timespec mtime;
	char why[256];
	ino_t ino;
	int i;

	if (d->o.servers || now < d->next_resolv_check)
		return;
	d->next_resolv_check = now + RESOLV_CHECK_MS;
	resolv_stat(d, &mtime, &ino);
	if (ino == d->resolv_ino && !memcmp(&mtime, &d->resolv_mtime, sizeof(mtime)))
		return;
	tw_info(RESOLV_CONF " changed: resolving every hostname again with its servers");
	d->destroying = true;	/* answers to the old channel's queries are dropped */
	ares_destroy(d->ch);
	d->ch = NULL;
	d->destroying = false;
	if (open_channel(d, why, sizeof(why))) {
		tw_err("%s; hostnames keep their known addresses until it can be read", why);
		d->resolv_ino = ~(ino_t)0;	/* try again at the next check */
		return;
	}
	for (i = 0; i < d->n; i++) {
		d->names[i].inflight = false;
		d->names[i].next_ms = now;
	}
	report(d, "resolver_changed", json_pack("{s:s}", "config", RESOLV_CONF));
}

void tw_dns_run(struct tw_dns *d)
{
	struct epoll_event evs[16];
	uint64_t now;
	int i, n;

	if (!d)
		return;
	n = d->ch ? epoll_wait(d->ep, evs, ARRAY_SIZE(evs), 0) : 0;
	for (i = 0; i < n; i++)
		ares_process_fd(d->ch, evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP) ? evs[i].data.fd :
				ARES_SOCKET_BAD, evs[i].events & EPOLLOUT ? evs[i].data.fd : ARES_SOCKET_BAD);
	now = now_ms();
	follow_resolv_conf(d, now);
	if (d->ch)
		ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);	/* timeouts */
	for (i = 0; i < d->n; i++) {
		struct name *nm = &d->names[i];

		expire(d, nm, now);
		if (d->ch && !nm->inflight && now >= nm->next_ms)
			ask(nm);
	}
}

void tw_dns_settle(struct tw_dns *d, int ms)
{
	uint64_t end = now_ms() + ms;
	int i, busy;

	if (!d)
		return;
	do {
		struct epoll_event ev;

		tw_dns_run(d);
		for (i = busy = 0; i < d->n; i++)
			busy += d->names[i].inflight;
		if (busy)
			epoll_wait(d->ep, &ev, 1, 20);
	} while (busy && now_ms() < end);
}

int tw_dns_fd(const struct tw_dns *d)
{
	return d ? d->ep : -1;
}

int tw_dns_new(struct tw_dns **out, const struct tw_policy *p, struct tw_bpf *b,
	       const struct tw_dns_opts *o, char *why, size_t len)
{
	struct tw_dns *d;
	int i, n = 0, err;

	*out = NULL;
	for (i = 0; i < p->nhosts; i++)
		n += !p->hosts[i].wildcard;
	if (!n)
		return 0;
	err = ares_library_init(ARES_LIB_INIT_ALL);
	if (err) {
		snprintf(why, len, "c-ares: %s", ares_strerror(err));
		return -EIO;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->p = p;
	d->bpf = b;
	d->o = *o;
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->names = calloc(n, sizeof(*d->names));
	if (d->ep < 0 || !d->names) {
		tw_dns_free(d);
		return -ENOMEM;
	}
	for (i = 0; i < p->nhosts; i++) {
		struct name *nm;

		if (p->hosts[i].wildcard)
			continue;
		nm = &d->names[d->n++];
		nm->d = d;
		nm->host = i;
		nm->rule = p->nrules + p->hosts[i].group;
	}
	err = open_channel(d, why, len);
	if (err) {
		tw_dns_free(d);
		return err;
	}
	*out = d;
	return 0;
}

/* Parse "a.b.c.d" or an IPv6 text address into a key as the programs judge it. */
static int key_of_text(const char *s, struct tw_host_key *k)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sa = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, s, &sa.sin_addr) == 1) {
		key_of((struct sockaddr *)&sa, k);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sa6.sin6_addr) == 1) {
		key_of((struct sockaddr *)&sa6, k);
		return 0;
	}
	return -EINVAL;
}

int tw_dns_seed(struct tw_dns *d, json_t *known)
{
	uint64_t now = now_ms();
	int i, seeded = 0;

	for (i = 0; d && i < d->n; i++) {
		struct name *nm = &d->names[i];
		json_t *list = json_object_get(known, host_of(nm)->name), *v;
		size_t j;

		json_array_foreach(list, j, v) {
			struct tw_host_key k;
			struct addr *a;

			if (!json_is_string(v) || key_of_text(json_string_value(v), &k) ||
			    find_addr(nm, &k) >= 0)
				continue;
			if (nm->naddrs == nm->cap) {
				int cap = nm->cap ? nm->cap * 2 : 4;

				a = realloc(nm->addrs, cap * sizeof(*a));
				if (!a)
					return -ENOMEM;
				nm->addrs = a;
				nm->cap = cap;
			}
			/* Known, as if in the last answer: kept until a real answer says otherwise. */
			a = &nm->addrs[nm->naddrs++];
			a->key = k;
			a->in_answer = true;
			a->last_seen_ms = now;
			sync_addr(d, &k);
			seeded++;
		}
	}
	return seeded;
}

void tw_dns_free(struct tw_dns *d)
{
	int i;

	if (!d)
		return;
	d->destroying = true;
	if (d->ch)
		ares_destroy(d->ch);
	for (i = 0; d->names && i < d->n; i++)
		free(d->names[i].addrs);
	free(d->names);
	if (d->ep >= 0)
		close(d->ep);
	free(d);
}
