/* SPDX-License-Identifier: GPL-2.0 */
/* tierwall simulate's parts: what the daemon knows (simulate.c), judging (simjudge.c), the answer (simanswer.c). */
#ifndef TW_CLI_SIMULATE_H
#define TW_CLI_SIMULATE_H

#include <limits.h>
#include <stdint.h>
#include <jansson.h>
#include "evlog.h"

#define SIM_HOSTS	65536	/* hostname addresses the draft's maps hold */

struct sim {
	struct tw_policy *p;
	struct tw_explainer *x;
	char root_rel[PATH_MAX];	/* the daemon's root below the cgroup2 mount */
	json_t *live_tags;		/* the daemon's tags, or NULL */
	json_t *hosts;			/* "family/addr" -> [host index + 1, ...] */
	json_t *groups;			/* "old>new|kind|tier|target" -> change */
	uint64_t decisions, unchanged, first_ns, last_ns;
	uint64_t newly_denied, newly_allowed, changed;
	json_t *allow_tiers;		/* tiers whose allowed use is in the log */
	char **tag_paths;		/* the draft's cgroups[i].path as records name cgroups */
	uint64_t since_ns;		/* --since: records before it are not replayed */
};

static inline const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* simjudge.c: the draft's tagged cgroups in the records' form; one record judged again (tw_evlog_scan). */
int sim_tag_paths(struct sim *s);
int sim_judge(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos);
/* simanswer.c */
json_t *sim_answer(struct sim *s, const char *draft, const char *dir);
void sim_print_answer(json_t *o);

#endif
