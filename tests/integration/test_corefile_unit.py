"""The core-file reader (src/corefile.c) against a real core written by gdb.

A Python process with two threads is read through /proc/PID/mem, then
dumped with gcore; the unit-test binary's core mode (tests/unit/test_corefile.c)
reads the core with pystack's code.  The process id, its threads and its
executable must be the process's, and the bytes at a few addresses must be
what the live process held: its heap (in the core), and the first pages of
the executable and of libc's text (which gdb leaves out of the core, so they
come from the files).
"""
import json
import os
import shutil
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
    """(start, perms, path) of each mapping of pid."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split(None, 5)
            out.append((int(fields[0].split("-")[0], 16), fields[1],
                        fields[5].strip() if len(fields) > 5 else ""))
    return out


def live_bytes(pid, addr, length):
    with open("/proc/%d/mem" % pid, "rb") as f:
        f.seek(addr)
        return f.read(length)


@pytest.mark.skipif(shutil.which("gcore") is None, reason="gcore (gdb) not installed")
def test_gcore_core():
    python = "/usr/bin/python3"
    if not os.path.exists(python):
        pytest.skip("no /usr/bin/python3")
    proc = subprocess.Popen([python, "-c", TARGET], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().startswith(b"READY")
        pid = proc.pid
        exe = os.readlink("/proc/%d/exe" % pid)
        maps = maps_of(pid)
        heap = next(m for m in maps if m[2] == "[heap]")
        first = next(m for m in maps if m[2] == exe)
        libc_text = next(m for m in maps if "libc.so" in m[2] and "x" in m[1])
        ranges = [(heap[0], 256), (first[0], 64), (libc_text[0], 64)]
        try:
            want = [live_bytes(pid, a, n) for a, n in ranges]
        except OSError as e:
            pytest.skip("cannot read /proc/%d/mem: %s" % (pid, e))
        with tempfile.TemporaryDirectory(prefix="pystack-core-") as tmp:
            prefix = os.path.join(tmp, "core")
            r = subprocess.run(["gcore", "-o", prefix, str(pid)], capture_output=True, timeout=120)
            core = "%s.%d" % (prefix, pid)
            if r.returncode or not os.path.exists(core):
                pytest.skip("gcore failed: %s" % r.stderr.decode(errors="replace")[-300:])
            r = subprocess.run([UNIT, "core", core, "-"] + ["0x%x:%d" % rg for rg in ranges],
                               capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        lines = r.stdout.decode().splitlines()
        info = json.loads(lines[0])
        assert info["pid"] == pid
        assert len(info["threads"]) == 2 and info["threads"][0] == pid
        assert info["exe"].endswith(exe)
        assert not info["truncated"]
        assert info["maps"] >= len(set(m[0] for m in maps if m[2].startswith("/")))
        for (addr, n), w, got in zip(ranges, want, lines[1:]):
            assert got == w.hex(), "at 0x%x" % addr
    finally:
        proc.kill()
        proc.wait()
