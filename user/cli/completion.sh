#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Writes tierwall's bash completion to stdout, from the option tables the
# binary itself parses with (as its --help prints them): `tierwall --help`
# lists the commands, `tierwall CMD --help` each command's options. One
# source of truth; the man page check (tests/test_cli.c) reads the same.
set -euo pipefail
bin=${1:?usage: completion.sh PATH/TO/tierwall}
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
	--socket|--attest|--seal-key|--verify-key) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _tierwall tierwall
TAIL
