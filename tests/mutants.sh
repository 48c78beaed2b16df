#!/usr/bin/env bash
# Mutation check: plant, one at a time in a copy of this tree, the small bugs
# that once went uncaught, rebuild, and run the host test named for each;
# that test must fail. A mutant whose code no longer matches fails this
# script too (update its pattern together with the code). Root; about 12 min
# (17 mutants, measured on a busy shared 2-core machine).
#   tests/mutants.sh [N...]      only mutants N (1-17)
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests/mutants.sh needs root (the tests load BPF)" >&2; exit 1; }
src=$(pwd)
work=$(mktemp -d /tmp/tw-mutants-XXXXXX)
trap 'rm -rf "$work"' EXIT

# file # sed script # tests that must fail # what the mutant does
mutants=(
"bpf/dns.bpf.c#s/return d->verdict == TW_VERDICT_AUDIT ? SKB_PASS : SKB_DROP;/return SKB_DROP;/#integ_dnsparse_audit_tier_and_tcp6 dns_audit_tier_resolves_and_is_logged#every DNS guard verdict in an audit tier is a drop"
"bpf/net.bpf.c#/int tw_sendmsg6/,/^}/ s/TW_EV_SENDMSG/TW_EV_CONNECT/#integ_ipv6_and_v4_mapped#sendmsg6 events recorded as kind connect"
"user/log/evlog.c#s/while (f > files \&\& !last.found) {/while (f > files \&\& !last.found \&\& strstr(f[-1], TW_EVLOG_CURRENT)) {/#unit_evlog_reopen_after_rotation_continues log_restart_after_rotation_continues_seq#a reopened log reads only events.jsonl (seq restarts after a rotation)"
"bpf/dns.bpf.c#/ip6_dns(/,/^}/ s/if (next == PROTO_UDP || next == PROTO_TCP) {/if (next == PROTO_UDP) {/#integ_dnsparse_audit_tier_and_tcp6 dns_queries_for_other_tiers_names_dropped#DNS over TCP on IPv6 is not guarded"
"bpf/dns.bpf.c#s/return judge_unreadable(skb, \&p, \&d, TW_DNS_COUNT);/return SKB_PASS;/#integ_dnsparse_tcp_segment_bounds#a third DNS message in one TCP segment passes unread"
"bpf/dns.bpf.c#s/return off == p.end ? SKB_PASS : judge_unreadable(skb, \&p, \&d, TW_DNS_TRUNCATED);/return SKB_PASS;/#integ_dnsparse_tcp_segment_bounds#a TCP data offset past the end of the segment passes"
"user/daemon/persist.c#s/if (id != saved) {/if (id < saved) {/#life_runtime_tags_survive_restarts#a saved runtime tag restored onto a recreated cgroup (greater id)"
"user/daemon/tierwalld.c#s/err = dm_lock_dir(d->state_dir, /dm_lock_dir(d->state_dir, /#life_one_daemon_per_pin_log_and_state_dir#the state directory's lock result ignored"
"user/kernel/handover.c#s/ \&\& info.cgroup.cgroup_id == st.st_ino//#integ_handover_other_root_attaches_its_own_link#a pinned link of another cgroup taken over"
"user/common/text.c#s/json_object_set_new(o, k, json_true());//#unit_text_field_cut_says_truncated#a daemon record's over-long field cut without _truncated"
"user/log/evlog.c#/Every segment ends with a seal/,/seal_epoch(l);/d#unit_seal_untouched_log_verifies_across_rotation_gzip_restart#a segment rotated without closing its epoch's seal"
"user/daemon/drain.c#/dm_report_drops(d);/d#log_drain_accounts_for_a_bounded_flood#the drain does not log ring buffer drops counted before it"
"user/runtime/hook.c#s/return -EPERM;/return ex ? 0 : -EPERM;/#pod_nri_hook_tiers_before_first_instruction#an exempt namespace's pod starts although the daemon refused it"
"user/daemon/runs.c#s/if (i < 0 || !strcmp(dm_tier_name(d, d->tags\[i\].tier), own))/if (i < 0 || strcmp(dm_tier_name(d, d->tags[i].tier), own))/#run_tiered_caller_refused_other_tier_and_audit#the tier check when a tiered caller ends a run inverted"
"user/resolve/fingerprint.c#s/for (; at >= 0; at = next_token(l, n, \&pos, \&tlen)) {/for (; at >= 0 \&\& find(x, l + at, tlen); at = next_token(l, n, \&pos, \&tlen)) {/#unit_fingerprint_scan_reads_every_token#attestation stops at the first token that matches nothing"
"user/daemon/ask.c#s/c->outside = strncmp(c->abs, d->root, n) || (c->abs\[n\] \&\& c->abs\[n\] != '\/');/c->outside = strncmp(c->abs, d->root, n);/#ask_explain_names_caller_tag_rule_and_verdict#explain: a sibling cgroup whose name starts with the root's counts as inside"
"bpf/dst.bpf.h#s/if (i >= r->nports)/if (i >= r->nports - 1)/#integ_explain_agrees_with_kernel_randomised#a rule's last port never matches (explain and the hooks share it)"
)
want=${*:-$(seq -s " " 1 ${#mutants[@]})}
fail=0
for n in $want; do
	IFS='#' read -r file script tests what <<< "${mutants[$((n - 1))]}"
	echo "== mutant $n: $what ($file)"
	rm -rf "$work/tree"
	mkdir -p "$work/tree"
	tar -C "$src" --exclude=./build/vm --exclude=./build/fuzz --exclude=./build/asan --exclude=./.git -cf - . |
		tar -C "$work/tree" -xf -
	cp "$work/tree/$file" "$work/orig"
	sed -i "$script" "$work/tree/$file"
	if cmp -s "$work/orig" "$work/tree/$file"; then
		echo "FAIL mutant $n: its pattern no longer matches $file: update tests/mutants.sh"
		fail=1
		continue
	fi
	if ! make -C "$work/tree" -j2 all > "$work/build.log" 2>&1; then
		echo "FAIL mutant $n: the mutant does not build"; tail -5 "$work/build.log"
		fail=1
		continue
	fi
	for t in $tests; do
		(cd "$work/tree" && build/tw_tests "$t") > "$work/test.log" 2>&1
		if grep -q "^FAIL $t (" "$work/test.log"; then
			echo "caught by $t:"
			grep -m2 -E '^    tests/' "$work/test.log"
		elif grep -q "^ok   $t (" "$work/test.log"; then
			echo "FAIL mutant $n survived $t"
			fail=1
		else
			echo "FAIL mutant $n: $t did not run (skipped?)"; tail -3 "$work/test.log"
			fail=1
		fi
	done
done
[ $fail = 0 ] && echo "every mutant was caught"
exit $fail
