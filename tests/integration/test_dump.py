"""pystack dump against real interpreters, with the interpreter as the oracle.

Each test starts a target, has the interpreter print its own stacks
(faulthandler), reads the same process with pystack, and compares thread by
thread, frame by frame, line by line.  Afterwards the target must be left as
it was: untraced, in the same state, and still running.
"""
import json
import os
import re
import signal
import time

import pytest

from harness import Target, assert_same_stacks, proc_status, task_states


def test_threads_match_the_interpreter(python):
    with Target(python, "threads.py", 10, 1, busy=1) as t:
        facts = json.loads(t.info)
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap, ignore=set(facts["busy"]))
        t.finish()
    threads = {th["thread_id"]: th for th in snap["threads"]}
    assert len(threads) == 13          # main, 10 workers, the spinner, the quit reader
    assert snap["python"] == python.version_text
    assert snap["pid"] == t.pid


def test_thread_facts(python):
    """OS thread ids, the main thread, who holds the GIL (or, without one, who is
    attached to the interpreter), running or idle."""
    with Target(python, "threads.py", 4, 1, busy=1) as t:
        facts = json.loads(t.info)
        tids = {int(x) for x in os.listdir("/proc/%d/task" % t.pid)}
        snap = t.dump_json()
        # Without a GIL a spinning thread detaches now and then (a stop of the
        # world, say): a few dumps must find it attached, one is not enough.
        for _ in range(4 if python.free_threaded else 0):
            if [th for th in snap["threads"]
                    if th["thread_id"] == facts["busy"][0] and th.get("attached")]:
                break
            snap = t.dump_json()
        t.finish()
    threads = {th["thread_id"]: th for th in snap["threads"]}
    assert {th["tid"] for th in threads.values()} <= tids
    assert len({th["tid"] for th in threads.values()}) == len(threads)
    main = threads[facts["main"]]
    assert main["main"] and main["tid"] == t.pid and main["status"] == "idle"
    assert sum(th["main"] for th in threads.values()) == 1
    spinner = threads[facts["busy"][0]]
    assert spinner["status"] == "running"
    if python.free_threaded:
        # No GIL, so no claim about one; the spinner runs Python, the others wait in C.
        assert not any("holds_gil" in th or "waits_for_gil" in th for th in threads.values())
        assert spinner["attached"] is True
        assert all(th["attached"] is False for th in threads.values() if th is not spinner)
        assert snap["free_threaded"] is True
        return
    assert not main["holds_gil"] and snap["free_threaded"] is False
    if python.version >= (3, 13):
        assert main["attached"] is False
    holders = [th for th in threads.values() if th["holds_gil"]]
    assert len(holders) <= 1
    # Idle threads wait with the GIL released; only the spinner can hold it.
    assert all(h["thread_id"] == spinner["thread_id"] for h in holders)
    for th in threads.values():
        if th is not spinner:
            assert th["status"] == "idle", th


def test_two_hundred_threads(python):
    with Target(python, "threads.py", 200) as t:
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        t.finish()
    assert len(snap["threads"]) == 202


def test_deep_stack_every_frame(python):
    depth = 10000
    with Target(python, "deep.py", depth, ready_timeout=120) as t:
        facts = json.loads(t.info)
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        t.finish()
    deep = [th for th in snap["threads"] if len(th["frames"]) > 100]
    assert len(deep) == 1
    frames = deep[0]["frames"]
    assert len(frames) == facts["frames"]
    assert sum(f["function"] == "recurse" for f in frames) == depth + 1
    assert "error" not in deep[0]


def test_frame_shapes(python):
    with Target(python, "shapes.py") as t:
        facts = json.loads(t.info)
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        t.finish()
    names = {f["function"] for th in snap["threads"] for f in th["frames"]}
    assert {"generator", "nested", "helper", "in_except", "in_finally", "key", "<lambda>",
            "<module>"} <= names
    if python.version >= (3, 6):
        assert {"leaf", "middle", "worker", "agen"} <= names
    main = [th for th in snap["threads"] if th["thread_id"] == facts["main"]][0]
    assert main["frames"][-1]["function"] == "<module>"


def test_qualified_names(python):
    if python.version < (3, 11):
        pytest.skip("code objects carry qualified names from 3.11 on")
    with Target(python, "shapes.py") as t:
        facts = json.loads(t.info)
        snap = t.dump_json()
        t.finish()
    seen = 0
    for th in snap["threads"]:
        expected = facts["qualnames"].get(str(th["thread_id"]))
        if expected is None:
            continue
        assert [f["qualname"] for f in th["frames"]] == expected
        seen += 1
    assert seen >= 9
    quals = {f["qualname"] for th in snap["threads"] for f in th["frames"]}
    assert {"Service.handle.<locals>.nested", "Service.create", "Service.helper"} <= quals
    for th in snap["threads"]:
        for f in th["frames"]:
            assert f["qualname"].endswith(f["function"]), f


def test_text_output_reads_like_a_traceback(python):
    with Target(python, "shapes.py") as t:
        snap = t.dump_json()
        text = t.pystack().stdout
        t.finish()
    lines = text.splitlines()
    assert lines[0].startswith("Process %d: " % t.pid)
    assert lines[1].startswith("Python %s (" % snap["python"])
    # Every thread, and its frames outermost first, as in a traceback.
    for th in snap["threads"]:
        header = [i for i, l in enumerate(lines)
                  if l.startswith("Thread %d " % th["tid"]) and "0x%x]" % th["thread_id"] in l]
        assert len(header) == 1, th["tid"]
        i = header[0] + 1
        for f in reversed(th["frames"]):
            m = re.match(r'  File "(.*)", line (\d+), in (.*)$', lines[i])
            assert m, lines[i]
            assert (m.group(1), int(m.group(2))) == (f["file"], f["line"])
            assert m.group(3) == (f["qualname"] or f["function"])
            i += 1
            if i < len(lines) and lines[i].startswith("    "):
                i += 1
    assert "    time.sleep(100000)" in lines


def test_sigstopped_target_stays_stopped(python):
    with Target(python, "threads.py", 3) as t:
        oracle = t.oracle()
        os.kill(t.pid, signal.SIGSTOP)
        deadline = time.time() + 10
        while (not all(s == "T" for s in task_states(t.pid).values())
               and time.time() < deadline):
            time.sleep(0.01)
        assert all(s == "T" for s in task_states(t.pid).values())
        r = t.pystack("--json", "-v")
        time.sleep(0.1)
        assert r.returncode == 0, r.stderr
        assert_same_stacks(oracle, json.loads(r.stdout))
        states = task_states(t.pid)
        assert all(s == "T" for s in states.values()), (states, r.stderr)
        t.assert_left_alone("T")
        assert all(s == "T" for s in task_states(t.pid).values())
        os.kill(t.pid, signal.SIGCONT)
        t.finish()
