"""What a runbook needs of each thread, with the interpreter as the oracle.

The target (tests/targets/threadinfo.py) prints, when ready, every thread's
name as threading knows it and the repr() of the variables of two blocked
frames; pystack must show the same names, the same arguments and locals
with the same reprs (bounded where the value is large), which thread holds
the GIL and which waits for it.
"""
import json
import re

import pytest

from harness import Target, run_pystack

# Reprs pystack bounds rather than copies: the name, and what it must show instead.
BOUNDED = {
    "long_list": lambda ours: ours == "[0, 1, 2, 3, 4, 5, 6, 7, ... 92 more]",
    "long_text": lambda ours: re.match(r"^'x{200}'\.\.\.$", ours) is not None,
}


def threads_by_ident(snap):
    return {t["thread_id"]: t for t in snap["threads"]}


def test_thread_names(python):
    with Target(python, "threadinfo.py", 0) as t:
        facts = json.loads(t.info)
        snap = t.dump_json()
        t.finish()
    ours = threads_by_ident(snap)
    for ident, name in facts["names"].items():
        assert ours[int(ident)]["name"] == name, (name, ours[int(ident)]["name"])
    assert ours[facts["main"]]["name"] == "MainThread"
    # The thread started with _thread is not in threading's registry.
    unnamed = [th for th in snap["threads"] if str(th["thread_id"]) not in facts["names"]]
    assert len(unnamed) == 1, unnamed


def test_thread_names_in_text(newest_python):
    with Target(newest_python, "threadinfo.py", 0) as t:
        out = t.pystack().stdout
        t.finish()
    assert re.search(r'^Thread \d+ "MainThread" \(', out, re.M), out
    assert re.search(r'^Thread \d+ "values-\u03b1" \(', out, re.M)
    assert re.search(r'^Thread \d+ "after\\x1b\[31m" \(', out, re.M)
    assert "\x1b" not in out


def _no_gil_attached(python, t, facts):
    """A free-threaded build: no GIL claim, and threads attached to the interpreter
    while they run Python, several at once, detached while they wait."""
    both = False
    for _ in range(20):
        snap = t.dump_json()
        ours = threads_by_ident(snap)
        spinners = [ours[i] for i in facts["spinners"]]
        for th in snap["threads"]:
            assert "holds_gil" not in th and "waits_for_gil" not in th, th
            assert isinstance(th["attached"], bool), th
            if th not in spinners and th["thread_id"] != facts["main"]:
                assert th["attached"] is False, th
        both |= all(th["attached"] for th in spinners)
        if both:
            break
    # Without a GIL both spinners run Python at the same instant (two CPUs, or
    # one of them preempted while attached).
    assert both, "the two spinners were never attached at once"
    text = t.pystack().stdout
    assert "GIL" not in text.split("\n", 2)[2], text
    assert re.search(r'^Thread \d+ "spinner-0" \((?:running|idle), (?:attached|detached)\)',
                     text, re.M), text


def test_gil_holder_and_waiter(python):
    if python is not None and python.free_threaded:
        with Target(python, "threadinfo.py", 2, busy=2) as t:
            _no_gil_attached(python, t, json.loads(t.info))
            t.finish()
        # Turned back on, the GIL is claimed as in any other build.
        with Target(python, "threadinfo.py", 2, busy=2, env={"PYTHON_GIL": "1"}) as t:
            facts = json.loads(t.info)
            seen = False
            for _ in range(20):
                snap = t.dump_json()
                assert all(isinstance(th["holds_gil"], bool) for th in snap["threads"])
                assert sum(th["holds_gil"] for th in snap["threads"]) <= 1
                seen |= any(threads_by_ident(snap)[i]["holds_gil"] for i in facts["spinners"])
            assert seen, "with PYTHON_GIL=1 no spinner was seen holding the GIL"
            assert "GIL enabled at run time" in t.pystack().stdout.splitlines()[1]
            t.finish()
        return
    with Target(python, "threadinfo.py", 2, busy=2) as t:
        facts = json.loads(t.info)
        seen_wait = seen_hold = False
        for _ in range(20):
            snap = t.dump_json()
            ours = threads_by_ident(snap)
            spinners = [ours[i] for i in facts["spinners"]]
            holders = [th for th in snap["threads"] if th["holds_gil"]]
            seen_hold |= any(th["holds_gil"] for th in spinners)
            # One thread holds the GIL at a time.
            assert len(holders) <= 1, holders
            for th in snap["threads"]:
                # Threads blocked in Event.wait neither hold nor want the GIL (the main
                # thread may still be on its way into its sleep).
                if th not in spinners and th["thread_id"] != facts["main"]:
                    assert not th["holds_gil"] and not th.get("waits_for_gil"), th
            if python.version >= (3, 7):
                assert all(isinstance(th["waits_for_gil"], bool) for th in snap["threads"])
                seen_wait |= any(th["waits_for_gil"] and not th["holds_gil"] for th in spinners)
            else:
                assert "waits_for_gil" not in snap["threads"][0]
        # At any one instant the GIL may be between owners; over twenty dumps a
        # spinner must have been seen holding it.
        assert seen_hold or python.version < (3, 7)
        if python.version >= (3, 7):
            assert seen_wait, "the spinner without the GIL was never seen waiting for it"
        t.finish()


def frame_of(snap, function):
    for th in snap["threads"]:
        for f in th["frames"]:
            if f["kind"] == "python" and f["function"] == function:
                return f
    raise AssertionError("no frame of %s" % function)


