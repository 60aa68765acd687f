"""pystack watch against real targets.

Snapshots land on the interval's absolute deadlines; a thread whose stack
stays put shows unchanged_s growing by the interval, a thread whose stack
moves shows changed and 0; Ctrl-C, SIGTERM and SIGHUP end a watch at any
moment (also in the middle of a read) with the target running and
untraced; a target that exits ends the watch with its snapshots intact;
folded stacks and the SVG flame graph hold every snapshot's stacks; a
library loaded while watched is seen by --native; on a terminal the view
is redrawn in place and the terminal given back as it was; with
--subprocesses, each descendant that starts or ends while watched is
announced in the stream, and the summary counts every one read.
"""
import datetime
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import xml.etree.ElementTree as ET

import pytest

import pythons
from harness import PYSTACK, Target, run_pystack


def watch(*args, timeout=60):
    return run_pystack("watch", *args, timeout=timeout)


def rest_of(p, timeout):
    """The rest of p's output once it ends, through the file objects a readline
    may already have read ahead into (communicate() would read past them)."""
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        out, err = p.stdout.read(), p.stderr.read()
        p.wait()
    finally:
        timer.cancel()
    return out, err


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def thread(snap, ident):
    return next(t for t in snap["threads"] if t["thread_id"] == ident)


def test_unchanged_grows_for_a_sleeper_and_resets_for_a_mover(python):
    with Target(python, "watched.py", busy=1) as t:
        facts = json.loads(t.info)
        r = watch("--json", "--interval", "150ms", "--count", "6", t.pid)
        assert r.returncode == 0, r.stderr
        snaps = json_lines(r.stdout)
        assert [s["snapshot"] for s in snaps] == [1, 2, 3, 4, 5, 6]
        start = time.monotonic()
        for s in snaps:
            elapsed = 0.150 * (s["snapshot"] - 1 + sum(x["skipped"] for x in snaps[:s["snapshot"]]))
            sleeper = thread(s, facts["sleeper"])
            assert not sleeper["changed"]
            assert abs(sleeper["unchanged_s"] - elapsed) < 0.06, (s["snapshot"], sleeper)
            mover = thread(s, facts["mover"])
            assert mover["changed"] == (s["snapshot"] > 1)
            assert mover["unchanged_s"] == 0
        assert time.monotonic() - start < 5
        assert re.search(r"unchanged throughout: threads? .*\b%d\b" % t.pid, r.stderr), r.stderr
        t.finish()


def test_text_marks_changed_and_stuck_threads(newest_python):
    with Target(newest_python, "watched.py", busy=1) as t:
        facts = json.loads(t.info)
        r = watch("--interval", "100ms", "--count", "4", "--stuck", "250ms", t.pid)
        assert r.returncode == 0, r.stderr
        blocks = re.split(r"^--- snapshot (\d+) at \S+ \S+ \S+ \(\+([0-9.]+)s.*\) ---$",
                          r.stdout, flags=re.M)
        assert [int(n) for n in blocks[1::3]] == [1, 2, 3, 4], r.stdout[:300]
        last = blocks[-1]
        mover = re.search(r"^Thread \d+ .*\[pthread 0x%x\]$" % facts["mover"], last, re.M).group(0)
        sleeper = re.search(r"^Thread \d+ .*\[pthread 0x%x\]$" % facts["sleeper"], last, re.M).group(0)
        assert "changed" in mover and "STUCK" not in mover, mover
        assert re.search(r"unchanged for 0\.[345]s, STUCK\)", sleeper), sleeper
        t.finish()


@pytest.mark.timing
def test_deadlines_are_absolute(newest_python):
    with Target(newest_python, "threads.py", 10) as t:
        r = watch("--json", "--interval", "50ms", "--duration", "2s", t.pid)
        assert r.returncode == 0, r.stderr
        snaps = json_lines(r.stdout)
        times = []
        for s in snaps:
            sec = time.mktime(time.strptime(s["time"][:19], "%Y-%m-%dT%H:%M:%S"))
            times.append(sec + float("0." + s["time"][20:26]))
        # Each snapshot is on its slot of the grid, late only by a wake-up, never drifting:
        # their offsets from the grid stay within a narrow band.
        slots = []
        slot = 0
        for s in snaps:
            slot += s["skipped"]
            slots.append(slot)
            slot += 1
        assert slots[-1] in (38, 39, 40), slots
        offsets = [when - slot * 0.050 for when, slot in zip(times, slots)]
        assert max(offsets) - min(offsets) < 0.040, [o - offsets[0] for o in offsets]
        t.finish()


