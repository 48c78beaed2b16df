// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: one JSON request line, one JSON reply line, per
 * connection. Clients are served from the daemon's epoll loop without ever
 * blocking it: a request is read as its bytes arrive, the reply written as
 * the socket takes it, and a client that has not finished by its deadline
 * is dropped, so a client trickling bytes cannot stall status or the ring
 * buffer. The caller is known by SO_PEERCRED: a process in a tier may read
 * (status, tiers, follow) but never change what tierwall enforces.
 *
 * Capacity: a full table makes room by dropping its oldest client, and the
 * runtime hooks' `pod` requests must never be the ones dropped. Clients are
 * sorted at accept: an untiered root (the hooks, the operator) may take any
 * slot; everyone else (members of the read-only group, tiered roots) shares
 * at most MAX_CLIENTS - RESERVED slots and, when those are full, drops the
 * oldest of its own kind, never a root one. A limit per uid would not do:
 * a tiered root and the hook are both uid 0; the tier tells them apart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "access.h"
#include "ask.h"
#include "attestd.h"
#include "cgroup.h"
#include "control.h"
#include "ctl.h"
#include "log.h"
#include "pending.h"
#include "persist.h"
#include "pods.h"
#include "reloadreq.h"
#include "reply.h"
#include "drain.h"
#include "grants.h"
#include "runs.h"
#include "status.h"
#include "tags.h"
#include "tagwatch.h"
#include "text.h"
#include "util.h"

#define MAX_CLIENTS	64
#define RESERVED	16		/* slots only untiered roots' clients take */
#define DEADLINE_NS	2000000000ull	/* from accept to the last byte of the reply */
#define MAX_REQUEST	65536

struct client {
	int fd;				/* -1: free slot */
	int passed_fd;			/* one descriptor sent with the request (a run's pidfd), or -1 */
	bool trusted;			/* an untiered root: may take any slot, never dropped for others */
	struct ucred peer;
	uint64_t deadline;
	char *in;
	size_t in_len;
	char *out;			/* the reply, once there is one */
	size_t out_len, out_off;
};

struct dm_control {
	struct client c[MAX_CLIENTS];
	uint64_t dropped;		/* clients dropped to make room */
};

static json_t *cmd_tiers(struct daemon *d)
{
	json_t *tags = json_array(), *tiers = json_array();
	int i;

	for (i = 1; i <= d->policy->ntiers; i++)
		json_array_append_new(tiers, json_pack("{s:s, s:s}", "name", d->policy->tiers[i].name,
						       "mode", d->policy->tiers[i].mode == TW_MODE_AUDIT ?
						       "audit" : "enforce"));
	for (i = 0; i < d->ntags; i++)
		json_array_append_new(tags, dm_tag_json(d, &d->tags[i]));
	return json_pack("{s:b, s:o, s:o, s:s}", "ok", 1, "tiers", tiers, "tags", tags,
			 "cgroup_root", d->root);
}

static json_t *resolve_err(struct daemon *d, const char *cg, int err)
{
	return dm_reply_err("cgroup \"%s\" under %s: %s", cg, d->root,
			 err == -EXDEV ? "outside the daemon's cgroup root" :
			 err == -EMEDIUMTYPE ? "not a cgroup2 directory" : strerror(-err));
}

/* Who asked, for the record. */
static json_t *requester(const struct client *c)
{
	return json_pack("{s:i, s:i}", "requested_by_uid", (int)c->peer.uid,
			 "requested_by_pid", (int)c->peer.pid);
}

