// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "destinations": CIDRs with optional ports, and hostnames
 * (exact or "*." wildcards), each owned by one tier; then the check that no
 * CIDR is given twice in a way the maps could not hold.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cidr.h"
#include "policy.h"
#include "rulesort.h"
#include "section.h"
#include "util.h"

static int parse_ports(struct pctx *c, const char *jp, json_t *arr,
		       uint16_t *ports)
{
	size_t i, j;
	json_t *v;
	int n = 0;

	if (!want_type(c, jp, arr, JSON_ARRAY, "an array of port numbers"))
		return -1;
	if (!json_array_size(arr)) {
		tw_diag(c->d, jp, "empty port list (leave \"ports\" out to mean all ports)");
		return -1;
	}
	if (json_array_size(arr) > TW_MAX_PORTS) {
		tw_diag(c->d, jp, "%zu ports listed, at most %d per entry",
			json_array_size(arr), TW_MAX_PORTS);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		char ip[TW_JPATH_MAX];
		json_int_t port;

		snprintf(ip, sizeof(ip), "%s[%zu]", jp, i);
		if (!want_type(c, ip, v, JSON_INTEGER, "a port number"))
			return -1;
		port = json_integer_value(v);
		if (port < 1 || port > 65535) {
			tw_diag(c->d, ip, "port %lld out of range 1-65535", (long long)port);
			return -1;
		}
		for (j = 0; j < (size_t)n; j++)
			if (ports[j] == port)
				break;
		if (j < (size_t)n) {
			tw_diag(c->d, ip, "port %lld listed twice", (long long)port);
			return -1;
		}
		ports[n++] = port;
	}
	return n;
}

static bool all_digits_and_dots(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s);
}

bool tw_hostname_parse(const char *in, char *out, bool *wildcard, char *why, size_t whylen)
{
	const char *name = in, *label;
	size_t n = strlen(in), i, len;
	int k;

	*wildcard = false;
	if (n && in[n - 1] == '.')
		n--;	/* "example.com." is "example.com" */
	if (!n) {
		snprintf(why, whylen, "empty hostname");
		return false;
	}
	if (n >= 2 && !strncmp(in, "*.", 2)) {
		*wildcard = true;
		name += 2;
		n -= 2;
	}
	if (memchr(name, '*', n)) {
		snprintf(why, whylen, "\"%s\": a wildcard is allowed only as the whole first label (\"*.example.com\")", in);
		return false;
	}
	if (!n) {
		snprintf(why, whylen, "\"%s\": a wildcard needs a domain after \"*.\"", in);
		return false;
	}
	/* Only one trailing dot is the root: "a.b.." has an empty last label (found by fuzz_fields). */
	if (name[n - 1] == '.') {
		snprintf(why, whylen, "\"%s\": empty label (two dots, or a leading dot)", in);
		return false;
	}
	if (n + (*wildcard ? 2 : 0) > TW_HOSTNAME_MAX) {
		snprintf(why, whylen, "\"%.40s...\" is %zu characters long, at most %d", in,
			 n + (*wildcard ? 2 : 0), TW_HOSTNAME_MAX);
		return false;
	}
	for (label = name, k = 1; label < name + n; label += len + 1, k++) {
		const char *dot = memchr(label, '.', name + n - label);

		len = dot ? (size_t)(dot - label) : (size_t)(name + n - label);
		if (!len) {
			snprintf(why, whylen, "\"%s\": empty label (two dots, or a leading dot)", in);
			return false;
		}
		if (len > 63) {
			snprintf(why, whylen, "\"%s\": label %d is %zu characters long, at most 63", in, k, len);
			return false;
		}
		for (i = 0; i < len; i++) {
			unsigned char ch = label[i];

			if (!isalnum(ch) && ch != '-' && ch != '_') {
				snprintf(why, whylen, "\"%s\": label %d has '%c' (use letters, digits, '-' and '_')",
					 in, k, isprint(ch) ? ch : '?');
				return false;
			}
		}
		if (label[0] == '-' || label[len - 1] == '-') {
			snprintf(why, whylen, "\"%s\": label %d starts or ends with '-'", in, k);
			return false;
		}
	}
	if (!*wildcard && all_digits_and_dots(name)) {
		snprintf(why, whylen, "\"%s\" is an IP address: put it under \"cidrs\"", in);
		return false;
	}
	len = 0;
	if (*wildcard) {
		memcpy(out, "*.", 2);
		len = 2;
	}
	for (i = 0; i < n; i++)
		out[len++] = tolower((unsigned char)name[i]);
	out[len] = '\0';
	return true;
}

