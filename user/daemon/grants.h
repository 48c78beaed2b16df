/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Time-boxed, approved exceptions (grants.c: the store, the kernel's slots,
 * expiry and reloads; grantsave.c: persistence; grantreq.c: the control
 * requests).
 */
#ifndef TW_DAEMON_GRANTS_H
#define TW_DAEMON_GRANTS_H

#include <stdint.h>
#include <sys/socket.h>
#include "state.h"

enum grant_state { GRANT_PENDING, GRANT_ACTIVE, GRANT_ENDED };

/* Who did something: login uid (-1: unset) tells people apart, else uid. */
struct person {
	uint32_t uid;
	int64_t login;
	int32_t pid;
};

struct grant {
	uint32_t id;
	enum grant_state state;
	char tier[TW_TIER_NAME_MAX];	/* the tier it is for */
	char *cgroup;			/* absolute; NULL: the whole tier */
	char *pod;			/* NAMESPACE/NAME when requested so */
	uint64_t cgroup_id;
	int cg_level;
	char *secret;			/* a policy secret path; NULL: a network grant */
	struct tw_cidr to;
	char *host;			/* a policy hostname instead of to (its addresses) */
	int nports;
	uint16_t ports[TW_GRANT_PORTS];
	uint8_t proto;			/* 0: TCP and UDP */
	long duration_s;
	char *reason;
	struct person req, appr, rev;
	int req_tier;			/* the requester's own tier, 0: untiered */
	bool self_approved;
	uint64_t requested_at;		/* unix seconds */
	uint64_t requested_boot;	/* CLOCK_BOOTTIME ns: pending_for counts from it */
	uint64_t deadline;		/* CLOCK_BOOTTIME ns; 0 while pending */
	uint64_t uses;			/* the kernel's count, as last read */
	int slot;			/* in the grants map; -1: none */
	int old_slot;			/* during a reload: in the old map (-2: none staged) */
	const char *end_event;		/* during a reload: ends (this record) if it takes over */
	char *end_why;
	const char *end;		/* why it ended (a record's event) */
	uint64_t ended_at;		/* unix seconds */
};

struct grant *dm_grant_find(struct daemon *d, uint32_t id);
/* A new pending grant (fields to fill), or NULL when the store is full. */
void dm_grant_clear(struct grant *g);	/* frees what it holds */
struct grant *dm_grant_new(struct daemon *d);
/* Who is at pid, uid: its login uid when set. */
void dm_person(struct person *p, uint32_t uid, int32_t pid);
bool dm_same_person(const struct person *a, const struct person *b);
/*
 * The policy path index (a secret), hostname index (a hostname) or rule
 * index, or -1 when no rule of another tier than tier refuses g's target.
 */
int dm_grant_reach(const struct daemon *d, const struct grant *g, int tier, char *why, size_t len);
/* Put it in the kernel from now for its duration; -errno. */
int dm_grant_activate(struct daemon *d, struct grant *g);
/* End it (event: grant_revoked ...) with its uses on the record; extra is taken. */
void dm_grant_end(struct daemon *d, struct grant *g, const char *event, json_t *extra);
/* The grant as shown and recorded; live: with time left. */
json_t *dm_grant_json(const struct daemon *d, const struct grant *g, bool live);
void dm_grant_record(struct daemon *d, const char *event, const struct grant *g, json_t *extra);
/* Lapse pending requests and expire active grants whose time has come. */
void dm_grants_tick(struct daemon *d);
/* Before the policy or the programs change: the kernel's counts into the store. */
void dm_grants_sync(struct daemon *d);
/*
 * A reload: every active grant into the new maps (d->bpf, d->policy), those
 * that cannot be only marked to end; returns how many. Then commit, once
 * the new maps took over (the marked ones end, with their records), or
 * roll back, when the reload failed (d->bpf and d->policy the old ones
 * again): the old map's slots as they were, and nothing ended.
 */
int dm_grants_stage(struct daemon *d);
void dm_grants_commit(struct daemon *d);
void dm_grants_rollback(struct daemon *d);
/* At start: stage and commit at once. */
void dm_grants_install(struct daemon *d);
/* grantsave.c: the state directory: what to save, and what to take back at start. */
json_t *dm_grants_save(const struct daemon *d);
void dm_grants_restore(struct daemon *d, json_t *state);
/* Active grants a cgroup (absolute) of tier is under, as JSON. */
json_t *dm_grants_for(struct daemon *d, int tier, const char *abs);
void dm_grants_count(const struct daemon *d, int *active, int *pending);
/* status: {"enabled", "active", "pending"}; metrics: tierwall_grants{state}. */
json_t *dm_grants_status(const struct daemon *d);
struct buf;
void dm_grants_metrics(const struct daemon *d, struct buf *b);
void dm_grants_free(struct daemon *d);

/* grantreq.c: a "grant" control request from the peer on fd. */
json_t *dm_grant_request(struct daemon *d, int fd, const struct ucred *peer, json_t *req);
/* Does this "grant" request change anything a tiered caller may never change? */
bool dm_grant_op_changes(json_t *req);

#endif
