/* SPDX-License-Identifier: GPL-2.0 */
/* tierwall-nri against a real daemon (podhook.c), for the pod tests. */
#ifndef TW_TESTS_PODHOOK_H
#define TW_TESTS_PODHOOK_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "fixture.h"

/*
 * A process in a cgroup that waits, as runc's init does, then connects to
 * addr:port, or opens path when it is set (before init_start).
 */
struct init_proc {
	pid_t pid;
	int go;
	const char *path;
};

/* Start it in cgroup rel (relative to the fixture's root): 0 once it is there. */
int init_start(struct fx *f, const char *rel, const char *addr, int port, struct init_proc *p);
/* Let it run its first instruction: 0 if allowed, else the errno it met. */
int init_run(struct init_proc *p);
/* Run tierwall-nri invoke as containerd would, for that pid; its JSON result. */
json_t *nri_invoke(struct fx *f, int pid, const char *id, const char *ns, const char *pod,
		   const char *tier, int timeout_ms);
/* The result's "error" ("not JSON" when there was no result). */
const char *result_error(json_t *r);
/* The hook let the container start: a result without "error" (else the test fails). */
bool placed(json_t *r, const char *what);

#endif