static void parse_hostnames(struct pctx *c, const char *jp, json_t *arr, int tier,
			    int nports, const uint16_t *ports)
{
	struct tw_policy_rule *g = NULL;
	size_t j;
	json_t *s;

	if (!want_type(c, jp, arr, JSON_ARRAY, "an array of hostnames"))
		return;
	if (!json_array_size(arr))
		tw_diag(c->d, jp, "empty hostname list");
	if (tier) {
		g = &c->p->hrules[c->p->nhrules++];
		g->tier = tier;
		g->nports = nports;
		memcpy(g->ports, ports, sizeof(g->ports));
		snprintf(g->jpath, sizeof(g->jpath), "%s", jp);
	}
	json_array_foreach(arr, j, s) {
		char ep[TW_JPATH_MAX], why[512], name[TW_HOSTNAME_MAX + 3];
		struct tw_policy_host *h;
		bool wild;
		int k;

		snprintf(ep, sizeof(ep), "%s[%zu]", jp, j);
		if (!want_type(c, ep, s, JSON_STRING, "a hostname string"))
			continue;
		if (!tw_hostname_parse(json_string_value(s), name, &wild, why, sizeof(why))) {
			tw_diag(c->d, ep, "%s", why);
			continue;
		}
		for (k = 0; k < c->p->nhosts; k++)
			if (!strcmp(c->p->hosts[k].name, name))
				break;
		if (k < c->p->nhosts) {
			const struct tw_policy_host *o = &c->p->hosts[k];

			if (o->tier == tier)
				tw_diag(c->d, ep, "\"%s\" is a duplicate of %s", name, o->jpath);
			else
				tw_diag(c->d, ep, "\"%s\" is already owned by tier \"%s\" at %s: a name belongs to one tier",
					name, c->p->tiers[o->tier].name, o->jpath);
			continue;
		}
		if (!g)
			continue;
		h = &c->p->hosts[c->p->nhosts++];
		h->name = strdup(name);
		h->wildcard = wild;
		h->tier = tier;
		h->group = g - c->p->hrules;
		snprintf(h->jpath, sizeof(h->jpath), "%s", ep);
	}
}

