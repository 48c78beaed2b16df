// SPDX-License-Identifier: GPL-2.0
/*
 * Endpoints in free text (see endpoints.h). No URL parser: a name or an
 * IPv4 address is a run of [A-Za-z0-9._-], which is how it stands in a URL,
 * a DSN (postgres://app@FEED-DB.prod.example.:5432/db), a host:port or a
 * KEY=VALUE line alike; the port is the digits after a ':' that follows it.
 * IPv6 addresses are runs of hex digits, ':' and '.', bare or in brackets.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "endpoints.h"

#define SEEN_MAX	32

struct scan {
	const struct tw_policy *p;
	const struct tw_tables *t;
	json_t *known;
	int skip_tier;
	long line;
	tw_ep_cb cb;
	void *arg;
	char seen[SEEN_MAX][TW_HOSTNAME_MAX + 3];	/* reported on this line */
	int nseen;
};

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

static bool v6_char(unsigned char c)
{
	return isxdigit(c) || c == ':' || c == '.';
}

static void hit(struct scan *s, int tier, const char *what, const char *value, const char *rule)
{
	struct tw_ep_hit h = { .tier = tier, .what = what, .value = value, .rule = rule,
			       .line = s->line };
	int i;

	if (tier == s->skip_tier)
		return;
	for (i = 0; i < s->nseen; i++)
		if (!strcmp(s->seen[i], value))
			return;
	if (s->nseen < SEEN_MAX)
		snprintf(s->seen[s->nseen++], sizeof(s->seen[0]), "%s", value);
	s->cb(s->arg, &h);
}

/* The policy hostname that owns name: exact first, else the longest wildcard. */
static const struct tw_policy_host *owner_of_name(const struct tw_policy *p, const char *name)
{
	const struct tw_policy_host *best = NULL;
	size_t n = strlen(name), bestlen = 0;
	int i;

	for (i = 0; i < p->nhosts; i++) {
		const struct tw_policy_host *h = &p->hosts[i];
		size_t sl;

		if (!h->wildcard) {
			if (!strcmp(h->name, name))
				return h;
			continue;
		}
		sl = strlen(h->name + 1);	/* ".suffix" */
		if (n > sl && !strcmp(name + n - sl, h->name + 1) && sl > bestlen) {
			best = h;
			bestlen = sl;
		}
	}
	return best;
}

static void judge_name(struct scan *s, const char *run, size_t n)
{
	char name[TW_HOSTNAME_MAX + 3];
	const struct tw_policy_host *h;
	bool letter = false;
	size_t i;

	while (n && run[n - 1] == '.')
		n--;	/* FEED-DB.prod.example. is FEED-DB.prod.example */
	if (!n || n > TW_HOSTNAME_MAX || !memchr(run, '.', n))
		return;
	for (i = 0; i < n; i++) {
		name[i] = tolower((unsigned char)run[i]);
		letter |= isalpha((unsigned char)run[i]);
	}
	name[n] = '\0';
	h = letter ? owner_of_name(s->p, name) : NULL;
	if (h)
		hit(s, h->tier, "hostname", name, h->jpath);
}

/* Most specific CIDR rule containing the address, on any port; -1 if none. */
static int widest_rule(const struct tw_policy *p, int family, const uint8_t *addr)
{
	struct tw_cidr host = { .family = family, .len = family == 4 ? 32 : 128 };
	int i, best = -1;

	memcpy(host.addr, addr, 16);
	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].cidr.family == family && tw_cidr_contains(&p->rules[i].cidr, &host) &&
		    (best < 0 || p->rules[i].cidr.len > p->rules[best].cidr.len))
			best = i;
	return best;
}

static bool group_has_port(const struct tw_policy_rule *g, int port)
{
	int i;

	for (i = 0; port && i < g->nports; i++)
		if (g->ports[i] == port)
			return true;
	return !g->nports || !port;
}

