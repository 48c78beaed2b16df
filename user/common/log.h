/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LOG_H
#define TW_LOG_H

#include <stdbool.h>

/* One message per failure, prefixed with the program name, to stderr. */
void tw_log_init(const char *prog);
void tw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool tw_verbose;
/* Seconds since tw_log_init; with tw_verbose, tw_phase says what was done when (start time). */
double tw_log_elapsed(void);
void tw_phase(const char *what);
/* Also hand every message to fn (level "error: ", "warning: " or ""): the CLI's --json. */
void tw_log_capture(void (*fn)(const char *level, const char *msg));

#endif
