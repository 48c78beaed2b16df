// SPDX-License-Identifier: GPL-2.0
/*
 * Rotated log segments: gzip-compressed by a child process (the ring
 * buffer's consumer never waits for zlib), the oldest removed by count or
 * bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "evlog.h"
#include "log.h"
#include "segments.h"

/* In a child: gzip the rotated segment, then replace it with the .gz. */
static void compress_segment(const char *plain)
{
	char gz[PATH_MAX + 8], tmp[PATH_MAX + 16], buf[65536];
	gzFile g;
	ssize_t n;
	int fd;

	snprintf(gz, sizeof(gz), "%s.gz", plain);
	snprintf(tmp, sizeof(tmp), "%s.gz.tmp", plain);
	fd = open(plain, O_RDONLY | O_CLOEXEC);
	g = gzopen(tmp, "wb6");
	if (fd < 0 || !g)
		_exit(1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (gzwrite(g, buf, n) != n)
			_exit(1);
	if (n < 0 || gzclose(g) != Z_OK || rename(tmp, gz) || unlink(plain))
		_exit(1);
	_exit(0);
}

/* The child that compresses plain: its pid, or -1 with errno. */
pid_t tw_segment_compress(const char *plain)
{
	pid_t pid = fork();

	if (pid == 0)
		compress_segment(plain);
	return pid;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Oldest compressed segments go first; the newest ones and the current file stay. */
void tw_segments_retain(const char *dir, int keep_segments, uint64_t keep_bytes)
{
	char **files = tw_evlog_files(dir), **f;
	uint64_t total = 0;
	int n = 0, i;
	struct stat st;

	for (f = files; f && *f; f++)
		if (strcmp(strrchr(*f, '/') + 1, TW_EVLOG_CURRENT))
			n++;
	for (i = n - 1; i >= 0; i--) {
		bool drop = (keep_segments && n - i > keep_segments);

		if (!stat(files[i], &st))
			total += st.st_size;
		drop |= keep_bytes && total > keep_bytes;
		if (drop && ends_with(files[i], ".gz") && unlink(files[i]) == 0)
			tw_info("retention: removed %s", files[i]);
	}
	tw_evlog_files_free(files);
}