/* An address no CIDR rule decides: is it one a policy hostname resolves to now? */
static void judge_known(struct scan *s, int family, const uint8_t *addr, int port, const char *txt)
{
	const char *name;
	json_t *addrs, *a;
	uint8_t b[16];
	size_t i;
	int k;

	json_object_foreach(s->known, name, addrs) {
		json_array_foreach(addrs, i, a) {
			const char *as = json_string_value(a);

			memset(b, 0, sizeof(b));
			if (!as || inet_pton(family == 4 ? AF_INET : AF_INET6, as, b) != 1 ||
			    memcmp(b, addr, family == 4 ? 4 : 16))
				continue;
			for (k = 0; k < s->p->nhosts; k++) {
				const struct tw_policy_host *h = &s->p->hosts[k];

				if (!strcmp(h->name, name) && group_has_port(&s->p->hrules[h->group], port))
					hit(s, h->tier, "address", txt, h->jpath);
			}
		}
	}
}

static void judge_addr(struct scan *s, int family, const uint8_t *addr, int port)
{
	char txt[INET6_ADDRSTRLEN];
	int r = s->t ? tw_tables_match(s->t, family, addr, port) : -1;

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, txt, sizeof(txt));
	if (r < 0 && !port)
		r = widest_rule(s->p, family, addr);
	if (r >= 0 && r < s->p->nrules)
		hit(s, s->p->rules[r].tier, "address", txt, s->p->rules[r].jpath);
	else if (r < 0)
		judge_known(s, family, addr, port, txt);
}

/* Digits after ':' at l[at] (a port), else 0. */
static int port_at(const char *l, size_t n, size_t at)
{
	long v = 0;
	size_t i;

	if (at >= n || l[at] != ':')
		return 0;
	for (i = at + 1; i < n && i < at + 6 && isdigit((unsigned char)l[i]); i++)
		v = v * 10 + (l[i] - '0');
	return i > at + 1 && v <= 65535 && (i == n || !isdigit((unsigned char)l[i])) ? (int)v : 0;
}

static void scan_names(struct scan *s, const char *l, size_t n)
{
	size_t i = 0, start;
	char tmp[64];
	uint8_t a[16];

	while (i < n) {
		while (i < n && !name_char(l[i]))
			i++;
		start = i;
		while (i < n && name_char(l[i]))
			i++;
		memset(a, 0, sizeof(a));
		if (i - start < sizeof(tmp)) {
			memcpy(tmp, l + start, i - start);
			tmp[i - start] = '\0';
			if (inet_pton(AF_INET, tmp, a) == 1) {
				judge_addr(s, 4, a, port_at(l, n, i));
				continue;
			}
		}
		judge_name(s, l + start, i - start);
	}
}

static void scan_v6(struct scan *s, const char *l, size_t n)
{
	size_t i = 0, start, colons;
	char tmp[INET6_ADDRSTRLEN];
	uint8_t a[16];
	int port;

	while (i < n) {
		while (i < n && !v6_char(l[i]))
			i++;
		start = i;
		for (colons = 0; i < n && v6_char(l[i]); i++)
			colons += l[i] == ':';
		if (colons < 2 || i - start >= sizeof(tmp))
			continue;
		memcpy(tmp, l + start, i - start);
		tmp[i - start] = '\0';
		if (inet_pton(AF_INET6, tmp, a) != 1)
			continue;
		port = start && l[start - 1] == '[' && i < n && l[i] == ']' ? port_at(l, n, i + 1) : 0;
		if (!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			memmove(a, a + 12, 4);	/* ::ffff:a.b.c.d is judged as a.b.c.d */
			memset(a + 4, 0, 12);
			judge_addr(s, 4, a, port);
		} else {
			judge_addr(s, 6, a, port);
		}
	}
}

void tw_ep_scan(const struct tw_policy *p, const struct tw_tables *t, json_t *known,
		const char *text, size_t len, long first_line, int skip_tier, tw_ep_cb cb,
		void *arg)
{
	struct scan *s = calloc(1, sizeof(*s));
	const char *line = text, *end = text + len;

	if (!s)
		return;
	*s = (struct scan){ .p = p, .t = t, .known = known, .skip_tier = skip_tier,
			    .line = first_line, .cb = cb, .arg = arg };
	for (; line < end; s->line++) {
		const char *nl = memchr(line, '\n', end - line);
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);

		s->nseen = 0;
		scan_names(s, line, n);
		scan_v6(s, line, n);
		line = nl ? nl + 1 : end;
	}
	free(s);
}
