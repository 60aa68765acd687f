"""The core-file reader (src/corefile.c) against real cores.

A Python process with two threads is read through /proc/PID/mem, then
dumped with gcore, or killed by SIGSEGV for the kernel to dump it (when
core_pattern writes a file in the working directory); the unit-test
binary's core mode (tests/unit/test_corefile.c) reads the core with
pystack's code.  The process id, its threads and its
executable must be the process's, and the bytes at a few addresses must be
what the live process held: its heap (in the core), and the first pages of
the executable and of libc's text (which gdb leaves out of the core, so they
come from the files: the kernel keeps only an ELF file's first page).
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile

import pytest

from harness import UNIT

TARGET = ("import threading, time\n"
          "t = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n"
          "t.start()\n"
          "print('READY', flush=True)\n"
          "time.sleep(60)\n")


def maps_of(pid):
    """(start, perms, path, end, offset) of each mapping of pid."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split(None, 5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, fields[1], fields[5].strip() if len(fields) > 5 else "", end,
                        int(fields[2], 16)))
    return out


def live_bytes(pid, addr, length):
    with open("/proc/%d/mem" % pid, "rb") as f:
        f.seek(addr)
        return f.read(length)


class Live:
    """A two-thread Python process and what its memory held at a few places."""

    def __init__(self, cwd, preexec_fn=None):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", TARGET], stdout=subprocess.PIPE,
                                     cwd=cwd, preexec_fn=preexec_fn)
        assert self.proc.stdout.readline().startswith(b"READY")
        self.pid = self.proc.pid
        self.exe = os.readlink("/proc/%d/exe" % self.pid)
        self.maps = maps_of(self.pid)
        heap = next(m for m in self.maps if m[2] == "[heap]")
        first = next(m for m in self.maps if m[2] == self.exe)
        libc_text = next(m for m in self.maps if "libc.so" in m[2] and "x" in m[1])
        self.ranges = [(heap[0], 256), (first[0], 64), (libc_text[0], 64)]
        try:
            self.want = [live_bytes(self.pid, a, n) for a, n in self.ranges]
        except OSError as e:
            self.proc.kill()
            pytest.skip("cannot read /proc/%d/mem: %s" % (self.pid, e))

    def check(self, core, signal=None, perms=False):
        """What the unit binary reads of core is what the process held."""
        r = subprocess.run([UNIT, "core", core, "-"] + ["0x%x:%d" % rg for rg in self.ranges],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        lines = r.stdout.decode().splitlines()
        info = json.loads(lines[0])
        assert info["pid"] == self.pid
        assert sorted(info["threads"]) == sorted(int(t) for t in self.tids)
        assert len(info["threads"]) == 2
        assert info["exe"].endswith(self.exe)
        assert not info["truncated"]
        # Every file mapping is there, in the same place; the kernel also keeps the permissions.
        got = {m[0]: m for m in info["map"]}
        for start, mode, path, end, offset in self.maps:
            if not path.startswith("/"):
                continue
            assert start in got, "%x %s" % (start, path)
            assert got[start][1:3] == [end, offset] and got[start][4] == path, got[start]
            if perms:
                assert got[start][3] == mode[:3], (got[start], mode)
        vdso = [m[0] for m in self.maps if m[2] == "[vdso]"]
        if vdso:
            assert got[vdso[0]][4] == "[vdso]", got.get(vdso[0])
        if signal is not None:
            assert info["signal"] == signal and info["addr"] == 0
        for (addr, n), w, got in zip(self.ranges, self.want, lines[1:]):
            assert got == w.hex(), "at 0x%x" % addr

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def need_python():
    if not os.path.exists("/usr/bin/python3"):
        pytest.skip("no /usr/bin/python3")


@pytest.mark.skipif(shutil.which("gcore") is None, reason="gcore (gdb) not installed")
def test_gcore_core():
    need_python()
    with tempfile.TemporaryDirectory(prefix="pystack-core-") as tmp:
        live = Live(tmp)
        try:
            live.tids = os.listdir("/proc/%d/task" % live.pid)
            prefix = os.path.join(tmp, "gcore")
            r = subprocess.run(["gcore", "-o", prefix, str(live.pid)], capture_output=True,
                               timeout=120)
            core = "%s.%d" % (prefix, live.pid)
            if r.returncode or not os.path.exists(core):
                pytest.skip("gcore failed: %s" % r.stderr.decode(errors="replace")[-300:])
            live.check(core, perms=True)
        finally:
            live.kill()


def test_kernel_core():
    """A core the kernel writes when the process is killed by SIGSEGV."""
    need_python()
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern or "%" in pattern:
        pytest.skip("core_pattern is %r: not a plain file in the working directory" % pattern)

    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    if hard != resource.RLIM_INFINITY and hard < 64 << 20:
        pytest.skip("the hard limit on core files is %d bytes" % hard)

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    with tempfile.TemporaryDirectory(prefix="pystack-core-") as tmp:
        live = Live(tmp, preexec_fn=allow_core)
        try:
            live.tids = os.listdir("/proc/%d/task" % live.pid)
            os.kill(live.pid, signal.SIGSEGV)
            live.proc.wait(timeout=120)
            names = [n for n in os.listdir(tmp) if n.startswith(pattern)]
            if not names:
                pytest.skip("the kernel wrote no core (core_pattern %r)" % pattern)
            live.check(os.path.join(tmp, names[0]), signal=signal.SIGSEGV, perms=True)
        finally:
            live.kill()