static json_t *cmd_untag(struct daemon *d, const struct client *c, json_t *req)
{
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	char abs[PATH_MAX];
	uint64_t id;
	json_t *rec;
	int i, err;

	if (!cg)
		return dm_reply_err("request needs \"cgroup\"");
	err = tw_cgroup_resolve(d->root, cg, abs, sizeof(abs));
	if (err)
		return resolve_err(d, cg, err);
	if (tw_cgroup_id(abs, &id) || (i = dm_find_tag(d, id)) < 0)
		return dm_reply_err("cgroup %s is not tagged", dm_policy_path(d, abs));
	if (d->tags[i].source == TAG_POLICY)
		return dm_reply_err("cgroup %s is tagged by the policy (%s): change the policy and reload",
				 dm_policy_path(d, abs), d->policy->cgroups[d->tags[i].policy_index].jpath);
	rec = json_pack("{s:s, s:s}", "tier", dm_tag_tier_name(d, d->tags[i].tier),
			"source", dm_tag_source_name(d->tags[i].source));
	err = dm_remove_tag(d, i);
	if (err) {
		json_decref(rec);
		return dm_reply_err("cannot untag %s: %s", dm_policy_path(d, abs), strerror(-err));
	}
	dm_state_save(d);
	tw_json_set_text(rec, "cgroup", dm_rel_path(d, abs));
	json_object_update_new(rec, requester(c));
	dm_log_daemon(d, "untag", rec);
	return json_pack("{s:b, s:s}", "ok", 1, "cgroup", dm_rel_path(d, abs));
}

/*
 * Tag a cgroup at runtime. A cgroup that already has a tier of its own or
 * by inheritance keeps it unless the request says "force"; one the policy
 * tags is changed only by the policy.
 */
static json_t *cmd_tag(struct daemon *d, const struct client *c, json_t *req)
{
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	const char *tier = json_string_value(json_object_get(req, "tier"));
	const char *src = json_string_value(json_object_get(req, "source"));
	bool force = json_is_true(json_object_get(req, "force"));
	struct tag origin = { .uid = c->peer.uid, .pid = c->peer.pid };
	char abs[PATH_MAX], why[PATH_MAX + 128];
	const char *prev = NULL;
	int t, i, err, source = src ? dm_tag_source_parse(src) : TAG_RUNTIME;
	json_t *rec;

	if (!cg || !tier)
		return dm_reply_err("request needs \"cgroup\" and \"tier\"");
	if (source < 0 || source == TAG_POLICY || source == TAG_RUN || source == TAG_PENDING)
		return dm_reply_err("\"source\" must be \"runtime\" or \"pod\", not \"%s\"", src);
	if ((t = dm_tier_or_untiered(d, tier)) < 0)
		return dm_reply_err("unknown tier \"%s\" (the policy defines %d tiers; see `tierwall tiers`)",
				 tier, d->policy->ntiers);
	err = tw_cgroup_resolve(d->root, cg, abs, sizeof(abs));
	if (err)
		return resolve_err(d, cg, err);
	i = dm_effective_tag(d, abs);
	/* Pending or explicitly untiered: placing it is no change of tier. */
	if (i >= 0 && (dm_tag_pending(d, i) || d->tags[i].tier == TW_TIER_NONE))
		i = -1;
	if (i >= 0) {
		bool own = !strcmp(d->tags[i].path, abs);

		prev = dm_tier_name(d, d->tags[i].tier);
		if (own && d->tags[i].source == TAG_POLICY)
			return dm_reply_err("cgroup %s is tagged %s by the policy (%s): change the policy and reload",
					 dm_policy_path(d, abs), prev,
					 d->policy->cgroups[d->tags[i].policy_index].jpath);
		if (d->tags[i].tier != t && !force)
			return dm_reply_err("cgroup %s already has tier %s (%s %s); add --force to change it to %s",
					 dm_policy_path(d, abs), prev, own ? "tagged by" : "inherited from",
					 own ? dm_tag_source_name(d->tags[i].source) :
					 dm_policy_path(d, d->tags[i].path), tier);
	}
	origin.source = source;
	origin.meta = json_object_get(req, "meta");
	if (origin.meta && !json_is_object(origin.meta))
		return dm_reply_err("\"meta\" must be a JSON object");
	err = dm_add_tag(d, abs, t, &origin, why, sizeof(why));
	if (err)
		return dm_reply_err("%s", why);
	/*
	 * Saved at the end of this turn of the event loop (state_dirty): a burst
	 * of pods costs one fsync, not one each. The tag is in the kernel's map
	 * now; a crash before the save loses it from the state file only, and a
	 * pod below a pods' root then starts the next instance pending.
	 */
	dm_tagwatch_add(d, abs);
	rec = json_pack("{s:s, s:s?, s:s, s:b}", "tier", tier, "previous_tier", prev,
			"source", dm_tag_source_name(source), "forced", force);
	tw_json_set_text(rec, "cgroup", dm_rel_path(d, abs));
	json_object_update_new(rec, requester(c));
	if (origin.meta)
		json_object_set(rec, "meta", origin.meta);
	dm_log_daemon(d, "tag", rec);
	return json_pack("{s:b, s:s, s:s, s:s?}", "ok", 1, "cgroup", dm_rel_path(d, abs),
			 "tier", tier, "previous_tier", prev);
}

