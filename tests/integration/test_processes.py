"""Several processes at once, process trees, and subinterpreters.

`dump PID...` reads each process named once, in order; `--subprocesses`
adds after each PID the processes descended from it, in ascending PID
order, passing over those that are not Python or are gone.  Each process
of a tree (tests/targets/family.py) answers SIGUSR1 with its own stacks, so
every one is compared with its own interpreter's view.

A subinterpreter's thread (tests/targets/subinterp.py) is shown with its
interpreter's id, next to the main interpreter's threads.

Process trees are tried with the newest interpreter found and with 2.7
when present; subinterpreters with every interpreter from 3.8 on.
"""
import json
import os
import re
import time

import pytest

import harness
import pythons
from harness import Target, assert_same_stacks, proc_status, run_pystack, task_states

MISSING = 999999999         # above any pid_max: no such process
MISSING2 = 999999998


def _tree_pythons():
    found = pythons.discover()
    if not found:
        return [pytest.param(None, id="none", marks=pytest.mark.skip(
            reason="no Python interpreter found (looked on PATH, in pyenv and in "
                   "PYSTACK_TEST_PYTHONS)"))]
    chosen = [found[-1]]
    old = [p for p in found if p.minor == (2, 7)]
    if old and old[0] is not found[-1]:
        chosen.append(old[0])
    else:
        chosen.append(pytest.param(None, id="2.7-missing",
                                   marks=pytest.mark.skip(reason="no Python 2.7 found")))
    return [c if not isinstance(c, pythons.Python) else pytest.param(c, id=c.label)
            for c in chosen]


def _subinterp_pythons():
    found = [p for p in pythons.discover() if p.minor >= (3, 8)]
    params = [pytest.param(p, id=p.label) for p in found]
    if not any(p.minor >= (3, 12) for p in found):
        params.append(pytest.param(None, id="3.12+-missing", marks=pytest.mark.skip(
            reason="no Python 3.12 or later found")))
    return params


tree_python = pytest.mark.parametrize("py", _tree_pythons())


class Relative:
    """A process of a target's tree that answers SIGUSR1 as a Target does."""
    oracle = Target.oracle

    def __init__(self, pid, oracle_path):
        self.pid = pid
        self.oracle_path = oracle_path


def dump(*args):
    return run_pystack("dump", *args)


def json_lines(r):
    return [json.loads(line) for line in r.stdout.splitlines()]


def word(n):
    return re.compile(r"(?<![\w.])%s(?![\w])" % n)


def assert_untouched(pid):
    """Untraced, and no thread left in a tracing stop."""
    assert proc_status(pid)["TracerPid"] == "0"
    for tid, state in task_states(pid).items():
        assert state != "t", "pid %d tid %d left in tracing stop" % (pid, tid)


# -- --subprocesses over a tree --------------------------------------------------

@tree_python
def test_subprocesses_reads_the_python_processes_of_the_tree(py):
    with Target(py, "family.py") as t:
        facts = json.loads(t.info)
        child, grandchild, sleeper = facts["child"], facts["grandchild"], facts["sleep"]
        oracles = {t.pid: t.oracle()}
        for pid in (child, grandchild):
            oracles[pid] = Relative(pid, facts["oracles"][str(pid)]).oracle()

        r = dump("--json", "--subprocesses", t.pid)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        snaps = json_lines(r)
        assert [s["pid"] for s in snaps] == [t.pid] + sorted([child, grandchild])
        for s in snaps:
            assert_same_stacks(oracles[s["pid"]], s)
        mains = {t.pid: facts["main"], child: facts["mains"][str(child)],
                 grandchild: facts["mains"][str(grandchild)]}
        waits = {t.pid: "root_waits", child: "child_waits", grandchild: "leaf_waits"}
        for s in snaps:
            main = [th for th in s["threads"] if th["thread_id"] == mains[s["pid"]]]
            assert len(main) == 1 and main[0]["tid"] == s["pid"], s["threads"]
            assert waits[s["pid"]] in [f["function"] for f in main[0]["frames"]]

        # In text, with -v: the same processes, and the word on the one passed over.
        r = dump("-v", "--subprocesses", t.pid)
        assert r.returncode == 0, r.stderr
        shown = [int(p) for p in re.findall(r"^Process (\d+): ", r.stdout, re.M)]
        assert shown == [t.pid] + sorted([child, grandchild]), r.stdout[:500]
        passed = [l for l in r.stderr.splitlines() if "passing over" in l]
        assert len(passed) == 1, r.stderr
        assert word(sleeper).search(passed[0]) and "not a Python process" in passed[0], passed
        assert not word(sleeper).search(r.stdout)

        for pid in (child, grandchild, sleeper):
            assert_untouched(pid)
        t.finish()


