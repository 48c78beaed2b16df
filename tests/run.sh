#!/usr/bin/env bash
# `make test`: the host suite (unit tests, then integration tests that start
# the real tierwalld on private cgroup subtrees of this machine's kernel),
# then the same binaries statically linked in QEMU guests booting Debian's
# 6.1 and newest backports kernels, where BPF LSM can load (tests/vm).
# Extra arguments select host tests by name substring and skip the guests.
# The last line is "N passed, N failed, N skipped"; exit status 1 on failure.
set -u
cd "$(dirname "$0")/.."
B=${TW_BUILD_DIR:-build}
if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: the tests need root (cgroups, BPF): sudo make test" >&2
	exit 1
fi
counts() { sed -nE 's/^(vm: )?([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\2 \3 \4/p' | tail -n1; }

host_log=$B/host-tests.log
"$B"/tw_tests "$@" | tee "$host_log"
read -r hp hf hs < <(counts < "$host_log")
vp=0 vf=0 vs=0
if [ $# = 0 ]; then
	vm_log=$B/vm-tests.log
	tests/vm/run.sh | tee "$vm_log"
	read -r vp vf vs < <(counts < "$vm_log")
	if [ -z "${vp:-}" ]; then vp=0 vf=1 vs=0; echo "FAIL vm: the guest runner printed no summary"; fi
fi
if [ -z "${hp:-}" ]; then hp=0 hf=1 hs=0; echo "FAIL host: tw_tests printed no summary"; fi
echo
echo "host: $hp passed, $hf failed, $hs skipped; guests: $vp passed, $vf failed, $vs skipped"
echo "$((hp + vp)) passed, $((hf + vf)) failed, $((hs + vs)) skipped"
[ $((hf + vf)) = 0 ]
