// SPDX-License-Identifier: GPL-2.0
/*
 * What the resolver shows: its names with their addresses and state (status),
 * what it knows (persisted across restarts), counts for metrics, and the
 * check of a --dns-server list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dns_int.h"

/* One "V4", "V6", "V4:PORT" or "[V6]:PORT" of a --dns-server list. */
static bool server_ok(const char *item)
{
	const char *port = NULL, *c;
	unsigned char buf[16];
	char addr[64], *end;
	size_t n;
	long p;

	if (item[0] == '[') {
		c = strchr(item, ']');
		if (!c || c[1] != ':')
			return false;	/* c-ares wants a port after brackets */
		port = c + 2;
		n = c - ++item;
	} else {
		c = strchr(item, ':');
		if (c && !strchr(c + 1, ':')) {
			n = c - item;		/* v4:port */
			port = c + 1;
		} else {
			n = strlen(item);	/* v4, or a bare v6 */
		}
	}
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, item, n);
	addr[n] = '\0';
	if (port) {
		p = strtol(port, &end, 10);
		if (!*port || *end || p < 1 || p > 65535)
			return false;
	}
	return inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1;
}

int tw_dns_check_servers(const char *servers, char *why, size_t len)
{
	char list[1024], *item, *save = NULL;

	if (!*servers || strlen(servers) >= sizeof(list)) {
		snprintf(why, len, "--dns-server: expected a list of ADDR[:PORT], got \"%.40s\"", servers);
		return -EINVAL;
	}
	snprintf(list, sizeof(list), "%s", servers);
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save))
		if (!server_ok(item)) {
			snprintf(why, len, "--dns-server: \"%s\" is not an address, IPV4:PORT or [IPV6]:PORT "
				 "(port 1-65535)", item);
			return -EINVAL;
		}
	return 0;
}

json_t *tw_dns_status(const struct tw_dns *d)
{
	static const char *const state[] = { "pending", "resolved", "failing" };
	json_t *arr = json_array();
	uint64_t now = now_ms();
	int i, j;

	for (i = 0; d && i < d->n; i++) {
		const struct name *nm = &d->names[i];
		json_t *addrs = json_array();
		char txt[INET6_ADDRSTRLEN];

		for (j = 0; j < nm->naddrs; j++) {
			const struct addr *a = &nm->addrs[j];
			json_t *o = json_pack("{s:s}", "address", addr_str(&a->key, txt, sizeof(txt)));

			if (!a->in_answer)
				json_object_set_new(o, "grace_left_s",
						    json_integer(((int64_t)d->o.grace_s * 1000 -
								  (int64_t)(now - a->last_seen_ms)) / 1000));
			json_array_append_new(addrs, o);
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:i, s:I, s:i, s:s?}",
			"hostname", host_of(nm)->name, "tier", d->p->tiers[host_of(nm)->tier].name,
			"state", state[nm->state], "addresses", addrs, "ttl", nm->ttl,
			"next_query_in_ms", (json_int_t)(nm->next_ms > now ? nm->next_ms - now : 0),
			"failures", nm->failures, "error", nm->error[0] ? nm->error : NULL));
	}
	return arr;
}

json_t *tw_dns_known(const struct tw_dns *d)
{
	json_t *o = json_object();
	int i, j;

	for (i = 0; d && i < d->n; i++) {
		const struct name *nm = &d->names[i];
		struct tw_host_key keys[64];
		int n = 0;

		for (j = 0; j < nm->naddrs && n < (int)ARRAY_SIZE(keys); j++)
			keys[n++] = nm->addrs[j].key;
		if (n)
			json_object_set_new(o, host_of(nm)->name, tw_dns_addr_list(keys, n));
	}
	return o;
}

void tw_dns_counts(const struct tw_dns *d, int *names, int *failing, int *addrs)
{
	int i;

	*names = *failing = *addrs = 0;
	for (i = 0; d && i < d->n; i++) {
		(*names)++;
		*failing += d->names[i].state == NS_FAILING;
		*addrs += d->names[i].naddrs;
	}
}
