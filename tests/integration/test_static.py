"""make static's binary, where nothing is installed.

build-static/pystack (PYSTACK_STATIC) is copied into an empty directory,
with nothing else there but a /proc mounted in a mount namespace of its
own, and run chrooted there: no libc, no libdw, no libunwind, no
compression library, no /etc, no /usr.  It must read a Python process of
the host as the ordinary build does on the host: the interpreter's own
stacks (faulthandler, the oracle), the native frames of a C++ extension
with their lines and demangled names (test_native's checks), the same
locals, watch's snapshots, and a zstd-compressed core of the process.  And
so it must in new PID and mount namespaces shared with the target, as in a
pod's debug container, by the PID the target has there.
"""
import functools
import json
import os
import shutil
import subprocess

import pytest

from harness import PYSTACK, ROOT, Target, assert_same_stacks, parse_faulthandler, pystack_stacks
from test_core import gcore, needs_gcore
from test_native import builds, check_blocked_in_c, check_through  # noqa: F401 (builds: a fixture)

STATIC = os.environ.get("PYSTACK_STATIC") or os.path.join(ROOT, "build-static", "pystack")

pytestmark = pytest.mark.packaging


def need_static():
    if not os.access(STATIC, os.X_OK):
        pytest.skip("no static binary at %s (make static builds it)" % STATIC)


@functools.lru_cache(maxsize=None)
def _chroot_unavailable():
    if os.geteuid() != 0:
        return "chroot and a new mount namespace need root"
    if not shutil.which("unshare"):
        return "unshare(1) not found (util-linux)"
    r = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    return None if r.returncode == 0 else "cannot make a mount namespace: " + r.stderr.strip()


@pytest.fixture
def empty_root(tmp_path):
    """A directory holding only the static binary and an empty proc/."""
    need_static()
    why = _chroot_unavailable()
    if why:
        pytest.skip(why)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy2(STATIC, str(root / "pystack"))
    (root / "proc").mkdir()
    return str(root)


# In a mount namespace of its own, /proc mounted (the host's processes, for the
# PID namespace is the host's), then the chroot: no other file is there.
_ENTER = ('set -e; mount -t proc proc "$0/proc"; '
          'for m in $PYSTACK_BINDS; do mkdir -p "$0/${m#*:}"; mount --bind -o ro "${m%%:*}" "$0/${m#*:}"; done; '
          'test "$(ls -A "$0" | tr "\\n" " ")" = "$PYSTACK_EXPECT"; exec chroot "$0" /pystack "$@"')


def chrooted(root, *args, binds=(), timeout=60):
    """Run /pystack ARGS chrooted into root; binds are (host dir, dir in root), read-only."""
    expect = " ".join(sorted(["proc", "pystack"] + [b[1].strip("/").split("/")[0] for b in binds]))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYSTACK_EXPECT": expect + " ",
           "PYSTACK_BINDS": " ".join("%s:%s" % b for b in binds)}
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _ENTER, root] + \
        [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                          encoding="utf-8", errors="surrogateescape")


def host_without_debug_files(*args):
    """The ordinary build on the host, with /usr/lib/debug hidden as it is in
    the chroot: what the static one must match, frame for frame."""
    hide = "mount -t tmpfs none /usr/lib/debug; " if os.path.isdir("/usr/lib/debug") else ""
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
           'set -e; %sexec "$0" "$@"' % hide, PYSTACK] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, timeout=60,
                          encoding="utf-8", errors="surrogateescape")


def one_json(r):
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    return json.loads(lines[0])


def shapes(snap):
    """Each thread's frames, as far as they do not depend on where the files are."""
    return {t["tid"]: [(f["kind"], f["function"], os.path.basename(f.get("module") or ""),
                        f.get("line"), f.get("inlined"), f.get("locals")) for f in t["frames"]]
            for t in snap["threads"]}


