/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_POLICYSIG_H
#define TW_DAEMON_POLICYSIG_H

#include "state.h"

#define DM_POLICYSIG_USAGE \
"  --policy-pubkey PEM  load only a policy signed by this Ed25519 key, in POLICY.sig\n" \
"                       (tierwall sign); repeatable: any of them (key rotation)\n" \
"  --guard-path PATH    also guard this runtime hook file or directory against\n" \
"                       tiered processes (repeatable; default: those of NRI and OCI\n" \
"                       hooks that exist, see tierwalld(8))\n"

/* --policy-pubkey PEM (repeatable): -EINVAL with the message printed. */
int dm_pubkey_opt(struct daemon *d, const char *arg);
/*
 * Read the policy file once, check its signature (with --policy-pubkey)
 * and parse those same bytes. -EBADMSG and why for a signature refused;
 * other errors in diags.
 */
int dm_policy_load(struct daemon *d, struct tw_policy **out, struct tw_diags *diags, char *why,
		   size_t whylen);

#endif
