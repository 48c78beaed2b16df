#!/usr/bin/env bash
# `make bench`: connect()/sendto()/socket() cost with no program, nftables and
# tierwall (without and with the DNS guard), at 10, 1,000 and 100,000 CIDRs,
# in one interleaved run, then at 1,000,000 scattered ones; IPv6 at 200,000
# scattered prefixes; a 1% reload of the 1,000,000 in place; how soon 50
# pending pods are released; then the BPF LSM open() cost in the QEMU
# guests. Each size also gives its start time (exec to `tierwall status` 0,
# and the daemon's CPU by then) beside nft -f.
# Not part of `make test`: timings are measured, never asserted.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make bench needs root: sudo make bench" >&2; exit 1; }
command -v nft >/dev/null || { echo "nftables (nft) is not installed: make deps" >&2; exit 1; }
build/tw_bench || exit 1
echo
echo "A threat feed: 1,000,000 /24, /28 and /32 prefixes, each in its own /24 (IPv4 loops)"
build/tw_bench --sizes 1000000s || exit 1
echo
echo "IPv6: 200,000 scattered prefixes (/48 to /128), tierwall and nftables holding the same"
build/tw_bench_v6 --cpu-time --reps 7 || exit 1
echo
echo "Reload: 1% of 1,000,000 scattered prefixes changed, applied in place, beside a program swap"
build/tw_bench_reload || exit 1
echo
echo "Event throughput: kernel -> ring buffer -> hash-chained, rotated log"
echo "(daemon at default priority, then at nice -10 as a node agent would run, then sealed)"
echo "default priority:"
build/tw_bench_events || exit 1
echo "nice -10:"
TW_BENCH_NICE=-10 build/tw_bench_events || exit 1
echo "nice -10, sealed (--seal-key, 15 min epochs):"
TW_BENCH_NICE=-10 TW_BENCH_SEAL=1 build/tw_bench_events || exit 1
echo
echo "Pending pods: 50 untiered pods' OCI hooks at once, from each hook's start to its tag in the map"
build/tw_bench_pods || exit 1
echo
echo "BPF LSM, in QEMU guests (TCG: compare ratios within one boot only)"
tests/vm/bench.sh 5
