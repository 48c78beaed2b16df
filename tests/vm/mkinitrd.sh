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
   "$build"/static/tw_probe "$build"/static/tw_bench_lsm "$build"/tierwall-nri "$root/bin/"
# dnsmasq for the dns_* tests (a Debian binary: its libraries and loader come
# along), and glibc's NSS modules for getaddrinfo() in the static test binary.
copy_lib() { mkdir -p "$root$(dirname "$1")"; cp -L "$1" "$root$1"; }
if [ -x /usr/sbin/dnsmasq ]; then
	copy_lib /usr/sbin/dnsmasq
	for lib in $(ldd /usr/sbin/dnsmasq | grep -oE '/[^ ]+\.so[^ ]*') \
		   /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 \
		   /lib/x86_64-linux-gnu/libresolv.so.2; do
		copy_lib "$lib"
	done
fi
# Disk filesystems for the secret tests (tests/test_secfs.c): loop, ext4 and
# btrfs modules (and sctp for integ_sock_sctp_refused) from each guest kernel's
# own package, with what they depend on,
# in load order (lib/modules/VERSION/order; the guest unpacks .xz itself), and
# small images made here (mkfs in the guest would need Debian's dynamic tools).
mod_path() { find "$1/kernel" -name "$2.ko*" -o -name "${2//_/-}.ko*" | head -n1; }
mod_deps() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*) cat "$1" ;;
	esac | strings | sed -n 's/^depends=//p' | tr ',' ' '
}
mod_order() {
	local dir=$1 m f d
	shift
	for m in "$@"; do
		case " $seen " in *" $m "*) continue ;; esac
		seen="$seen $m"
		f=$(mod_path "$dir" "$m")
		[ -n "$f" ] || continue	# built in
		for d in $(mod_deps "$f"); do
			mod_order "$dir" "$d"
		done
		echo "$f"
	done
}
for kdir in "$build"/vm/kernels/*/lib/modules/*; do
	[ -d "$kdir/kernel" ] || continue
	dst=$root/lib/modules/$(basename "$kdir")
	mkdir -p "$dst"
	seen=
	for f in $(mod_order "$kdir" loop crc32c_generic ext4 btrfs sctp); do
		cp "$f" "$dst/"
		basename "$f" >> "$dst/order"
	done
done
if command -v mkfs.ext4 >/dev/null && command -v mkfs.btrfs >/dev/null; then
	mkdir -p "$root/images"
	truncate -s 16M "$root/images/ext4.img" "$root/images/btrfs.img"
	mkfs.ext4 -q -F "$root/images/ext4.img"
	mkfs.btrfs -q -f --mixed "$root/images/btrfs.img" >/dev/null
fi
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
cp tests/vm/init "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
