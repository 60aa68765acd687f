"""The command line and its documentation: options, colour, the JSON schema.

The man page and README must describe every option the binary has; text is
coloured only when asked or on a terminal; the JSON matches the schema the
man page gives, key by key and type by type.
"""
import json
import os
import pty
import re
import subprocess

import pytest

from harness import PYSTACK, ROOT, Target, run_pystack

MAN = os.path.join(ROOT, "man", "pystack.1")
README = os.path.join(ROOT, "README.md")


def long_options(command):
    out = run_pystack(*command, "--help").stdout
    return sorted(set(re.findall(r"--([a-z][a-z-]+)", out)) - {"help", "usage", "version"})


def test_every_option_is_documented():
    man = open(MAN, encoding="utf-8").read().replace("\\-", "-")
    readme = open(README, encoding="utf-8").read()
    opts = long_options(["dump"])
    assert {"json", "format", "color", "nonblocking", "verbose"} <= set(opts)
    watch_opts = long_options(["watch"])
    assert set(opts) <= set(watch_opts)
    assert {"interval", "count", "duration", "stuck", "flamegraph"} <= set(watch_opts)
    opts = watch_opts
    for opt in opts:
        if opt == "colour":
            continue    # an alias of --color
        assert "--" + opt in man, "man page lacks --%s" % opt
        assert "--" + opt in readme, "README lacks --%s" % opt


def test_version_and_help():
    r = run_pystack("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("pystack ")
    assert "reads CPython 2.7, 3.6-3.15 (free-threaded: 3.13-3.15)\n" in r.stdout
    for args in (["--help"], ["dump", "--help"], ["watch", "--help"]):
        r = run_pystack(*args)
        assert r.returncode == 0 and "Exit status" in r.stdout, args
    assert "Reads CPython 2.7, 3.6-3.15 (free-threaded: 3.13-3.15)." in run_pystack("--help").stdout
    # watch takes one PID: its help does not speak of several.
    watch_help = " ".join(run_pystack("watch", "--help").stdout.split())
    assert "--subprocesses also the Python processes descended from the process named" \
        in watch_help and "each PID" not in watch_help


def test_color_only_when_asked(newest_python):
    with Target(newest_python, "threads.py", 2) as t:
        plain = t.pystack().stdout
        forced = t.pystack("--color=always").stdout
        env = dict(os.environ, NO_COLOR="1")
        no_color = run_pystack("dump", "--color=auto", t.pid, env=env).stdout
        # On a terminal, auto colours unless NO_COLOR says otherwise.
        master, slave = pty.openpty()
        p = subprocess.run([PYSTACK, "dump", str(t.pid)], stdout=slave, stderr=subprocess.PIPE,
                           timeout=30)
        os.close(slave)
        tty_out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty_out += chunk
        os.close(master)
        t.finish()
    assert "\x1b[" not in plain and "\x1b[" not in no_color
    assert "\x1b[" in forced
    assert p.returncode == 0 and b"\x1b[" in tty_out
    strip = re.sub(r"\x1b\[[0-9;]*m", "", forced)
    assert strip.splitlines()[2:] == plain.splitlines()[2:]


SCHEMA_TOP = {"pid": int, "time": str, "python": str, "executable": str, "cmdline": str,
              "binary": str, "free_threaded": bool, "stopped_us": int, "partial": bool,
              "threads": list}
SCHEMA_THREAD = {"tid": int, "thread_id": int, "name": (str, type(None)), "main": bool,
                 "gc": bool, "status": str, "frames": list}
SCHEMA_FRAME = {"kind": str, "function": str, "qualname": (str, type(None)), "file": str,
                "line": (int, type(None))}


def test_json_schema(python):
    with Target(python, "shapes.py") as t:
        r = t.pystack("--json")
        t.finish()
    assert r.returncode == 0 and r.stdout.endswith("\n") and r.stdout.count("\n") == 1
    snap = json.loads(r.stdout)
    for key, kind in SCHEMA_TOP.items():
        assert isinstance(snap[key], kind), key
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", snap["time"])
    assert 0 < snap["stopped_us"] < 1000000
    assert snap["free_threaded"] == python.free_threaded
    for th in snap["threads"]:
        for key, kind in SCHEMA_THREAD.items():
            assert isinstance(th[key], kind), key
        assert th["status"] in ("running", "idle", "unknown")
        # A GIL is claimed only where there is one; attached from 3.13.
        assert ("holds_gil" in th) == (not python.free_threaded)
        if not python.free_threaded:
            assert isinstance(th["holds_gil"], bool)
        assert isinstance(th.get("attached"), bool) == (python.version >= (3, 13))
        if python.version >= (3, 7):
            assert isinstance(th["interpreter"], int)
        for f in th["frames"]:
            for key, kind in SCHEMA_FRAME.items():
                assert isinstance(f[key], kind), key
            assert f["kind"] == "python"
            assert (f["qualname"] is None) == (python.version < (3, 11))


def test_watch_json_schema(newest_python):
    """watch's objects are dump's, with the snapshot's number and each thread's change."""
    with Target(newest_python, "shapes.py") as t:
        r = run_pystack("watch", "--json", "--count", "2", "--interval", "10ms", t.pid)
        t.finish()
    assert r.returncode == 0, r.stderr
    man = open(MAN, encoding="utf-8").read()
    snaps = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(snaps) == 2
    for n, snap in enumerate(snaps, 1):
        for key, kind in SCHEMA_TOP.items():
            assert isinstance(snap[key], kind), key
        assert snap["snapshot"] == n and isinstance(snap["skipped"], int) and snap["skipped"] >= 0
        for th in snap["threads"]:
            for key, kind in SCHEMA_THREAD.items():
                assert isinstance(th[key], kind), key
            assert isinstance(th["unchanged_s"], float) and th["unchanged_s"] >= 0
            assert isinstance(th["changed"], bool)
    for key in ("snapshot", "skipped", "unchanged_s", "changed"):
        assert re.search(r"^\.BR? .*\b%s\b" % key, man, re.M), "man page lacks %s" % key
