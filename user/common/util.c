// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <openssl/evp.h>
#include "util.h"

ssize_t tw_read_fd(int fd, void *buf, size_t max)
{
	size_t n = 0;
	ssize_t r;

	while (n < max) {
		r = read(fd, (char *)buf + n, max - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		n += r;
	}
	return n;
}

int tw_read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = NULL, *nb;
	ssize_t r;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!b || n + 1 >= cap) {
			cap = b ? cap * 2 : cap;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out_free;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out_free;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	if (len)
		*len = n;
	return 0;
out_free:
	free(b);
	close(fd);
	return err;
}

void tw_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (i = 0; i < mdlen; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

void tw_format_time(uint64_t ns, char *out, size_t outlen)
{
	time_t secs = ns / 1000000000ull;
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, outlen - n, ".%09lluZ",
		 (unsigned long long)(ns % 1000000000ull));
}

uint64_t tw_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int64_t tw_boot_to_realtime_offset(void)
{
	/* Bracket the realtime read to halve the error of two clock reads. */
	uint64_t b1 = tw_now_ns(CLOCK_BOOTTIME);
	uint64_t rt = tw_now_ns(CLOCK_REALTIME);
	uint64_t b2 = tw_now_ns(CLOCK_BOOTTIME);

	return (int64_t)rt - (int64_t)(b1 + (b2 - b1) / 2);
}

int tw_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

uint32_t tw_kdev(dev_t dev)
{
	return major(dev) << 20 | minor(dev);
}

int tw_parse_duration(const char *s, long *secs)
{
	static const struct { char unit; long mult; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char *end;
	long v;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || v < 0)
		return -EINVAL;
	if (!*end) {
		*secs = v;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (end[0] == units[i].unit && !end[1] && v <= LONG_MAX / units[i].mult) {
			*secs = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

int tw_parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = {};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	uint64_t frac = 0, scale = 1000000000ull;

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (strcmp(p, "Z"))
		return -EINVAL;
	*ns = (uint64_t)timegm(&tm) * 1000000000ull + frac;
	return 0;
}
