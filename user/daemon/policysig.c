// SPDX-License-Identifier: GPL-2.0
/*
 * --policy-pubkey: the daemon loads, at start, reload and watch, only a
 * policy whose POLICY.sig is a valid Ed25519 signature by one of the keys
 * (user/policy/sign.c checks it, as tierwall check does). The bytes checked
 * are the bytes parsed: the file is read once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "policysig.h"
#include "sign.h"
#include "util.h"

int dm_pubkey_opt(struct daemon *d, const char *arg)
{
	char why[512];

	if (d->npubkeys == (int)ARRAY_SIZE(d->policy_pubkeys)) {
		tw_err("--policy-pubkey: at most %zu keys", ARRAY_SIZE(d->policy_pubkeys));
		return -EINVAL;
	}
	if (tw_policy_pubkey_check(arg, why, sizeof(why))) {
		tw_err("--policy-pubkey: %s", why);
		return -EINVAL;
	}
	d->policy_pubkeys[d->npubkeys++] = arg;
	return 0;
}

int dm_policy_load(struct daemon *d, struct tw_policy **out, struct tw_diags *diags, char *why,
		   size_t whylen)
{
	size_t len;
	char *text;
	int which, err;

	*out = NULL;
	err = tw_read_file(d->policy_file, &text, &len);
	if (err) {
		diags->file = d->policy_file;
		tw_diag(diags, NULL, "cannot read policy: %s", strerror(-err));
		return err;
	}
	if (d->npubkeys) {
		err = tw_policy_verify(d->policy_file, text, len, d->policy_pubkeys, d->npubkeys, &which,
				       why, whylen);
		if (err) {
			free(text);
			return err;
		}
		tw_info("%s: signed by %s", d->policy_file, d->policy_pubkeys[which]);
	}
	err = tw_policy_parse(d->policy_file, text, len, out, diags);
	diags->text = NULL;	/* text is freed here */
	free(text);
	return err;
}
