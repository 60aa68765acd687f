"""A hostile process, an unprivileged user, and what pystack must never do.

1. Hostile content.  tests/targets/hostile_names.py, run from a file whose
   name holds escape sequences (and a byte that is not UTF-8), has functions
   renamed to hold ESC, BEL, C1 CSI and DEL, a function name of 10,014
   characters, a thread name of 10,000 characters of escape sequences and
   bidi overrides, and locals holding ESC, NUL, a lone surrogate, U+202E,
   and a bytes with \\xff.  Whatever pystack prints must not drive a
   terminal, must stay within the bounds its readers set, and its JSON must
   parse and give the names back.
2. Permissions.  pystack as "nobody" against a root process fails cleanly
   (exit 2, one line saying what to do) for the commands test_errors.py
   does not already try, and leaves the process alone; as the same
   unprivileged user as the process it works, or fails, as the kernel's
   Yama setting says it must.
3. pystack never executes anything and never writes to the process or to
   its files (strace).
"""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

import harness
import pythons
from harness import Target, assert_same_stacks, proc_status, task_states

NOBODY = 65534
NOGROUP = 65534

# -- the bounds pystack's readers set (see the sources named) ----------------
#
# include/pystr.h: PYSTR_MAX = 4096.  src/pycode.c reads co_name,
# co_qualname and co_filename with pystr_read() into char[PYSTR_MAX]; a
# string that does not fit is cut on a character boundary (a 2.7 byte string:
# on a byte) so that at most PYSTR_MAX - 4 bytes of it remain, and "..."
# (U+2026, 3 bytes) is appended, leaving room for the NUL (src/pystr.c,
# pystr_decode_units / read_bytes27: room = size - 3, fits if len + n <=
# room - 1).  So a name or file name is at most PYSTR_MAX - 1 raw bytes.
PYSTR_MAX = 4096
NAME_KEEP = PYSTR_MAX - 4
# src/pythreading.c reads a thread's name into char[256]: at most 252 bytes
# of it are kept before the ellipsis.
THREAD_BUF = 256
THREAD_KEEP = THREAD_BUF - 4
# src/pycode.c reads variable names into char[256]; src/pyread.c a repr into
# char[512]; src/source.c keeps at most MAX_LINE = 400 bytes of a source line.
VARNAME_BUF = 256
REPR_BUF = 512
SOURCE_LINE = 400
# include/pyobj.h: PYOBJ_REPR_CHARS = 200 characters of a str are shown in its
# repr, then the closing quote and "...".
REPR_CHARS = 200
# src/escape.c, escape_text: a byte becomes at most 4 characters (\xNN for a
# control byte or one that is not UTF-8; a 2-byte C1 character also \xNN; a
# 3-byte format character or surrogate \uNNNN, 6 characters for 3 bytes).
ESCAPE_GROWTH = 4
# So a frame line, '  File "FILE", line N, in NAME', holds at most two such
# strings of PYSTR_MAX - 1 bytes, plus fixed text (64 characters covers it).
FRAME_LINE_MAX = 2 * ESCAPE_GROWTH * (PYSTR_MAX - 1) + 64
# A thread header: 'Thread TID "NAME" (idle, holds GIL, waiting for the GIL,
# collecting garbage, unchanged for 12345.6s, STUCK) [pthread 0x...]
# [interpreter N]': the name, plus under 200 characters of fixed text.
HEADER_LINE_MAX = ESCAPE_GROWTH * (THREAD_BUF - 1) + 200
# '      NAME = REPR' with --locals.
VAR_LINE_MAX = ESCAPE_GROWTH * (VARNAME_BUF - 1 + REPR_BUF - 1) + 16
SOURCE_LINE_MAX = ESCAPE_GROWTH * SOURCE_LINE + 8

ELLIPSIS = "\u2026"
FORMAT_CHARS = {0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0xfeff} | set(range(0x202a, 0x202f)) | \
    set(range(0x2066, 0x206a))


# -- what pystack writes, modelled ------------------------------------------

