// SPDX-License-Identifier: GPL-2.0
/* SIGHUP: the new policy loaded and attached beside the old one, then the swap. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include "access.h"
#include "cgroup.h"
#include "fill.h"
#include "log.h"
#include "lsm.h"
#include "protect.h"
#include "reload.h"
#include "secretwatch.h"
#include "stream.h"
#include "status.h"
#include "persist.h"
#include "policysig.h"
#include "grants.h"
#include "pending.h"
#include "tags.h"
#include "tagwatch.h"

static int reload_failed(struct daemon *d, struct tw_diags *diags, const char *why)
{
	json_t *errs = json_array();
	int i;

	for (i = 0; diags && i < diags->count; i++)
		json_array_append_new(errs, json_string(diags->msgs[i]));
	if (why)
		json_array_append_new(errs, json_string(why));
	tw_err("policy reload from %s failed; the loaded policy stays in force", d->policy_file);
	if (diags)
		tw_diags_print(diags, stderr);
	if (why)
		tw_err("%s", why);
	json_decref(d->reload_errors);
	d->reload_errors = json_incref(errs);
	d->reload_ok = false;
	dm_log_daemon(d, "policy_reload_failed", json_pack("{s:o}", "errors", errs));
	return -EINVAL;
}

int dm_reload(struct daemon *d)
{
	struct tw_bpf_opts bo = { .tag_capacity = MAX_TAGS, .ringbuf_bytes = d->ringbuf_bytes,
				  .host_capacity = MAX_HOST_ADDRS };
	struct tw_policy *np = NULL, *op = d->policy;
	struct tw_secrets *ns = NULL, *os = d->secrets;
	struct tw_dns *nd = NULL, *od = d->dns;
	struct tw_tables nt = {}, ot = d->tables;
	struct tw_bpf *nb = NULL, *ob = d->bpf;
	struct ring_buffer *nrb = NULL, *orb = d->rb;
	struct epoll_event ev = { .events = EPOLLIN };
	struct tw_diags diags = {};
	json_t *saved = NULL;
	char why[1024] = "";
	int i, err;

	tw_info("reloading %s", d->policy_file);
	d->reload_at = time(NULL);
	err = dm_policy_load(d, &np, &diags, why, sizeof(why));
	if (!err)
		err = tw_compile(np, &nt, &diags);
	if (err) {
		err = reload_failed(d, &diags, why[0] ? why : NULL);
		goto out_new;
	}
	for (i = 0; i < np->ncgroups; i++) {
		char abs[PATH_MAX + 64];

		dm_policy_cgroup_path(d, np, i, abs, sizeof(abs));
		if (tw_is_cgroup2_dir(abs)) {
			snprintf(why, sizeof(why), "%s: cgroup \"%s\" does not exist", np->cgroups[i].jpath,
				 np->cgroups[i].path);
			err = reload_failed(d, NULL, why);
			goto out_new;
		}
	}
	if (np->nsecrets && !d->network_only) {
		if (tw_lsm_active(why, sizeof(why)) || tw_secrets_resolve(&ns, np, d->policy_file)) {
			err = reload_failed(d, NULL, why[0] ? why : "a secret path cannot be resolved (see above)");
			goto out_new;
		}
		tw_secrets_size_maps(ns, &bo);
	}
	err = tw_bpf_load(&nb, &nt, np, &bo, why, sizeof(why));
	if (!err)
		tw_fill_drop(&nt);	/* the kernel has them */
	if (!err)
		err = dm_protect(d, nb);
	if (!err && ns)
		err = tw_secrets_push(ns, nb);
	if (!err && !(nrb = tw_bpf_ringbuf(nb, dm_on_event, d)))
		err = -errno;
	if (!err)
		err = tw_dns_new(&nd, np, nb, &d->dns_opts, why, sizeof(why));
	if (err) {
		err = reload_failed(d, NULL, why[0] ? why : strerror(-err));
		goto out_new;
	}
	saved = dm_state_snapshot(d);
	/* What the old resolver knew stays enforced even if the resolver is down now. */
	tw_dns_seed(nd, json_object_get(saved, "hostnames"));
	tw_dns_settle(nd, DNS_SETTLE_MS);
	tw_bpf_set_flood_window(nb, (uint64_t)d->flood_ms * 1000000);

	/* Tags: the new policy's, plus runtime tags whose tier still exists. */
	dm_grants_sync(d);	/* the old programs' counts go on in the new map */
	dm_tags_clear(d);
	d->bpf = nb;
	d->policy = np;
	err = saved ? dm_tag_policy_cgroups(d) : -ENOMEM;
	if (!err)
		dm_state_restore_tags(d, saved, true);
	if (!err)
		dm_grants_stage(d);	/* before attach: a grant holds from the first decision */
	if (!err)
		dm_tag_pending_roots(d);
	if (!err)
		err = tw_bpf_attach(nb, d->root, d->pin_dir);
	if (!err && d->pin_dir[0])
		err = tw_bpf_pin(nb, d->pin_dir);
	if (err) {
		/* Half-built: the old programs are still attached and judging; so are their tags. */
		dm_tags_clear(d);
		d->bpf = ob;
		d->policy = op;
		dm_grants_rollback(d);	/* the old map never changed: nor do the grants */
		if (saved && !dm_tag_policy_cgroups(d)) {
			dm_state_restore_tags(d, saved, true);
			dm_tag_pending_roots(d);
		}
		err = reload_failed(d, NULL, "attaching the new programs failed");
		goto out_new;
	}

	/* The new programs judge: retire the old ones, then tell what they held. */
	tw_metrics_stop(d->metrics);
	d->metrics = NULL;
	tw_bpf_detach(ob);
	tw_bpf_sync_programs();	/* a record an old program was still writing is complete */
	tw_bpf_flood_flush(ob, true);
	ring_buffer__consume(orb);	/* decoded with the old policy */
	dm_log_flush(d);
	dm_report_retired_drops(d, ob);
	epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, ring_buffer__epoll_fd(orb), NULL);
	ev.data.fd = ring_buffer__epoll_fd(nrb);
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (tw_secrets_fd(os) >= 0)
		epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, tw_secrets_fd(os), NULL);
	if (tw_secrets_fd(ns) >= 0) {
		ev.data.fd = tw_secrets_fd(ns);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (tw_dns_fd(od) >= 0)
		epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, tw_dns_fd(od), NULL);
	if (tw_dns_fd(nd) >= 0) {
		ev.data.fd = tw_dns_fd(nd);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	d->dns = nd;
	d->rb = nrb;
	d->tables = nt;
	d->secrets = ns;
	d->ectx.policy = np;
	d->loaded_at = time(NULL);
	memset(d->by_kind, 0, sizeof(d->by_kind));	/* tier ids changed meaning */
	ring_buffer__free(orb);
	tw_dns_free(od);
	tw_bpf_destroy(ob);
	tw_tables_free(&ot);
	tw_secrets_free(os);
	tw_policy_free(op);
	malloc_trim(0);
	if (d->metrics_addr &&
	    tw_metrics_start(&d->metrics, d->metrics_addr, dm_write_metrics, d, why, sizeof(why)))
		tw_err("--metrics after reload: %s", why);
	dm_log_daemon(d, "policy_loaded", json_pack("{s:b, s:i, s:i, s:i, s:i}", "reload", 1,
						  "tiers", np->ntiers, "rules", np->nrules,
						  "hostnames", np->nhosts, "tagged_cgroups", d->ntags));
	tw_info("reloaded %s (%s): %d tiers, %d rules, %d tagged cgroups", d->policy_file,
		np->digest, np->ntiers, np->nrules, d->ntags);
	dm_secrets_resync(d);	/* what moved while the new programs were not yet watching */
	dm_grants_commit(d);	/* what the new policy cannot hold ends now, on the record */
	dm_access_approvers(d);	/* who reaches the socket: the new policy's approver groups */
	dm_tagwatch_update(d);
	d->state_dirty = true;
	json_decref(saved);
	tw_diags_free(&diags);
	json_decref(d->reload_errors);
	d->reload_errors = NULL;
	d->reload_ok = true;
	return 0;
out_new:
	json_decref(saved);
	tw_dns_free(nd);
	ring_buffer__free(nrb);
	tw_bpf_destroy(nb);
	tw_tables_free(&nt);
	tw_secrets_free(ns);
	tw_policy_free(np);
	tw_diags_free(&diags);
	return err;
}
