/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DNS guard on crafted packets (BPF_PROG_TEST_RUN): loaded alone with
 * private maps that tag the test's own cgroup as staging, names owned by
 * staging and prod, and a ring buffer read after every run.
 */
#ifndef TW_TEST_GUARD_H
#define TW_TEST_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dns.skel.h"

#define TIER_STAGING	1
#define TIER_PROD	2

/* Owned: api.prod.test and *.wild.prod.test (prod), own.staging.test (staging). */
struct guard {
	struct dns_bpf *skel;
	struct ring_buffer *rb;
	int fd, fd_in;		/* egress (queries), ingress (answers) */
	/* the last event read */
	int events, reason, verdict;
	char name[1100];
};

enum { L4_UDP = 17, L4_TCP = 6 };

int guard_open(struct guard *g);
void guard_close(struct guard *g);
/* Tag (or untag) this process's own cgroup in the guard's private maps. */
int guard_tag_self(struct guard *g, bool tag);
/* Run the program on an Ethernet frame: 1 passed, 0 dropped, <0 error. */
int guard_run(struct guard *g, const void *frame, size_t len);
/* The same with the ingress (answer) program. */
int guard_run_in(struct guard *g, const void *frame, size_t len);
/*
 * Ethernet + IPv4 or IPv6 (with nhop hop-by-hop headers) + UDP/TCP (PSH ACK)
 * to dport + payload; returns the frame's length.
 */
size_t frame(uint8_t *out, int family, int l4, uint16_t dport, const void *pl, size_t plen,
	     int nhop);

#endif
