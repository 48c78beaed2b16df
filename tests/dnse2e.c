// SPDX-License-Identifier: GPL-2.0
/* Hostnames end to end: the shared setup and clients (see dnse2e.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "dnse2e.h"
#include "net.h"
#include "test.h"

const char *dns_policy =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [\n"
	"    { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"late.prod.test\", \"*.wild.prod.test\"] },\n"
	"    { \"tier\": \"staging\", \"hostnames\": [\"api.staging.test\"] } ] }\n";

struct lookup {
	const char *name;
	const char *want;
};

static int do_lookup(void *arg)
{
	const struct lookup *l = arg;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char txt[INET6_ADDRSTRLEN];
	int found = 0;

	if (getaddrinfo(l->name, NULL, &hints, &res))
		return -1;	/* fx_do reports -ret */
	for (ai = res; ai; ai = ai->ai_next) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, txt, sizeof(txt));
		found |= !l->want || !strcmp(txt, l->want);
	}
	freeaddrinfo(res);
	return found ? 0 : -1;
}

int lookup_in(struct fx *f, const char *rel, const char *name, const char *want, pid_t *pid)
{
	struct lookup l = { .name = name, .want = want };

	return fx_do(f, rel, do_lookup, &l, pid);
}

struct query {
	const char *server;
	const char *name;
	bool tcp;
};

static int do_query(void *arg)
{
	const struct query *q = arg;

	return tw_dns_ask(q->server, q->name, q->tcp);
}

int query_in(struct fx *f, const char *rel, const char *server, const char *name, bool tcp,
	     pid_t *pid)
{
	struct query q = { .server = server, .name = name, .tcp = tcp };

	return fx_do(f, rel, do_query, &q, pid);
}

int dns_setup_with(struct fx *f, struct fx_dns *x, const char *const *extra,
		   const char *policy, const char *hosts)
{
	static const char *const cgs[] = { "staging", "prod", "other", NULL };
	int err;

	memset(x, 0, sizeof(*x));	/* cleanup may run before fx_dns_start */
	x->old_net = x->old_mnt = x->old_cwd = -1;
	if (!ASSERT_OK(fx_init(f, cgs), "fixture"))
		return -1;
	err = fx_dns_start(x, f, hosts);
	if (err)
		return err == 1 ? 1 : (ASSERT_OK(err, "dnsmasq in a private namespace"), -1);
	if (!ASSERT_OK(fx_write_policy(f, policy), "policy"))
		return -1;
	if (!ASSERT_OK(fx_start(f, extra), "tierwalld starts")) {
		char out[8192];

		fx_sh(out, sizeof(out), "cat %s", f->daemon_out);
		printf("%s", out);
		return -1;
	}
	return 0;
}

int dns_setup(struct fx *f, struct fx_dns *x, const char *const *extra)
{
	return dns_setup_with(f, x, extra, dns_policy, HOSTS_V1);
}

bool eventually(struct fx *f, const char *addr, int port, int want, int secs)
{
	long long end = fx_now_ms() + fx_timeout_ms(secs * 1000 * 4);

	do {
		if (fx_net(f, "staging", TW_OP_TCP_CONNECT, addr, port, NULL) == want)
			return true;
		usleep(200 * 1000);	/* the pace of asking, not what decides */
	} while (fx_now_ms() < end);
	return false;
}
