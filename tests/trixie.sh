#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Unpack Debian 13 (trixie) packages for the tests without touching the
# host's package set: a private apt list and cache under DIR, `apt-get
# download`, then `dpkg -x` into DIR/root. Idempotent: a package already
# unpacked is not fetched again. Exit 2 (and say why on stderr) when the
# archive cannot be reached, so callers can SKIP with the reason.
#   tests/trixie.sh DIR PKG...
set -u
D=$(realpath -m "$1"); shift
mkdir -p "$D/lists/partial" "$D/cache/archives/partial" "$D/debs" "$D/root"
src=$D/sources.list
[ -s "$src" ] || echo "deb http://deb.debian.org/debian trixie main" > "$src"
apt=(apt-get -q -o Dir::Etc::sourcelist="$src" -o Dir::Etc::sourceparts=/dev/null
     -o Dir::State::lists="$D/lists" -o Dir::Cache="$D/cache" -o APT::Get::List-Cleanup=0)
need=
for p in "$@"; do [ -e "$D/debs/$p.done" ] || need="$need $p"; done
[ -z "$need" ] && exit 0
if ! ls "$D/lists"/*trixie*Packages* > /dev/null 2>&1; then
	if ! "${apt[@]}" update > "$D/update.log" 2>&1; then
		echo "the trixie archive is unreachable: $(tail -1 "$D/update.log")" >&2
		exit 2
	fi
fi
for p in $need; do
	(cd "$D/debs" && "${apt[@]}" download "$p" > "$D/download-$p.log" 2>&1) || {
		echo "cannot download trixie's $p: $(tail -1 "$D/download-$p.log")" >&2
		exit 2
	}
	dpkg -x "$(ls -t "$D/debs/${p}"_*.deb | head -1)" "$D/root" && touch "$D/debs/$p.done" || exit 1
done
