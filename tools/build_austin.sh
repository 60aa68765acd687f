#!/bin/sh
# Build Austin (https://github.com/P403n1x87/austin) for make bench's row
# against its where-mode: Debian's package is the old 1.0, and make bench
# wants 3.x.  Needs autoconf, automake and a C compiler, which it installs
# when missing (tools/deps.sh austin).
#
#   tools/build_austin.sh SOURCE [DEST]
#
# SOURCE is an Austin source tree, or GIT_DIR@TAG (a git directory and a
# tag, exported to a temporary tree), e.g. austin.git@v3.7.0.  The binary
# goes to DEST (default: /usr/local/bin/austin); then make bench finds it on
# the PATH, or run make bench AUSTIN=DEST.
set -eu

[ $# -ge 1 ] || { sed -n '2,13p' "$0" >&2; exit 64; }
"$(dirname "$0")/deps.sh" austin
source=$1
dest=${2:-/usr/local/bin/austin}
work=$(mktemp -d "${TMPDIR:-/tmp}/pystack-austin.XXXXXX")
trap 'rm -rf "$work"' EXIT

case $source in
*@*)
	git --git-dir="${source%@*}" archive "${source##*@}" | tar -x -C "$work"
	;;
*)
	cp -R "$source"/. "$work"
	;;
esac
cd "$work"
autoreconf --install >/dev/null 2>&1
./configure >/dev/null
# Only austin itself: austinp (its native-stack variant) is not what is compared.
make -C src austin >/dev/null
install -D -m 0755 src/austin "$dest"
"$dest" --version
