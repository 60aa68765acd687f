"""pystack core on compressed cores: systemd-coredump's (zstd, older xz or
lz4) and users' own copies (gzip, xz, zstd, lz4), read as they are.

The oracle is pystack core on the uncompressed core: every compressed
copy, by each program, whole or in two frames, under a systemd-coredump
name or not, must give the same text and JSON but for the file's name.
Cut-short and damaged copies end with one line and exit status 1 or 2;
a format whose library is missing (hidden in a private mount namespace)
names the package; and the memory pystack needs does not grow with the
core, which is decompressed to a file, not into memory."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import pythons
from harness import PYSTACK, Target, run_pystack
from test_core import gcore, needs_gcore

# Each program at its default level, writing to stdout; but xz at -1, not -6: the
# default takes seconds a core (on a loaded machine, tens), and its decoder is the same.
COMPRESSORS = {
    "zst": ["zstd", "-q", "-c"],
    "xz": ["xz", "-1", "-c", "-T1"],
    "gz": ["gzip", "-c"],
    "lz4": ["lz4", "-q", "-c"],
}
MISSING_TOOLS = [argv[0] for argv in COMPRESSORS.values() if not shutil.which(argv[0])]
needs_tools = pytest.mark.skipif(bool(MISSING_TOOLS), reason="no %s here: make deps installs "
                                 "zstd, xz-utils, gzip and lz4" % ", ".join(MISSING_TOOLS))


def _sample():
    """The oldest interpreter found, the system's, and the newest: three frame models
    and both kinds of build (shared libpython, Debian's static python3)."""
    found = [p for p in pythons.discover() if not p.free_threaded]
    picked = []
    for p in (found[:1] + [p for p in found if p.exe.startswith("/usr/bin/")][:1]
              + found[-1:]):
        if p not in picked:
            picked.append(p)
    params = [pytest.param(p, id=p.label) for p in picked]
    for i in range(len(params), 2):
        params.append(pytest.param(None, id="interpreter%d-missing" % (i + 1), marks=pytest.mark.skip(
            reason="fewer than two interpreters found (looked on PATH, in pyenv, and in "
                   "PYSTACK_TEST_PYTHONS)")))
    return params


def compress(tool, src, dst, frames=1):
    """dst: src compressed by tool, in frames frames (cut at page boundaries), concatenated."""
    size = os.path.getsize(src)
    cut = [size * i // frames // 4096 * 4096 for i in range(frames)] + [size]
    with open(src, "rb") as f, open(dst, "wb") as out:
        for a, b in zip(cut, cut[1:]):
            f.seek(a)
            r = subprocess.run(COMPRESSORS[tool], input=f.read(b - a), stdout=out,
                               stderr=subprocess.PIPE, timeout=300)
            assert r.returncode == 0, r.stderr
    st = os.stat(src)                             # as the programs keep it: pystack shows it
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    return dst


def same_but_the_name(text, path):
    return text.replace(path, "CORE")


def json_but_the_name(text):
    snap = json.loads(text)
    snap["core"]["file"] = "CORE"
    return snap


def assert_one_line_failure(r, what):
    assert r.returncode in (1, 2), (what, r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, (what, r.stderr)
    return lines[0]


@needs_gcore
@needs_tools
@pytest.mark.parametrize("py", _sample())
def test_compressed_copies_show_what_the_core_shows(py, tmp_path):
    where = str(tmp_path)
    with Target(py, "threads.py", 3, 0) as t:
        core = gcore(t.pid, where)
        t.finish()
    want_text = run_pystack("core", core)
    want_json = run_pystack("core", "--json", core)
    assert want_text.returncode == 0 and want_json.returncode == 0, want_text.stderr
    copies = []
    for tool in COMPRESSORS:
        copies.append(compress(tool, core, "%s.%s" % (core, tool)))
        copies.append(compress(tool, core, "%s.two.%s" % (core, tool), frames=2))
    # As systemd-coredump names it: core.COMM.UID.BOOTID.PID.USEC.zst
    systemd = os.path.join(where, "core.python3.0.3c1bd1a4b6e04a3f8e9d7c6b5a493827.%d.%d.zst"
                           % (t.pid, 1765000000123456))
    os.rename(copies[0], systemd)
    copies[0] = systemd
    os.unlink(core)                               # cores are large; the copies say the same
    for copy in copies:
        text = run_pystack("core", copy)
        assert text.returncode == 0, (copy, text.stderr)
        assert text.stderr == "", (copy, text.stderr)
        assert same_but_the_name(text.stdout, copy) == same_but_the_name(want_text.stdout, core)
        r = run_pystack("core", "--json", copy)
        assert r.returncode == 0, (copy, r.stderr)
        assert json_but_the_name(r.stdout) == json_but_the_name(want_json.stdout), copy
    # -v says what it found and how long it took.
    r = run_pystack("core", "-v", systemd)
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if "zstd-compressed" in line]
    assert len(said) == 1 and said[0].endswith(" s") and "decompressed to" in said[0], r.stderr


@needs_gcore
@needs_tools
def test_cut_short_and_damaged_copies_fail_in_one_line(newest_python, tmp_path):
    where = str(tmp_path)
    with Target(newest_python, "threads.py", 1, 0) as t:
        core = gcore(t.pid, where)
        t.finish()
    bad = os.path.join(where, "bad")
    for tool in COMPRESSORS:
        copy = compress(tool, core, "%s.%s" % (core, tool))
        with open(copy, "rb") as f:
            data = f.read()
        cuts = [(n, data[:n]) for n in (8, 64, len(data) // 3, len(data) - 16, len(data) - 1)]
        middle = len(data) // 2
        damaged = data[:middle] + bytes(b ^ 0x5a for b in data[middle:middle + 64]) + \
            data[middle + 64:]
        for what, content in cuts + [("damaged", damaged)]:
            with open(bad, "wb") as f:
                f.write(content)
            line = assert_one_line_failure(run_pystack("core", "--json", bad), (tool, what))
            assert "cut short" in line or "corrupt" in line, (tool, what, line)
        os.unlink(copy)
    os.unlink(core)
    os.unlink(bad)


def _library_file(soname):
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
        path = os.path.join(d, soname)
        if os.path.exists(path):
            return os.path.realpath(path)
    return None


@needs_gcore
@needs_tools
def test_a_format_whose_library_is_missing_names_the_package(newest_python, tmp_path):
    lib = _library_file("liblz4.so.1")
    if os.geteuid() != 0 or not shutil.which("unshare") or not lib:
        pytest.skip("hiding liblz4 needs root, util-linux's unshare and liblz4.so.1 itself")
    where = str(tmp_path)
    with Target(newest_python, "threads.py", 1, 0) as t:
        core = gcore(t.pid, where)
        t.finish()
    copy = compress("lz4", core, core + ".lz4")
    os.unlink(core)
    # liblz4 replaced by an empty file, for pystack alone: dlopen() fails as if it were absent.
    r = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind /dev/null "$1" && exec "$2" '
                        'core "$3"', "sh", lib, PYSTACK, copy], capture_output=True,
                       encoding="utf-8", timeout=60)
    if r.returncode != 2 and "mount" in r.stderr:
        pytest.skip("no private mount namespace here: %s" % r.stderr.strip())
    line = assert_one_line_failure(r, "lz4 without liblz4")
    assert r.returncode == 2 and r.stdout == ""
    assert "compressed with lz4, which no library here reads" in line, line
    assert "install the liblz4-1 package" in line, line
    # A format known but not read: bzip2.
    bz = os.path.join(where, "core.bz2")
    with open(bz, "wb") as f:
        f.write(b"BZh91AY&SY" + bytes(64))
    line = assert_one_line_failure(run_pystack("core", bz), "bzip2")
    assert "compressed with bzip2, which pystack does not read" in line, line


HEAP = r"""
import oracle
heap = b"pystack " * ((300 << 20) // 8)      # 300 MB of heap, every page touched
oracle.ready(size=len(heap))
oracle.idle()
"""

MAXRSS = r"""
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stdout.write("%d %d %s" % (r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                               r.stderr.decode(errors="replace")))
"""


def _sanitized():
    with open(PYSTACK, "rb") as f:
        return b"libasan.so" in f.read()


@needs_gcore
@needs_tools
def test_a_large_compressed_core_is_read_in_little_memory(newest_python, tmp_path):
    if _sanitized():
        pytest.skip("AddressSanitizer's shadow memory makes pystack's own size meaningless")
    where = str(tmp_path)
    script = os.path.join(where, "heap.py")
    with open(script, "w") as f:
        f.write(HEAP)
    with Target(newest_python, script) as t:
        core = gcore(t.pid, where)
        t.finish()
    assert os.path.getsize(core) > 300 << 20
    copy = compress("zst", core, core + ".zst")
    os.unlink(core)
    # A fresh process whose only child is pystack: RUSAGE_CHILDREN is pystack's peak.
    r = subprocess.run([sys.executable, "-c", MAXRSS, PYSTACK, "core", copy],
                       capture_output=True, encoding="utf-8", timeout=300)
    status, maxrss_kb, stderr = r.stdout.split(" ", 2)
    assert status == "0", stderr
    assert int(maxrss_kb) < 15 * 1024, "pystack core peaked at %s KiB" % maxrss_kb
