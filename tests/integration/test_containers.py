"""A Python process in its own mount and PID namespaces, read from the host.

Each test starts tests/targets/namespaced.py under `unshare --mount --pid
--fork --mount-proc`, where the interpreter is PID 1.  Inside the new mount
namespace a tmpfs covers ROOT, a directory of the test's that is empty on
the host; the interpreter's files are bind-mounted under ROOT/python (a
pyenv version's whole tree, or a system binary and its standard library)
and then hidden at their own place, and the scripts are copied to ROOT/app.
So the executable, libpython, the standard library and the scripts the
process has open exist only in its namespace: the test checks they do not
exist on the host, so pystack can only have reached them through
/proc/PID/root (or /proc/PID/cwd for a relative file name).  The oracle
file lies outside ROOT, where both sides see it.

pystack reads the process by its host PID, and must show the interpreter's
own stacks, host thread ids (3.11+ records its namespace's ids, which
pystack translates), the source lines, and leave the process as it was.
"""
import functools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile

import pytest

from harness import TARGETS, Target, assert_same_stacks, pystack_stacks, run_pystack

SCRIPT = "namespaced.py"
WORKERS = 4
UNSHARE = ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"]


@functools.lru_cache(maxsize=None)
def _namespaces_unavailable():
    """Why new mount and PID namespaces cannot be made here, or None."""
    if not shutil.which("unshare"):
        return "unshare(1) not found (util-linux)"
    try:
        r = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as e:
        return "unshare failed: %s" % e
    if r.returncode != 0:
        return "cannot create mount and PID namespaces (root is needed): %s" % r.stderr.strip()
    return None


def need_namespaces():
    why = _namespaces_unavailable()
    if why:
        pytest.skip(why)


class Layout:
    """Where an interpreter's files appear inside the namespace (under root/python).

    A self-contained prefix (pyenv) is bound whole; a system interpreter
    gives its executable, its standard library and its libpython, if any.
    binds holds (host path, namespace path); each host path is hidden
    inside the namespace once bound.
    """

    def __init__(self, python, root):
        prefix = os.path.dirname(os.path.dirname(python.exe))
        top = os.path.join(root, "python")
        if prefix not in ("/", "/usr", "/usr/local"):
            self.binds = [(prefix, top)]
        else:
            stdlib = "lib/python%d.%d" % python.minor
            self.binds = [(python.exe, os.path.join(top, "bin", os.path.basename(python.exe))),
                          (os.path.join(prefix, stdlib), os.path.join(top, stdlib))]
            if python.libpython:
                self.binds.append((python.libpython,
                                   os.path.join(top, "lib", os.path.basename(python.libpython))))
        self.exe = self.inside(python.exe)
        self.libdir = os.path.join(top, "lib")

    def inside(self, path):
        """The namespace's path of a host file of the interpreter."""
        for host, ns in self.binds:
            if path == host or path.startswith(host + "/"):
                return ns + path[len(host):]
        raise AssertionError("%s is not among the interpreter's files" % path)

    def host(self, path):
        """The host's path of a namespace file of the interpreter, or None."""
        for host, ns in self.binds:
            if path == ns or path.startswith(ns + "/"):
                return host + path[len(ns):]
        return None


def setup_script(layout, root, argv):
    """Shell commands run inside the new namespaces: hide, copy, exec."""
    q = shlex.quote
    app = os.path.join(root, "app")
    cmds = ["set -e", "mount -t tmpfs -o mode=0755 pystack-ns %s" % q(root), "mkdir %s" % q(app)]
    for host, ns in layout.binds:
        if os.path.isdir(host):
            cmds.append("mkdir -p %s" % q(ns))
        else:
            cmds.append("mkdir -p %s && : > %s" % (q(os.path.dirname(ns)), q(ns)))
        cmds.append("mount --bind %s %s" % (q(host), q(ns)))
    for host, _ in layout.binds:
        if os.path.isdir(host):
            cmds.append("mount -t tmpfs -o mode=0755,size=64k pystack-hidden %s" % q(host))
        else:
            cmds.append("mount --bind /dev/null %s" % q(host))
    cmds.append("cp %s %s %s" % (q(os.path.join(TARGETS, "oracle.py")),
                                 q(os.path.join(TARGETS, SCRIPT)), q(app)))
    # A relative script name: before 3.9 the file names are relative, read through /proc/PID/cwd.
    cmds.append("cd %s" % q(app))
    cmds.append("exec %s" % " ".join(q(a) for a in argv))
    return "\n".join(cmds)


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def nspids(pid, tid=None):
    """NSpid of a process (or one of its threads): its ids, the host's first."""
    path = "/proc/%d/task/%d/status" % (pid, tid) if tid else "/proc/%d/status" % pid
    with open(path) as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no NSpid in %s" % path)


def host_tids(pid):
    """{thread id in the process's namespace: thread id on the host}."""
    out = {}
    for tid in map(int, os.listdir("/proc/%d/task" % pid)):
        ids = nspids(pid, tid)
        out[ids[-1]] = ids[0]
    return out


def mapped_files(pid):
    with open("/proc/%d/maps" % pid) as f:
        return {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}