def test_locals_are_the_interpreters_reprs(python):
    with Target(python, "threadinfo.py", 0) as t:
        facts = json.loads(t.info)
        snap = t.dump_json("--locals")
        t.finish()
    for function, view in facts["views"].items():
        f = frame_of(snap, function)
        expected = dict(view["args"], **view["locals"])
        assert set(f["arguments"]) == set(view["args"]), (function, f["arguments"])
        for name, want in expected.items():
            assert name in f["locals"], (function, name, sorted(f["locals"]))
            ours = f["locals"][name]
            if name in BOUNDED:
                assert BOUNDED[name](ours), (name, ours)
            else:
                assert ours == want, (function, name, ours, want)
    # Frames without variables of their own say nothing; module code shows none.
    module = frame_of(snap, "<module>")
    assert "locals" not in module or module["locals"] == {}


def test_locals_in_text(newest_python):
    with Target(newest_python, "threadinfo.py", 0) as t:
        out = t.pystack("--locals").stdout
        t.finish()
    block = out[out.index("in outer.<locals>.inner\n"):]
    assert re.match(r"in outer.<locals>.inner\n    .*\n    Arguments:\n      arg = 41\n    Locals:\n",
                    block), block[:300]
    assert "      captured = 'c'\n" in block
    assert "      kept = ['c']\n" in block
    assert "\x1b" not in out
    assert "ctrl \\x1b[2J" in out          # Python's own escape, shown as it is


def test_locals_cost_nothing_when_not_asked(newest_python):
    with Target(newest_python, "threadinfo.py", 0) as t:
        snap = t.dump_json()
        t.finish()
    assert all("locals" not in f for th in snap["threads"] for f in th["frames"])


@pytest.mark.parametrize("command", [["dump", "--locals", "--native"],
                                     ["watch", "--locals", "--count", "2", "--interval", "10ms"]])
def test_locals_with_native_and_watch(newest_python, command):
    with Target(newest_python, "threadinfo.py", 0) as t:
        r = run_pystack(*command, t.pid)
        assert r.returncode == 0, r.stderr
        assert "    Arguments:\n      arg = 41\n" in r.stdout
        t.finish()


def test_garbage_collection_in_progress(python):
    if python.version < (3, 7):
        pytest.skip("Python %d.%d keeps no collecting flag pystack can read" % python.minor)
    with Target(python, "gc_blocked.py") as t:
        facts = json.loads(t.info)
        snap = t.dump_json()
        text = t.pystack().stdout
        t.finish()
    collector = threads_by_ident(snap)[facts["collector"]]
    functions = [f["function"] for f in collector["frames"]]
    assert functions.index("__del__") < functions.index("collector"), functions
    # The flag belongs to the interpreter: every thread of it is inside the collection.
    assert all(th["gc"] for th in snap["threads"]), [(th["name"], th["gc"]) for th in snap["threads"]]
    # A free-threaded build says, instead of nothing about a GIL, that it waits detached.
    state = "idle, detached" if python.free_threaded else "idle"
    assert re.search(r'^Thread \d+ "collector" \(%s, collecting garbage\)' % state, text, re.M), text


def test_no_garbage_collection(newest_python):
    with Target(newest_python, "threads.py", 2) as t:
        snap = t.dump_json()
        t.finish()
    assert not any(th["gc"] for th in snap["threads"])


def test_a_thread_being_started_is_no_second_thread(python):
    """Thread.start() makes the new thread's state before the thread runs: on
    3.6-3.11 it carries its starter's idents, on 3.12+ none.  No snapshot
    may show it as a second copy of the starter, or as a thread without
    Python."""
    with Target(python, "starter.py", busy=1) as t:
        r = run_pystack("watch", "--json", "-i", "2ms", "-d", "3s", t.pid, timeout=60)
        t.finish()
    snaps = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(snaps) > 100, (r.returncode, r.stderr[-500:])
    twice = without_python = 0
    for snap in snaps:
        tids = [th["tid"] for th in snap["threads"] if th["tid"]]
        twice += len(tids) != len(set(tids))
        without_python += any(th["thread_id"] is None for th in snap["threads"])
        assert sum(th["main"] for th in snap["threads"]) == 1, snap
    assert (twice, without_python) == (0, 0), \
        "of %d snapshots, %d show a thread twice, %d a thread without Python" % (
            len(snaps), twice, without_python)


def test_a_thread_state_that_outlived_its_os_thread(python):
    """A thread state whose OS thread is gone is said to be so, with the stack it
    was left with; it is no live thread of unknown state."""
    with Target(python, "gone_thread.py") as t:
        facts = json.loads(t.info)
        assert facts["tasks"] == facts["before"], facts
        snap = t.dump_json()
        text = t.pystack().stdout
        t.finish()
    gone = [th for th in snap["threads"] if th["name"] == "leaver"]
    assert len(gone) == 1, snap["threads"]
    assert (gone[0]["tid"], gone[0]["status"]) == (0, "exited"), gone[0]
    assert [f["function"] for f in gone[0]["frames"]][:2] == ["leave", "leaver"]
    live = [th for th in snap["threads"] if th["name"] != "leaver"]
    assert all(th["tid"] and th["status"] != "exited" for th in live), live
    assert re.search(r'^Thread \? "leaver" \(exited: its OS thread is gone\)', text, re.M), text
