// SPDX-License-Identifier: GPL-2.0
/* tierwall keygen and drain: the sealing keys, and "is everything logged yet?". */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "log.h"
#include "seal.h"

static const char *seal_path, *verify_path;

static int keygen_opt(int c, const char *arg)
{
	switch (c) {
	case 'k': seal_path = arg; return 0;
	case 'V': verify_path = arg; return 0;
	}
	return -1;
}

int do_keygen(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "seal-key", required_argument, NULL, 'k' },
		{ "verify-key", required_argument, NULL, 'V' },
		{}
	};
	int first = tw_parse_opts(argc, argv, NULL, extra, keygen_opt);
	char text[256], why[PATH_MAX + 128];

	tw_want_operands(argc, first, 0);
	if (!seal_path || !verify_path) {
		tw_err("keygen: --seal-key FILE and --verify-key FILE are both required");
		tw_cmd_usage(stderr, tw_cur);
		return EXIT_USAGE;
	}
	if (tw_seal_keygen(seal_path, verify_path, text, sizeof(text), why, sizeof(why))) {
		tw_err("keygen: %s", why);
		return EXIT_FAIL;
	}
	printf("seal key (for tierwalld --seal-key; stays on this node, 0600): %s\n"
	       "verification key (keep it off this node; verify-log --verify-key reads it): %s\n"
	       "%s\n", seal_path, verify_path, text);
	return 0;
}

int do_drain(int argc, char **argv)
{
	int first = tw_parse_opts(argc, argv, NULL, NULL, NULL);
	json_t *r;

	tw_want_operands(argc, first, 0);
	r = tw_call(json_pack("{s:s}", "cmd", "drain"));
	if (!r)
		return EXIT_FAIL;
	if (tw_want_json)
		tw_print_json(r);
	else
		printf("logged up to seq %lld (kernel counters: %lld denied, %lld audited, %lld lost to a full ring buffer)\n",
		       json_integer_value(json_object_get(r, "seq")),
		       json_integer_value(json_object_get(r, "denied")),
		       json_integer_value(json_object_get(r, "audited")),
		       json_integer_value(json_object_get(r, "ringbuf_drops")));
	json_decref(r);
	return 0;
}
