/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SEGMENTS_H
#define TW_SEGMENTS_H

#include <stdint.h>
#include <sys/types.h>

/* Fork a child that gzips plain into plain.gz, then removes plain; its pid, or -1. */
pid_t tw_segment_compress(const char *plain);
/* Remove the oldest compressed segments in dir past keep_segments or keep_bytes (0: no limit). */
void tw_segments_retain(const char *dir, int keep_segments, uint64_t keep_bytes);

#endif
