#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Debian 13's containerd 1.7.24, unpacked into DEST (the build tree) for the
# NRI v2 tests: a private apt list, state and cache under DEST.apt, so the
# machine's own package set and sources stay untouched (dpkg -x, no install).
# Exits 0 with DEST/usr/bin/containerd in place, 1 with one line saying why.
set -eu
DEST=$(realpath -m "${1:?usage: fetch-containerd.sh DEST}")
VERSION=1.7.24
MIRROR=${TW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
A=$DEST.apt
rm -rf "$A" "$DEST.tmp"
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$DEST.tmp"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$A/sources.list"
apt() {
	apt-get -q -o Dir::Etc::sourcelist="$A/sources.list" -o Dir::Etc::sourceparts=/dev/null \
		-o Dir::State::lists="$A/lists" -o Dir::Cache="$A/cache" -o APT::Sandbox::User=root "$@"
}
if ! apt update > "$A/update.log" 2>&1; then
	echo "fetch-containerd: apt-get update of trixie from $MIRROR failed (see $A/update.log)"
	exit 1
fi
if ! (cd "$A" && apt download containerd/trixie > download.log 2>&1); then
	echo "fetch-containerd: apt-get download containerd from trixie failed (see $A/download.log)"
	exit 1
fi
deb=$(ls "$A"/containerd_*.deb)
case $(basename "$deb") in
containerd_$VERSION*) ;;
*) echo "fetch-containerd: trixie has $(basename "$deb"), not containerd $VERSION"; exit 1 ;;
esac
dpkg -x "$deb" "$DEST.tmp"
"$DEST.tmp/usr/bin/containerd" --version | grep -q " $VERSION" || {
	echo "fetch-containerd: $deb does not run here"; exit 1; }
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
rm -rf "$A"
echo "fetch-containerd: containerd $VERSION in $DEST"