@tree_python
def test_several_pids(py):
    with Target(py, "family.py") as t:
        facts = json.loads(t.info)
        child, grandchild, sleeper = facts["child"], facts["grandchild"], facts["sleep"]

        r = dump("--json", t.pid, child)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert [s["pid"] for s in json_lines(r)] == [t.pid, child]

        # One missing: the other is shown, one line says which, status 1.
        r = dump("--json", t.pid, MISSING)
        assert r.returncode == 1, r.stderr
        assert [s["pid"] for s in json_lines(r)] == [t.pid]
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and word(MISSING).search(lines[0]), r.stderr
        assert not word(t.pid).search(lines[0])

        # One that is not Python.
        r = dump(t.pid, sleeper)
        assert r.returncode == 1, r.stderr
        assert re.findall(r"^Process (\d+): ", r.stdout, re.M) == [str(t.pid)]
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and "not a Python process" in lines[0], r.stderr
        assert word(sleeper).search(lines[0])

        # Named twice, or by one of its thread ids: read once.
        tid = max(tid for tid in task_states(t.pid) if tid != t.pid)
        r = dump("--json", t.pid, t.pid, tid)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert [s["pid"] for s in json_lines(r)] == [t.pid]

        # Reached twice: each PID given, then its descendants not read yet.
        r = dump("--json", "--subprocesses", child, t.pid)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert [s["pid"] for s in json_lines(r)] == [child, grandchild, t.pid]
        r = dump("--json", "--subprocesses", t.pid, grandchild, child)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert [s["pid"] for s in json_lines(r)] == [t.pid] + sorted([child, grandchild])

        # A descendant's descendants only.
        r = dump("--json", "--subprocesses", child)
        assert [s["pid"] for s in json_lines(r)] == [child, grandchild]
        t.finish()


def test_only_missing_pids():
    r = dump(MISSING2, MISSING)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 2, r.stderr                 # one for each, in order
    assert word(MISSING2).search(lines[0]) and word(MISSING).search(lines[1]), lines
    r = dump("--subprocesses", MISSING)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr



def test_python_below_what_is_not_python(newest_python):
    """A PID that is not Python fails as it always did; its descendants are read."""
    py = newest_python
    shell = ["/bin/sh", "-c", '"$0" "$1"; exit $?', py.exe,
             os.path.join(harness.TARGETS, "family.py")]
    with Target(py, "family.py", command=shell) as t:
        facts = json.loads(t.info)
        root = facts["pid"]
        assert root != t.pid
        r = dump("--json", "--subprocesses", t.pid)
        assert r.returncode == 1, r.stderr
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and word(t.pid).search(lines[0]), r.stderr
        assert "not a Python process" in lines[0]
        assert [s["pid"] for s in json_lines(r)] == sorted(
            [root, facts["child"], facts["grandchild"]])
        t.finish()


def test_kernel_threads_are_passed_over():
    with open("/proc/2/stat") as f:
        if f.read().split()[1] != "(kthreadd)":
            pytest.skip("no kthreadd at PID 2 (a PID namespace?)")
    r = dump("-v", "--subprocesses", 2)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    lines = [l for l in r.stderr.splitlines() if "passing over" not in l and
             not re.match(r"pystack: process 2: \d+ descendants?$", l)]
    assert len(lines) == 1 and "kernel thread" in lines[0], r.stderr
    passed = [l for l in r.stderr.splitlines() if "passing over" in l]
    assert passed and all("kernel thread" in l for l in passed), r.stderr


