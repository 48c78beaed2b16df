/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The standard integration setup shared by the host test files: tiers dev
 * (audit), staging and prod on agents/ and services/ cgroups, prod owning
 * 127.20/16 (and more), staging 127.30/16.
 */
#ifndef TW_STD_H
#define TW_STD_H

#include <stdbool.h>
#include <sys/types.h>
#include "fixture.h"

#define P_ANY		fx_port(0)	/* listeners for allowed paths */
#define P_SCOPED	fx_port(1)	/* prod owns 127.21/16 only on this port */
#define P_NESTED	fx_port(2)	/* staging owns 127.22.1/24 on this port, inside prod's /16 */

extern const char *const std_cgroups[];

void std_policy(char *buf, size_t len);
/* Root and a cgroup2 mount, else the test is skipped (with the reason). */
bool can_run(void);
/* Set up cgroups, write the standard policy, start the daemon. */
bool std_start(struct fx *f);
/*
 * The same on a slot of a daemon that the file's tests share (fx_share):
 * for tests that need no daemon of their own (no restart, reload, counters).
 */
bool std_share(struct fx *f);
/* The same with another policy on the standard cgroups. */
bool std_start_with(struct fx *f, const char *policy);
/* The decision's event is in the log with these fields. */
void check_event(struct fx *f, pid_t pid, int port, const char *kind,
		 const char *verdict, const char *tier, const char *target,
		 const char *cg_rel, const char *ip, const char *proto, const char *rule);

/* A zeroed page shared with forked children (results, a stop flag), or NULL; munmap(p, 4096). */
void *std_shared_page(void);

#endif
