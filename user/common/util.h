/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_UTIL_H
#define TW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Up to max bytes from fd, until end of file; the count, or -errno. */
ssize_t tw_read_fd(int fd, void *buf, size_t max);

/* Whole file into a NUL-terminated malloc'd buffer; -errno on failure. */
int tw_read_file(const char *path, char **buf, size_t *len);

/* "sha256:<64 hex>" of a buffer into out (at least 72 bytes). */
void tw_sha256_hex(const void *data, size_t len, char *out);

/* RFC 3339 UTC timestamp with nanoseconds, e.g. 2026-11-23T13:26:37.123456789Z. */
void tw_format_time(uint64_t realtime_ns, char *out, size_t outlen);

/* CLOCK_REALTIME - CLOCK_BOOTTIME, to turn bpf_ktime_get_boot_ns() into wall time. */
int64_t tw_boot_to_realtime_offset(void);

uint64_t tw_now_ns(int clock);

/* Strict integer parse of a whole string in [min, max]; -EINVAL/-ERANGE. */
int tw_parse_long(const char *s, long min, long max, long *out);

/* "90", "90s", "30m", "24h", "7d" -> seconds; -EINVAL otherwise. */
int tw_parse_duration(const char *s, long *secs);
/* RFC 3339 UTC ("2026-11-23T13:00:00Z", fraction optional) -> ns; -EINVAL otherwise. */
int tw_parse_time(const char *s, uint64_t *ns);

/* The kernel's internal dev_t (major << 20 | minor) of a stat() st_dev. */
uint32_t tw_kdev(dev_t dev);

#endif
