#!/usr/bin/env bash
# Run every libFuzzer target (build/fuzz/fuzz_*) for N seconds each (default
# 60): the seed corpus in tests/fuzz/corpus/NAME first (regression inputs
# included), new inputs into build/fuzz/work/NAME. Any crash, sanitizer
# report, leak, timeout or failed property is a finding: its input is saved
# as build/fuzz/findings/NAME-*, the run goes on with the next target, and
# the exit status is 1. Prints "fuzz NAME: ok|FINDING" per target.
# Add a fixed finding to tests/fuzz/corpus/NAME/ as a regression input.
# FUZZ_JOBS=N runs N targets at a time.
set -u
cd "$(dirname "$0")/../.."
B=${TW_BUILD_DIR:-build}
secs=${1:-60}
shift || true
targets=${*:-$(cd "$B/fuzz" && ls fuzz_* 2>/dev/null)}
fail=0
cg_mount=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
# libFuzzer ends a timed run without atexit handlers: what a target made for
# its daemon (a temp dir, a cgroup subtree named by its pid) is removed here.
cleanup_after() {
	local d i
	for i in 1 2 3 4 5; do
		rm -rf "/tmp/tw-fuzz-$1-$2"
		for d in ${cg_mount:+"$cg_mount"/tw-fuzz-"$1"-"$2"}; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		if [ ! -e "/tmp/tw-fuzz-$1-$2" ] && { [ -z "$cg_mount" ] || [ ! -d "$cg_mount/tw-fuzz-$1-$2" ]; }; then
			return 0
		fi
		sleep 0.2	# its daemon is still stopping
	done
}
mkdir -p "$B/fuzz/findings" "$B/fuzz/logs"
# fuzz_one TARGET: run it, clean up after it, print its line; status 1 on a finding.
fuzz_one() {
	local t=$1 name=${1#fuzz_} log=$B/fuzz/logs/$1.log pid rc
	mkdir -p "$B/fuzz/work/$name" "tests/fuzz/corpus/$name"
	# -close_fd_mask=3: the targets' own output stays in the log, not the test report.
	TW_BUILD_DIR=$B ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	   "$B/fuzz/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
		-artifact_prefix="$B/fuzz/findings/$name-" -print_final_stats=1 \
		"$B/fuzz/work/$name" "tests/fuzz/corpus/$name" > "$log" 2>&1 &
	pid=$!
	wait "$pid"
	rc=$?
	cleanup_after "$name" "$pid"
	if [ "$rc" = 0 ]; then
		echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${secs}s)"
		return 0
	fi
	echo "fuzz $name: FINDING (see $log and $B/fuzz/findings/$name-*)"
	grep -m3 -E 'ERROR|property failed|SUMMARY' "$log" | sed 's/^/    /'
	return 1
}
# FUZZ_JOBS targets at a time (default one): each runs its N seconds of wall
# time, so make test runs them side by side; their lines print in order.
jobs_max=${FUZZ_JOBS:-1}
for t in $targets; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n
	done
	fuzz_one "$t" > "$B/fuzz/logs/$t.result" &
done
wait
for t in $targets; do
	cat "$B/fuzz/logs/$t.result"
	grep -q ': FINDING' "$B/fuzz/logs/$t.result" && fail=1
done
exit $fail
