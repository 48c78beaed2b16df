// SPDX-License-Identifier: GPL-2.0
/*
 * The DNS guard loaded on its own (private maps, nothing attached) and run
 * on crafted Ethernet frames through BPF_PROG_TEST_RUN: integ_dnsparse_*.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "compile.h"
#include "event.h"
#include "dnsguard.h"
#include "loader.h"
#include "util.h"

static const struct { const char *name; int tier; } guard_names[] = {
	{ "api.prod.test", TIER_PROD },
	{ "*.wild.prod.test", TIER_PROD },
	{ "own.staging.test", TIER_STAGING },
};

static int on_guard_event(void *ctx, void *data, size_t size)
{
	struct guard *g = ctx;
	const struct tw_dns_event *e = data;

	if (size < sizeof(*e) || e->h.kind != TW_EV_DNS)
		return 0;
	g->events++;
	g->reason = e->reason;
	g->verdict = e->h.verdict;
	tw_dns_name_format(e->wire, e->wire_len, g->name, sizeof(g->name));
	return 0;
}

/* Tag this process's own cgroup and the root: private maps, nothing attached. */
int guard_tag_self(struct guard *g, bool tag)
{
	char mnt[PATH_MAX], path[PATH_MAX * 2], line[PATH_MAX];
	struct tw_runtime rt = {};
	struct tw_tier_val v = { .tier = TIER_STAGING };
	uint64_t id, root;
	int level = 0, zero = 0;
	FILE *f;

	if (tw_cgroup2_mount(mnt, sizeof(mnt)) || tw_cgroup_id(mnt, &root))
		return -ENOENT;
	f = fopen("/proc/self/cgroup", "r");
	path[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path), "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "");
		}
	if (f)
		fclose(f);
	if (!path[0] || tw_cgroup_id(path, &id) || (level = tw_cgroup_level(mnt, path)) < 0)
		return -ENOENT;
	if (tag) {
		/* The root too: kernels whose test-run socket has no cgroup report the root. */
		bpf_map_update_elem(bpf_map__fd(g->skel->maps.cgroup_tiers), &id, &v, 0);
		bpf_map_update_elem(bpf_map__fd(g->skel->maps.cgroup_tiers), &root, &v, 0);
		rt.level_mask = (1ULL << level) | 1;
		rt.max_level = level;
	}
	return bpf_map_update_elem(bpf_map__fd(g->skel->maps.runtime), &zero, &rt, 0) ? -errno : 0;
}

int guard_open(struct guard *g)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	g->skel = dns_bpf__open();
	if (!g->skel)
		return -errno;
	bpf_map__set_max_entries(g->skel->maps.names, ARRAY_SIZE(guard_names));
	/* Both variants are exercised: 6.1 guests have no task helpers in cgroup_skb. */
	g->skel->rodata->task_helpers = tw_skb_task_helpers();
	if (dns_bpf__load(g->skel))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(guard_names); i++) {
		struct tw_name_val v = { .host = i + 1, .tier = guard_names[i].tier };
		struct tw_name_key k;

		tw_name_key(guard_names[i].name, &k);
		if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.names), &k, &v, 0))
			return -errno;
	}
	for (i = 1; i <= 2; i++) {
		struct tw_tier_info ti = { .defined = 1 };
		__u32 key = i;

		bpf_map_update_elem(bpf_map__fd(g->skel->maps.tier_info), &key, &ti, 0);
	}
	g->rb = ring_buffer__new(bpf_map__fd(g->skel->maps.events), on_guard_event, g, NULL);
	g->fd = bpf_program__fd(g->skel->progs.tw_dns_egress);
	g->fd_in = bpf_program__fd(g->skel->progs.tw_dns_ingress);
	return g->rb ? guard_tag_self(g, true) : -ENOMEM;
}

void guard_close(struct guard *g)
{
	ring_buffer__free(g->rb);
	dns_bpf__destroy(g->skel);
}

static int run_prog(struct guard *g, int fd, const void *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = 1);

	g->events = 0;
	g->reason = -1;
	g->name[0] = '\0';
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	ring_buffer__consume(g->rb);
	return o.retval;
}

int guard_run(struct guard *g, const void *frame, size_t len)
{
	return run_prog(g, g->fd, frame, len);
}

int guard_run_in(struct guard *g, const void *frame, size_t len)
{
	return run_prog(g, g->fd_in, frame, len);
}

/* Ethernet + IPv4 or IPv6 (with nhop hop-by-hop headers) + UDP/TCP + payload. */
size_t frame(uint8_t *out, int family, int l4, uint16_t dport, const void *pl,
		    size_t plen, int nhop)
{
	size_t off = 14, l4len = (l4 == L4_UDP ? 8 : 20) + plen, iplen;
	int i;

	memset(out, 0, 14 + 40 + nhop * 8 + 20);
	out[12] = family == 4 ? 0x08 : 0x86;
	out[13] = family == 4 ? 0x00 : 0xdd;
	if (family == 4) {
		iplen = 20 + l4len;
		out[off] = 0x45;
		out[off + 2] = iplen >> 8;
		out[off + 3] = iplen & 0xff;
		out[off + 8] = 64;
		out[off + 9] = l4;
		memcpy(out + off + 12, "\x7f\0\0\1\x7f\0\0\1", 8);
		off += 20;
	} else {
		iplen = nhop * 8 + l4len;
		out[off] = 0x60;
		out[off + 4] = iplen >> 8;
		out[off + 5] = iplen & 0xff;
		out[off + 6] = nhop ? 0 : l4;
		out[off + 7] = 64;
		out[off + 23] = 1;
		out[off + 39] = 1;
		off += 40;
		for (i = 0; i < nhop; i++) {
			out[off] = i == nhop - 1 ? l4 : 0;	/* next header */
			out[off + 1] = 0;			/* 8 bytes */
			out[off + 2] = 1;			/* PadN */
			out[off + 3] = 4;
			off += 8;
		}
	}
	out[off] = 0x9c;	/* source port 40000 */
	out[off + 1] = 0x40;
	out[off + 2] = dport >> 8;
	out[off + 3] = dport & 0xff;
	if (l4 == L4_UDP) {
		out[off + 4] = l4len >> 8;
		out[off + 5] = l4len & 0xff;
		off += 8;
	} else {
		out[off + 12] = 5 << 4;
		out[off + 13] = 0x18;	/* PSH ACK */
		off += 20;
	}
	memcpy(out + off, pl, plen);
	return off + plen;
}

