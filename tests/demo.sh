#!/usr/bin/env bash
# `make run`: tierwalld on policies/example.json under a demo cgroup root.
# A staging process tries a prod database (loopback only) and the kernel
# refuses it; the denial shows up as an event. Ctrl-C cleans everything up.
set -u
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "make run needs root (cgroups, BPF): sudo make run" >&2; exit 1; }

B=build
DEMO=$B/demo
MNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$MNT" ] || { echo "no cgroup2 filesystem is mounted" >&2; exit 1; }
ROOT=$MNT/tierwall-demo
SOCK=$DEMO/ctl.sock
CLI="$B/tierwall --socket $SOCK"
DPID=

cleanup() {
	trap - EXIT INT TERM
	# A stop leaves the programs enforcing; the demo uninstalls them too.
	$B/tierwalld --uninstall --pin-dir /sys/fs/bpf/tierwall-demo --state-dir "$DEMO/state" \
		--log-dir "$DEMO/log" --socket "$SOCK" >/dev/null
	if [ -n "$DPID" ]; then
		wait "$DPID" 2>/dev/null
	fi
	# Deepest first; only the cgroups this script made.
	for d in agents/staging agents/dev services/prod agents services ""; do
		[ -d "$ROOT/$d" ] && rmdir "$ROOT/$d" 2>/dev/null
	done
	echo
	echo "demo stopped: programs detached, demo cgroups removed (log kept in $DEMO/log)"
	exit 0
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

mkdir -p "$DEMO" "$ROOT/agents/staging" "$ROOT/agents/dev" "$ROOT/services/prod"
rm -f "$DEMO/log/events.jsonl"

step "policy: policies/example.json"
$B/tierwall check policies/example.json || exit 1

step "starting tierwalld on cgroup root $ROOT"
$B/tierwalld --policy policies/example.json --cgroup-root "$ROOT" \
	--log-dir "$DEMO/log" --pin-dir /sys/fs/bpf/tierwall-demo --state-dir "$DEMO/state" \
	--socket "$SOCK" &
DPID=$!
for _ in $(seq 50); do
	$CLI status >/dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || { echo "tierwalld failed to start" >&2; DPID=; exit 1; }
	sleep 0.1
done
$CLI tiers

probe() {	# probe CGROUP ADDR PORT WHAT
	printf '%-48s ' "$4"
	$B/tw_probe --cgroup "$ROOT/$1" tcp-connect "$2" "$3" | sed 's/^tcp-connect //'
}

step "a staging agent reaches for other tiers' endpoints (loopback addresses stand in for them)"
probe agents/staging 127.20.0.10 5432 "staging -> prod database 127.20.0.10:5432"
probe agents/staging 127.21.0.5 443 "staging -> prod API 127.21.0.5:443"
probe agents/staging 127.30.0.7 8080 "staging -> staging service 127.30.0.7:8080"
probe agents/dev 127.20.0.10 5432 "dev (audit mode) -> prod database"
echo "(\"Operation not permitted\" is tierwall's EPERM; \"Connection refused\" means the"
echo " kernel let the connect through and simply nothing listens on that loopback port.)"

step "and looks up prod names (the DNS guard drops the query before it leaves)"
dns() {	# dns CGROUP NAME WHAT
	printf '%-48s ' "$3"
	$B/tw_probe --cgroup "$ROOT/$1" dns-query 127.0.0.53 "$2" | sed 's/^dns-query //'
}
dns agents/staging api.prod.example "staging: api.prod.example?"
dns agents/staging API.Billing.PROD.example. "staging: API.Billing.PROD.example.?"
dns agents/staging api.staging.example "staging: api.staging.example?"
echo "(queries go to 127.0.0.53 on loopback; \"no answer\" only means no server listens there)"

sleep 0.3	# the daemon drains the ring buffer every 50 ms
step "what the incident responder sees: tierwall events"
if [ -t 1 ]; then
	$CLI events --log-dir "$DEMO/log"	# a table on a terminal, the daemon's own records too
else
	$CLI events --log-dir "$DEMO/log" | grep -v '"kind":"daemon"'	# JSON lines
fi

step "tierwall status"
$CLI status

if [ -t 0 ]; then
	step "following events live (tierwall events -f); try a probe from another shell:"
	echo "   sudo $B/tw_probe --cgroup $ROOT/agents/staging tcp-connect 127.20.0.1 22"
	echo "   press Ctrl-C to stop and clean up"
	$CLI events -f --log-dir "$DEMO/log" &
	wait "$DPID"
fi
