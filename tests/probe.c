// SPDX-License-Identifier: GPL-2.0
/*
 * tw_probe [--cgroup DIR] [--repeat N] OP ADDR PORT: join a cgroup, then try
 * one network operation (N times, from this one process) and say what the
 * kernel answered (the last time). Used by the demo, the tests and by hand.
 * OP dns-query asks the DNS server at ADDR (port 53) for the name PORT.
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
	int op = 0, err, i = 1, dns, n = 1, k;

	if (argc > i + 1 && !strcmp(argv[i], "--cgroup")) {
		cg = argv[i + 1];
		i += 2;
	}
	if (argc > i + 1 && !strcmp(argv[i], "--repeat")) {
		n = atoi(argv[i + 1]);
		i += 2;
	}
	dns = argc - i == 3 && !strcmp(argv[i], "dns-query");
	if (argc - i != 3 || (!dns && ((op = tw_parse_op(argv[i])) < 0 || atoi(argv[i + 2]) <= 0))) {
		fprintf(stderr, "usage: tw_probe [--cgroup DIR] [--repeat N] tcp-connect|udp-connect|udp-sendto ADDR PORT\n"
				"       tw_probe [--cgroup DIR] dns-query SERVER NAME\n");
		return 2;
	}
	if (cg && (err = tw_join_cgroup(cg))) {
		fprintf(stderr, "tw_probe: cannot join cgroup %s: %s\n", cg, strerror(-err));
		return 2;
	}
	if (dns) {
		err = tw_dns_ask(argv[i + 1], argv[i + 2], 0);
		printf("dns-query %s @%s -> %s\n", argv[i + 2], argv[i + 1],
		       !err ? "answered" : err == -ETIMEDOUT ? "sent (no answer: no server there)" :
		       strerror(-err));
		return err == -EPERM ? EPERM : 0;
	}
	for (k = 0, err = 0; k < (n > 0 ? n : 1); k++)
		err = tw_net(op, argv[i + 1], atoi(argv[i + 2]));
	printf("%s %s:%s -> %s\n", argv[i], argv[i + 1], argv[i + 2],
	       err ? strerror(-err) : "allowed");
	return err ? -err : 0;
}