void tw_parse_destinations(struct pctx *c, json_t *arr)
{
	static const char *const keys[] = { "tier", "cidrs", "hostnames", "ports", NULL };
	size_t nhosts = 0;
	size_t i, j, total = 0;
	json_t *v;

	if (!arr)
		return;
	if (!want_type(c, "destinations", arr, JSON_ARRAY, "an array"))
		return;
	json_array_foreach(arr, i, v) {
		json_t *cidrs = json_is_object(v) ? json_object_get(v, "cidrs") : NULL;
		json_t *hosts = json_is_object(v) ? json_object_get(v, "hostnames") : NULL;

		total += json_is_array(cidrs) ? json_array_size(cidrs) : 0;
		nhosts += json_is_array(hosts) ? json_array_size(hosts) : 0;
	}
	c->p->rules = calloc(total + 1, sizeof(*c->p->rules));
	c->p->hosts = calloc(nhosts + 1, sizeof(*c->p->hosts));
	c->p->hrules = calloc(json_array_size(arr) + 1, sizeof(*c->p->hrules));
	json_array_foreach(arr, i, v) {
		char jp[TW_JPATH_MAX], cp[TW_JPATH_MAX], pp[TW_JPATH_MAX], hjp[TW_JPATH_MAX];
		uint16_t ports[TW_MAX_PORTS] = {};
		json_t *cidrs, *pv, *s, *hp;
		int tier, nports = 0;

		snprintf(jp, sizeof(jp), "destinations[%zu]", i);
		snprintf(cp, sizeof(cp), "%s.cidrs", jp);
		snprintf(pp, sizeof(pp), "%s.ports", jp);
		if (!want_type(c, jp, v, JSON_OBJECT, "an object"))
			continue;
		check_keys(c, jp, v, keys);
		tier = tw_ref_tier(c, jp, v);
		pv = json_object_get(v, "ports");
		if (pv && (nports = parse_ports(c, pp, pv, ports)) < 0)
			tier = nports = 0;	/* still check the CIDRs */
		hp = json_object_get(v, "hostnames");
		if (hp) {
			snprintf(hjp, sizeof(hjp), "%s.hostnames", jp);
			parse_hostnames(c, hjp, hp, tier, nports, ports);
		}
		cidrs = json_object_get(v, "cidrs");
		if (!cidrs) {
			if (!hp)
				tw_diag(c->d, jp, "needs \"cidrs\", \"hostnames\" or both");
			continue;
		}
		if (!want_type(c, cp, cidrs, JSON_ARRAY, "an array of CIDRs"))
			continue;
		if (!json_array_size(cidrs))
			tw_diag(c->d, cp, "empty CIDR list");
		json_array_foreach(cidrs, j, s) {
			struct tw_policy_rule *r;
			char ep[TW_JPATH_MAX], why[256];
			struct tw_cidr cidr;

			snprintf(ep, sizeof(ep), "%s[%zu]", cp, j);
			if (!want_type(c, ep, s, JSON_STRING, "a CIDR string"))
				continue;
			if (tw_cidr_parse(json_string_value(s), &cidr, why, sizeof(why))) {
				tw_diag(c->d, ep, "%s", why);
				continue;
			}
			if (!tier)
				continue;
			r = &c->p->rules[c->p->nrules++];
			r->cidr = cidr;
			r->tier = tier;
			r->nports = nports;
			memcpy(r->ports, ports, sizeof(ports));
			snprintf(r->jpath, sizeof(r->jpath), "%s", ep);
		}
	}
}

static bool ports_overlap(const struct tw_policy_rule *a, const struct tw_policy_rule *b)
{
	int i, j;

	if (!a->nports || !b->nports)
		return true;
	for (i = 0; i < a->nports; i++)
		for (j = 0; j < b->nports; j++)
			if (a->ports[i] == b->ports[j])
				return true;
	return false;
}

/* The same CIDR twice: a duplicate (same tier) or a conflict (ports overlap). */
void tw_check_rule_conflicts(struct pctx *c)
{
	struct tw_policy_rule *r = c->p->rules;
	int i, j, *v;

	if (c->p->nrules < 2)
		return;
	v = malloc(c->p->nrules * sizeof(*v));
	if (!v || tw_rules_sort(r, c->p->nrules, true, v)) {
		free(v);
		return;
	}
	for (i = 1; i < c->p->nrules; i++) {
		for (j = i - 1; j >= 0; j--) {
			struct tw_policy_rule *a = &r[v[j]], *b = &r[v[i]];
			char txt[64];

			if (a->cidr.family != b->cidr.family || a->cidr.len != b->cidr.len ||
			    memcmp(a->cidr.addr, b->cidr.addr, 16))
				break;
			tw_cidr_format(&b->cidr, txt, sizeof(txt));
			if (a->tier == b->tier)
				tw_diag(c->d, b->jpath, "%s is a duplicate of %s (merge them into one entry)",
					txt, a->jpath);
			else if (ports_overlap(a, b))
				tw_diag(c->d, b->jpath, "%s conflicts with %s: both tiers \"%s\" and \"%s\" own it on %s",
					txt, a->jpath, c->p->tiers[b->tier].name,
					c->p->tiers[a->tier].name,
					a->nports && b->nports ? "a common port" : "every port");
		}
	}
	free(v);
}
