#!/bin/sh
# Build a CPython interpreter for pystack's tests and install it where the
# tests look for interpreters: $(pyenv root)/versions/NAME.
#
#   tools/build_python.sh SOURCE NAME [CONFIGURE-OPTION...]
#
# SOURCE is a CPython source tree (an unpacked release tarball, or a checkout),
# or GIT_DIR@TAG: a git directory and a tag, exported to a temporary tree (the
# documentation is left out: the tests do not need it, and a mirror's
# snapshot may lack some of its large files).  NAME is the folder under
# versions/, and by the tests' convention says what the build is:
#
#   tools/build_python.sh ~/src/cpython-3.14.7 3.14.7 --enable-shared
#   tools/build_python.sh ~/src/cpython-3.14.7 3.14.7t --enable-shared --disable-gil
#   tools/build_python.sh /path/to/cpython.git@v3.15.0rc1 3.15.0rc1 --enable-shared
#
# The variants pystack's --native tests look for, when present:
#
#   ... 3.14.7-tailcall --enable-shared --with-tail-call-interp CC=clang-19
#   ... 3.14.7-jit --enable-shared --enable-experimental-jit \
#           PYTHON_FOR_REGEN=$(pyenv root)/versions/3.14.7/bin/python3.14
#
# (the JIT's build runs a Python of the same minor version, and clang-19.)
# With --enable-shared, the library directory is put in the interpreter's
# run path (as pyenv does), so it runs without LD_LIBRARY_PATH.  No
# --enable-optimizations: the build takes minutes, not an hour.  The build
# needs the Debian packages that tools/deps.sh pythons installs.  The set
# this project's tests run on: 3.13.15t, 3.14.7, 3.14.7t, 3.14.7-static,
# 3.15.0rc1, 3.15.0rc1t and the two variants above, each from its tag.
set -eu

[ $# -ge 2 ] || { sed -n '2,30p' "$0" >&2; exit 64; }
source=$1
name=$2
shift 2

root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
prefix=$root/versions/$name
work=$(mktemp -d "${TMPDIR:-/tmp}/pystack-python.XXXXXX")
trap 'rm -rf "$work"' EXIT

case $source in
*@*)
	git_dir=${source%@*}
	tag=${source##*@}
	# A mirror's snapshot lacks a few large files; git names them, and goes on.
	git --git-dir="$git_dir" archive "$tag" -- . ':(exclude)Doc' ':(exclude)Misc/svnmap.txt' \
		2>"$work/archive.log" | tar -x -C "$work"
	[ -x "$work/configure" ] || { cat "$work/archive.log" >&2; exit 2; }
	tree=$work
	;;
*)
	[ -x "$source/configure" ] || { echo "build_python: $source has no configure script" >&2; exit 2; }
	tree=$source
	;;
esac

shared=no
for opt in "$@"; do
	[ "$opt" = --enable-shared ] && shared=yes
done

mkdir -p "$work/build"
cd "$work/build"
if [ $shared = yes ]; then
	"$tree/configure" --prefix="$prefix" --libdir="$prefix/lib" \
		LDFLAGS="-Wl,-rpath,$prefix/lib" "$@" >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; exit 1; }
else
	"$tree/configure" --prefix="$prefix" "$@" >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; exit 1; }
fi
make -j"$(nproc)" >make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }
rm -rf "$prefix"
make install >install.log 2>&1 || { tail -n 40 install.log >&2; exit 1; }
# A free-threaded build installs python3.Xt only; the tests look for bin/python.
[ -e "$prefix/bin/python" ] || ln -s "$(cd "$prefix/bin" && ls python3.*[0-9]t python3.*[0-9] 2>/dev/null | head -n 1)" "$prefix/bin/python"
"$prefix/bin/python" -c 'import sys, sysconfig; print(sys.version.split()[0], "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else "", sys.executable)'
