#!/usr/bin/env bash
# Download the Debian kernels the guest tests boot into CACHE (default
# build/vm/kernels), with a private apt configuration: the machine's own
# sources, lists and cache are not touched, nothing is installed.
# Prints one line per kernel: "NAME PATH-TO-VMLINUZ". Reuses what is cached.
set -euo pipefail
CACHE=${1:-build/vm/kernels}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
APT=$CACHE/apt

# The same mirror the machine's Debian sources use.
mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources \
	/etc/apt/sources.list 2>/dev/null | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}

# name, apt release, metapackage. bookworm's generic 6.1 and the newest
# bookworm-backports generic kernel (the backports cloud flavour crashes
# under TCG, see shared/machine-notes.md).
KERNELS=${TW_VM_KERNELS:-"bookworm-6.1:bookworm:linux-image-amd64 backports:bookworm-backports:linux-image-amd64"}

opts=(-o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=/nonexistent
      -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache"
      -o Dir::State::status="$APT/status" -o Debug::NoLocking=1
      -o APT::Sandbox::User=root)

need_update=1
for k in $KERNELS; do
	name=${k%%:*}
	ls "$CACHE/$name"/boot/vmlinuz-* >/dev/null 2>&1 || need_update=0
done
if [ "$need_update" = 0 ]; then
	mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
	: > "$APT/status"
	printf 'deb %s bookworm main\ndeb %s bookworm-backports main\n' "$mirror" "$mirror" \
		> "$APT/sources.list"
	apt-get "${opts[@]}" -q update >&2
fi

for k in $KERNELS; do
	IFS=: read -r name rel meta <<<"$k"
	dir=$CACHE/$name
	if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
		pkg=$(apt-cache "${opts[@]}" -o APT::Default-Release="$rel" depends "$meta" |
		      awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
		[ -n "$pkg" ] || { echo "fetch-kernels: no kernel package behind $meta in $rel" >&2; exit 1; }
		tmpd=$(mktemp -d "$CACHE/dl.XXXXXX")
		(cd "$tmpd" && apt-get "${opts[@]}" -o APT::Default-Release="$rel" -q download "$pkg" >&2)
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$tmpd"/*.deb "$dir"
		rm -rf "$tmpd"
	fi
	echo "$name $(ls "$dir"/boot/vmlinuz-* | head -n1)"
done
