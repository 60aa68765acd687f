#!/bin/bash
# Regenerate the fuzz target's seeds, tests/fuzz/seeds/, from real processes.
#
#   tools/capture_seeds.sh [OUTDIR]        (default tests/fuzz/seeds; needs make,
#                                           and ptrace rights over its children)
#
# Every interpreter installed (each version under `pyenv root`, and the
# system's /usr/bin/python3, a static build) runs each test target in turn,
# started as tests/integration/harness.py starts them: PYTHONPATH holds
# tests/targets, and the target prints READY once its threads are in place.
# Then `build/unit-tests capture PID FILE [ADDR...]` (tests/unit/capture.c)
# reads it as the fuzz target does and writes every byte the readers read
# into an image (the format: tests/fuzz/fuzz_readers.h); the target is told
# to quit.  The images, by interpreter and target:
#
#   VER-threads.img     threads.py 3: threads blocked in sleep, a lock, an event
#   VER-deep.img        deep.py 40: one long frame chain
#   VER-shapes.img      shapes.py: generators, methods, closures, coroutines...
#   VER-locals.img      threadinfo.py 0: named threads, variables of every kind
#   VER-objects1.img    objects.py: its objects (the generated floats and the
#   VER-objects2.img      20,000-item dict left out) as roots, in two halves
#   VER-subinterp.img   subinterp.py: a second interpreter (3.8+)
#
# VER is the minor version ("3.14t" for a free-threaded build), "3.11-debian"
# for the system's.  Also written:
# VER-lines.bin, the raw line table of one function (for the line-table
# decoders, which the fuzz target also runs over every input whole), and
# maps.txt, the memory maps of one process (for maps_parse).
#
# A capture that the image does not reproduce exactly fails loudly.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/tests/fuzz/seeds}
UNIT=$ROOT/build/unit-tests
TARGETS=$ROOT/tests/targets

# The target named as the Makefile names it (an absolute path is another target).
make -C "$ROOT" --no-print-directory build/unit-tests >/dev/null
mkdir -p "$OUT"

pythons() {
	local root
	root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
	for d in "$root"/versions/*/; do
		# Variants (3.14.7-static, -tailcall, -jit) read like their ordinary build.
		case "$(basename "$d")" in *-*) continue ;; esac
		[ -x "$d/bin/python" ] && echo "$d/bin/python"
	done
	[ -x /usr/bin/python3 ] && echo /usr/bin/python3
	return 0
}

label() {
	local v
	v=$("$1" -c 'import sys, sysconfig; print("%d.%d%s" % (sys.version_info[:2] + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "",)))')
	case "$1" in
	/usr/*) echo "$v-debian" ;;
	*) echo "$v" ;;
	esac
}

# Wait until no thread of $1 is running, twice in a row (as harness.py does).
settle() {
	local calm=0 tries=0 running
	while [ $calm -lt 2 ] && [ $tries -lt 100 ]; do
		running=$(cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1 | grep -c R || true)
		if [ "$running" -eq 0 ]; then calm=$((calm + 1)); else calm=0; fi
		tries=$((tries + 1))
		sleep 0.02
	done
}

# capture PYTHON NAME OUTFILE SCRIPT [ARGS...]: run the target, capture it.
# ROOTS_FROM, when set, is a command that prints the roots from the READY line.
capture() {
	local py=$1 name=$2 out=$3 line="" pid status=0 roots=""
	shift 3
	coproc TARGET { PYTHONPATH=$TARGETS exec "$py" "$@" 2>/dev/null; }
	pid=$TARGET_PID
	while IFS= read -r -t 60 line <&"${TARGET[0]}"; do
		case "$line" in READY*) break ;; esac
	done
	if [ "${line#READY}" = "$line" ]; then
		echo "capture_seeds: $name: the target never became ready" >&2
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return 1
	fi
	case "$line" in
	*'"skip"'*)
		echo "capture_seeds: $name: skipped: ${line#READY }"
		echo quit >&"${TARGET[1]}"
		wait "$pid" || true
		return 0 ;;
	esac
	settle "$pid"
	if [ -n "${ROOTS_FROM:-}" ]; then
		roots=$(printf '%s\n' "${line#READY }" | $ROOTS_FROM)
	fi
	# shellcheck disable=SC2086
	"$UNIT" capture "$pid" "$out" $roots || status=$?
	if [ -n "${MAPS_TO:-}" ]; then
		cat /proc/"$pid"/maps >"$MAPS_TO"
	fi
	echo quit >&"${TARGET[1]}"
	if ! wait "$pid"; then
		echo "capture_seeds: $name: the target did not quit cleanly" >&2
	fi
	return $status
}

# The objects of objects.py, one half of them (HALF=1 or 2), as addresses.
object_roots() {
	python3 -c '
import json, sys
objects = json.loads(sys.stdin.read())["objects"]
names = sorted(n for n in objects
               if not n.startswith(("pow2_", "rand_", "short_")) and n != "dict20000")
half = len(names) // 2
for n in (names[:half] if sys.argv[1] == "1" else names[half:])[:64]:
    print(objects[n][0])
' "$HALF"
}

lines_of() {
	"$1" -c '
import sys, threading
code = threading.Thread.__init__.__code__
table = getattr(code, "co_linetable", None) or code.co_lnotab
out = open(sys.argv[1], "wb")
out.write(table)
out.close()
' "$2"
}

failed=0
for py in $(pythons); do
	v=$(label "$py")
	capture "$py" "$v threads" "$OUT/$v-threads.img" "$TARGETS/threads.py" 3 || failed=1
	capture "$py" "$v deep" "$OUT/$v-deep.img" "$TARGETS/deep.py" 40 || failed=1
	capture "$py" "$v shapes" "$OUT/$v-shapes.img" "$TARGETS/shapes.py" || failed=1
	capture "$py" "$v locals" "$OUT/$v-locals.img" "$TARGETS/threadinfo.py" 0 || failed=1
	for HALF in 1 2; do
		ROOTS_FROM=object_roots capture "$py" "$v objects$HALF" "$OUT/$v-objects$HALF.img" \
			"$TARGETS/objects.py" || failed=1
	done
	case "$v" in
	2.7|3.6|3.7) ;;
	*) capture "$py" "$v subinterp" "$OUT/$v-subinterp.img" "$TARGETS/subinterp.py" || failed=1 ;;
	esac
	lines_of "$py" "$OUT/$v-lines.bin"
done
MAPS_TO=$OUT/maps.txt capture /usr/bin/python3 "maps" /dev/null "$TARGETS/threads.py" 1 || failed=1
exit $failed
