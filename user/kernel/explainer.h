/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The explainer: the explain BPF program (bpf/explain.bpf.c), which runs
 * the hooks' own decision functions on a question (struct tw_explain) with
 * BPF_PROG_TEST_RUN. The daemon's shares the live maps (objects.c); the one
 * `tierwall simulate` makes has maps of its own, filled from a draft policy.
 */
#ifndef TW_EXPLAINER_H
#define TW_EXPLAINER_H

#include <stdint.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "policy.h"

struct tw_explainer;

/* Open (not load): share maps through tw_explainer_object() first. */
int tw_explainer_open(struct tw_explainer **out);
struct bpf_object *tw_explainer_object(struct tw_explainer *x);
/*
 * Load. Maps that share nothing get the sizes of t (NULL: one entry each),
 * room for nhosts hostname addresses and nsecrets secret identities.
 */
int tw_explainer_load(struct tw_explainer *x, const struct tw_tables *t, uint32_t nhosts,
		      uint32_t nsecrets, char *why, size_t len);
/* Fill maps of its own from a policy's tables (simulate). */
int tw_explainer_fill(struct tw_explainer *x, const struct tw_tables *t, const struct tw_policy *p);
/* An address a hostname resolved to, a secret identity, a device with protected directories. */
int tw_explainer_host(struct tw_explainer *x, const struct tw_host_key *k, const struct tw_host_val *v);
int tw_explainer_secret(struct tw_explainer *x, const struct tw_secret_key *k,
			const struct tw_secret_val *v);
int tw_explainer_secret_dev(struct tw_explainer *x, uint32_t dev);
/* Ask: io's inputs in, its outputs filled; -errno. */
int tw_explainer_run(struct tw_explainer *x, struct tw_explain *io);
void tw_explainer_free(struct tw_explainer *x);

#endif
