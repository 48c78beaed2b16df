// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall check and reload: a policy judged before it is loaded (errors,
 * and warnings for what is valid but risky), and loaded now through the
 * daemon, with its errors where they are (file:line:col).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "compile.h"
#include "lint.h"
#include "log.h"
#include "policy.h"
#include "sign.h"
#include "util.h"

static json_t *diags_json(const struct tw_diags *d)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < d->count; i++)
		json_array_append_new(a, json_string(d->msgs[i]));
	return a;
}

static json_t *summary(const char *file, const struct tw_policy *p)
{
	int i, v4 = 0;

	for (i = 0; i < p->nrules; i++)
		v4 += p->rules[i].cidr.family == 4;
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "file", file,
			 "policy", p->digest, "tiers", p->ntiers, "rules", p->nrules, "ipv4", v4,
			 "ipv6", p->nrules - v4, "hostnames", p->nhosts, "tagged_cgroups", p->ncgroups,
			 "secret_paths", p->nsecrets);
}

/* --policy-pubkey: as tierwalld's, the policy must be signed by one of them. */
static const char *pubs[8];
static int npubs;

static int check_opt(int c, const char *arg)
{
	char why[512];

	if (c != 'k')
		return -1;
	if (npubs == (int)ARRAY_SIZE(pubs) || tw_policy_pubkey_check(arg, why, sizeof(why))) {
		tw_err("--policy-pubkey: %s", npubs == (int)ARRAY_SIZE(pubs) ? "at most 8 keys" : why);
		exit(EXIT_USAGE);
	}
	pubs[npubs++] = arg;
	return 0;
}

/* Parse, compile and lint; *p set when valid. Errors and warnings located in the text. */
static int judge(const char *file, struct tw_policy **p, struct tw_diags *err, struct tw_diags *warn)
{
	struct tw_tables t;
	char why[1024];
	size_t len;
	char *text;
	int rc, which;

	*p = NULL;
	rc = tw_read_file(file, &text, &len);
	if (rc) {
		err->file = file;
		tw_diag(err, NULL, "cannot read policy: %s", strerror(-rc));
		return rc;
	}
	if (npubs && (rc = tw_policy_verify(file, text, len, pubs, npubs, &which, why, sizeof(why)))) {
		err->file = file;
		tw_diag(err, NULL, "%s", why);
		free(text);
		return rc;
	}
	rc = tw_policy_parse(file, text, len, p, err);
	if (!rc) {
		rc = tw_compile(*p, &t, err);
		if (!rc) {
			warn->file = file;
			warn->text = text;
			warn->len = len;
			tw_policy_lint(*p, &t, warn);
			warn->text = NULL;
			tw_tables_free(&t);
		} else {
			tw_policy_free(*p);
			*p = NULL;
		}
	}
	err->text = NULL;
	free(text);
	return rc;
}

int do_check(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "policy-pubkey", required_argument, NULL, 'k' },
		{}
	};
	struct tw_diags err = {}, warn = {};
	int first = tw_parse_opts(argc, argv, NULL, extra, check_opt), i;
	struct tw_policy *p;
	const char *file;
	json_t *o;

	tw_want_operands(argc, first, 1);
	file = argv[first];
	judge(file, &p, &err, &warn);
	if (tw_want_json) {
		o = p ? summary(file, p) : json_pack("{s:s}", "file", file);
		json_object_set_new(o, "ok", json_boolean(p != NULL));
		json_object_set_new(o, "errors", diags_json(&err));
		json_object_set_new(o, "warnings", diags_json(&warn));
		tw_print_json(o);
		json_decref(o);
	} else if (!p) {
		tw_diags_print(&err, stderr);
		fprintf(stderr, "%s: %d error%s\n", file, err.count, err.count == 1 ? "" : "s");
	} else {
		for (i = 0; i < warn.count; i++)
			fprintf(stderr, "warning: %s\n", warn.msgs[i]);
		o = summary(file, p);
		printf("%s: OK: %d tiers, %d rules (%lld IPv4, %lld IPv6), %d hostnames, %d tagged cgroups, %d secret paths, %s%s\n",
		       file, p->ntiers, p->nrules, json_integer_value(json_object_get(o, "ipv4")),
		       json_integer_value(json_object_get(o, "ipv6")), p->nhosts, p->ncgroups,
		       p->nsecrets, p->digest, warn.count ? " (with warnings, above)" : "");
		json_decref(o);
	}
	tw_diags_free(&err);
	tw_diags_free(&warn);
	if (!p)
		return EXIT_FAIL;
	tw_policy_free(p);
	return 0;
}

int do_reload(int argc, char **argv)
{
	int first = tw_parse_opts(argc, argv, NULL, NULL, NULL), rc;
	json_t *r, *v;
	size_t i;

	tw_want_operands(argc, first, 0);
	r = tw_call_reply_ms(json_pack("{s:s}", "cmd", "reload"), &rc, false, RELOAD_TIMEOUT_MS);
	if (!r)
		return EXIT_FAIL;
	rc = json_is_true(json_object_get(r, "ok")) ? 0 : EXIT_FAIL;
	if (tw_want_json) {
		tw_print_json(r);
	} else if (rc) {
		json_array_foreach(json_object_get(r, "errors"), i, v)
			fprintf(stderr, "%s\n", json_string_value(v));
		tw_err("%s", json_string_value(json_object_get(r, "error")) ?: "the reload failed");
	} else {
		printf("reloaded %s (%s): %lld tiers, %lld rules, %lld tagged cgroups\n",
		       json_string_value(json_object_get(r, "policy_file")),
		       json_string_value(json_object_get(r, "policy")),
		       json_integer_value(json_object_get(r, "tiers")),
		       json_integer_value(json_object_get(r, "rules")),
		       json_integer_value(json_object_get(r, "tagged_cgroups")));
	}
	json_decref(r);
	return rc;
}

static const char *sign_key;

static int sign_opt(int c, const char *arg)
{
	if (c != 'k')
		return -1;
	sign_key = arg;
	return 0;
}

int do_sign(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "key", required_argument, NULL, 'k' },
		{}
	};
	int first = tw_parse_opts(argc, argv, NULL, extra, sign_opt);
	char why[1024];

	tw_want_operands(argc, first, 1);
	if (!sign_key) {
		tw_err("sign: --key KEY (an Ed25519 private key in PEM) is required");
		tw_cmd_usage(stderr, tw_cur);
		return EXIT_USAGE;
	}
	if (tw_policy_sign_file(sign_key, argv[first], why, sizeof(why))) {
		tw_err("sign: %s", why);
		return EXIT_FAIL;
	}
	if (tw_want_json) {
		json_t *o = json_pack("{s:b, s:s, s:o}", "ok", 1, "file", argv[first], "sig",
				      json_sprintf("%s" TW_SIG_SUFFIX, argv[first]));

		tw_print_json(o);
		json_decref(o);
	} else {
		printf("signed %s: %s" TW_SIG_SUFFIX "\n", argv[first], argv[first]);
	}
	return 0;
}