def test_zombie_descendant_is_passed_over(newest_python):
    with Target(newest_python, "zombie_parent.py") as t:
        zombie = json.loads(t.info)["child"]
        assert proc_status(zombie)["State"][0] == "Z"
        r = dump("-v", "--json", "--subprocesses", t.pid)
        assert r.returncode == 0, r.stderr
        assert [s["pid"] for s in json_lines(r)] == [t.pid]
        passed = [l for l in r.stderr.splitlines() if "passing over" in l]
        assert len(passed) == 1 and word(zombie).search(passed[0]) and "zombie" in passed[0]
        t.finish()


@tree_python
def test_descendants_that_come_and_go(py):
    """Children that start and exit all the time do not disturb the rest.

    The target keeps starting Python processes that live a few milliseconds
    and forks that exit at once: pystack finds them in /proc and then meets
    them starting, running, exiting or gone.  Those it can read it shows;
    the others it passes over; every run reads the stable processes and
    ends with status 0 and nothing on stderr.
    """
    with Target(py, "family.py", "churn", busy=1) as t:
        facts = json.loads(t.info)
        stable = facts["stable"]
        caught = runs = 0
        deadline = time.time() + 4
        while runs < 40 or (caught < 5 and time.time() < deadline):
            runs += 1
            verbose = runs % 2 == 0
            r = dump("--json", "--subprocesses", *(["-v"] if verbose else []), t.pid)
            assert r.returncode == 0, r.stderr
            pids = [s["pid"] for s in json_lines(r)]
            assert pids[0] == t.pid and stable in pids, pids
            assert pids[1:] == sorted(set(pids[1:])), pids
            for s in json_lines(r):
                assert not s["partial"], s
            if verbose:
                m = re.search(r"^pystack: process %d: (\d+) descendants?$" % t.pid, r.stderr, re.M)
                assert m, r.stderr
                caught += int(m.group(1)) > 1
            else:
                assert r.stderr == ""
        assert caught, "no short-lived child was ever found in %d runs" % runs
        t.finish()


# -- subinterpreters ---------------------------------------------------------------

@pytest.mark.parametrize("py", _subinterp_pythons())
def test_subinterpreter_thread(py):
    with Target(py, "subinterp.py") as t:
        facts = json.loads(t.info)
        if "skip" in facts:
            t.finish()
            pytest.skip(facts["skip"])
        oracle = t.oracle()
        snap = t.dump_json()
        text = t.pystack()
        t.finish()

    sub = [th for th in snap["threads"] if th.get("interpreter", 0) != 0]
    assert len(sub) == 1, snap["threads"]
    sub = sub[0]
    assert sub["interpreter"] == facts["interp"]
    frames = [(f["file"], f["line"], f["function"]) for f in sub["frames"]
              if f["kind"] == "python"]
    lines = facts["lines"]
    assert frames == [(facts["file"], lines["sub_sleeps"], "sub_sleeps"),
                      (facts["file"], lines["<module>"], "<module>")], sub
    # From 3.13, run_string runs the code in a thread state of the calling
    # thread; before, in the subinterpreter's first thread state, which
    # still names the thread that created the subinterpreter.
    if py.minor >= (3, 13):
        assert sub["thread_id"] == facts["runner"] and sub["tid"] == facts["runner_tid"], sub
    else:
        assert sub["thread_id"] in (facts["runner"], facts["main"]), sub

    # The main interpreter's threads, as the main interpreter sees them.
    main_only = dict(snap, threads=[th for th in snap["threads"] if th["interpreter"] == 0])
    assert_same_stacks(oracle, main_only)
    runner = [th for th in main_only["threads"] if th["thread_id"] == facts["runner"]]
    # It waits in runner() (3.14+: in Interpreter.exec, which runner() called).
    names = [f["function"] for f in runner[0]["frames"]] if len(runner) == 1 else []
    assert names[:1] == ["runner"] or names[:2] == ["exec", "runner"], runner

    assert text.returncode == 0, text.stderr
    headers = [l for l in text.stdout.splitlines() if l.startswith("Thread ")]
    marked = [l for l in headers if "[interpreter %d]" % facts["interp"] in l]
    assert len(marked) == 1 and len(headers) == len(snap["threads"]), headers
    block = text.stdout.split(marked[0], 1)[1].split("\nThread ", 1)[0]
    assert 'File "%s", line %d, in sub_sleeps' % (facts["file"], lines["sub_sleeps"]) in block, block
