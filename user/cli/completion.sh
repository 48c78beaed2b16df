#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Writes the bash completion of tierwall and tierwalld to stdout, from what
# the binaries themselves print (--help): `tierwall --help` lists the
# commands, `tierwall CMD --help` each command's options from the table its
# getopt reads, `tierwalld --help` the daemon's. One source of truth; the
# man page checks (tests/test_cli.c) read the same. Installed under both names.
set -euo pipefail
bin=${1:?usage: completion.sh PATH/TO/tierwall [PATH/TO/tierwalld]}
daemon=${2:-$(dirname "$bin")/tierwalld}
cmds=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ -n "$cmds" ] || { echo "completion.sh: no commands in $bin --help" >&2; exit 1; }
opts_of() {
	"$bin" "$1" --help | awk '/^Options:/ { on = 1; next }
		on { for (i = 1; i <= NF; i++) if ($i ~ /^-/) { sub(/[,=[].*/, "", $i); printf "%s ", $i } }'
}
cat <<'HEAD'
# bash completion for tierwall(8); generated from its option tables by user/cli/completion.sh
_tierwall()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= opts i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--socket) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $cmd in
HEAD
for c in $cmds; do
	printf '\t%s) opts="%s" ;;\n' "$c" "$(opts_of "$c" | sed 's/ $//')"
done
printf '\t*) COMPREPLY=($(compgen -W "%s --socket --json --help --version" -- "$cur")); return ;;\n' \
	"$(echo $cmds)"
cat <<'TAIL'
	esac
	case $prev in
	--log-dir|--pin-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--socket|--attest|--seal-key|--verify-key|--key|--policy-pubkey) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _tierwall tierwall
TAIL
# The daemon's option lines start with "  -"; their options come before the text.
dopts=$("$daemon" --help | awk '/^  -/ { for (i = 1; i <= NF; i++) { if ($i !~ /^-/) break; sub(/,$/, "", $i); printf "%s ", $i } }')
[ -n "$dopts" ] || { echo "completion.sh: no options in $daemon --help" >&2; exit 1; }
cat <<TAIL

_tierwalld()
{
	local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
	case \$prev in
	--policy|--seal-key|--policy-pubkey|--guard-path) COMPREPLY=(\$(compgen -f -- "\$cur")); return ;;
	--cgroup-root|--log-dir|--pin-dir|--state-dir) COMPREPLY=(\$(compgen -d -- "\$cur")); return ;;
	esac
	COMPREPLY=(\$(compgen -W "${dopts% }" -- "\$cur"))
}
complete -F _tierwalld tierwalld
TAIL