static json_t *cmd_uninstall(struct daemon *d)
{
	tw_info("uninstall requested: detaching and removing pins and state");
	d->uninstall = true;
	d->stop = true;
	return json_pack("{s:b, s:i}", "ok", 1, "pid", getpid());
}

static bool mutating(const char *cmd)
{
	return !strcmp(cmd, "tag") || !strcmp(cmd, "untag") || !strcmp(cmd, "uninstall") ||
	       !strcmp(cmd, "pod") || !strcmp(cmd, "reload");
}

/* The caller's name, as the kernel's records carry it. */
static void peer_comm(pid_t pid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	out[0] = '\0';
	if (f && fgets(out, len, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

/*
 * A process in a tier asked to change enforcement (why: how, or NULL):
 * refused, and on the record like a kernel refusal.
 */
static json_t *refuse_tiered(struct daemon *d, const struct client *c, const char *cmd,
			     const char *why)
{
	char abs[PATH_MAX], comm[32];
	uint64_t cgid = 0;
	const char *tier;
	json_t *o;
	int i;

	if (dm_cgroup_of_pid(d, c->peer.pid, abs, sizeof(abs))) {
		/* The process that connected is gone: its tier is unknown, and a tiered one passes the socket on. */
		tw_warn("refused \"%s\": the process that connected (pid %d) is gone", cmd, (int)c->peer.pid);
		return dm_reply_err("refused: the process that connected (pid %d) is gone; a request that "
				    "changes enforcement must come from it", (int)c->peer.pid);
	}
	/* Pending is not a tier here either: the agent's own pod may start pending. */
	if ((i = dm_effective_tag(d, abs)) < 0 || dm_tag_pending(d, i) || d->tags[i].tier == TW_TIER_NONE)
		return NULL;
	tier = dm_tier_name(d, d->tags[i].tier);
	tw_cgroup_id(abs, &cgid);
	peer_comm(c->peer.pid, comm, sizeof(comm));
	o = tw_event_daemon("control", &d->ectx);
	json_object_del(o, "event");
	json_object_update_new(o, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:n, s:i}",
		"kind", "tamper", "op", "control", "command", cmd, "verdict", "deny", "tier", tier,
		"cgroup_id", (json_int_t)cgid, "pid", (int)c->peer.pid, "uid", (int)c->peer.uid,
		"target_tier", "count", 1));
	/* Names from outside: any bytes, encoded like the kernel records' (text.h). */
	tw_json_set_text(o, "cgroup", dm_rel_path(d, abs));
	tw_json_set_text(o, "tagged_cgroup", dm_rel_path(d, d->tags[i].path));
	tw_json_set_text(o, "comm", comm);
	dm_log_json(d, o);
	dm_log_flush(d);
	tw_warn("refused \"%s\" from pid %d: it runs in tier %s", cmd, (int)c->peer.pid, tier);
	return dm_reply_err("refused: the caller (pid %d) runs in tier %s; %s", (int)c->peer.pid, tier,
			 why ?: "a tiered process may read status but never change what tierwall enforces");
}

/* The reply to one request, or NULL when the client became a follower. */
static json_t *handle(struct daemon *d, struct client *c, const char *line, bool *kept)
{
	json_t *req = json_loads(line, 0, NULL), *reply = NULL;
	const char *cmd = json_string_value(json_object_get(req, "cmd")), *how;
	char why[256];

	*kept = false;
	if (cmd && !dm_access_allowed(c->peer.uid, cmd))
		reply = dm_reply_err("permission denied: \"%s\" needs root (uid %d may only read: status, "
				  "tiers, events, explain, which)", cmd, (int)c->peer.uid);
	else if (cmd && mutating(cmd))
		reply = refuse_tiered(d, c, cmd, NULL);
	else if (cmd && (how = dm_runs_forbidden(d, c->peer.pid, cmd, req)))
		reply = refuse_tiered(d, c, cmd, how);
	else if (cmd && !strcmp(cmd, "grant") && dm_grant_op_changes(req))
		reply = refuse_tiered(d, c, cmd, "a tiered process may request a grant but never "
				      "approve or revoke one");
	if (reply)
		;	/* refused */
	else if (!cmd)
		reply = dm_reply_err("request is not a JSON object with \"cmd\"");
	else if (!strcmp(cmd, "status"))
		reply = dm_status_json(d);
	else if (!strcmp(cmd, "tiers"))
		reply = cmd_tiers(d);
	else if (!strcmp(cmd, "tag"))
		reply = cmd_tag(d, c, req);
	else if (!strcmp(cmd, "pod"))
		reply = dm_pod_request(d, req) ?: cmd_tag(d, c, req);
	else if (!strcmp(cmd, "untag"))
		reply = cmd_untag(d, c, req);
	else if (!strcmp(cmd, "uninstall"))
		reply = cmd_uninstall(d);
	else if (!strcmp(cmd, "reload"))
		reply = dm_reload_request(d);
	else if (!strcmp(cmd, "grant"))
		reply = dm_grant_request(d, c->fd, &c->peer, req);
	else if (!strcmp(cmd, "drain"))
		reply = dm_cmd_drain(d);
	else if (!strcmp(cmd, "attest"))
		reply = dm_cmd_attest(d, req);
	else if (!strcmp(cmd, "run") || !strcmp(cmd, "run_stop") || !strcmp(cmd, "run_end"))
		reply = dm_cmd_run(d, &c->peer, c->passed_fd, cmd, req);
	else if (!strcmp(cmd, "follow"))
		reply = (*kept = !tw_followers_add(d->followers, c->fd, req, why, sizeof(why))) ?
			NULL : dm_reply_err("%s", why);
	else if (!(reply = dm_ask_request(d, cmd, req)))
		reply = dm_reply_err("unknown command \"%s\"", cmd);
	json_decref(req);
	return reply;
}

/* Forget a client; with close_fd false the socket lives on elsewhere (a follower). */
static void drop(struct daemon *d, struct client *c, bool close_fd)
{
	if (close_fd) {
		epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->passed_fd = -1;
}

static struct client *find(struct daemon *d, int fd)
{
	int i;

	for (i = 0; d->control && i < MAX_CLIENTS; i++)
		if (d->control->c[i].fd == fd && fd >= 0)
			return &d->control->c[i];
	return NULL;
}

int dm_control_init(struct daemon *d)
{
	int i;

	d->control = calloc(1, sizeof(*d->control));
	if (!d->control)
		return -ENOMEM;
	for (i = 0; i < MAX_CLIENTS; i++)
		d->control->c[i].fd = d->control->c[i].passed_fd = -1;
	return 0;
}

void dm_control_free(struct daemon *d)
{
	int i;

	for (i = 0; d->control && i < MAX_CLIENTS; i++)
		if (d->control->c[i].fd >= 0)
			drop(d, &d->control->c[i], true);
	free(d->control);
	d->control = NULL;
}

/* Write what the socket takes; true once the whole reply is out (or the client is gone). */
static bool flush_reply(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK;
		c->out_off += w;
	}
	return true;
}

static void set_reply(struct daemon *d, struct client *c, json_t *reply)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLRDHUP, .data.fd = c->fd };
	char *s = json_dumps(reply, JSON_COMPACT);

	json_decref(reply);
	if (!s) {
		drop(d, c, true);
		return;
	}
	c->out_len = strlen(s);
	s[c->out_len++] = '\n';	/* json_dumps leaves room: the NUL becomes the newline */
	c->out = s;
	/* Most replies fit the socket at once; the rest waits for EPOLLOUT. */
	if (flush_reply(c) || epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, c->fd, &ev))
		drop(d, c, true);
}

