// SPDX-License-Identifier: GPL-2.0
/*
 * state.json written off the event loop. A burst of pod requests must not
 * queue behind a disk: a save is a write, an fsync, a rename and a
 * directory fsync (10-30 ms here, more on a busy disk), and the event loop
 * answers every hook. So the loop takes the snapshot's text (cheap, and
 * consistent: only the loop changes the tags) and a writer thread writes it.
 *
 * Only the newest text is kept; each has a generation, and the file is never
 * written with an older one than it holds: a synchronous save (untag,
 * grants, shutdown: callers that say "saved" afterwards) writes under the
 * same lock and supersedes whatever is queued. A failed write in the thread
 * marks the state dirty again for the loop's next save.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include "log.h"
#include "persist.h"

static struct {
	pthread_mutex_t lock;		/* the queue and the flags */
	pthread_mutex_t file;		/* one writer of state.json at a time */
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop, failed;
	char *queued;			/* the newest text not yet written, or NULL */
	uint64_t queued_gen, gen, written_gen;
	char dir[PATH_MAX];
} sw = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.file = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* Under sw.file: write text of generation gen unless a newer one is written. */
static int write_gen(const char *text, uint64_t gen)
{
	int err;

	if (gen <= sw.written_gen)
		return 0;
	err = dm_state_write(sw.dir, text);
	if (!err)
		sw.written_gen = gen;
	return err;
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sw.lock);
	for (;;) {
		char *text;
		uint64_t gen;
		int err;

		while (!sw.queued && !sw.stop)
			pthread_cond_wait(&sw.wake, &sw.lock);
		if (!sw.queued)
			break;		/* stopping, and nothing left to write */
		text = sw.queued;
		gen = sw.queued_gen;
		sw.queued = NULL;
		pthread_mutex_unlock(&sw.lock);
		pthread_mutex_lock(&sw.file);
		err = write_gen(text, gen);
		pthread_mutex_unlock(&sw.file);
		free(text);
		pthread_mutex_lock(&sw.lock);
		sw.failed |= err != 0;
	}
	pthread_mutex_unlock(&sw.lock);
	return NULL;
}

int dm_state_save(struct daemon *d)
{
	char *text;
	int err;

	if (!d->state_dir[0])
		return 0;
	text = dm_state_text(d);
	if (!text)
		return -ENOMEM;
	pthread_mutex_lock(&sw.lock);
	free(sw.queued);	/* older than this one */
	sw.queued = NULL;
	pthread_mutex_unlock(&sw.lock);
	pthread_mutex_lock(&sw.file);
	snprintf(sw.dir, sizeof(sw.dir), "%s", d->state_dir);
	err = write_gen(text, ++sw.gen);
	pthread_mutex_unlock(&sw.file);
	free(text);
	if (!err)
		d->state_dirty = false;
	return err;
}

void dm_state_save_soon(struct daemon *d)
{
	char *text;

	if (!d->state_dir[0])
		return;
	text = dm_state_text(d);
	if (!text)
		return;		/* state_dirty stays: the next turn tries again */
	if (!sw.running) {
		snprintf(sw.dir, sizeof(sw.dir), "%s", d->state_dir);
		sw.stop = false;
		sw.running = !pthread_create(&sw.thread, NULL, writer, NULL);
		if (!sw.running) {
			tw_warn("cannot start the state writer thread: saving %s/state.json from the event loop",
				d->state_dir);
			free(text);
			dm_state_save(d);
			return;
		}
	}
	pthread_mutex_lock(&sw.lock);
	free(sw.queued);
	sw.queued = text;
	sw.queued_gen = ++sw.gen;
	if (sw.failed)
		tw_info("state writer: the last save failed (said above); trying again");
	sw.failed = false;
	pthread_cond_signal(&sw.wake);
	pthread_mutex_unlock(&sw.lock);
	d->state_dirty = false;
}

void dm_state_save_tick(struct daemon *d)
{
	pthread_mutex_lock(&sw.lock);
	if (sw.failed)
		d->state_dirty = true;
	pthread_mutex_unlock(&sw.lock);
}

void dm_state_writer_stop(void)
{
	if (!sw.running)
		return;
	pthread_mutex_lock(&sw.lock);
	sw.stop = true;
	pthread_cond_signal(&sw.wake);
	pthread_mutex_unlock(&sw.lock);
	pthread_join(sw.thread, NULL);	/* bounded: it writes what is queued, then ends */
	sw.running = false;
}
