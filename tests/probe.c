// SPDX-License-Identifier: GPL-2.0
/*
 * tw_probe [--cgroup DIR] OP ADDR PORT: join a cgroup, then try one network
 * operation and say what the kernel answered. Used by the demo and by hand.
 * Exit status: 0 if allowed, the errno otherwise (EPERM = 1 means denied).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net.h"

int main(int argc, char **argv)
{
	const char *cg = NULL;
	int op, err, i = 1;

	if (argc > 2 && !strcmp(argv[1], "--cgroup")) {
		cg = argv[2];
		i = 3;
	}
	if (argc - i != 3 || (op = tw_parse_op(argv[i])) < 0 || atoi(argv[i + 2]) <= 0) {
		fprintf(stderr, "usage: tw_probe [--cgroup DIR] tcp-connect|udp-connect|udp-sendto ADDR PORT\n");
		return 2;
	}
	if (cg && (err = tw_join_cgroup(cg))) {
		fprintf(stderr, "tw_probe: cannot join cgroup %s: %s\n", cg, strerror(-err));
		return 2;
	}
	err = tw_net(op, argv[i + 1], atoi(argv[i + 2]));
	printf("%s %s:%s -> %s\n", argv[i], argv[i + 1], argv[i + 2],
	       err ? strerror(-err) : "allowed");
	return err ? -err : 0;
}