class NsTarget(Target):
    """tests/targets/namespaced.py run by python inside new mount and PID namespaces.

    self.pid is the interpreter's PID on the host (found once it is READY),
    self.proc the unshare process, which leads its own process group.
    """

    def __init__(self, python, workers=WORKERS, ready_timeout=60):
        need_namespaces()
        self.tmp = tempfile.TemporaryDirectory(prefix="pystack-ns-")
        self.root = os.path.join(self.tmp.name, "root")
        os.mkdir(self.root)
        self.oracle_path = os.path.join(self.tmp.name, "oracle.txt")
        self.layout = Layout(python, self.root)
        self.app = os.path.join(self.root, "app")
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONHOME", "PYTHONPATH", "LD_LIBRARY_PATH")}
        # pyenv's executables find libpython by an RPATH to their hidden prefix.
        env.update(PYSTACK_ORACLE=self.oracle_path, LD_LIBRARY_PATH=self.layout.libdir)
        self.cmd = UNSHARE + ["sh", "-c", setup_script(self.layout, self.root,
                                                       [self.layout.exe, SCRIPT, str(workers)])]
        self.busy = 0
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=self.tmp.name,
                                     start_new_session=True)
        self.pid = self.proc.pid
        try:
            self.info = self._wait_ready(ready_timeout)
            kids = children(self.proc.pid)
            assert len(kids) == 1, kids
            self.pid = kids[0]
            self._settle()
        except BaseException:
            self.kill()
            raise
        self.facts = json.loads(self.info)

    def kill(self):
        """The whole namespace goes: unshare's process group, then the rest."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.close()


def assert_isolated(t):
    """The process is in other namespaces and runs files the host does not have."""
    assert nspids(t.pid) == [t.pid, t.facts["pid"]]
    assert t.facts["pid"] == 1
    for ns in ("pid", "mnt"):
        assert os.readlink("/proc/%d/ns/%s" % (t.pid, ns)) != os.readlink("/proc/self/ns/" + ns)
    files = mapped_files(t.pid)
    assert t.layout.exe in files, sorted(files)
    for host, ns in t.layout.binds:
        assert not any(f == host or f.startswith(host + "/") for f in files), (host, sorted(files))
    hidden = [f for f in files if f.startswith(t.root + "/")] + [os.path.join(t.app, SCRIPT)]
    assert all(not os.path.exists(f) for f in hidden), [f for f in hidden if os.path.exists(f)]
    assert os.listdir(t.root) == []


_FILE = re.compile(r'^  File "(.*)", line (\d+), in .*$')


def host_source(t, name, lineno):
    """Line lineno of the file the process knows as name, read on the host."""
    if not os.path.isabs(name) or os.path.dirname(name) == t.app:
        path = os.path.join(TARGETS, os.path.basename(name))
    else:
        path = t.layout.host(name)
        assert path, name
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").splitlines()[lineno - 1].strip()


def assert_source_lines(t, text):
    """Every frame of the text dump shows its line, read inside the namespace."""
    lines = text.splitlines()
    seen = set()
    for i, line in enumerate(lines):
        m = _FILE.match(line)
        if not m or m.group(1).startswith("<"):
            continue
        name, lineno = m.group(1), int(m.group(2))
        shown = lines[i + 1] if i + 1 < len(lines) else ""
        assert shown.startswith("    ") and not _FILE.match(shown), (line, shown)
        assert shown.strip() == host_source(t, name, lineno), (line, shown)
        seen.add("app" if os.path.basename(name) == SCRIPT else
                 "stdlib" if os.path.basename(name) == "threading.py" else "other")
    assert {"app", "stdlib"} <= seen, text


def test_read_from_the_host(python):
    with NsTarget(python) as t:
        assert_isolated(t)
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        text = t.pystack()
        assert text.returncode == 0, text.stderr
        assert_source_lines(t, text.stdout)
        tids = host_tids(t.pid)
        t.finish()
    assert snap["pid"] == t.pid
    threads = {th["thread_id"]: th for th in snap["threads"]}
    assert len(threads) == WORKERS + 2        # main, the workers, the quit reader
    # Host thread ids on every version; each the one the thread itself knew.
    assert sorted(th["tid"] for th in threads.values()) == sorted(tids.values())
    for ident, inner in t.facts["tids"].items():
        assert threads[int(ident)]["tid"] == tids[inner], (ident, inner, tids)
    main = threads[t.facts["main"]]
    assert main["tid"] == t.pid and main["main"]
    assert [th["main"] for th in threads.values()].count(True) == 1


def test_native_from_the_host(recent_python):
    with NsTarget(recent_python) as t:
        assert_isolated(t)
        plain = t.dump_json()
        snap = t.dump_json("--native")
        t.finish()
    assert pystack_stacks(snap) == pystack_stacks(plain)
    libc, interp = 0, 0
    binary = os.path.basename(snap["binary"])
    for th in snap["threads"]:
        assert "note" not in th, th
        for f in th["frames"]:
            if f["kind"] != "native" or not f["function"]:
                continue
            libc += os.path.basename(f["module"]).startswith("libc.so")
            interp += os.path.basename(f["module"]) == binary
    # Every thread blocks in libc, and got there from the interpreter.
    assert libc >= len(snap["threads"]) and interp >= len(snap["threads"]), snap


def test_watch_from_the_host(recent_python):
    with NsTarget(recent_python) as t:
        r = run_pystack("watch", "--json", "--count", "3", "--interval", "20ms", t.pid)
        tids = set(host_tids(t.pid).values())
        t.finish()
    assert r.returncode == 0, r.stderr
    snaps = [json.loads(line) for line in r.stdout.splitlines()]
    assert [s["snapshot"] for s in snaps] == [1, 2, 3]
    for s in snaps:
        assert {th["tid"] for th in s["threads"]} == tids
        assert [th["tid"] for th in s["threads"] if th["main"]] == [t.pid]
    assert "unchanged throughout" in r.stderr, r.stderr
