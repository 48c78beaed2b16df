/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rules in prefix order, for compile.c (parents, tables) and dests.c
 * (duplicates and conflicts): a million rules sorted by their prefixes.
 */
#ifndef TW_RULESORT_H
#define TW_RULESORT_H

#include <stdbool.h>
#include "policy.h"

/*
 * order[0..n) gets the indices of r[0..n) by family, then address then
 * length (len_first false) or length then address (len_first true), equal
 * prefixes in document order. -ENOMEM, else 0.
 */
int tw_rules_sort(const struct tw_policy_rule *r, int n, bool len_first, int *order);

#endif
