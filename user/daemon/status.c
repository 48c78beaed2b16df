// SPDX-License-Identifier: GPL-2.0
/* What the daemon says about itself: `status` and the Prometheus text. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "dirdiff.h"
#include "adopt.h"
#include "reloadreq.h"
#include "drift.h"
#include "pending.h"
#include "protect.h"
#include "grants.h"
#include "control.h"
#include "status.h"

/* Exact names with their addresses, wildcards (judged only by the DNS guard). */
static json_t *hostnames_json(struct daemon *d)
{
	json_t *wild = json_array();
	int i;

	for (i = 0; i < d->policy->nhosts; i++)
		if (d->policy->hosts[i].wildcard)
			json_array_append_new(wild, json_pack("{s:s, s:s}", "hostname",
				d->policy->hosts[i].name, "tier", d->policy->tiers[d->policy->hosts[i].tier].name));
	return json_pack("{s:b, s:o, s:o}", "dns_guard", tw_bpf_has_dns(d->bpf),
			 "names", tw_dns_status(d->dns), "wildcards", wild);
}

json_t *dm_status_json(struct daemon *d)
{
	json_t *progs = json_array(), *o;
	struct tw_stats st = {};
	int i;

	for (i = 0; i < tw_bpf_nprogs(d->bpf); i++) {
		const char *name;
		uint32_t id = 0;
		bool att;

		if (!tw_bpf_prog_info(d->bpf, i, &name, &id, &att))
			json_array_append_new(progs, json_pack("{s:s, s:i, s:b}", "hook", name,
							       "prog_id", id, "attached", att));
	}
	tw_bpf_stats(d->bpf, &st);
	o = json_pack("{s:b, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:i, s:i, s:i}",
		      "ok", 1, "version", TW_VERSION, "pid", getpid(),
		      "policy", d->policy->digest, "policy_file", d->policy_file,
		      "cgroup_root", d->root, "log", tw_evlog_path(d->log), "pin_dir", d->pin_dir,
		      "degraded", d->network_only ? json_pack("[s]", "secrets not enforced (--network-only)") : json_array(),
		      "programs", progs,
		      "counters",
		      "denied", (json_int_t)st.denied, "audited", (json_int_t)st.audited,
		      "ringbuf_drops", (json_int_t)st.ringbuf_drops,
		      "events_logged", (json_int_t)d->logged,
		      "bad_records", (json_int_t)d->bad_records,
		      "log_write_errors", (json_int_t)tw_evlog_write_errors(d->log),
		      "log_refused", (json_int_t)tw_evlog_refused(d->log),
		      "followers", (json_int_t)tw_followers_count(d->followers),
		      "follow_dropped", (json_int_t)tw_followers_dropped(d->followers),
		      "tiers", d->policy->ntiers, "rules", tw_slots_count(d->policy),
		      "tagged_cgroups", d->ntags);
	json_object_set_new(json_object_get(o, "counters"), "control_dropped",
			    json_integer((json_int_t)dm_control_dropped(d)));
	json_object_set_new(o, "secrets", json_pack("{s:b, s:i, s:i, s:i}",
		"enforced", d->secrets != NULL, "paths", d->policy->nsecrets,
		"identities", d->secrets ? (int)tw_secrets_count(d->secrets) : 0,
		"pending", tw_secrets_pending(d->secrets)));
	json_object_set_new(o, "hostnames", hostnames_json(d));
	json_object_set_new(o, "drift", dm_drift_status(d));
	json_object_set_new(o, "network_lsm", tw_bpf_netlsm_json(d->bpf));
	json_object_set_new(o, "state_dir", json_string(d->state_dir));
	json_object_set_new(o, "state", json_string("running"));
	json_object_set_new(o, "reload", dm_reload_status(d));
	json_object_set_new(o, "warnings", d->overlap[0] ? json_pack("[s]", d->overlap) : json_array());
	json_object_set_new(o, "protection", dm_protect_json(d));
	json_object_set_new(o, "cri", dm_adopt_status());
	json_object_set_new(o, "grants", dm_grants_status(d));
	json_object_set_new(o, "pending", dm_pending_json(d));
	return o;
}

static void write_dns_metrics(struct daemon *d, struct buf *b)
{
	int names, failing, addrs;

	/* Read without a lock: counts that are a tick stale are fine for a gauge. */
	tw_dns_counts(d->dns, &names, &failing, &addrs);
	tw_metric_printf(b, "# HELP tierwall_hostnames Exact policy hostnames the daemon resolves.\n"
			    "# TYPE tierwall_hostnames gauge\n"
			    "tierwall_hostnames %d\n"
			    "# HELP tierwall_hostnames_failing Hostnames whose last resolution failed.\n"
			    "# TYPE tierwall_hostnames_failing gauge\n"
			    "tierwall_hostnames_failing %d\n"
			    "# HELP tierwall_hostname_addresses Addresses held for hostnames, grace included.\n"
			    "# TYPE tierwall_hostname_addresses gauge\n"
			    "tierwall_hostname_addresses %d\n", names, failing, addrs);
}

static void write_pending_metrics(struct buf *b)
{
	uint64_t age;
	int n = dm_pending_counts(&age);

	tw_metric_printf(b, "# HELP tierwall_pending_containers Containers below a pods' root that no hook or sync placed yet.\n"
			    "# TYPE tierwall_pending_containers gauge\n"
			    "tierwall_pending_containers %d\n"
			    "# HELP tierwall_pending_oldest_seconds How long the oldest pending container has been pending (0: none).\n"
			    "# TYPE tierwall_pending_oldest_seconds gauge\n"
			    "tierwall_pending_oldest_seconds %llu\n", n, (unsigned long long)age);
}

