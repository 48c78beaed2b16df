#!/usr/bin/env bash
# Mutation check: plant, one at a time in a copy of this tree, the small bugs
# that once went uncaught, rebuild, and run the host test named for each;
# that test must fail. A mutant whose code no longer matches fails this
# script too (update its pattern together with the code). Root; about 5 min.
#   tests/mutants.sh [N...]      only mutants N (1-4)
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
)
want=${*:-1 2 3 4}
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
		if grep -q "^FAIL $t\$" "$work/test.log"; then
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