/* Keep the first descriptor passed (SCM_RIGHTS); close any other. */
static void keep_fds(struct client *c, struct msghdr *m)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->passed_fd < 0)
				c->passed_fd = fd;
			else
				close(fd);
		}
	}
}

static ssize_t recv_some(struct client *c, char *buf, size_t len)
{
	union { char b[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b) };
	ssize_t r = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (r >= 0)
		keep_fds(c, &m);
	return r;
}

/* Bytes arrived: keep them; a whole line is a request. */
static void read_request(struct daemon *d, struct client *c)
{
	char buf[4096], *nl, *nin;
	json_t *reply;
	bool kept;
	ssize_t r;

	for (;;) {
		r = recv_some(c, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0 || c->in_len + r > MAX_REQUEST) {
			drop(d, c, true);	/* gone, or a request no client sends */
			return;
		}
		nin = realloc(c->in, c->in_len + r + 1);
		if (!nin) {
			drop(d, c, true);
			return;
		}
		c->in = nin;
		memcpy(c->in + c->in_len, buf, r);
		c->in_len += r;
		c->in[c->in_len] = '\0';
		nl = memchr(c->in, '\n', c->in_len);
		if (nl)
			break;
	}
	*nl = '\0';
	/* One request per connection, the rest of the input ignored; a follower registers anew. */
	epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	reply = handle(d, c, c->in, &kept);
	if (kept)
		drop(d, c, false);	/* the followers own the socket now */
	else
		set_reply(d, c, reply);
}

