#!/usr/bin/env bash
# `make test`: the host suite (unit tests, then integration tests that start
# the real tierwalld on private cgroup subtrees of this machine's kernel),
# then the same binaries statically linked in QEMU guests booting Debian's
# 6.1 and newest backports kernels, where BPF LSM can load (tests/vm), which
# run beside the host's parts (TW_TEST_SERIAL=1: after them).
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

# The guests (QEMU TCG, the longest part) boot first and run beside the
# host suite, the sanitizers, fuzzing and the runtime tests; their report
# is printed after those. TW_TEST_SERIAL=1 runs them last, alone.
vm_pid=
if [ $# = 0 ] && [ -z "${TW_TEST_SERIAL:-}" ]; then
	vm_log=$B/vm-tests.log
	tests/vm/run.sh > "$vm_log" 2>&1 &
	vm_pid=$!
	trap 'kill "$vm_pid" 2>/dev/null; exit 130' INT TERM
	echo "guests: booting in the background (progress in $vm_log; report below, after the host's)"
fi

host_log=$B/host-tests.log
"$B"/tw_tests "$@" | tee "$host_log"
read -r hp hf hs < <(counts < "$host_log")
# The unit tests again under ASan and UBSan, then every fuzz target briefly
# (make fuzz runs them longer): each target is one test in the counts.
sp=0 sf=0 ss=0
if [ $# = 0 ]; then
	san_log=$B/asan-tests.log
	ASAN_OPTIONS=detect_leaks=1 "$B"/asan/tw_tests unit_ > "$san_log" 2>&1
	read -r sp sf ss < <(counts < "$san_log")
	[ -n "${sp:-}" ] || { sp=0 sf=1 ss=0; echo "FAIL asan: no summary (see $san_log)"; tail -5 "$san_log"; }
	echo "unit tests under ASan+UBSan: $sp passed, $sf failed"
	grep '^FAIL' "$san_log"
	fuzz_log=$B/fuzz-tests.log
	FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)} tests/fuzz/run.sh "${FUZZ_SECONDS:-5}" | tee "$fuzz_log"
	sp=$((sp + $(grep -c ': ok' "$fuzz_log"))) sf=$((sf + $(grep -c ': FINDING' "$fuzz_log")))
fi
vp=0 vf=0 vs=0
if [ $# = 0 ] && [ -z "$vm_pid" ]; then
	vm_log=$B/vm-tests.log
	tests/vm/run.sh > "$vm_log" 2>&1
fi
kp=0 kf=0 ks=0
if [ $# = 0 ]; then
	# The real container runtimes: containerd 1.6 + CRI + runc + the NRI hook (tests/k8s).
	k8s_log=$B/k8s-tests.log
	tests/k8s/run.py | tee "$k8s_log"
	read -r kp kf ks < <(counts < "$k8s_log")
	if [ -z "${kp:-}" ]; then kp=0 kf=1 ks=0; echo "FAIL k8s: the runtime tests printed no summary"; fi
	# CRI-O's and podman's OCI hook on the real podman 4.3 (tests/oci).
	read -r op of os_ < <(tests/oci/run.py | tee -a "$k8s_log" | counts)
	if [ -z "${op:-}" ]; then op=0 of=1 os_=0; echo "FAIL oci: the OCI hook tests printed no summary"; fi
	kp=$((kp + op)) kf=$((kf + of)) ks=$((ks + os_))
	# containerd 1.7.24 (Debian 13's, unpacked into the build tree) + NRI v2 + tierwall-nri-plugin.
	nri2_log=$B/nri2-tests.log
	tests/k8s/nri2.py | tee "$nri2_log"
	read -r np nf ns < <(counts < "$nri2_log")
	[ -n "${np:-}" ] || echo "FAIL nri2: the containerd 1.7 tests printed no summary"
	kp=$((kp + ${np:-0})) kf=$((kf + ${nf:-1})) ks=$((ks + ${ns:-0}))
	# The systemd deployment: make install's layout, systemd-analyze verify.
	read -r dp df ds < <(tests/deploy_check.sh | tee -a "$k8s_log" | counts)
	kp=$((kp + ${dp:-0})) kf=$((kf + ${df:-1})) ks=$((ks + ${ds:-0}))
	# The kustomize overlays as rendered, and the image's properties (tests/k8s/deploy.py).
	read -r dp df ds < <(tests/k8s/deploy.py | tee -a "$k8s_log" | counts)
	kp=$((kp + ${dp:-0})) kf=$((kf + ${df:-1})) ks=$((ks + ${ds:-0}))
fi
if [ $# = 0 ]; then
	[ -z "$vm_pid" ] || wait "$vm_pid"
	cat "$vm_log"
	read -r vp vf vs < <(counts < "$vm_log")
	if [ -z "${vp:-}" ]; then vp=0 vf=1 vs=0; echo "FAIL vm: the guest runner printed no summary"; fi
fi
if [ -z "${hp:-}" ]; then hp=0 hf=1 hs=0; echo "FAIL host: tw_tests printed no summary"; fi
echo
echo "host: $hp passed, $hf failed, $hs skipped; sanitizers and fuzz: $sp passed, $sf failed;" \
     "guests: $vp passed, $vf failed, $vs skipped; runtime: $kp passed, $kf failed, $ks skipped"
echo "$((hp + sp + vp + kp)) passed, $((hf + sf + vf + kf)) failed, $((hs + ss + vs + ks)) skipped"
[ $((hf + sf + vf + kf)) = 0 ]
