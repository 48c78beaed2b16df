#!/usr/bin/env bash
# The BPF LSM benchmark (tw_bench_lsm) in a QEMU guest on each Debian kernel.
# TCG emulates time: compare the ratios within one boot, not the ns.
set -u
cd "$(dirname "$0")/../.."
B=${TW_BUILD_DIR:-build}
# Two vCPUs keep the measuring loop apart from the daemon and the kernel's own
# work (one vCPU gave ratios below 1.0); the rare multi-threaded-TCG boot oops
# of 6.12 is retried below.
SMP=${TW_VM_SMP:-2}
REPS=${1:-3}
kernels=$(tests/vm/fetch-kernels.sh "$B/vm/kernels") || exit 1
rc=0
while read -r name vmlinuz; do
	log=$B/vm/bench-$name.log
	for attempt in 1 2; do
		nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
		timeout 1800 qemu-system-x86_64 -accel tcg -smp "$SMP" -m 1024 -nographic -no-reboot \
			-kernel "$vmlinuz" -initrd "$B/vm/initrd.gz" \
			-append "console=ttyS0 rdinit=/init panic=-1 quiet tsc=reliable tw.nonce=$nonce tw.bench=$REPS" \
			</dev/null > "$log" 2>&1
		# A crash before the guest started is an infrastructure fault: one retry.
		grep -q "TW-GUEST-START $nonce" "$log" && break
	done
	echo "== $name: $(tr -d '\r' < "$log" | grep -m1 -o "TW-GUEST-START $nonce.*" | cut -d' ' -f3)"
	tr -d '\r' < "$log" | sed -n "/TW-GUEST-START $nonce/,/TW-GUEST-DONE $nonce/p" | grep '^|'
	tr -d '\r' < "$log" | grep -q "TW-GUEST-DONE $nonce rc=0" || { echo "bench failed: $log"; rc=1; }
done <<< "$kernels"
exit $rc
