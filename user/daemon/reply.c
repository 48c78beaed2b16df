// SPDX-License-Identifier: GPL-2.0
/* Replies to control requests (reply.h): below control.c and the rooms that answer. */
#include <stdarg.h>
#include <stdio.h>
#include "reply.h"

json_t *dm_reply_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}
