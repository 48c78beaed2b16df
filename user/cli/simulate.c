// SPDX-License-Identifier: GPL-2.0
/* placeholder */
#include "cli.h"
int do_simulate(int argc, char **argv) { return 1; }
