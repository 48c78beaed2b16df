// SPDX-License-Identifier: GPL-2.0
/*
 * Reloads as the operator sees them: `tierwall reload` asks for one and
 * waits for its result (errors with file:line:col), and status and metrics
 * tell when the last one ran, how it went and whether the policy file on
 * disk still is what is loaded (an edit not yet reloaded, or a reload that
 * failed).
 */
#include <stdlib.h>
#include <string.h>
#include "dirdiff.h"
#include "reload.h"
#include "reloadreq.h"
#include "util.h"

json_t *dm_reload_request(struct daemon *d)
{
	int err = dm_reload(d);

	if (err)
		return json_pack("{s:b, s:s, s:O?, s:s}", "ok", 0, "error",
				 "policy reload failed; the loaded policy stays in force",
				 "errors", d->reload_errors, "policy_file", d->policy_file);
	return json_pack("{s:b, s:s, s:s, s:i, s:i, s:i}", "ok", 1, "policy", d->policy->digest,
			 "policy_file", d->policy_file, "tiers", d->policy->ntiers,
			 "rules", tw_slots_count(d->policy), "tagged_cgroups", d->ntags);
}

/* 1 if the file differs from the loaded policy, 0 if not, -1 if it cannot be read. */
static int file_differs(struct daemon *d)
{
	char digest[72];
	size_t len;
	char *text;

	if (tw_read_file(d->policy_file, &text, &len))
		return -1;
	tw_sha256_hex(text, len, digest);
	free(text);
	return strcmp(digest, d->policy->digest) != 0;
}

json_t *dm_reload_status(struct daemon *d)
{
	int differs = file_differs(d);
	json_t *o = json_pack("{s:b, s:I}", "policy_file_readable", differs >= 0,
			      "loaded_at", (json_int_t)d->loaded_at);

	json_object_set_new(o, "policy_file_differs", differs >= 0 ? json_boolean(differs) : json_null());
	if (!d->reload_at)
		return o;
	json_object_set_new(o, "last_reload", json_pack("{s:I, s:s, s:O?}", "at", (json_int_t)d->reload_at,
		"result", d->reload_ok ? "ok" : "failed", "errors", d->reload_errors));
	return o;
}

void dm_reload_metrics(struct daemon *d, struct buf *b)
{
	int differs = file_differs(d);

	tw_metric_printf(b, "# HELP tierwall_reload_timestamp_seconds When the last reload ran (0: none).\n"
			    "# TYPE tierwall_reload_timestamp_seconds gauge\n"
			    "tierwall_reload_timestamp_seconds %llu\n"
			    "# HELP tierwall_reload_success 1 if the last reload succeeded (or none ran).\n"
			    "# TYPE tierwall_reload_success gauge\n"
			    "tierwall_reload_success %d\n"
			    "# HELP tierwall_policy_file_differs 1 if the policy file on disk is not the loaded policy.\n"
			    "# TYPE tierwall_policy_file_differs gauge\n"
			    "tierwall_policy_file_differs %d\n",
			 (unsigned long long)d->reload_at, !d->reload_at || d->reload_ok, differs != 0);
}
