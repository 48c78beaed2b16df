/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_PINS_H
#define TW_PINS_H

#include <stdbool.h>
#include <linux/bpf.h>

/* The links pinned in dir: the kernel's info on each, at most max; how many. */
int tw_pinned_links(const char *dir, struct bpf_link_info *out, int max);
/* Is the link's program still attached to something? */
bool tw_link_attached(const struct bpf_link_info *info);
/*
 * Links anywhere in the kernel, attached and running a tierwall program,
 * whatever pin directory holds them; -errno when the kernel will not list
 * them (listing needs CAP_SYS_ADMIN).
 */
int tw_tierwall_links(void);

#endif
