// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "log.h"

static const char *prog_name = "tierwall";
static void (*capture)(const char *level, const char *msg);
bool tw_verbose;

void tw_log_capture(void (*fn)(const char *level, const char *msg))
{
	capture = fn;
}

static struct timespec t0;

void tw_log_init(const char *prog)
{
	prog_name = prog;
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

double tw_log_elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

void tw_phase(const char *what)
{
	if (tw_verbose)
		fprintf(stderr, "%s: [%.3f s] %s\n", prog_name, tw_log_elapsed(), what);
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s%s\n", prog_name, level, msg);
	if (capture)
		capture(level, msg);
}

void tw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void tw_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void tw_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}