def escape_text(s):
    """src/escape.c escape_text(), applied to the str pystack decoded."""
    out = []
    for ch in s:
        c = ord(ch)
        if 0x20 <= c < 0x7f:
            out.append(ch)
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif c < 0xa0:
            out.append("\\x%02x" % c)
        elif 0xdc80 <= c <= 0xdcff:
            out.append("\\x%02x" % (c - 0xdc00))
        elif 0xd800 <= c <= 0xdfff or c in FORMAT_CHARS:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    return "".join(out)


def pystack_str(raw, keep, py2):
    """The str pystack reads from raw (the bytes the interpreter holds), cut as pystr.c cuts."""
    if len(raw) <= keep:
        return raw.decode("utf-8", "surrogateescape")
    if py2:                 # a 2.7 str is cut on a byte
        return raw[:keep].decode("utf-8", "surrogateescape") + ELLIPSIS
    out, size = [], 0       # a 3.x str on a character
    for ch in raw.decode("utf-8", "surrogateescape"):
        n = len(ch.encode("utf-8", "surrogateescape"))
        if size + n > keep:
            break
        out.append(ch)
        size += n
    return "".join(out) + ELLIPSIS


def pystack_repr(full):
    """A repr as src/pyobj.c leaves it: whole if it fits in char[REPR_BUF] (pyread.c),
    else cut to REPR_BUF - 4 bytes (never inside a UTF-8 sequence) and "..." (finish())."""
    b = full.encode("utf-8")
    if len(b) <= REPR_BUF - 1:
        return full
    keep = REPR_BUF - 4
    while keep > 0 and (b[keep] & 0xc0) == 0x80:
        keep -= 1
    return b[:keep].decode("utf-8") + "..."


def run_bytes(*args, env=None, user=None, binary=None, timeout=60):
    """pystack with args; stdout and stderr as bytes, so every byte can be judged."""
    cmd = [binary or harness.PYSTACK] + [str(a) for a in args]
    if user is not None:
        cmd = setpriv() + cmd
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def assert_harmless(out, what, line_max=None, c1_ok=False):
    """Nothing in out can drive a terminal: UTF-8, no C0 but newline, no DEL, no ESC.

    Unless c1_ok (JSON, which only promises to stay valid), no C1 control
    and no bidi or line-separator format character either.  line_max:
    a function of a line giving the most characters it may have.
    """
    assert isinstance(out, bytes)
    assert out, "%s: no output" % what
    for i, b in enumerate(out):
        if (b < 0x20 and b != 0x0a) or b == 0x7f:
            raise AssertionError("%s: raw control byte 0x%02x at %d: %r"
                                 % (what, b, i, out[max(0, i - 60):i + 20]))
    assert b"\x1b" not in out
    text = out.decode("utf-8")          # strict: raises on any byte that is not UTF-8
    if not c1_ok:
        for i, ch in enumerate(text):
            c = ord(ch)
            if 0x80 <= c < 0xa0 or c in FORMAT_CHARS or 0xd800 <= c <= 0xdfff:
                raise AssertionError("%s: raw U+%04X at %d: %r" % (what, c, i, text[i - 40:i + 10]))
    if line_max:
        for line in text.split("\n"):
            bound = line_max(line)
            assert len(line) <= bound, "%s: a line of %d characters (at most %d): %r..." % (
                what, len(line), bound, line[:200])
    return text


def text_line_max(cmdline_max):
    """The bound of each kind of line of the text output (see the constants above)."""
    def bound(line):
        if line.startswith("Process "):
            return cmdline_max          # the command line: pystack does not cut it
        if line.startswith("Thread "):
            return HEADER_LINE_MAX
        if line.startswith("  File "):
            return FRAME_LINE_MAX
        if line.startswith("      "):
            return VAR_LINE_MAX
        if line.startswith("    "):
            return SOURCE_LINE_MAX
        return FRAME_LINE_MAX           # native frames, notes, the Python line
    return bound


# -- the hostile target -------------------------------------------------------

# The file name: an OSC that sets the terminal's title (ended by BEL), an SGR
# (red), and a byte that is not UTF-8 (Python 3 holds it as U+DCFF).
EVIL_NAME = b"evil\x1b]0;pwned\x07\x1b[31m\xff.py"


