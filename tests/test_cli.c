// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's conventions, with the real binaries against a real daemon:
 * options anywhere before "--", the exit codes a CI step reads.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fixture.h"
#include "std.h"
#include "test.h"

/* `tierwall ARGS` against the fixture's daemon; its exit status, stdout (and stderr unless quiet) in out. */
#define CLI(f, out, quiet, fmt, ...)							\
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s " fmt "%s", tw_build_dir, (f)->sock,	\
	      ##__VA_ARGS__, (quiet) ? " 2>/dev/null" : "")

static const char *verdict_of(const char *out, char *buf, size_t len)
{
	json_t *o = json_loads(out, 0, NULL);

	snprintf(buf, len, "%s", json_string_value(json_object_get(o, "verdict")) ?: "(none)");
	json_decref(o);
	return buf;
}

TEST(cli_options_after_operands)
{
	char out[16384], v[32];
	struct fx f;

	if (!std_start(&f))
		goto out;
	ASSERT_EQ(CLI(&f, out, true, "explain --json --cgroup /agents/staging 127.20.0.1:80"), 0,
		  "explain, options first");
	ASSERT_STREQ(verdict_of(out, v, sizeof(v)), "deny", "options first: the verdict");
	ASSERT_EQ(CLI(&f, out, true, "explain --cgroup /agents/staging 127.20.0.1:80 --json"), 0,
		  "explain, --json after the target");
	ASSERT_STREQ(verdict_of(out, v, sizeof(v)), "deny", "--json after the target: the same verdict");
	ASSERT_EQ(CLI(&f, out, true, "explain 127.20.0.1:80 --cgroup /agents/staging --json"), 0,
		  "explain, every option after the target");
	ASSERT_STREQ(verdict_of(out, v, sizeof(v)), "deny", "the same verdict");
	/* "--" ends the options: what follows is an operand even if it looks like one. */
	ASSERT_EQ(CLI(&f, out, false, "explain --cgroup /agents/staging -- --json"), 2,
		  "an option after -- is an operand");
	ASSERT_CONTAINS(out, "invalid target \"--json\"", "and is read as the target");
	ASSERT_EQ(CLI(&f, out, false, "which --cgroup /agents/staging --json"), 0, "which, --json last");
	ASSERT_CONTAINS(out, "\"tier\": \"staging\"", "which answers in JSON");
	ASSERT_EQ(CLI(&f, out, false, "tiers --json"), 0, "tiers --json");
	fx_mkcg(&f, "fresh");
	ASSERT_EQ(CLI(&f, out, false, "tag /fresh staging --json"), 0, "tag, --json after the operands");
	ASSERT_CONTAINS(out, "\"tier\": \"staging\"", "tag answers in JSON");
	ASSERT_EQ(CLI(&f, out, false, "tag /fresh prod"), 1, "another tier without --force");
	ASSERT_EQ(CLI(&f, out, false, "tag /fresh prod --force"), 0, "--force after the operands");
	ASSERT_CONTAINS(out, "(was staging)", "overrode the tier");
	ASSERT_EQ(CLI(&f, out, false, "untag /fresh --json"), 0, "untag, --json last");
	ASSERT_CONTAINS(out, "\"ok\": true", "untag answers in JSON");
	ASSERT_EQ(CLI(&f, out, false, "events --log-dir %s --kind daemon --json", f.log_dir), 0,
		  "events, options only");
	ASSERT_CONTAINS(out, "\"event\":\"policy_loaded\"", "events read the log");
	/* run: options stop at the command, whose own options are its own. */
	ASSERT_EQ(CLI(&f, out, false, "run --tier staging echo --json"), 0, "run CMD --json");
	ASSERT_CONTAINS(out, "--json", "the command got --json");
out:
	fx_cleanup(&f);
}
