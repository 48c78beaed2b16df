#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The systemd deployment: `make install` into a DESTDIR lays out what it says,
# and `systemd-analyze verify` accepts the unit with no warning.
set -u
cd "$(dirname "$0")/.."
B=${TW_BUILD_DIR:-build}
pass=0 fail=0 skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
D=$(mktemp -d /tmp/tw-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
if make -s install DESTDIR="$D" PREFIX=/usr > "$D/install.log" 2>&1; then
	missing=
	for f in usr/sbin/tierwalld usr/bin/tierwall usr/libexec/tierwall/tierwall-nri \
		 usr/libexec/tierwall/tierwall-nri-plugin \
		 usr/lib/systemd/system/tierwalld.service usr/share/man/man8/tierwalld.8 \
		 usr/share/man/man8/tierwall.8 etc/tierwall/policy.json \
		 usr/share/bash-completion/completions/tierwall \
		 usr/share/bash-completion/completions/tierwalld; do
		[ -e "$D/$f" ] || missing="$missing $f"
	done
	[ -z "$missing" ] && ok deploy_make_install_layout || bad deploy_make_install_layout "missing:$missing"
	# The completion installed completes tierwall's commands and their options.
	c="$D/usr/share/bash-completion/completions/tierwall"
	out=$(bash -c 'source "$1" && COMP_WORDS=(tierwall events --ki) && COMP_CWORD=2 && _tierwall &&
		echo "${COMPREPLY[*]}"' - "$c" 2>&1)
	[ "$out" = --kind ] && ok deploy_bash_completion_completes ||
		bad deploy_bash_completion_completes "tierwall events --ki gave \"$out\""
else
	bad deploy_make_install_layout "$(tail -3 "$D/install.log")"
fi
if ! command -v systemd-analyze > /dev/null; then
	echo "SKIP deploy_systemd_unit_verifies: systemd-analyze is not installed"; skip=$((skip + 1))
else
	# The unit as installed, pointing at this build's binary so verify can find it.
	sed "s#/usr/sbin/tierwalld#$PWD/$B/tierwalld#" "$D/usr/lib/systemd/system/tierwalld.service" \
		> "$D/tierwalld.service"
	out=$(systemd-analyze verify --man=no "$D/tierwalld.service" 2>&1); rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then ok deploy_systemd_unit_verifies
	else bad deploy_systemd_unit_verifies "rc $rc: $out"; fi
	grep -q '^Type=notify$' "$D/tierwalld.service" && ok deploy_unit_is_type_notify ||
		bad deploy_unit_is_type_notify "no Type=notify"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
