#!/usr/bin/env bash
# Build the guest initramfs OUT: busybox-static, the statically linked
# tierwall binaries and test suite from BUILD/static, and tests/vm/init.
set -euo pipefail
out=$1
build=${2:-build}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp -d makes it 0700: the guest's / must let non-root test processes through.
chmod 755 "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp,run,etc}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp "$build"/static/tierwalld "$build"/static/tierwall "$build"/static/tw_tests \
   "$build"/static/tw_probe "$build"/static/tw_bench_lsm "$root/bin/"
cp tests/vm/init "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
