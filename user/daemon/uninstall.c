// SPDX-License-Identifier: GPL-2.0
/*
 * tierwalld --uninstall: a stop leaves the programs, pins and tags
 * enforcing (so a restart or an upgrade has no window); this is how they
 * go. A running daemon is asked over the control socket and detaches
 * itself; otherwise the pins are removed here, which detaches the links
 * they hold, and the state goes with them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctl.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "persist.h"
#include "uninstall.h"
#include "util.h"

#define WAIT_MS		10000

static int count_record(void *ctx, void *data, size_t size)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* Records the last daemon left in its ring buffer (fd, closed): nobody can log them any more. */
static uint64_t unlogged_records(int fd)
{
	struct ring_buffer *rb;
	uint64_t n = 0;

	if (fd < 0)
		return 0;
	rb = ring_buffer__new(fd, count_record, &n, NULL);
	if (rb) {
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
	}
	close(fd);
	return n;
}

/*
 * Unlink every pin (the last reference to each link: it detaches), then the
 * directory; staged ones (staged_*, a daemon killed while pinning) too.
 */
static int remove_pins(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dp = opendir(dir);
	int n = 0;

	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path))
			tw_err("cannot remove %s: %s", path, strerror(errno));
		else
			n++;
	}
	closedir(dp);
	if (rmdir(dir) && errno != ENOENT)
		tw_warn("cannot remove %s: %s", dir, strerror(errno));
	return n;
}

/* Ask the running daemon; 1 if there is none to ask. */
static int ask_daemon(struct daemon *d)
{
	json_t *r = NULL;
	int err, i;

	err = tw_ctl_call(d->sock_path, json_pack("{s:s}", "cmd", "uninstall"), &r, 5000);
	if (err)
		return 1;
	if (!json_is_true(json_object_get(r, "ok"))) {
		tw_err("tierwalld refused: %s", json_string_value(json_object_get(r, "error")));
		json_decref(r);
		return -EPERM;
	}
	json_decref(r);
	/* Done when it has let go of its pin directory. */
	for (i = 0; i < WAIT_MS / 50; i++) {
		int fd;

		if (!d->pin_dir[0] || access(d->pin_dir, F_OK))
			return 0;
		if (!dm_try_lock_dir(d->pin_dir, &fd)) {
			dm_unlock(&fd);
			return 0;
		}
		usleep(50 * 1000);
	}
	tw_err("tierwalld did not finish uninstalling within %d s", WAIT_MS / 1000);
	return -ETIMEDOUT;
}

int dm_uninstall(struct daemon *d)
{
	struct tw_evlog *log = NULL;
	struct tw_evlog_opts lo = {};
	uint64_t unlogged = 0;
	int err, n = 0, i;

	err = ask_daemon(d);
	if (err <= 0) {
		if (!err)
			tw_info("tierwalld detached its programs and removed its pins and state");
		return err;
	}
	if (d->pin_dir[0] && (err = dm_lock_dir(d->pin_dir, "--pin-dir", &d->lock_fds[0])))
		return err;
	if (d->state_dir[0] && (err = dm_lock_dir(d->state_dir, "--state-dir", &d->lock_fds[2])))
		return err;
	if (d->pin_dir[0]) {
		int events = open_pin(d->pin_dir, "events");

		n = remove_pins(d->pin_dir);
		tw_bpf_sync_programs();
		unlogged = unlogged_records(events);
	}
	dm_state_remove(d);
	/* On the record, if there is a log to write to. */
	if (!access(d->log_dir, F_OK) && !dm_lock_dir(d->log_dir, "--log-dir", &d->lock_fds[1]) &&
	    !tw_evlog_open(&log, d->log_dir, &lo)) {
		json_t *o = tw_event_daemon("uninstall", &d->ectx);

		json_object_update_new(o, json_pack("{s:s, s:i, s:I}", "pin_dir", d->pin_dir,
						    "pins_removed", n,
						    "unlogged_records", (json_int_t)unlogged));
		tw_evlog_append(log, o);
		tw_evlog_flush(log);
		tw_evlog_close(log);
	}
	for (i = 0; i < 3; i++)
		dm_unlock(&d->lock_fds[i]);
	tw_info("uninstalled: %d pins removed from %s (programs detached)%s", n,
		d->pin_dir[0] ? d->pin_dir : "(none)",
		unlogged ? ", records left unlogged in the old ring buffer" : "");
	return 0;
}
