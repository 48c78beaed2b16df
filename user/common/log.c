// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

static const char *prog_name = "tierwall";
static void (*capture)(const char *level, const char *msg);
bool tw_verbose;

void tw_log_capture(void (*fn)(const char *level, const char *msg))
{
	capture = fn;
}

void tw_log_init(const char *prog)
{
	prog_name = prog;
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
