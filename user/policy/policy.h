/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_POLICY_H
#define TW_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "cidr.h"
#include "tierwall.h"

#define TW_TIER_NAME_MAX	32
#define TW_JPATH_MAX		96
/* A rule's "destinations[i].cidrs[j]": short, a million rules may be held. */
#define TW_RULE_JPATH_MAX	48

struct tw_policy_tier {
	char name[TW_TIER_NAME_MAX];
	int mode;			/* enum tw_mode, global mode applied */
	bool log_all;			/* "log": "all" */
};

struct tw_policy_cgroup {
	char *path;			/* normalised, relative to the cgroup root, leading '/' */
	int tier;			/* 1-based tier id */
	char jpath[TW_JPATH_MAX];
};

/* One CIDR of one destination entry: the unit the kernel matches. */
struct tw_policy_rule {
	struct tw_cidr cidr;
	int tier;
	int nports;
	uint16_t ports[TW_MAX_PORTS];
	char jpath[TW_RULE_JPATH_MAX];	/* destinations[i].cidrs[j] */
};

/*
 * One hostname of one destination entry. Names are kept lowercase, without
 * the trailing dot; a wildcard "*.example.com" keeps its "*.".
 */
struct tw_policy_host {
	char *name;
	bool wildcard;
	int tier;
	int group;			/* which hrules[] entry (destination) owns it */
	char jpath[TW_JPATH_MAX];	/* destinations[i].hostnames[j] */
};

struct tw_policy_secret {
	char *path;
	int tier;
	char jpath[TW_JPATH_MAX];
};

/* A namespace whose pods get a tier by default ("kubernetes"."namespaces"). */
struct tw_policy_kube_ns {
	char *name;
	int tier;
	char jpath[TW_JPATH_MAX];
};

#define TW_KUBE_TIER_LABEL	"tierwall.io/tier"
#define TW_KUBE_LABEL_MAX	317	/* prefix (253) '/' name (63) */

/* How pods get their tier: the "kubernetes" section, or its defaults. */
struct tw_policy_kube {
	char tier_label[TW_KUBE_LABEL_MAX + 1];
	bool label_overrides;		/* a pod label may override its namespace's tier */
	int nns;
	struct tw_policy_kube_ns *ns;
	/*
	 * The pods' roots ("pods_roots", relative to the daemon's cgroup root):
	 * unplaced cgroups below them are pending. roots_set false: the daemon
	 * finds them (TW_KUBE_FOUND_ROOTS that exist).
	 */
	bool roots_set;
	int nroots;
	char **roots;
	char roots_jpath[TW_JPATH_MAX];
};

/* The pods' roots the daemon looks for when the policy names none. */
#define TW_KUBE_FOUND_ROOTS	{ "/kubepods.slice", "/kubepods", "/machine.slice", "/libpod_parent" }

/* Where copies of secrets are looked for ("drift"). */
#define TW_DRIFT_MAX_ROOTS	64

struct tw_policy_drift {
	int nroots;
	char **roots;			/* absolute, no trailing slash */
	int mode;			/* enum tw_mode: enforce protects whole-file copies */
};

struct tw_policy {
	char digest[72];		/* sha256 of the file's bytes */
	int mode;			/* global enum tw_mode */
	int ntiers;
	struct tw_policy_tier tiers[TW_MAX_TIERS + 1];	/* [1..ntiers] */
	int ncgroups;
	struct tw_policy_cgroup *cgroups;
	int nrules;
	struct tw_policy_rule *rules;
	int nsecrets;
	struct tw_policy_secret *secrets;
	int nhosts;
	struct tw_policy_host *hosts;
	/* Tier and ports of each destination entry with hostnames (cidr unused). */
	int nhrules;
	struct tw_policy_rule *hrules;
	struct tw_policy_kube kube;
	struct tw_policy_drift drift;
};

/* Longest hostname without the trailing dot (RFC 1035: 255 bytes on the wire). */
#define TW_HOSTNAME_MAX		253

/*
 * Check and normalise a policy hostname: exact ("api.example.com", trailing
 * dot optional) or a wildcard first label ("*.example.com"). Lowercase into
 * out (TW_HOSTNAME_MAX + 3 bytes); false with the reason in why.
 */
bool tw_hostname_parse(const char *in, char *out, bool *wildcard, char *why, size_t whylen);

/* Collected errors, each "FILE:LINE:COL: JPATH: message". */
struct tw_diags {
	int count;
	int cap;
	char **msgs;
	/* Where errors point: set by the parser. */
	const char *file;
	const char *text;
	size_t len;
};

/* Parse and validate; 0 on success, -EINVAL with d->count > 0 on policy errors. */
int tw_policy_parse(const char *file, const char *text, size_t len,
		    struct tw_policy **out, struct tw_diags *d);
/* Read FILE then parse it; -errno (reported in d) if it cannot be read. */
int tw_policy_load(const char *file, struct tw_policy **out, struct tw_diags *d);
void tw_policy_free(struct tw_policy *p);

int tw_policy_tier_id(const struct tw_policy *p, const char *name);

void tw_diag(struct tw_diags *d, const char *jpath, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tw_diags_print(const struct tw_diags *d, FILE *f);
void tw_diags_free(struct tw_diags *d);

/* Line and column (1-based) of the value at jpath in JSON text. */
void tw_json_locate(const char *text, size_t len, const char *jpath,
		    int *line, int *col);

#endif
