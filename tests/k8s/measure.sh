#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What the DaemonSet's requests and limits rest on: tierwalld's RSS (VmRSS,
# VmHWM) and CPU time with the manifest's policy, idle after READY, then
# under an event flood: N denied TCP connects to 200 destinations from a
# tiered cgroup to a loopback address the policy gives prod, every one a
# logged decision. Root; a private cgroup, pins, socket and log, removed after.
#   tests/k8s/measure.sh [N]     (default 200000)
set -eu
cd "$(dirname "$0")/../.."
B=${TW_BUILD_DIR:-build} N=${1:-200000}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
D=$(mktemp -d /tmp/tw-measure.XXXXXX) R=$CG2/tw-measure-$$ PINS=/sys/fs/bpf/tw-measure-$$
mkdir -p "$R/flood" "$D/log" "$D/state"
cleanup() {
	[ -z "${pid:-}" ] || kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
	"$B/tierwalld" --uninstall --pin-dir "$PINS" --state-dir "$D/state" --log-dir "$D/log" \
		--socket "$D/ctl.sock" > /dev/null 2>&1 || true
	rmdir "$R/flood" "$R" 2> /dev/null; rm -rf "$D"
}
trap cleanup EXIT
python3 - "$D/policy.json" <<'PY'
import json, sys, yaml
cm = yaml.safe_load(open("deploy/kubernetes/base/policy.yaml"))
p = json.loads(cm["data"]["policy.json"])
p["destinations"].append({"tier": "prod", "cidrs": ["127.20.0.0/16"]})
p["cgroups"] = [{"path": "/flood", "tier": "staging"}]
json.dump(p, open(sys.argv[1], "w"))
PY
"$B/tierwalld" --policy "$D/policy.json" --cgroup-root "$R" --log-dir "$D/log" --pin-dir "$PINS" \
	--socket "$D/ctl.sock" --state-dir "$D/state" --metrics "127.0.0.1:$((20000 + $$ % 20000))" > "$D/out" 2>&1 &
pid=$!
for _ in $(seq 600); do	# the socket appears early in setup; status --wait then waits for enforcing
	[ -S "$D/ctl.sock" ] && "$B/tierwall" --socket "$D/ctl.sock" status --wait=60 > /dev/null && break
	sleep 0.1
done
usage() {
	local t; t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	echo "$1: $(grep -E 'VmRSS|VmHWM' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')cpu $((t * 10)) ms"
}
usage idle
t0=$(date +%s%N)
for i in $(seq 200); do	# 200 distinct destinations: records, not only folded counts
	"$B/tw_probe" --cgroup "$R/flood" --repeat $((N / 200)) tcp-connect "127.20.$((i / 100)).$((i % 100 + 1))" \
		$((1000 + i)) > /dev/null || true
done
"$B/tierwall" --socket "$D/ctl.sock" drain > /dev/null 2>&1 || true
t1=$(date +%s%N)
usage "after $N denied connects in $(((t1 - t0) / 1000000)) ms"
echo "log: $(cat "$D"/log/events.jsonl | wc -l) records"
