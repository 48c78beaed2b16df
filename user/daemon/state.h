/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's state, shared by its rooms (tags, control, status, reload,
 * stream) and the helpers every room uses to write to the event log.
 */
#ifndef TW_DAEMON_STATE_H
#define TW_DAEMON_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "dns.h"
#include "event.h"
#include "evlog.h"
#include "follow.h"
#include "loader.h"
#include "metrics.h"
#include "policy.h"
#include "secrets.h"
#include "version.h"

#define PATH_CACHE		1024
#define MAX_TAGS		65536
#define MAX_HOST_ADDRS		65536
#define DNS_SETTLE_MS		3000	/* first answers awaited before attaching */
#define STATE_SAVE_NS		200000000ull	/* state.json at most this often from the event loop */

/* TAG_PENDING: a pods' root (pending.c), found again at each start, never saved. */
enum tag_source { TAG_POLICY, TAG_RUNTIME, TAG_POD, TAG_RUN, TAG_PENDING };

/*
 * A tagged cgroup. Policy tags follow their path (a recreated cgroup is
 * tagged again; id is 0 while the path is missing); runtime and pod tags
 * belong to one cgroup and are lost with it.
 */
struct dm_control;

struct tag {
	uint64_t id;
	int level;
	int tier;
	uint32_t flags;			/* TW_TAG_* (a run's audit mode) */
	enum tag_source source;
	int policy_index;		/* policy tags: index in policy->cgroups */
	uint32_t uid;			/* who asked (runtime and pod tags) */
	int32_t pid;
	uint64_t since;			/* unix seconds */
	json_t *meta;			/* what the requester said about it (pods), or NULL */
	char *path;			/* absolute */
};

struct path_slot {
	uint64_t id;
	bool missing;
	char path[PATH_MAX];
};

struct daemon {
	/* options */
	const char *policy_file;
	const char *log_dir;
	const char *pin_dir;
	const char *sock_path;
	const char *group;		/* may read the socket and the log (access.c) */
	const char *seal_key;		/* --seal-key, or NULL */
	bool to_stdout;
	bool network_only;
	bool watch_policy;		/* reload when the policy file's directory changes */
	uint32_t ringbuf_bytes;
	long follow_queue_mb;
	long flood_ms;
	uint64_t next_flush;
	char root[PATH_MAX];		/* cgroup root, resolved */
	char mount[PATH_MAX];		/* cgroup2 mount */

	struct tw_policy *policy;
	struct tw_secrets *secrets;	/* NULL unless files are enforced */
	struct tw_dns *dns;		/* NULL unless the policy has exact hostnames */
	struct tw_dns_opts dns_opts;
	struct tw_tables tables;
	struct tw_bpf *bpf;
	struct ring_buffer *rb;
	struct tw_event_ctx ectx;
	char host[256];

	struct tag *tags;
	int ntags;

	struct tw_evlog *log;
	struct tw_followers *followers;
	struct tw_metrics *metrics;
	const char *metrics_addr;
	uint64_t loaded_at;		/* policy load time, unix seconds */
	uint64_t reload_at;		/* the last reload (signal, watch or request), 0: none */
	bool reload_ok;
	json_t *reload_errors;		/* the last failed reload's messages */
	/* Events written, by kind, verdict and tier: read by the metrics thread. */
	uint64_t by_kind[TW_EV_MAX + 1][3][TW_MAX_TIERS + 1];
	struct tw_evlog_opts log_opts;
	uint64_t logged, bad_records;
	uint64_t drops_reported;
	uint64_t refused_reported;
	uint64_t next_drop_check;

	const char *state_dir;
	int lock_fds[3];		/* pin dir, log dir, state dir */
	bool absent[4];			/* those and the socket's: absent before this start */
	bool state_dirty;		/* tags or hostname addresses changed since saved */
	uint64_t next_state_save;	/* monotonic ns: the event loop saves no sooner */
	int tag_watch_fd;		/* inotify on tagged cgroups' parents */
	uint64_t next_tag_check;
	bool uninstall;			/* at stop: detach and remove everything */
	char overlap[PATH_MAX + 256];	/* another daemon's programs overlap our root: why */
	struct dm_control *control;

	int ctl_fd, sig_fd, ep_fd;
	struct path_slot *paths;
	struct { uint32_t dev; char path[PATH_MAX]; } mounts[16];
	int nmounts;
	bool stop;
};

/* The event log: written first, only then shown anywhere else. */
void dm_print_lines(void *arg, const char *lines, size_t len);
void dm_log_json(struct daemon *d, json_t *o);
void dm_log_flush(struct daemon *d);
/* A daemon lifecycle record ("event": what), extra merged in; takes extra. */
void dm_log_daemon(struct daemon *d, const char *what, json_t *extra);

/* Event context callbacks: cgroup id -> path, kernel dev_t -> mount point. */
const char *dm_cgroup_path(void *arg, uint64_t id);
const char *dm_dev_path(void *arg, uint32_t kdev);
/* An absolute cgroup path as /proc/PID/cgroup shows it (from the cgroup2 mount). */
const char *dm_rel_path(const struct daemon *d, const char *abs);
const char *dm_policy_path(const struct daemon *d, const char *abs);
const char *dm_tier_name(const struct daemon *d, int tier);

#endif
