#!/bin/sh
# make demo: start a hung Python service with the system's python3, show
# what pystack sees in it, then stop it.
set -eu

bin=${1:-build/pystack}
here=$(dirname "$0")
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

out=$(mktemp)
"$python" "$here/demo/hung_service.py" >"$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$out" "$out.err"' EXIT INT TERM

i=0
until grep -q READY "$out"; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "demo: the example service did not start" >&2
		exit 1
	fi
	sleep 0.05
done

echo "A Python service ($python, pid $pid) has stopped answering. What is it doing?"
echo
echo "\$ pystack dump $pid"
"$bin" dump "$pid"
echo "\$ pystack dump --json $pid | head -c 400"
"$bin" dump --json "$pid" | head -c 400
echo " ..."
echo
echo "Which threads are stuck, and which still move? Five snapshots, a quarter second apart:"
echo
echo "\$ pystack watch --interval 250ms --count 5 --stuck 1s $pid   (the last snapshot)"
"$bin" watch --interval 250ms --count 5 --stuck 1s "$pid" 2>"$out.err" |
	awk '/^--- snapshot 5 /{p=1} p'
cat "$out.err"
echo
echo "\$ pystack dump -v $pid >/dev/null"
"$bin" dump -v "$pid" 2>&1 >/dev/null | grep "stopped for" || true
echo
echo "The service is still running, untraced ($(grep TracerPid /proc/$pid/status | tr -s '\t' ' '));"
echo "the demo stops it now."