class Hostile:
    """tests/targets/hostile_names.py, run as EVIL_NAME; facts decoded."""

    def __init__(self, python):
        self.dir = tempfile.mkdtemp(prefix="pystack-hostile-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(os.fsencode(self.dir), EVIL_NAME)
        shutil.copy(os.path.join(harness.TARGETS, "hostile_names.py"), self.path)
        self.python = python
        self.py2 = python.version[0] == 2
        try:
            self.target = Target(python, os.fsdecode(self.path))
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        facts = json.loads(self.target.info)
        raw = {k: bytes.fromhex(v) for k, v in facts.items() if isinstance(v, str)}
        self.facts = facts
        self.raw = raw
        # What pystack should give for each: the whole name, or its documented cut.
        self.ctrl_name = self.value("ctrl_name", NAME_KEEP)
        self.long_name = self.value("long_name", NAME_KEEP)
        self.thread_name = self.value("thread_name", THREAD_KEEP)
        self.ctrl_qualname = self.value("ctrl_qualname", NAME_KEEP) if "ctrl_qualname" in raw else None
        self.long_qualname = self.value("long_qualname", NAME_KEEP) if "long_qualname" in raw else None
        self.file = os.fsdecode(self.path)
        self.reprs = {k: bytes.fromhex(v).decode("utf-8") for k, v in facts["reprs"].items()}
        # A str of 10,000 ESCs: the repr of its first REPR_CHARS characters, then "...";
        # that is longer than the repr buffer, so it is cut again (see pystack_repr).
        self.reprs = {k: pystack_repr(v + ("..." if k == "big" else ""))
                      for k, v in self.reprs.items()}
        self.cmdline_bytes = len(python.exe.encode()) + 1 + len(self.path)

    def value(self, key, keep):
        return pystack_str(self.raw[key], keep, self.py2)

    def check_raw_names(self):
        """The interpreter holds the hostile names the test means (so the test can fail)."""
        assert b"\x1b" in self.raw["ctrl_name"] and b"\x07" in self.raw["ctrl_name"]
        assert len(self.raw["long_name"]) > 10000
        assert len(self.raw["thread_name"].decode("utf-8")) == 10000
        assert self.long_name.endswith(ELLIPSIS) and self.thread_name.endswith(ELLIPSIS)
        assert os.fsencode(self.file) == self.path

    @property
    def pid(self):
        return self.target.pid

    # What the text output names a frame by: co_qualname on 3.11+, else co_name.
    @property
    def ctrl_text(self):
        return self.ctrl_qualname or self.ctrl_name

    @property
    def long_text(self):
        return self.long_qualname or self.long_name

    def finish(self):
        try:
            self.target.finish()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        self.target.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def check_text(h, out, what):
    text = assert_harmless(out, what, text_line_max(ESCAPE_GROWTH * h.cmdline_bytes + 32))
    lines = text.split("\n")
    assert lines[0].startswith("Process %d: " % h.pid), lines[0]
    assert lines[0].endswith(escape_text(h.file)), lines[0]
    # The escaped forms are there: ESC as the 4 characters \x1b, BEL as \x07.
    assert "\\x1b]0;pwned\\x07\\x1b[31m\\xff.py" in escape_text(h.file)
    assert "\\x1b" in escape_text(h.ctrl_text) and "\\x07" in escape_text(h.ctrl_text)
    header = [l for l in lines if l.startswith("Thread ") and '"' in l and "T\\x1b[31m" in l]
    assert len(header) == 1, [l[:100] for l in lines if l.startswith("Thread ")]
    assert ' "%s" (' % escape_text(h.thread_name) in header[0], header[0][:300]
    ctrl = [l for l in lines if l.endswith(", in " + escape_text(h.ctrl_text))]
    assert len(ctrl) == 1, "no frame line for %r" % escape_text(h.ctrl_text)
    assert ctrl[0].startswith('  File "%s", line ' % escape_text(h.file)), ctrl[0]
    # The 10,014-character name is cut: exactly its first 4092 bytes, escaped, then U+2026.
    long = [l for l in lines if l.endswith(", in " + escape_text(h.long_text))]
    assert len(long) == 1, "the long name is not shown cut as %r...%r" % (
        escape_text(h.long_text)[:40], escape_text(h.long_text)[-40:])
    return text


def check_json(h, out, what, locals_=False):
    """One JSON object per line, each parsed strictly; the hostile names come back."""
    assert_harmless(out, what, c1_ok=True)
    assert out.endswith(b"\n")
    snaps = [json.loads(l.decode("utf-8")) for l in out.split(b"\n")[:-1]]
    for snap in snaps:
        assert snap["pid"] == h.pid
        assert snap["cmdline"].endswith(" " + h.file), snap["cmdline"][-80:]
        threads = {t["name"]: t for t in snap["threads"]}
        assert h.thread_name in threads, sorted(n[:20] for n in threads)
        ctrl = [f for f in threads[h.thread_name]["frames"] if f["kind"] == "python"
                and f["file"] == h.file and f["function"] == h.ctrl_name]
        assert len(ctrl) == 1, [(f["function"], f["file"]) for f in threads[h.thread_name]["frames"]]
        assert ctrl[0]["qualname"] == h.ctrl_qualname
        longs = [f for t in snap["threads"] for f in t["frames"]
                 if f["kind"] == "python" and f["file"] == h.file and f["function"].startswith("long")]
        assert len(longs) == 1
        # Cut to the bound, and otherwise the real name: a prefix of it, then U+2026.
        assert longs[0]["function"] == h.long_name, (len(longs[0]["function"]), len(h.long_name))
        assert longs[0]["qualname"] == h.long_qualname
        real = h.raw["long_name"].decode("utf-8")
        assert real.startswith(longs[0]["function"][:-1])
        if locals_:
            assert ctrl[0]["locals"] == h.reprs, (ctrl[0]["locals"], h.reprs)
            assert ctrl[0]["arguments"] == []
    return snaps


def test_hostile_content(python):
    """dump, dump --locals, --json, --json --locals and collapsed, on every interpreter."""
    with Hostile(python) as h:
        h.check_raw_names()
        r = run_bytes("dump", h.pid)
        assert r.returncode == 0 and r.stderr == b"", (r.returncode, r.stderr)
        check_text(h, r.stdout, "dump")

        r = run_bytes("dump", "--locals", h.pid)
        assert r.returncode == 0 and r.stderr == b"", (r.returncode, r.stderr)
        text = check_text(h, r.stdout, "dump --locals")
        lines = text.split("\n")
        for name, value in sorted(h.reprs.items()):
            # The repr is Python's own (escaped by its rules), so ESC is \x1b in it.
            assert "      %s = %s" % (name, escape_text(value)) in lines, (name, value)
        assert "\\x00" in h.reprs["s"] and "\\udcff" in h.reprs["s"] and "\\u202e" in h.reprs["s"]

        r = run_bytes("dump", "--json", h.pid)
        assert r.returncode == 0 and r.stderr == b"", (r.returncode, r.stderr)
        assert len(check_json(h, r.stdout, "dump --json")) == 1

        r = run_bytes("dump", "--json", "--locals", h.pid)
        assert r.returncode == 0 and r.stderr == b"", (r.returncode, r.stderr)
        assert len(check_json(h, r.stdout, "dump --json --locals", locals_=True)) == 1

        r = run_bytes("dump", "--format=collapsed", h.pid)
        assert r.returncode == 0 and r.stderr == b"", (r.returncode, r.stderr)
        check_collapsed(h, r.stdout, "dump --format=collapsed", count=1)
        h.finish()


def check_collapsed(h, out, what, count):
    text = assert_harmless(out, what, lambda line: 2 * FRAME_LINE_MAX * 16)
    lines = text.split("\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        m = re.match(r"^(.*) (\d+)$", line)
        assert m, line[:200]
        for part in m.group(1).split(";"):
            assert len(part) <= FRAME_LINE_MAX, part[:200]
    # The ';' of the OSC in the names becomes ':' so the line still parses.
    ctrl = escape_text(h.ctrl_text).replace(";", ":")
    file = escape_text(h.file).replace(";", ":")
    assert "\\x1b]0:pwned" in file
    hits = [l for l in lines if ";%s (%s:" % (ctrl, file) in l]
    assert len(hits) == 1, ctrl
    assert hits[0].endswith(" %d" % count), hits[0][-50:]
    header = ";Thread %d %s;" % (task_of(h, hits[0]), escape_text(h.thread_name).replace(";", ":"))
    assert header in hits[0], hits[0][:200]
    long = ";%s (%s:" % (escape_text(h.long_text).replace(";", ":"), file)
    assert sum(long in l for l in lines) == 1


def task_of(h, line):
    m = re.search(r";Thread (\d+) ", line)
    assert m, line[:200]
    return int(m.group(1))


def watch_ok(r, pid, count):
    """A watch that ran to its end: status 0, and on stderr only its closing summary."""
    assert r.returncode == 0, (r.returncode, r.stderr)
    err = assert_harmless(r.stderr, "watch's stderr")
    assert err.count("\n") == 1 and err.startswith(
        "pystack: done: %d snapshots of process %d " % (count, pid)), err


def test_hostile_native_and_watch(recent_python):
    """dump --native, and watch (text, JSON, collapsed), on the newest interpreter."""
    with Hostile(recent_python) as h:
        r = run_bytes("dump", "--native", h.pid)
        assert r.returncode == 0 and r.stderr == b"", (r.returncode, r.stderr)
        text = check_text(h, r.stdout, "dump --native")
        assert "  Native " in text

        r = run_bytes("watch", "--count", "2", "--interval", "50ms", "--json", h.pid)
        watch_ok(r, h.pid, 2)
        snaps = check_json(h, r.stdout, "watch --json")
        assert len(snaps) == 2 and [s["snapshot"] for s in snaps] == [1, 2]

        r = run_bytes("watch", "--count", "2", "--interval", "50ms", h.pid)
        watch_ok(r, h.pid, 2)
        text = assert_harmless(r.stdout, "watch", text_line_max(
            ESCAPE_GROWTH * h.cmdline_bytes + 32))
        assert text.count(escape_text(h.thread_name)) == 2

        r = run_bytes("watch", "--count", "2", "--interval", "50ms", "--format=collapsed", h.pid)
        watch_ok(r, h.pid, 2)
        check_collapsed(h, r.stdout, "watch --format=collapsed", count=2)
        h.finish()


def test_nul_in_names(newest_python):
    """A NUL inside a name is a control character like any other: escaped, not an end.

    pystack keeps target strings as C strings, so "before\\0after" must not
    come out as "before" (which would let a name pass for another).
    """
    python = newest_python
    with Hostile(python) as h:
        name = h.value("nul_name", NAME_KEEP)
        thread = h.value("nul_thread", THREAD_KEEP)
        assert name == "before\x00after" and thread == "nul\x00thread"
        r = run_bytes("dump", "--json", h.pid)
        assert r.returncode == 0, (r.returncode, r.stderr)
        snap = json.loads(r.stdout)
        got = [(t["name"], f["function"], f["qualname"]) for t in snap["threads"]
               for f in t["frames"] if f["kind"] == "python" and f["file"] == h.file
               and f["function"].startswith("before")]
        assert got == [(thread, name, name if python.version >= (3, 11) else None)], got
        r = run_bytes("dump", h.pid)
        assert r.returncode == 0, (r.returncode, r.stderr)
        text = assert_harmless(r.stdout, "dump")
        assert ', in before\\x00after\n' in text, [l for l in text.split("\n") if "before" in l]
        assert ' "nul\\x00thread" (' in text, [l for l in text.split("\n") if "nul" in l]
        h.finish()


# -- 2. permissions -----------------------------------------------------------

def setpriv(uid=NOBODY, gid=NOGROUP):
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups"]


def state_of(pid):
    """The tracer, and each thread's state (running and sleeping count as one)."""
    live = {"R": "live", "S": "live", "D": "live", "I": "live"}
    return (proc_status(pid)["TracerPid"],
            {tid: live.get(s, s) for tid, s in task_states(pid).items()})


class Kit:
    """pystack and the targets copied where nobody can reach them (directories 755)."""

    def __init__(self):
        if os.geteuid() != 0:
            pytest.skip("switching to the user nobody (setpriv) needs root")
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is not installed")
        self.dir = tempfile.mkdtemp(prefix="pystack-hostile-kit-")
        os.chmod(self.dir, 0o755)
        self.pystack = os.path.join(self.dir, "pystack")
        shutil.copy2(harness.PYSTACK, self.pystack)
        os.chmod(self.pystack, 0o755)
        self.targets = os.path.join(self.dir, "targets")
        shutil.copytree(harness.TARGETS, self.targets,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.o"))
        for root, dirs, files in os.walk(self.targets):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)

    def can(self, *cmd):
        try:
            return subprocess.run(setpriv() + list(cmd), capture_output=True, timeout=30,
                                  cwd="/").returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def kit():
    k = Kit()
    yield k
    k.cleanup()


def one_error_line(r, status, *needles):
    detail = "exit %r\nstderr: %r\nstdout: %r" % (r.returncode, r.stderr, r.stdout[:300])
    assert r.returncode == status, detail
    assert r.stdout == b"", detail
    err = r.stderr.decode("utf-8")
    assert err.endswith("\n") and err.count("\n") == 1, detail
    assert err.startswith("pystack"), detail
    for needle in needles:
        if isinstance(needle, re.Pattern):
            assert needle.search(err), "%s not in %r" % (needle.pattern, err)
        else:
            assert needle.lower() in err.lower(), "%r not in %r" % (needle, err)
    return err


def word(s):
    return re.compile(r"(?<![\w.])%s(?![\w])" % re.escape(str(s)))


# What test_errors.py already runs as nobody against a root process: dump and
# dump --nonblocking.  These are the other ways in.
ROOT_TARGET_COMMANDS = [
    ("dump", "--native"),
    ("dump", "--subprocesses"),
    ("dump", "--json", "--locals"),
    ("watch", "--count", "2", "--interval", "50ms"),
    ("watch", "--count", "2", "--interval", "50ms", "--json", "--native"),
]


def test_root_target_as_nobody(kit, newest_python):
    with Target(newest_python, "threads.py", 2) as t:
        before = state_of(t.pid)
        for args in ROOT_TARGET_COMMANDS:
            r = run_bytes(*(args + (t.pid,)), user=NOBODY, binary=kit.pystack, timeout=30)
            # man/pystack.1, EXIT STATUS: 2, nothing could be shown (dump and watch alike).
            one_error_line(r, 2, "permission denied", word(t.pid), word("uid 0"),
                           word("uid %d" % NOBODY), "CAP_SYS_PTRACE",
                           re.compile(r"as that user|as root|owner", re.I))
            st = proc_status(t.pid)
            assert st["TracerPid"] == "0", (args, st["TracerPid"])
            assert state_of(t.pid) == before, args
        t.finish()


YAMA = "/proc/sys/kernel/yama/ptrace_scope"


def nobody_python(kit):
    """The newest interpreter nobody can run as it is, or a skip."""
    for p in reversed(pythons.discover()):
        if kit.can(p.exe, "-c", "import threading, ctypes"):
            return p
    pytest.skip("no interpreter found that uid %d can run (pyenv's live under /root)" % NOBODY)


def nobody_target(kit, python, script, *args):
    """A Target running as nobody, its oracle file and directory open to it."""
    wrapper = ('chmod 755 "${PYSTACK_ORACLE%%/*}" && : > "$PYSTACK_ORACLE" && '
               'chown %d:%d "$PYSTACK_ORACLE" && exec "$@"' % (NOBODY, NOGROUP))
    path = os.path.join(kit.targets, script)
    cmd = ["sh", "-c", wrapper, "sh"] + setpriv() + [python.exe, path] + [str(a) for a in args]
    return Target(python, path, command=cmd, env={"PYTHONPATH": kit.targets})


def read_scope():
    with open(YAMA) as f:
        return int(f.read().strip())


def write_scope(value):
    with open(YAMA, "w") as f:
        f.write("%d\n" % value)


def yama_scopes():
    """[None] without Yama; else the scopes to try: 0 and 1 if we may set them, else the current."""
    if not os.path.exists(YAMA):
        return None, [None]
    current = read_scope()
    try:
        write_scope(current)
    except OSError:
        return current, [current]
    return current, sorted({0, 1} | ({current} if current < 2 else set()))


def check_same_user(kit, python, script, expect_ok, scope):
    args = (2,) if script == "threads.py" else ()
    with nobody_target(kit, python, script, *args) as t:
        assert proc_status(t.pid)["Uid"].split() == [str(NOBODY)] * 4
        oracle = t.oracle() if expect_ok else None
        before = state_of(t.pid)
        r = run_bytes("dump", "--json", t.pid, user=NOBODY, binary=kit.pystack, timeout=30)
        assert state_of(t.pid) == before
        if expect_ok:
            assert r.returncode == 0 and r.stderr == b"", (scope, script, r.returncode, r.stderr)
            snap = json.loads(r.stdout)
            assert snap["pid"] == t.pid
            assert_same_stacks(oracle, snap)
            r = run_bytes("dump", t.pid, user=NOBODY, binary=kit.pystack, timeout=30)
            assert r.returncode == 0 and r.stderr == b"", (scope, script, r.returncode, r.stderr)
            names = [b"in sleeper", b"in locker"] if script == "threads.py" else \
                [b"in napper", b"in waiter"]
            assert all(n in r.stdout for n in names), r.stdout
        else:
            one_error_line(r, 2, "permission denied", word(t.pid), "ptrace_scope")
        t.finish()


def test_same_unprivileged_user_by_yama(kit):
    """pystack and the process both as nobody: what kernel.yama.ptrace_scope allows.

    Without Yama, or at 0, any process of the same user may be traced: the
    dump works (threads.py does nothing to allow it).  At 1 only ancestors
    may trace, so it fails with exit 2, unless the process named any tracer
    with prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY) (ptracer_any.py).  At 2
    or more only CAP_SYS_PTRACE (or nobody) may.  Where ptrace_scope is
    writable the test tries 0 and 1, restoring the setting afterwards.
    """
    python = nobody_python(kit)
    current, scopes = yama_scopes()
    try:
        for scope in scopes:
            if scope is not None and scope != read_scope():
                write_scope(scope)
            if scope is None or scope == 0:
                check_same_user(kit, python, "threads.py", True, scope)
            elif scope == 1:
                check_same_user(kit, python, "threads.py", False, scope)
                check_same_user(kit, python, "ptracer_any.py", True, scope)
            else:
                check_same_user(kit, python, "threads.py", False, scope)
                check_same_user(kit, python, "ptracer_any.py", False, scope)
    finally:
        if current is not None and read_scope() != current:
            write_scope(current)


# -- 3. never executes, never writes --------------------------------------------

def strace_env(tmp):
    env = dict(os.environ)
    # LeakSanitizer traces its own process at exit, which it cannot under strace.
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    else:
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    # An empty cache: pystack may write its inflated debug files there, and only there.
    env["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    return env


def strace(tmp, trace, *args):
    """Run pystack under strace -f; (pystack's CompletedProcess, the trace's lines)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    out = os.path.join(tmp, "trace-%d.txt" % time.monotonic_ns())
    cmd = ["strace", "-f", "-qq", "-e", "trace=" + trace, "-o", out, harness.PYSTACK] + \
        [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, timeout=120, env=strace_env(tmp),
                       stdin=subprocess.DEVNULL)
    with open(out, "rb") as f:
        lines = f.read().decode("utf-8", "backslashreplace").splitlines()
    if r.returncode != 0 and not lines:
        pytest.skip("strace does not work here: %r" % r.stderr[-300:])
    return r, lines


FORBIDDEN_PTRACE = re.compile(
    r"\bptrace\((PTRACE_POKE\w*|PTRACE_SETREGS|PTRACE_SETFPREGS|PTRACE_SETFPXREGS|"
    r"PTRACE_SETREGSET|PTRACE_SETSIGINFO|PTRACE_SETSIGMASK|PTRACE_SET_THREAD_AREA|"
    r"PTRACE_POKEUSR|PTRACE_SYSEMU\w*)\b")
CALL = re.compile(r"^(\d+) +(?:<\.\.\. )?(\w+)\(")


@pytest.mark.parametrize("command", [
    ("dump", "--native"),
    ("watch", "--count", "3", "--interval", "10ms"),
], ids=["dump-native", "watch"])
def test_never_executes_or_writes_memory(command, newest_python, tmp_path):
    with Target(newest_python, "threads.py", 2) as t:
        before = state_of(t.pid)
        r, lines = strace(str(tmp_path), "execve,execveat,process_vm_writev,ptrace",
                          *(command + (t.pid,)))
        assert r.returncode == 0, (r.returncode, r.stderr[-500:])
        assert b"in sleeper" in r.stdout
        calls = [(m.group(2), l) for l in lines for m in [CALL.match(l)] if m]
        execs = [l for name, l in calls if name == "execve"]
        assert len(execs) == 1, execs
        assert execs[0].split(None, 1)[1].startswith('execve("%s", ' % harness.PYSTACK), execs[0]
        assert not [l for name, l in calls if name == "execveat"]
        assert not [l for name, l in calls if name == "process_vm_writev"]
        assert not [l for l in lines if FORBIDDEN_PTRACE.search(l)]
        # It did trace (so the trace above was of the real thing): seized and let go.
        ptrace = [l for name, l in calls if name == "ptrace"]
        assert any("PTRACE_SEIZE, %d," % t.pid in l or "PTRACE_ATTACH, %d" % t.pid in l
                   for l in ptrace), ptrace[:5]
        assert any("PTRACE_DETACH, %d," % t.pid in l for l in ptrace), ptrace[-5:]
        assert state_of(t.pid) == before
        t.finish()


OPEN = re.compile(r'^(\d+) +(open|openat|openat2|creat)\((?:(?:AT_FDCWD|\d+)(?:<[^>]*>)?, )?'
                  r'"((?:[^"\\]|\\.)*)"(?:\.\.\.)?, (.*)$')
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")


@pytest.mark.parametrize("command", [
    ("dump", "--native", "--locals"),
    ("watch", "--count", "3", "--interval", "10ms", "--native"),
], ids=["dump", "watch"])
def test_opens_read_only(command, newest_python, tmp_path):
    """Every file of the process (/proc/PID/...) is opened O_RDONLY; nothing is opened
    to write but pystack's own cache of inflated debug files ($XDG_CACHE_HOME/pystack)."""
    with Target(newest_python, "threads.py", 2) as t:
        r, lines = strace(str(tmp_path), "open,openat,openat2,creat", *(command + (t.pid,)))
        assert r.returncode == 0, (r.returncode, r.stderr[-500:])
        cache = os.path.join(str(tmp_path), "cache", "pystack") + "/"
        opens = []
        for line in lines:
            if re.match(r"^\d+ +(open|openat|openat2|creat)\(", line):
                m = OPEN.match(line)
                assert m, "cannot parse: %r" % line
                opens.append((m.group(2), m.group(3), m.group(4)))
        proc = "/proc/%d/" % t.pid
        mine = [o for o in opens if o[1].startswith(proc)]
        # It read the process's files (maps, and its binaries through /proc/PID/root).
        assert any(p == proc + "maps" for _, p, _ in mine), [p for _, p, _ in mine]
        assert any(p.startswith(proc + "root/") for _, p, _ in mine), [p for _, p, _ in mine]
        for call, path, flags in opens:
            assert call != "creat", (call, path)
            writes = [f for f in WRITE_FLAGS if f in flags]
            if path.startswith(proc):
                assert flags.startswith("O_RDONLY") and not writes, (path, flags)
            elif writes:
                assert path.startswith(cache), "opened to write: %s (%s)" % (path, flags)
        for root, dirs, files in os.walk(os.path.join(str(tmp_path), "cache")):
            for f in files:
                assert stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode) == 0o600, f
        t.finish()
