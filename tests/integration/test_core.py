"""pystack core: the stacks of a process from its core dump.

The oracle is the interpreter's own faulthandler, written just before gdb's
gcore took the core; a kernel core of a crash in C code must name the
thread and signal, and the Python function that made the call."""
import json
import os
import resource
import shutil
import signal
import subprocess

import pytest

from harness import Target, assert_same_stacks, run_pystack

GCORE = shutil.which("gcore")
needs_gcore = pytest.mark.skipif(not GCORE, reason="no gcore (gdb) here: make deps installs it")


def gcore(pid, where):
    """A core of the live process pid, by gdb's gcore (which stops it only for the copy)."""
    prefix = os.path.join(where, "core")
    r = subprocess.run([GCORE, "-o", prefix, str(pid)], capture_output=True, timeout=120)
    path = "%s.%d" % (prefix, pid)
    assert r.returncode == 0 and os.path.exists(path), r.stderr[-2000:]
    return path


@needs_gcore
def test_a_gcore_shows_what_faulthandler_saw(python, tmp_path):
    with Target(python, "threads.py", 4, 1, busy=1) as t:
        facts = json.loads(t.info)
        oracle = t.oracle()
        core = gcore(t.pid, str(tmp_path))
        t.finish()
    try:
        r = run_pystack("core", "--json", core)
        text = run_pystack("core", core)
    finally:
        os.unlink(core)                           # cores are large
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    snap = json.loads(r.stdout)
    assert snap["pid"] == t.pid and snap["python"] == python.version_text
    assert snap["core"]["file"] == core and not snap["core"]["truncated"]
    assert "signal" not in snap["core"]          # gcore's own stop ended nothing
    assert_same_stacks(oracle, snap, ignore=set(facts["busy"]))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("Process %d: " % t.pid)
    assert lines[2].startswith("Core %s, written " % core)
    # The process is gone: nothing was read from /proc, and the core alone still answers.
    assert not os.path.exists("/proc/%d" % t.pid) or t.pid == os.getpid()


CRASHER = r"""
import ctypes, sys, threading, time

def crash_in_c():
    ctypes.string_at(0)          # a NULL read in C code

def waiter(event):
    event.wait()

event = threading.Event()
for _ in range(2):
    threading.Thread(target=waiter, args=(event,), daemon=True).start()
worker = threading.Thread(target=crash_in_c, name="crasher")
time.sleep(0.2)
sys.stdout.write("%d\n" % threading.get_native_id() if hasattr(threading, "get_native_id") else "0\n")
sys.stdout.flush()
worker.start()
worker.join()
"""


def kernel_core_of_a_crash(python, where):
    """The core the kernel writes of CRASHER run by python in where (skips where it writes none)."""
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip("the kernel's core_pattern here (%r) does not write a core file in the "
                    "working directory" % pattern)

    def allow_cores():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    p = subprocess.run([python.exe, "-c", CRASHER], cwd=where, capture_output=True,
                       preexec_fn=allow_cores, timeout=60)
    assert p.returncode == -signal.SIGSEGV, (p.returncode, p.stderr[-2000:])
    cores = [os.path.join(where, n) for n in os.listdir(where) if n.startswith("core")]
    assert len(cores) == 1, os.listdir(where)
    return cores[0]


def test_a_kernel_core_of_a_crash_names_the_thread_and_the_call(newest_python, tmp_path):
    core = kernel_core_of_a_crash(newest_python, str(tmp_path))
    try:
        r = run_pystack("core", "--json", core)
        text = run_pystack("core", core).stdout
    finally:
        os.unlink(core)
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert snap["core"]["signal"] == "SIGSEGV"
    crashed = [th for th in snap["threads"] if th.get("signal") == "SIGSEGV"]
    assert len(crashed) == 1 and crashed[0]["tid"] == snap["core"]["signal_tid"], snap["threads"]
    assert crashed[0]["name"] == "crasher"
    functions = [f["function"] for f in crashed[0]["frames"] if f["kind"] == "python"]
    assert "crash_in_c" in functions, functions
    # The others were waiting, and the main thread in join().
    assert len(snap["threads"]) == 4
    assert "killed by SIGSEGV in thread %d" % crashed[0]["tid"] in text
    assert "took SIGSEGV" in text


@needs_gcore
def test_not_a_core_and_a_cut_core(newest_python, tmp_path):
    fifo = os.path.join(str(tmp_path), "fifo")
    os.mkfifo(fifo)                               # never waited on
    for path, says in ((newest_python.exe, "not a core file"), ("/etc/hostname", "not an ELF"),
                       (fifo, "not a regular file"), (str(tmp_path), "not a regular file")):
        r = run_pystack("core", path, timeout=10)
        assert r.returncode == 2 and r.stdout == "", r
        assert len(r.stderr.splitlines()) == 1 and says in r.stderr, r.stderr
    with Target(newest_python, "threads.py", 2, 1) as t:
        core = gcore(t.pid, str(tmp_path))
        t.finish()
    size = os.path.getsize(core)
    cut = os.path.join(str(tmp_path), "cut")
    for keep in (64, 4096, size // 3, size - 4096):
        with open(core, "rb") as f, open(cut, "wb") as out:
            out.write(f.read(keep))
        r = run_pystack("core", "--json", cut)
        assert r.returncode in (1, 2), (keep, r.returncode, r.stderr)
        assert len(r.stderr.splitlines()) == 1, (keep, r.stderr)
        if r.returncode == 1:
            snap = json.loads(r.stdout)
            assert snap["core"]["truncated"] and snap["partial"]
    os.unlink(core)
    os.unlink(cut)
