/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_VERSION_H
#define TW_VERSION_H

/* Both programs report it (--version, status, the start record). */
#define TW_VERSION		"0.1.0"

#endif