/* An untiered root: the runtime hooks and the operator (a tiered root is uid 0 too). */
static bool trusted(struct daemon *d, const struct ucred *peer)
{
	char abs[PATH_MAX];

	return !peer->uid && peer->pid > 0 && !dm_cgroup_of_pid(d, peer->pid, abs, sizeof(abs)) &&
	       dm_effective_tag(d, abs) < 0;
}

/* A slot for a new client, making room if it must (see the top of this file); NULL if none. */
static struct client *slot_for(struct daemon *d, bool trust)
{
	struct client *free_slot = NULL, *oldest = NULL, *oldest_other = NULL;
	int i, others = 0;

	for (i = 0; i < MAX_CLIENTS; i++) {
		struct client *s = &d->control->c[i];

		if (s->fd < 0) {
			free_slot = free_slot ?: s;
			continue;
		}
		if (!oldest || s->deadline < oldest->deadline)
			oldest = s;
		if (!s->trusted && (others++, !oldest_other || s->deadline < oldest_other->deadline))
			oldest_other = s;
	}
	if (free_slot && (trust || others < MAX_CLIENTS - RESERVED))
		return free_slot;
	/* Full for this kind: the oldest of the others gives way, a root one only to a root. */
	oldest = oldest_other ?: trust ? oldest : NULL;
	d->control->dropped++;
	if (oldest)
		drop(d, oldest, true);
	return oldest;	/* NULL: the newcomer itself is turned away */
}

void dm_control_accept(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	socklen_t len = sizeof(struct ucred);
	struct ucred peer;
	struct client *c;
	bool trust;
	int fd;

	while ((fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len)) {
			close(fd);
			continue;
		}
		trust = trusted(d, &peer);
		c = slot_for(d, trust);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->trusted = trust;
		c->deadline = tw_now_ns(CLOCK_MONOTONIC) + DEADLINE_NS;
		ev.data.fd = fd;
		if (epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, fd, &ev))
			drop(d, c, true);
		else
			read_request(d, c);	/* most requests are already there */
	}
}

uint64_t dm_control_dropped(struct daemon *d)
{
	return d->control ? d->control->dropped : 0;
}

bool dm_control_event(struct daemon *d, int fd, uint32_t events)
{
	struct client *c = find(d, fd);

	if (!c)
		return false;
	if (c->out) {
		if (flush_reply(c) || (events & (EPOLLHUP | EPOLLERR)))
			drop(d, c, true);
	} else if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		read_request(d, c);
	}
	return true;
}

void dm_control_tick(struct daemon *d)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	int i;

	for (i = 0; d->control && i < MAX_CLIENTS; i++)
		if (d->control->c[i].fd >= 0 && now > d->control->c[i].deadline)
			drop(d, &d->control->c[i], true);
}
