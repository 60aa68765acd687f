#!/bin/sh
# Install the Debian packages pystack needs to build and test, if any are
# missing.  Quiet when everything is there; needs root (or sudo) otherwise.
#   tools/deps.sh           to build and test (pytest-xdist runs the tests on
#                           two workers; strace and util-linux's unshare and
#                           setpriv for the trust tests; numpy with OpenBLAS
#                           for --native through code without unwind tables;
#                           gdb for its gcore, the cores pystack core reads;
#                           the zstd, xz, lz4 and zlib headers for reading
#                           compressed cores, whose libraries are loaded at
#                           run time; and the zstd, xz, lz4 and gzip programs
#                           the tests compress cores with; libbz2-dev and
#                           libc6-dev for make static, whose binary has the
#                           archives of every library inside; debhelper,
#                           dpkg-dev and lintian for the package test; zsh
#                           and bash-completion for the completion tests)
#   tools/deps.sh fuzz      also clang and its libFuzzer runtime (make fuzz)
#   tools/deps.sh pythons   what tools/build_python.sh needs to build CPython
#                           (clang-19 and llvm-19 for the tail-calling and JIT builds)
#   tools/deps.sh austin    what tools/build_austin.sh needs (make bench's Austin rows)
set -eu

packages="gcc g++ binutils make pkg-config libelf-dev libdw-dev libunwind-dev libdeflate0 \
libzstd-dev liblzma-dev zlib1g-dev liblz4-dev libbz2-dev libc6-dev"
# Only for the tests.
packages="$packages python3 python3-pytest python3-pytest-xdist strace util-linux python3-numpy \
libopenblas0-pthread gdb zstd xz-utils lz4 gzip debhelper dpkg-dev lintian zsh bash-completion"
case "${1:-}" in
fuzz)
	packages="$packages clang libclang-rt-dev"
	;;
pythons)
	packages="$packages libffi-dev libssl-dev zlib1g-dev libbz2-dev libsqlite3-dev \
libreadline-dev liblzma-dev libncurses-dev uuid-dev tk-dev libgdbm-dev clang-19 llvm-19"
	;;
austin)
	packages="$packages autoconf automake libtool"
	;;
esac

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$status" in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "pystack: installing missing packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "pystack: run as root: apt-get install -y$missing" >&2
	exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
