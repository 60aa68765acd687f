#!/bin/sh
# Regenerates (or checks) the CPython layout tables src/offsets/pyXY.h by
# compiling tools/gen_offsets.c against each installed CPython's headers.
#
# CPythons are found in every directory under "$(pyenv root)/versions"
# ($PYENV_ROOT or ~/.pyenv when pyenv is not on PATH), then in the
# colon-separated interpreter list $PYSTACK_PYTHONS.  Each is asked for its
# include directories; one without Python.h is skipped with a message.
#
# A free-threaded build (--disable-gil) has its own table, pyXYt.h, keyed
# "X.Yt".  When two CPythons share a key, the newest patch release writes
# the table.  --check compares every one found; one whose patch release
# differs from the table's is compared with the version strings set aside.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$top/src/offsets
CC=${CC:-cc}
tab=$(printf '\t')

usage() {
	cat >&2 <<EOF
usage: tools/gen_offsets.sh            write src/offsets/pyXY.h for each CPython found
       tools/gen_offsets.sh --check    compare instead; exit 1 on any difference
       tools/gen_offsets.sh --list     list the CPythons found, one a line:
                                       X.Y[t]<TAB>X.Y.Z<TAB>python<TAB>include<TAB>platinclude
       tools/gen_offsets.sh --print INCLUDE_DIR [PLATINCLUDE_DIR]
                                       print the table built from those headers
EOF
	exit 64
}

# Prints the table generated from the headers in $1 (and $2, where pyconfig.h may live).
print_table() {
	if [ -n "${2:-}" ] && [ "$2" != "$1" ]; then
		set -- -I"$1" -I"$2"
	else
		set -- -I"$1"
	fi
	gen_dir=$(mktemp -d "${TMPDIR:-/tmp}/gen_offsets.XXXXXX")
	if "$CC" -std=gnu11 -Wall -Wextra "$@" -o "$gen_dir/gen_offsets" "$top/tools/gen_offsets.c" &&
	   "$gen_dir/gen_offsets"; then
		rm -rf "$gen_dir"
	else
		rm -rf "$gen_dir"
		return 1
	fi
}

pyenv_root() {
	if command -v pyenv >/dev/null 2>&1; then
		pyenv root
	else
		echo "${PYENV_ROOT:-$HOME/.pyenv}"
	fi
}

# The interpreters to ask, one a line.
candidates() {
	root=$(pyenv_root)
	for dir in "$root"/versions/*/; do
		[ -x "${dir}bin/python" ] && echo "${dir}bin/python"
	done
	printf '%s\n' "${PYSTACK_PYTHONS:-}" | tr ':' '\n' | sed '/^$/d'
}

# One line per usable CPython, "X.Y[t]<TAB>X.Y.Z<TAB>python<TAB>include<TAB>platinclude";
# messages about the others go to stderr.
list() {
	candidates | while IFS= read -r python; do
		if ! info=$("$python" -c '
import sys, sysconfig
paths = sysconfig.get_paths()
t = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
v = sys.version_info
level = {"alpha": "a", "beta": "b", "candidate": "rc"}.get(v[3], "")
sys.stdout.write("%d.%d%s\t%d.%d.%d%s\t%s\t%s\n" % (v[0], v[1], t, v[0], v[1], v[2],
		 level + str(v[4]) if level else "", paths["include"], paths["platinclude"]))
' 2>/dev/null) || [ -z "$info" ]; then
			echo "gen_offsets.sh: $python: cannot ask it for its include directory, skipped" >&2
			continue
		fi
		IFS=$tab read -r minor full include platinclude <<-END
			$info
		END
		if [ ! -f "$include/Python.h" ]; then
			echo "gen_offsets.sh: $python ($full): no Python.h in $include, skipped" >&2
			continue
		fi
		printf '%s\t%s\t%s\t%s\t%s\n' "$minor" "$full" "$python" "$include" "$platinclude"
	done
}

# src/offsets/pyXY.h for key X.Y, pyXYt.h for X.Yt.
table_file() {
	echo "$out_dir/py$(echo "$1" | tr -d .).h"
}

generate() {
	status=0
	written=" "
	new=$(mktemp "${TMPDIR:-/tmp}/gen_offsets.XXXXXX")
	mkdir -p "$out_dir"
	list | sort -t "$tab" -k1,1V -k2,2Vr >"$new.list"
	while IFS=$tab read -r minor full python include platinclude; do
		case $written in
		*" $minor "*)
			echo "skipped $python ($full): $minor is written from a newer release"
			continue
			;;
		esac
		if ! print_table "$include" "$platinclude" >"$new"; then
			echo "gen_offsets.sh: $python ($full): cannot generate a table" >&2
			status=1
			continue
		fi
		dst=$(table_file "$minor")
		if cmp -s "$new" "$dst"; then
			echo "unchanged ${dst#"$top"/} ($full)"
		else
			cp "$new" "$dst"
			echo "wrote ${dst#"$top"/} ($full)"
		fi
		written="$written$minor "
	done <"$new.list"
	rm -f "$new" "$new.list"
	return $status
}

check() {
	status=0
	checked=" "
	new=$(mktemp "${TMPDIR:-/tmp}/gen_offsets.XXXXXX")
	list | sort -t "$tab" -k1,1V -k2,2V >"$new.list"
	while IFS=$tab read -r minor full python include platinclude; do
		dst=$(table_file "$minor")
		name=${dst#"$top"/}
		if [ ! -f "$dst" ]; then
			echo "$minor: no committed table (found $full at $python)"
			continue
		fi
		if ! print_table "$include" "$platinclude" >"$new"; then
			echo "$minor: cannot generate a table from $python ($full)"
			status=1
			continue
		fi
		committed=$(sed -n '1s/.* from CPython \([^ ]*\) .*headers.*/\1/p' "$dst")
		how="identical"
		if [ "$committed" != "$full" ]; then
			sed -i "s/CPython $full /CPython $committed /; s/\"$full /\"$committed /" "$new"
			how="same layout as $committed"
		fi
		if diff -u --label "$name" --label "generated from $full" "$dst" "$new"; then
			echo "$minor: $name $how ($python)"
		else
			echo "$minor: $name differs from what $python ($full) gives"
			status=1
		fi
		checked="$checked$minor "
	done <"$new.list"
	rm -f "$new" "$new.list"
	for dst in "$out_dir"/py*.h; do
		[ -f "$dst" ] || continue
		sed -n 's/^#define PYOFFSETS_\([0-9]*\)_\([0-9]*\)\(T*\) .*/\1.\2\3/p' "$dst" | tr T t
	done | sort -V | while IFS= read -r minor; do
		case $checked in
		*" $minor "*) ;;
		*) echo "$minor: not checked, no CPython $minor with headers found" ;;
		esac
	done
	return $status
}

case ${1:-} in
"")
	generate
	;;
--check)
	[ $# -eq 1 ] || usage
	check
	;;
--list)
	[ $# -eq 1 ] || usage
	list
	;;
--print)
	if [ $# -lt 2 ] || [ $# -gt 3 ]; then
		usage
	fi
	[ -f "$2/Python.h" ] || { echo "gen_offsets.sh: no Python.h in $2" >&2; exit 1; }
	print_table "$2" "${3:-}"
	;;
*)
	usage
	;;
esac