@pytest.mark.timing
def test_maximum_rate_with_interval_zero(newest_python):
    with Target(newest_python, "threads.py", 10) as t:
        r = watch("--json", "--interval", "0", "--duration", "1s", t.pid)
        assert r.returncode == 0, r.stderr
        snaps = json_lines(r.stdout)
        # No waiting at all: hundreds of snapshots a second on any machine.
        assert len(snaps) > 100, len(snaps)
        assert all(len(s["threads"]) == 12 for s in snaps)    # and the oracle's stdin reader
        t.finish()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_end_the_watch_and_leave_the_target_running(newest_python, sig):
    with Target(newest_python, "threads.py", 10, busy=0) as t:
        # Interval 0: the signal most likely arrives while the target is stopped.
        # It is sent once the watch has begun (its first snapshot is out): a
        # signal before pystack's main() would kill it by the default action.
        for delay in (0.3, 0.05, 0.011, 0.0):
            p = subprocess.Popen([PYSTACK, "watch", "--json", "--interval", "0", str(t.pid)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            first = p.stdout.readline()
            time.sleep(delay)
            p.send_signal(sig)
            out, err = rest_of(p, 10)
            assert p.returncode == 0, err
            assert "stopped by %s" % signal.Signals(sig).name in err, err
            assert len(err.strip().splitlines()) == 1, err
            for snap in json_lines(first + out):
                assert len(snap["threads"]) == 12
            t.assert_left_alone()
        t.finish()


def test_target_exiting_mid_watch(newest_python):
    with Target(newest_python, "watched.py", 1.0, busy=1) as t:
        r = watch("--json", "--interval", "100ms", t.pid)
        assert r.returncode == 0, r.stderr
        snaps = json_lines(r.stdout)
        assert 5 <= len(snaps) <= 12, len(snaps)
        assert all(s["partial"] is False for s in snaps)
        assert "process %d exited" % t.pid in r.stderr, r.stderr
        assert t.proc.wait(5) == 0


SEIZE_AND_HOLD = """
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:   # PTRACE_SEIZE
    sys.exit("seize failed: errno %d" % ctypes.get_errno())
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_target_becoming_unreadable(newest_python):
    with Target(newest_python, "watched.py", busy=1) as t:
        p = subprocess.Popen([PYSTACK, "watch", "--json", "--interval", "50ms", str(t.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        # Another debugger takes the process: the watch ends, saying so.
        holder = subprocess.Popen([sys.executable, "-c", SEIZE_AND_HOLD, str(t.pid), "3"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline() == "held\n"
            out, err = p.communicate(timeout=10)
        finally:
            holder.wait(10)
        assert p.returncode == 1, err
        lines = err.strip().splitlines()
        assert "already traced by process %d" % holder.pid in lines[0], err
        assert lines[1].startswith("pystack: gave up: ") and len(lines) == 2, err
        assert len(json_lines(out)) >= 3
        t.finish()


def test_target_gone_before_the_first_snapshot():
    r = watch("--count", "2", "999999999")
    assert r.returncode == 2
    assert "no process with PID" in r.stderr


def test_watch_usage_errors():
    for args, word in ((["--interval", "1x", "1"], "invalid duration"),
                       (["--count", "0", "1"], "invalid count"),
                       (["--duration", "0", "1"], "more than 0"),
                       (["1", "2"], "one process"),
                       (["-5"], "invalid PID"),
                       ([], "no PID")):
        r = watch(*args)
        assert r.returncode == 64, (args, r.stderr)
        assert word in r.stderr, (args, r.stderr)
        assert r.stderr.startswith("pystack watch: "), r.stderr


def folded(text):
    stacks = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), line
        assert stack not in stacks, "stack listed twice: %s" % stack
        stacks[stack] = int(count)
    return stacks


def test_collapsed_and_flamegraph(recent_python, tmp_path):
    svg = tmp_path / "watch.svg"
    with Target(recent_python, "threads.py", 5) as t:
        oracle = t.oracle()
        r = watch("--format=collapsed", "--interval", "20ms", "--count", "25",
                  "--flamegraph", svg, t.pid)
        assert r.returncode == 0, r.stderr
        t.finish()
    stacks = folded(r.stdout)
    assert sum(stacks.values()) == 25 * len(oracle)
    prog = os.path.basename(recent_python.exe)
    threads = {}
    for stack, count in stacks.items():
        parts = stack.split(";")
        assert parts[0] == "%s (%d)" % (prog, t.pid), parts[0]
        assert re.match(r"Thread \d+", parts[1]), parts[1]
        threads.setdefault(parts[1], []).append((parts[2:], count))
    assert len(threads) == len(oracle)
    # Every thread is blocked: one stack each, the interpreter's own, outermost first.
    expected = sorted(
        [["(%s:%d)" % (f, line) for f, line, _ in reversed(frames)] for frames in oracle.values()])
    seen = []
    for variants in threads.values():
        assert len(variants) == 1 and variants[0][1] == 25, variants
        seen.append([re.search(r"\(.*:\d+\)$", frame).group(0) for frame in variants[0][0]])
    assert sorted(seen) == expected

    # One box per distinct prefix (and one for the root), each titled with its samples.
    root = ET.parse(svg).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    boxes = [g for g in root.iter("{http://www.w3.org/2000/svg}g")
             if "frame" in g.get("class", "").split()]
    prefixes = {}
    for stack, count in stacks.items():
        parts = stack.split(";")
        for i in range(1, len(parts) + 1):
            key = ";".join(parts[:i])
            prefixes[key] = prefixes.get(key, 0) + count
    assert len(boxes) == len(prefixes) + 1
    titles = [g.find("s:title", ns).text for g in boxes]
    total = 25 * len(oracle)
    assert any(re.match(r"all \(%d samples, 100(\.0+)?%%\)" % total, x) for x in titles), titles[:3]
    for g in boxes:
        assert g.find("s:rect", ns) is not None and g.find("s:title", ns) is not None
    assert root.find(".//s:script", ns) is not None


def test_flamegraph_path_that_cannot_be_written(newest_python):
    with Target(newest_python, "threads.py", 1) as t:
        r = watch("--count", "1", "--flamegraph", "/nonexistent/dir/x.svg", t.pid)
        assert r.returncode == 2
        assert "cannot write the flame graph /nonexistent/dir/x.svg" in r.stderr
        t.finish()


def test_a_library_loaded_while_watched(newest_python, tmp_path):
    trigger = tmp_path / "load"
    with Target(newest_python, "watched.py", 0, trigger, busy=1) as t:
        facts = json.loads(t.info)
        p = subprocess.Popen([PYSTACK, "watch", "--native", "--json", "--interval", "100ms",
                              "--count", "12", str(t.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.4)
        trigger.write_text("")
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        snaps = json_lines(out)

        def modules(snap):
            frames = thread(snap, facts["main"])["frames"]
            return {os.path.basename(f["module"]) for f in frames if f["kind"] == "native"}

        assert not any("libffi" in m for m in modules(snaps[0])), modules(snaps[0])
        last = thread(snaps[-1], facts["main"])["frames"]
        # Found in the maps read after the load: named by module, and by symbol where it has one.
        ffi = [f for f in last if f["kind"] == "native" and "libffi" in f["module"]]
        assert ffi and any(f["function"] for f in ffi), [
            (f["function"], f["module"]) for f in last if f["kind"] == "native"]
        assert any(f["kind"] == "python" and f["function"] == "compare" for f in last)
        natives = [f["function"] or "" for f in last if f["kind"] == "native"]
        assert any(fn.startswith("qsort") or "msort" in fn for fn in natives), natives
        t.finish()


class Terminal:
    """pystack watch on a pseudo-terminal, as its controlling terminal."""

    def __init__(self, *args, rows=30, cols=120):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.before = termios.tcgetattr(slave)
        self.slave = slave

        def controlling():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        env = dict(os.environ, TERM="xterm")
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen([PYSTACK, "watch"] + [str(a) for a in args], stdin=slave,
                                     stdout=slave, stderr=slave, start_new_session=True,
                                     preexec_fn=controlling, env=env)
        self.out = b""

    def read_until(self, pattern, timeout=10, start=0):
        deadline = time.time() + timeout
        while not re.search(pattern, self.out[start:]):
            left = deadline - time.time()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError("no %r in %r" % (pattern, self.out[-2000:]))
            try:
                self.out += os.read(self.master, 65536)
            except OSError:
                raise AssertionError("pty closed before %r: %r" % (pattern, self.out[-2000:]))
        return self.out

    def press(self, key):
        os.write(self.master, key)

    def finish(self, timeout=10):
        """The exit status, reading meanwhile: the last view, in full, may not fit the pty's buffer."""
        deadline = time.time() + timeout
        try:
            while self.proc.poll() is None and time.time() < deadline:
                if select.select([self.master], [], [], 0.1)[0]:
                    self.out += os.read(self.master, 65536)
            while select.select([self.master], [], [], 0.2)[0]:
                self.out += os.read(self.master, 65536)
        except OSError:
            pass
        return self.proc.wait(max(deadline - time.time(), 0.1))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def lflags(fd):
    return termios.tcgetattr(fd)[3] & (termios.ECHO | termios.ICANON)


@pytest.mark.parametrize("key", [b"q", b"\x03"])
def test_live_view_on_a_terminal(newest_python, key):
    with Target(newest_python, "watched.py", busy=1) as t:
        term = Terminal("--interval", "100ms", t.pid)
        try:
            term.read_until(rb"snapshot 3,")
            out = term.out
            assert out.startswith(b"\x1b[?1049h")       # the alternate screen
            assert out.count(b"\x1b[H") >= 3               # redrawn in place
            assert b"\x1b[?1049l" not in out
            assert lflags(term.slave) == 0                 # keys read one by one, unechoed
            term.press(key)
            assert term.finish() == 0
            # The terminal is given back, and the last view stays on it, in full.
            assert lflags(term.slave) == lflags(term.slave) | (termios.ECHO | termios.ICANON)
            assert termios.tcgetattr(term.slave)[3] == term.before[3]
            tail = term.out.split(b"\x1b[?1049l", 1)[1]
            assert b"Process %d: " % t.pid in tail
            assert b"time.sleep(100000)" in tail            # source lines again
            word = b"stopped by SIGINT" if key == b"\x03" else b"stopped:"
            assert word in tail, tail[-300:]
        finally:
            term.close()
        t.finish()


def test_live_view_fits_a_small_terminal(newest_python):
    with Target(newest_python, "threads.py", 6) as t:
        term = Terminal("--interval", "100ms", "--count", "3", t.pid, rows=12, cols=60)
        try:
            term.read_until(rb"snapshot 2,")
            assert term.finish() == 0
            frame = term.out.split(b"\x1b[H")[2]
            assert frame.count(b"\n") <= 11, frame
            assert re.search(rb"\.\.\. \d+ (outer )?frame|do not fit", frame), frame
        finally:
            term.close()
        t.finish()


def screen_rows(term, n=2):
    """The rows of the n-th screen drawn, without their escape sequences."""
    frame = term.out.split(b"\x1b[H")[n].split(b"\x1b[J")[0].decode("utf-8", "replace")
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", row).rstrip("\r") for row in frame.split("\r\n")]


def live_screen(t, rows, cols):
    """The second screen of a three-snapshot live view of target t in a rows x cols terminal."""
    term = Terminal("--interval", "100ms", "--count", "3", t.pid, rows=rows, cols=cols)
    try:
        term.read_until(rb"snapshot 2,")
        assert term.finish() == 0
        return screen_rows(term)
    finally:
        term.close()


def thread_blocks(rows):
    """Each thread's rows on a screen, by its header."""
    blocks, current = {}, None
    for row in rows:
        if row.startswith("Thread "):
            current = blocks.setdefault(row, [])
        elif current is not None and row:
            current.append(row)
    return blocks


def test_live_view_keeps_the_programs_frames_when_it_cuts(newest_python):
    """Cut to fit, every thread keeps the frame it is in and, before the
    standard library's, the program's own frames; and the screen is used."""
    with Target(newest_python, "served.py", 4) as t:
        rows = live_screen(t, rows=45, cols=110)
        t.finish()
    assert 38 <= len(rows) <= 45, rows
    servers = {h: b for h, b in thread_blocks(rows).items() if '"server-' in h}
    assert len(servers) == 4, rows
    for header, block in servers.items():
        frames = [r for r in block if r.lstrip().startswith("File ")]
        assert frames and re.search(r"in (Condition\.)?wait$", frames[-1]), block  # where it is
        assert any("in handle" in r for r in frames), block      # why it is there
        assert any(re.match(r"  \.\.\. \d+ (outer )?frames?$", r) for r in block), block


def test_live_view_says_what_does_not_fit(newest_python):
    """Threads that do not fit even one frame each are counted on the last row."""
    with Target(newest_python, "served.py", 14) as t:
        total = len(t.dump_json()["threads"])
        rows = live_screen(t, rows=30, cols=110)
        t.finish()
    assert len(rows) == 30, rows
    m = re.match(r"\.\.\. (\d+) more lines? \((\d+) threads?\) do not fit", rows[-1])
    assert m, rows[-1]
    shown = sum(1 for r in rows if r.startswith("Thread "))
    assert shown + int(m.group(2)) == total, (shown, m.group(2), total)


def test_ctrl_z_gives_the_terminal_back(newest_python):
    with Target(newest_python, "watched.py", busy=1) as t:
        term = Terminal("--interval", "100ms", t.pid)
        try:
            term.read_until(rb"snapshot 2,")
            term.press(b"\x1a")
            term.read_until(rb"\x1b\[\?1049l")
            deadline = time.time() + 5
            while open("/proc/%d/stat" % term.proc.pid).read().rpartition(")")[2].split()[0] != "T":
                assert time.time() < deadline, "pystack did not stop on Ctrl-Z"
                time.sleep(0.02)
            assert termios.tcgetattr(term.slave)[3] == term.before[3]
            t.assert_left_alone()
            mark = len(term.out)
            os.kill(term.proc.pid, signal.SIGCONT)
            term.read_until(rb"\x1b\[\?1049h.*snapshot \d+,", start=mark)
            term.press(b"q")
            assert term.finish() == 0
        finally:
            term.close()
        t.finish()


def test_subprocesses_are_watched_too(newest_python):
    with Target(newest_python, "family.py") as t:
        facts = json.loads(t.info)
        r = watch("--subprocesses", "--json", "--interval", "100ms", "--count", "3", t.pid)
        assert r.returncode == 0, r.stderr
        snaps = json_lines(r.stdout)
        pythons = [facts["pid"], facts["child"], facts["grandchild"]]
        # One object per process per snapshot, the process named first; `sleep` passed over.
        assert [(s["snapshot"], s["pid"]) for s in snaps] == [
            (n, pid) for n in (1, 2, 3) for pid in pythons]
        for s in snaps:
            main = next(th for th in s["threads"] if th["main"])
            assert main["unchanged_s"] >= 0 and main["changed"] is False
        assert "of process %d and 2 subprocesses" % t.pid in r.stderr, r.stderr
        t.finish()


def test_subprocesses_that_come_and_go_while_watched(newest_python):
    with Target(newest_python, "family.py", "churn", busy=1) as t:
        facts = json.loads(t.info)
        r = watch("--subprocesses", "--json", "--interval", "50ms", "--duration", "2s", t.pid)
        assert r.returncode == 0, r.stderr
        snaps = json_lines(r.stdout)
        pids = {s["pid"] for s in snaps}
        # The root and its stable child in every snapshot; short-lived ones found on the way.
        for n in range(1, max(s["snapshot"] for s in snaps) + 1):
            tick = {s["pid"] for s in snaps if s["snapshot"] == n}
            assert {t.pid, facts["stable"]} <= tick, (n, tick)
        assert len(pids) >= 2
        assert not [line for line in r.stderr.splitlines() if not line.startswith("pystack: done:")]
        t.finish()


def newest_and_oldest():
    found = [p for p in pythons.discover() if not p.free_threaded]
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no Python interpreter found"))]
    return [pytest.param(p, id=p.label) for p in {id(p): p for p in (found[-1], found[0])}.values()]


def worker_log(t):
    """What family.py replace did: {pid: time} of its workers' READY, and of their killing."""
    ready, killing = {}, {}
    with open(os.path.join(t.tmp.name, "workers.log")) as f:
        for line in f:
            when, what, pid = line.split()
            (ready if what == "ready" else killing)[int(pid)] = float(when)
    return ready, killing


def epoch(iso):
    when = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def check_family_events(ticks, root, ready, killing):
    """ticks: per snapshot, in order, (pids read, [(event, pid, ppid, cmdline)]).

    The events of each tick are exactly the difference from the tick
    before, and agree with what the target says it did.  Returns the PIDs
    announced started, and ended.
    """
    started, ended = [], []
    for n, (pids, events) in enumerate(ticks):
        assert pids[0] == root, (n, pids)
        before = set(ticks[n - 1][0]) if n else set(pids)
        now = set(pids)
        came = [pid for event, pid, _, _ in events if event == "started"]
        went = [pid for event, pid, _, _ in events if event == "ended"]
        assert len(came) + len(went) == len(events), events
        assert sorted(came) == sorted(now - before), (n + 1, events, before, now)
        assert sorted(went) == sorted(before - now), (n + 1, events, before, now)
        for event, pid, ppid, cmdline in events:
            assert cmdline.endswith("family.py leaf"), cmdline
            assert ppid == (root if event == "started" else None)
            assert pid in (ready if event == "started" else killing), (event, pid)
        started += came
        ended += went
    assert len(set(started)) == len(started) and len(set(ended)) == len(ended)
    return started, ended


def check_family_summary(stderr, root, ticks, started, ended):
    seen = {pid for pids, _ in ticks for pid in pids} - {root}
    at_end = len(ticks[-1][0]) - 1
    assert len(seen) == len(ticks[0][0]) - 1 + len(started) == at_end + len(ended)
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pystack: done: "), stderr
    assert " of process %d and %d subprocesses over " % (root, len(seen)) in stderr, stderr
    # A busy machine may make a tick overrun its interval; the summary then says how many
    # were skipped, after the subprocess counts.
    assert re.search(r"; subprocesses: %d started, %d ended, %d at the end(; \d+ skipped: reads overran)?\)"
                     % (len(started), len(ended), at_end), stderr), stderr


@pytest.mark.parametrize("py", newest_and_oldest())
def test_a_parent_reaps_a_child_killed_while_held(py):
    """A child that its parent kills while pystack holds it is the parent's to
    reap at once: a tracee's death goes to its tracer first, and the parent's
    wait() returns only once pystack has collected it.  family.py replace kills
    a worker and waits for it every 0.6 s; watched with --interval 0, a kill
    lands in a hold now and then, and the worker's replacement must not wait
    for the watch to end."""
    with Target(py, "family.py", "replace", "workers.log") as t:
        r = watch("--subprocesses", "--json", "--interval", "0", "--duration", "4s", t.pid)
        ended = time.time()
        ready, killing = worker_log(t)
        t.finish()
    assert r.returncode == 0, r.stderr
    # From each kill to the next worker's READY (or, for the last, to the watch's end).
    waits = [min([when for when in ready.values() if when > killed] + [ended]) - killed
             for killed in killing.values()]
    assert len(waits) >= 2, (ready, killing)
    # The kill, the reap and a new worker's start take about 0.1-0.5 s here; 1.5 s is a stall.
    assert max(waits) < 1.5, sorted(waits)


@pytest.mark.parametrize("py", newest_and_oldest())
def test_subprocesses_replaced_while_watched_are_announced(py, tmp_path):
    svg = str(tmp_path / "fg.svg")
    with Target(py, "family.py", "replace", "workers.log") as t:
        r = watch("--subprocesses", "--json", "--interval", "100ms", "--duration", "4s",
                  "--flamegraph", svg, t.pid)
        ready, killing = worker_log(t)
        t.finish()
    assert r.returncode == 0, r.stderr
    snaps = json_lines(r.stdout)
    count = snaps[-1]["snapshot"]
    named = [s for s in snaps if s["pid"] == t.pid]
    assert [s["snapshot"] for s in named] == list(range(1, count + 1))
    ticks = [([s["pid"] for s in snaps if s["snapshot"] == n],
              [(e["event"], e["pid"], e.get("ppid"), e["cmdline"]) for e in named[n - 1].get("events", [])])
             for n in range(1, count + 1)]
    assert not ticks[0][1]
    started, ended = check_family_events(ticks, t.pid, ready, killing)
    assert started and ended, ticks

    reads = {}
    for s in snaps:
        reads.setdefault(s["pid"], []).append(epoch(s["time"]))
    assert set(reads) - {t.pid} <= set(ready)
    for pid in ended:
        assert reads[pid][-1] < killing[pid] + 0.05     # read while alive, and not after
    # A worker that lived through a look at the tree (one a second) was found, and its end seen.
    first, last = reads[t.pid][0], reads[t.pid][-1]
    for pid, born in ready.items():
        died = killing.get(pid, float("inf"))
        if born >= first and min(died, last) - born >= 1.3:
            assert pid in reads, (pid, born, died, first, last)
        if pid in reads and died < last - 0.3:
            assert pid in ended, (pid, died, last)
    check_family_summary(r.stderr, t.pid, ticks, started, ended)
    # The flame graph is of them all, and says so.
    text = open(svg).read()
    assert "pystack watch %d and %d subprocesses: %d snapshots" % (
        t.pid, len(reads) - 1, count) in text
    for pid in reads:
        assert "(%d)" % pid in text, pid


EVENT = re.compile(r"^process (\d+) \((.*)\) (?:(started), a child of (\d+)|(ended))$")


def test_subprocesses_replaced_while_watched_in_text(newest_python):
    with Target(newest_python, "family.py", "replace", "workers.log") as t:
        r = watch("--subprocesses", "--interval", "100ms", "--duration", "3s", t.pid)
        ready, killing = worker_log(t)
        t.finish()
    assert r.returncode == 0, r.stderr
    sections = re.split(r"^--- snapshot \d+ at .* ---\n", r.stdout, flags=re.M)
    assert sections[0] == ""
    ticks = []
    for text in sections[1:]:
        lines = text.splitlines()
        events = []
        while lines and lines[0].startswith("process "):
            m = EVENT.match(lines.pop(0))
            assert m, text[:500]
            events.append((m.group(3) or m.group(5), int(m.group(1)),
                           int(m.group(4)) if m.group(4) else None, m.group(2)))
        assert not events or lines[0] == "", text[:500]
        ticks.append(([int(pid) for pid in re.findall(r"^Process (\d+): ", text, re.M)], events))
    assert not ticks[0][1]
    started, ended = check_family_events(ticks, t.pid, ready, killing)
    assert started and ended, ticks
    check_family_summary(r.stderr, t.pid, ticks, started, ended)


def test_subprocesses_replaced_while_watched_on_a_terminal(newest_python):
    with Target(newest_python, "family.py", "replace", "workers.log") as t:
        term = Terminal("--subprocesses", "--interval", "100ms", t.pid)
        try:
            # The status line counts those that came and went; the view says which.
            term.read_until(rb"and \d subprocess(es)? \([1-9]\d* started, [1-9]\d* ended\), every",
                            timeout=15)
            term.press(b"q")
            assert term.finish() == 0
            assert re.search(rb"process \d+ \([^\n]*family\.py leaf\) ended", term.out)
            tail = term.out.split(b"\x1b[?1049l", 1)[1]
            assert re.search(rb"subprocesses: [1-9]\d* started, [1-9]\d* ended, \d+ at the end",
                             tail), tail[-400:]
        finally:
            term.close()
        t.finish()


@pytest.mark.parametrize("py", newest_and_oldest())
def test_subprocess_that_runs_exec_ends_and_starts_again(py):
    with Target(py, "family.py", "reborn") as t:
        child = json.loads(t.info)["child"]
        p = subprocess.Popen([PYSTACK, "watch", "--subprocesses", "--json", "--interval", "100ms",
                              "--duration", "4s", str(t.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline()     # the watch has begun: now the child runs exec
        os.kill(child, signal.SIGUSR2)
        out, err = rest_of(p, 60)
        t.finish()
    assert p.returncode == 0, err
    snaps = json_lines(first + out)
    events = [(s["snapshot"], e["event"], e["pid"], e["cmdline"].rsplit(" ", 1)[1])
              for s in snaps if s["pid"] == t.pid for e in s.get("events", [])]
    assert [e[1:] for e in events] == [("ended", child, "execs"), ("started", child, "leaf")], events
    # Read as the first program up to its end, and as the second from its start.
    reads = [(s["snapshot"], s["cmdline"].rsplit(" ", 1)[1]) for s in snaps if s["pid"] == child]
    assert [n for n, role in reads if role == "execs"] == list(range(1, events[0][0]))
    assert [n for n, role in reads if role == "leaf"] == list(range(events[1][0], snaps[-1]["snapshot"] + 1))
    assert " of process %d and 2 subprocesses over " % t.pid in err, err
    assert "; subprocesses: 1 started, 1 ended, 1 at the end)" in err, err