def test_static_binary_needs_no_library():
    need_static()
    r = subprocess.run(["readelf", "-l", "-d", STATIC], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "INTERP" not in r.stdout and "(NEEDED)" not in r.stdout, r.stdout
    r = subprocess.run([STATIC, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("pystack "), r
    with open(os.path.join(ROOT, "VERSION")) as f:
        assert r.stdout.split()[1] == f.read().strip()


def test_native_and_locals_in_an_empty_chroot(newest_python, builds, empty_root):  # noqa: F811
    ext_dir = os.path.dirname(builds(newest_python))
    with Target(newest_python, "native_target.py", ext_dir) as t:
        facts = json.loads(t.info)
        oracle = t.oracle()
        host = one_json(host_without_debug_files("dump", "--json", "--native", "--locals", t.pid))
        got = one_json(chrooted(empty_root, "dump", "--json", "--native", "--locals", t.pid))
        full = one_json(chrooted(empty_root, "dump", "--json", "--native-all", t.pid))
        text = chrooted(empty_root, "dump", "--native", "--locals", t.pid)
        t.finish()
    assert_same_stacks(oracle, got)
    check_through(facts, got, full, os.path.basename(builds(newest_python)))
    check_blocked_in_c(facts, got)
    assert shapes(got) == shapes(host)
    assert any(f.get("locals") for th in got["threads"] for f in th["frames"])
    assert text.returncode == 0 and text.stderr == "", text.stderr
    assert "pystack_test::blocking_call(int)" in text.stdout and "Locals:" in text.stdout


def test_watch_in_an_empty_chroot(newest_python, empty_root):
    with Target(newest_python, "threads.py", 3) as t:
        oracle = t.oracle()
        r = chrooted(empty_root, "watch", "--json", "--native", "-c", "3", "-i", "50ms", t.pid)
        t.finish()
    assert r.returncode == 0, r.stderr
    snaps = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(snaps) == 3
    for snap in snaps:
        assert_same_stacks(oracle, snap)
        assert any(f["kind"] == "native" for th in snap["threads"] for f in th["frames"])
    assert all("unchanged_s" in th for th in snaps[-1]["threads"])


@needs_gcore
def test_compressed_core_in_an_empty_chroot(newest_python, empty_root, tmp_path):
    if not shutil.which("zstd"):
        pytest.skip("no zstd program (make deps installs it)")
    cores = tmp_path / "cores"
    cores.mkdir()
    with Target(newest_python, "threads.py", 3) as t:
        oracle = t.oracle()
        core = gcore(t.pid, str(cores))
        t.finish()
    subprocess.run(["zstd", "-q", "--rm", core], check=True)
    host = one_json(host_without_debug_files("core", "--json", "--native", core + ".zst"))
    # The files the process had mapped are the host's: under /host, read-only.
    r = chrooted(empty_root, "core", "--json", "--native", "--sysroot=/host",
                 "/cores/" + os.path.basename(core) + ".zst",
                 binds=(("/", "/host"), (str(cores), "/cores")))
    got = one_json(r)
    assert_same_stacks(oracle, got)
    assert shapes(got) == shapes(host)


def test_dump_in_an_empty_chroot(python, empty_root):
    """Every interpreter found, the system's static, stripped one included."""
    with Target(python, "threads.py", 3) as t:
        oracle = t.oracle()
        got = one_json(chrooted(empty_root, "dump", "--json", "--locals", t.pid))
        t.finish()
    assert_same_stacks(oracle, got)


# A target that writes its own stacks to the file it is given (faulthandler,
# from its watchdog thread, while the main thread sleeps in waiter).
_NAMESPACED_TARGET = r'''
import faulthandler, sys, time
out = open(sys.argv[1], "w")
def waiter(n):
    faulthandler.dump_traceback_later(0.2, file=out)
    x = n * 2
    time.sleep(60)
waiter(21)
'''

# In new PID and mount namespaces (as a pod's debug container sees its
# target): the target, then the chrooted pystack reading it by the PID it has there.
_IN_NAMESPACE = ('set -e; "$1" -c "$2" "$3" & pid=$!; '
                 'while [ ! -s "$3" ]; do sleep 0.05; done; sleep 0.1; '
                 'mount -t proc proc "$0/proc"; echo "pid $pid"; '
                 'chroot "$0" /pystack dump --json --native --locals "$pid"; kill $pid')


def test_in_the_targets_pid_namespace(newest_python, empty_root, tmp_path):
    oracle_file = str(tmp_path / "oracle.txt")
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount", "--mount-proc",
                        "--propagation", "private", "--kill-child", "sh", "-c", _IN_NAMESPACE,
                        empty_root, newest_python.exe, _NAMESPACED_TARGET, oracle_file],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    said, snap = r.stdout.splitlines()[0], json.loads(r.stdout.splitlines()[1])
    # PID 1 is the shell: the target has a PID of the new namespace, not the host's.
    assert said == "pid %d" % snap["pid"] and snap["pid"] < 10, (said, snap["pid"])
    with open(oracle_file) as f:
        oracle = parse_faulthandler(f.read())
    main = [frames for frames in oracle.values() if frames and frames[0][2] == "waiter"]
    assert len(main) == 1, oracle
    got = pystack_stacks(snap)
    assert main[0] in got.values(), (main[0], got)
    waiter = [f for t in snap["threads"] for f in t["frames"] if f["function"] == "waiter"][0]
    assert waiter["locals"], waiter
    assert any(f["kind"] == "native" for t in snap["threads"] for f in t["frames"])
