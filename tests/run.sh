#!/usr/bin/env bash
# `make test`: unit tests, then integration tests that start the real
# tierwalld on private cgroup subtrees of this machine's kernel. Needs root.
# Extra arguments select tests by name substring (tests/run.sh integ_ipv6).
# The last line is "N passed, N failed, N skipped"; exit status 1 on failure.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: the integration tests need root (cgroups, BPF); run: sudo make test" >&2
	exit 1
fi
exec build/tw_tests "$@"
