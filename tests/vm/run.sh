#!/usr/bin/env bash
# Boot each Debian kernel (tests/vm/fetch-kernels.sh) under QEMU TCG with the
# test initramfs, run the guest suite (tw_tests with the filters given, by
# default the BPF LSM and network integration tests) and report every test
# with the kernel's name in front. A guest that does not boot, hangs, crashes
# or prints a kernel warning counts as a failed test, never as a pass.
# Last line: "vm: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.."
B=${TW_BUILD_DIR:-build}
# One vCPU: under multi-threaded TCG, 6.12 now and then oopses at boot (int3 in
# sched_clock_cpu) while one CPU patches kernel text another is running.
SMP=${TW_VM_SMP:-1}
# What BPF LSM changes: its own tests, the network ones (the LSM programs
# close bypasses beside the cgroup hooks) and the DNS guard's.
FILTER=${1:-lsm,integ,dns_}
# A last resort for a hung guest: under TCG beside other work a suite takes many minutes.
TIMEOUT=${TW_VM_TIMEOUT:-2400}
# The tests' own last-resort deadlines, stretched in the guests (TW_TEST_TIMEOUT_SCALE
# there): a TCG vCPU gets a small share of a busy host, and beside other helpers'
# guests (load 20-28 on 2 CPUs) daemon starts with the DNS guard passed 120 s.
SCALE=${TW_TEST_TIMEOUT_SCALE:-5}
pass=0 fail=0 skip=0

fail_one() { echo "FAIL $1"; echo "    $2"; fail=$((fail + 1)); }

if ! kernels=$(tests/vm/fetch-kernels.sh "$B/vm/kernels"); then
	fail_one "vm: kernels" "could not download the guest kernels (see above)"
	echo "vm: $pass passed, $fail failed, $skip skipped"
	exit 1
fi

# tsc=reliable: under TCG the clocksource watchdog may declare the TSC unstable
# and patch kernel text while other CPUs run it (seen: int3 oops in
# sched_clock_cpu on 6.12); with it, nothing patches the clock at run time.
# clocksource=hpet: a TCG guest's TSC is this host's, which is not steady
# here (the host itself runs on kvm-clock with tsc=unstable); on a busy
# host the guest's clock once ran 8 times too fast, so every deadline in
# the guest came 8 times too early. QEMU's HPET follows the host's clock.
# A TCG vCPU on a busy host may not run for many seconds: the soft lockup
# and RCU stall detectors then report a "BUG" that is the host's load, not
# the kernel's; they wait 120 s (a real hang still ends in the timeout).
# "; vCPU busy N s, idle N s" from the guest's /proc/stat at the end (tests/vm/init).
cpu_share() {
	tr -d '\r' < "$1" | sed -n 's/^TW-GUEST-CPU cpu *//p' | head -n1 |
		awk 'NF >= 4 { printf "; vCPU busy %.0f s, idle %.0f s", ($1 + $2 + $3 + $6 + $7) / 100, ($4 + $5) / 100 }'
}

# boot_suite LABEL VMLINUZ EXTRA-CMDLINE FILTER
boot_suite() {
	local name=$1 vmlinuz=$2 extra=$3 filter=$4 log=$B/vm/console-$1.log
	local nonce qrc p f s attempt

	for attempt in 1 2; do
		nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
		timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -smp "$SMP" -m 1024 -nographic -no-reboot \
			-kernel "$vmlinuz" -initrd "$B/vm/initrd.gz" \
			-append "console=ttyS0 rdinit=/init panic=-1 quiet tsc=reliable clocksource=hpet watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120 $extra tw.nonce=$nonce tw.scale=$SCALE tw.tests=$filter" \
			</dev/null > "$log" 2>&1
		qrc=$?
		# A crash before the suite started is an infrastructure fault: one retry.
		grep -q "TW-GUEST-START $nonce" "$log" && break
		echo "vm[$name]: guest did not reach the test suite (attempt $attempt, qemu rc $qrc)"
	done
	tr -d '\r' < "$log" | sed -n "/TW-GUEST-START $nonce/,/TW-GUEST-DONE $nonce/p" |
		grep -E '^(ok  |FAIL|SKIP|    |--- |daemons: )' | sed "s/^/[$name] /"
	p=$(tr -d '\r' < "$log" | grep -cE '^ok   ')
	f=$(tr -d '\r' < "$log" | grep -cE '^FAIL ')
	s=$(tr -d '\r' < "$log" | grep -cE '^SKIP ')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ $((p + f + s)) = 0 ]; then
		fail_one "[$name] tests" "no test ran in the guest for filter \"$filter\" (console: $log)"
	fi
	if ! grep -q "TW-GUEST-START $nonce" "$log"; then
		fail_one "[$name] boot" "the guest never started the suite (console: $log)"
	elif ! grep -q "TW-GUEST-DONE $nonce" "$log"; then
		fail_one "[$name] guest" "the guest hung or crashed during the tests (qemu rc $qrc; console: $log)"
	fi
	if grep -qE 'WARNING:|BUG:|Oops|Kernel panic|general protection|Call Trace' "$log"; then
		fail_one "[$name] kernel" "the kernel complained: $(grep -m1 -E 'WARNING:|BUG:|Oops|Kernel panic|general protection|Call Trace' "$log")"
	fi
	echo "vm[$name]: $(grep -m1 -o "TW-GUEST-START $nonce.*" "$log" | cut -d' ' -f3- | tr -d '\r') -> $p passed, $f failed, $s skipped$(cpu_share "$log")"
}

# Guests run side by side, one vCPU each (TW_VM_JOBS at a time, default one
# more than the CPUs, so the short no-bpf-lsm boot runs beside the two long
# ones instead of after them). Each reports into its own file; they are
# printed in kernel order once all have ended.
JOBS=${TW_VM_JOBS:-$(($(nproc) + 1))}
out=$B/vm/out
rm -rf "$out" && mkdir -p "$out"
n=0
queue() {
	local name=$1
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	n=$((n + 1))
	( pass=0 fail=0 skip=0
	  boot_suite "$@"
	  echo "TW-COUNTS $pass $fail $skip" ) > "$out/$(printf %02d $n)-$name" 2>&1 &
}

first=
while read -r name vmlinuz; do
	first=${first:-$vmlinuz}
	# TW_VM_ONLY=NAME boots only that kernel (while developing).
	[ -n "${TW_VM_ONLY:-}" ] && [ "$name" != "$TW_VM_ONLY" ] && continue
	queue "$name" "$vmlinuz" "" "$FILTER"
done <<< "$kernels"
# The refusal path, and the daemon running unprotected, need a kernel whose
# active LSM list lacks bpf.
if [ -z "${1:-}" ]; then
	queue "no-bpf-lsm" "$first" "lsm=lockdown,capability,landlock" \
		"integ_daemon_refuses_unenforceable_secrets,integ_protection_mode_reported"
fi
wait
for r in "$out"/*; do
	grep -v '^TW-COUNTS ' "$r"
	read -r _ p f s < <(grep '^TW-COUNTS ' "$r" || echo "TW-COUNTS 0 1 0")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done

echo "vm: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
