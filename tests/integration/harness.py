"""Running targets and pystack, and asking the interpreter what it sees.

A Target is a real Python process running one of tests/targets/*.py.  It
prints READY when every thread is in place; oracle() then has the
interpreter dump its own stacks (faulthandler, see tests/targets/oracle.py),
and pystack() reads the same process from outside.  finish() checks the
process is still alive and untraced, tells it to quit, and expects status 0.
"""
import codecs
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(ROOT, "tests", "targets")
PYSTACK = os.environ.get("PYSTACK") or os.path.join(ROOT, "build", "pystack")
# The unit-test binary, whose hidden modes read and stop live processes.
UNIT = os.environ.get("PYSTACK_UNIT") or os.path.join(ROOT, "build", "unit-tests")


def run_pystack(*args, timeout=60, user=None, env=None):
    """Run pystack with args; returns the CompletedProcess (text, not checked)."""
    cmd = [PYSTACK] + [str(a) for a in args]
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                          encoding="utf-8", errors="surrogateescape")


def proc_status(pid):
    """The fields of /proc/PID/status as a dict of strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def task_states(pid):
    """The state letter of every thread of pid."""
    states = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            # Bytes: from 3.14 a thread's OS name is its Python name, cut at 15 bytes,
            # which may be in the middle of a UTF-8 sequence.
            with open("/proc/%d/task/%s/stat" % (pid, tid), "rb") as f:
                states[int(tid)] = f.read().rpartition(b")")[2].split()[0].decode()
        except OSError:
            pass
    return states


class Target:
    """A target process: tests/targets/NAME (or a path) run by python."""

    def __init__(self, python, script, *args, env=None, cwd=None, busy=0, argv0=None,
                 command=None, ready_timeout=60):
        self.tmp = tempfile.TemporaryDirectory(prefix="pystack-test-")
        self.oracle_path = os.path.join(self.tmp.name, "oracle.txt")
        e = dict(os.environ)
        e.update(env or {})
        e["PYSTACK_ORACLE"] = self.oracle_path
        e["PYTHONPATH"] = TARGETS + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
        e.pop("PYTHONHOME", None)
        path = script if os.path.isabs(script) else os.path.join(TARGETS, script)
        self.cmd = command or [python.exe if python else "python3", path] + [str(a) for a in args]
        self.busy = busy
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=e, cwd=cwd or self.tmp.name)
        self.pid = self.proc.pid
        self.info = self._wait_ready(ready_timeout)
        self._settle()

    def _wait_ready(self, timeout):
        # A target that hangs before READY is killed at the deadline, which
        # ends the blocking read below.
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        line = b""
        try:
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    break
                if line.startswith(b"READY"):
                    return line[5:].decode("utf-8", "surrogateescape").strip()
        finally:
            timer.cancel()
        err = self.proc.stderr.read1(65536) if self.proc.poll() is not None else b""
        self.kill()
        raise AssertionError("target %s never became ready: %r %r" % (self.cmd, line, err))

    def _settle(self, timeout=10):
        """Wait until every thread but the busy ones is asleep, twice in a row."""
        deadline = time.time() + timeout
        calm = 0
        while time.time() < deadline and calm < 2:
            states = task_states(self.pid)
            running = sum(1 for s in states.values() if s == "R")
            calm = calm + 1 if running <= self.busy else 0
            time.sleep(0.02)

    def oracle(self, timeout=30):
        """What the interpreter prints of its threads: {ident: [(file, line, name)]}."""
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.time() + timeout
        last = -1
        while time.time() < deadline:
            time.sleep(0.05)
            size = os.path.getsize(self.oracle_path) if os.path.exists(self.oracle_path) else 0
            if size and size == last:
                with open(self.oracle_path, "rb") as f:
                    text = f.read().decode("ascii", "replace")
                if text.endswith("\n"):
                    return parse_faulthandler(text)
            last = size
        raise AssertionError("the interpreter wrote no stack dump")

    def pystack(self, *args, **kw):
        return run_pystack("dump", *args, self.pid, **kw)

    def dump_json(self, *args, **kw):
        """pystack dump --json: the parsed object (asserting it succeeded)."""
        r = self.pystack("--json", *args, **kw)
        if r.returncode != 0:
            errors = [(t["tid"], t["error"]) for t in json.loads(r.stdout)["threads"]
                      if "error" in t] if r.stdout else []
            raise AssertionError("pystack exit %d: %s %s" % (r.returncode, r.stderr.strip(), errors))
        lines = r.stdout.splitlines()
        assert len(lines) == 1, r.stdout
        return json.loads(lines[0])

    def assert_left_alone(self, state_before="S"):
        """Untraced, in the state it had, and still running (it answers 'quit').

        A thread released from a read goes back into the call it was blocked
        in; on a loaded machine it may wait a while for a CPU to do so (R).
        """
        deadline = time.time() + 2
        st = proc_status(self.pid)
        while st["State"][0] != state_before and st["State"][0] == "R" and time.time() < deadline:
            time.sleep(0.01)
            st = proc_status(self.pid)
        assert st["TracerPid"] == "0", st["TracerPid"]
        assert st["State"][0] == state_before, (st["State"], task_states(self.pid))
        for tid, s in task_states(self.pid).items():
            assert s not in ("t",), "thread %d left in tracing stop" % tid

    def finish(self, timeout=20):
        """The target must still run: it quits on request with status 0."""
        # A process caught running (just continued, say) settles into a sleep.
        state = proc_status(self.pid)["State"][0]
        self.assert_left_alone("S" if state == "R" else state)
        self.proc.stdin.write(b"quit\n")
        self.proc.stdin.flush()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("target did not quit: left stopped or hung?")
        assert code == 0, (code, self.proc.stderr.read())
        self.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close()

    def close(self):
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        self.tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


# From 3.14 faulthandler adds the OS thread's name: "Thread 0x... [worker-1] (most recent ...".
_THREAD = re.compile(r"^(?:Current thread|Thread) (0x[0-9a-f]+)(?: \[.*\])? \(most recent call first\):$")
_FRAME = re.compile(r'^  File "(.*)", line (\d+|\?\?\?) in (.*)$')


def _unescape(s):
    """faulthandler writes non-ASCII as \\xNN, \\uNNNN, \\UNNNNNNNN."""
    return codecs.decode(s, "unicode_escape") if "\\" in s else s


# faulthandler prints at most this many threads, and frames per thread.
FAULTHANDLER_MAX = 100


def parse_faulthandler(text):
    """{thread ident: [(file, line or 0, name), ...] most recent first}.

    faulthandler prints at most 100 frames of a thread (with a line "..."
    after them before 3.13) and at most 100 threads (then a line "...").
    A stack it cut ends in "..."; a thread list it cut has the key "...".
    """
    threads = {}
    current = None
    for line in text.splitlines():
        m = _THREAD.match(line)
        if m:
            current = threads.setdefault(int(m.group(1), 16), [])
            continue
        if line == "...":
            threads["..."] = True
            current = None
            continue
        if current is None:
            continue
        m = _FRAME.match(line)
        if m:
            lineno = 0 if m.group(2) == "???" else int(m.group(2))
            current.append((_unescape(m.group(1)), lineno, _unescape(m.group(3))))
        elif line.strip() == "...":
            current.append("...")
    for frames in threads.values():
        if frames is not True and len(frames) == FAULTHANDLER_MAX:
            frames.append("...")
    return threads


def pystack_stacks(snapshot):
    """{thread_id: [(file, line, function), ...] innermost first} from --json."""
    return {t["thread_id"]: [(f["file"], f["line"] or 0, f["function"]) for f in t["frames"]
                             if f["kind"] == "python"]
            for t in snapshot["threads"]}


def assert_same_stacks(oracle, snapshot, ignore=()):
    """pystack saw the same threads, frames and lines as the interpreter.

    Threads named in ignore (idents) are not compared.  Where faulthandler
    cut a stack or the thread list, only what it printed is compared.
    """
    ours = {k: v for k, v in pystack_stacks(snapshot).items() if k not in ignore}
    theirs = {k: v for k, v in oracle.items() if k not in ignore and k != "..."}
    if "..." in oracle:
        missing = set(theirs) - set(ours)
        assert not missing, "threads pystack did not see: %s" % sorted(map(hex, missing))
        assert len(ours) > len(theirs)
    else:
        assert set(ours) == set(theirs), (
            "threads differ: only pystack %s, only Python %s"
            % (sorted(map(hex, set(ours) - set(theirs))), sorted(map(hex, set(theirs) - set(ours)))))
    for ident, frames in theirs.items():
        mine = ours[ident]
        if frames and frames[-1] == "...":
            frames = frames[:-1]
            assert len(mine) >= len(frames), (hex(ident), len(mine))
            mine = mine[:len(frames)]
        if mine != frames:
            i = next((k for k, (a, b) in enumerate(zip(mine, frames)) if a != b),
                     min(len(mine), len(frames)))
            raise AssertionError("thread 0x%x: %d frames from pystack, %d from Python; first "
                                 "difference at frame %d:\n pystack %r\n python  %r"
                                 % (ident, len(mine), len(frames), i, mine[i:i + 3],
                                    frames[i:i + 3]))