void dm_write_metrics(void *arg, struct buf *b)
{
	struct daemon *d = arg;
	struct tw_stats st = {};
	int k, v, t, i;

	tw_bpf_stats(d->bpf, &st);
	tw_metric_printf(b, "# HELP tierwall_events_total Decisions written to the event log.\n"
			    "# TYPE tierwall_events_total counter\n");
	for (k = 1; k <= TW_EV_MAX; k++)
		for (v = TW_VERDICT_ALLOW; v <= TW_VERDICT_AUDIT; v++)
			for (t = 1; t <= d->policy->ntiers; t++)
				tw_metric_printf(b, "tierwall_events_total{kind=\"%s\",verdict=\"%s\",tier=\"%s\"} %llu\n",
						 tw_kind_name(k), tw_verdict_name(v), d->policy->tiers[t].name,
						 (unsigned long long)__atomic_load_n(&d->by_kind[k][v][t], __ATOMIC_RELAXED));
	tw_metric_printf(b, "# HELP tierwall_kernel_decisions_total Denials and audits counted in the kernel.\n"
			    "# TYPE tierwall_kernel_decisions_total counter\n"
			    "tierwall_kernel_decisions_total{verdict=\"deny\"} %llu\n"
			    "tierwall_kernel_decisions_total{verdict=\"audit\"} %llu\n"
			    "# HELP tierwall_ringbuf_drops_total Events lost because the ring buffer was full.\n"
			    "# TYPE tierwall_ringbuf_drops_total counter\n"
			    "tierwall_ringbuf_drops_total %llu\n"
			    "# HELP tierwall_ringbuf_fill_bytes Bytes waiting in the ring buffer.\n"
			    "# TYPE tierwall_ringbuf_fill_bytes gauge\n"
			    "tierwall_ringbuf_fill_bytes %llu\n"
			    "# HELP tierwall_ringbuf_size_bytes Size of the ring buffer.\n"
			    "# TYPE tierwall_ringbuf_size_bytes gauge\n"
			    "tierwall_ringbuf_size_bytes %u\n",
			 (unsigned long long)st.denied, (unsigned long long)st.audited,
			 (unsigned long long)st.ringbuf_drops,
			 (unsigned long long)tw_bpf_ringbuf_fill(d->bpf), d->ringbuf_bytes);
	write_pending_metrics(b);
	tw_metric_printf(b, "# HELP tierwall_log_records_total Records written to the event log.\n"
			    "# TYPE tierwall_log_records_total counter\n"
			    "tierwall_log_records_total %llu\n"
			    "# HELP tierwall_log_write_errors_total Failed writes to the event log.\n"
			    "# TYPE tierwall_log_write_errors_total counter\n"
			    "tierwall_log_write_errors_total %llu\n"
			    "# HELP tierwall_followers Live followers of the event log.\n"
			    "# TYPE tierwall_followers gauge\n"
			    "tierwall_followers %d\n"
			    "# HELP tierwall_follow_dropped_total Lines live followers lost by falling behind.\n"
			    "# TYPE tierwall_follow_dropped_total counter\n"
			    "tierwall_follow_dropped_total %llu\n"
			    "# HELP tierwall_control_dropped_total Control clients dropped to make room.\n"
			    "# TYPE tierwall_control_dropped_total counter\n"
			    "tierwall_control_dropped_total %llu\n",
			 (unsigned long long)d->logged,
			 (unsigned long long)tw_evlog_write_errors(d->log),
			 tw_followers_count(d->followers),
			 (unsigned long long)tw_followers_dropped(d->followers),
			 (unsigned long long)dm_control_dropped(d));
	tw_metric_printf(b, "# HELP tierwall_policy_info The loaded policy.\n"
			    "# TYPE tierwall_policy_info gauge\n"
			    "tierwall_policy_info{digest=\"%s\",tiers=\"%d\",rules=\"%d\",secrets=\"%d\"} 1\n"
			    "# HELP tierwall_policy_load_timestamp_seconds When the policy was loaded.\n"
			    "# TYPE tierwall_policy_load_timestamp_seconds gauge\n"
			    "tierwall_policy_load_timestamp_seconds %llu\n"
			    "# HELP tierwall_degraded 1 when running with --network-only.\n"
			    "# TYPE tierwall_degraded gauge\n"
			    "tierwall_degraded %d\n"
			    "# HELP tierwall_program_attached 1 for each attached program.\n"
			    "# TYPE tierwall_program_attached gauge\n",
			 d->policy->digest, d->policy->ntiers, tw_slots_count(d->policy),
			 d->policy->nsecrets, (unsigned long long)d->loaded_at, d->network_only);
	for (i = 0; i < tw_bpf_nprogs(d->bpf); i++) {
		const char *name;
		uint32_t id;
		bool att;

		if (!tw_bpf_prog_info(d->bpf, i, &name, &id, &att))
			tw_metric_printf(b, "tierwall_program_attached{hook=\"%s\"} %d\n", name, att);
	}
	write_dns_metrics(d, b);
	dm_reload_metrics(d, b);
	dm_grants_metrics(d, b);
}
