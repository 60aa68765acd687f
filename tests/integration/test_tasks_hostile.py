"""pystack dump --tasks against asyncio tasks broken on purpose.

tests/targets/tasks_corrupt.py overwrites, with ctypes, the pointers pystack
follows (found by the values they hold, not by a layout written down): a
coroutine whose awaited object is the coroutine awaiting it, so that the
chain of awaits loops; a task whose coroutine is an unmapped address.  And
a chain of 3000 coroutines, to see the whole of a deep one.  pystack must
answer at once, say what it could not read on that task alone (exit
status 1, a partial read), show
no frame twice, and leave the process as it was.
"""
import json

import pytest

from harness import Target, proc_status, run_pystack


def _tasks(python, mode):
    if python.version < (3, 7) or python.version >= (3, 14):
        pytest.skip("--tasks reads the asyncio of CPython 3.7 to 3.13")
    with Target(python, "tasks_corrupt.py", mode) as t:
        victim = int(t.info)
        r = run_pystack("dump", "--tasks", "--format", "json", t.pid, timeout=30)
        state = proc_status(t.pid)
        assert state["TracerPid"] == "0"
        assert state["State"][0] in "RS", state["State"]     # not held stopped
    snap = json.loads(r.stdout)
    # Status 1: read, but in part (the task said so); 0 when all was read.
    assert r.returncode == (1 if snap["partial"] else 0), r.stderr
    tasks = {task["id"]: task for task in snap["tasks"]}
    assert victim in tasks, (victim, list(tasks))
    return snap, tasks[victim], [task for task in snap["tasks"] if task["id"] != victim]


def _functions(task):
    return [f["function"] for f in task["frames"]]


def test_a_chain_of_awaits_that_loops_is_cut_where_it_comes_back(python):
    snap, victim, others = _tasks(python, "loop")
    assert victim["error"] == "its chain of awaits loops"
    # innermost first: inner, then outer, each once
    assert _functions(victim) == ["inner", "outer"]
    assert snap["partial"] is True
    # the task running main() is untouched
    assert [_functions(t) for t in others] == [["main"]]
    assert "error" not in others[0]


def test_a_task_whose_coroutine_is_unmapped_is_listed_without_frames(python):
    snap, victim, others = _tasks(python, "badcoro")
    assert victim["frames"] == []
    assert "could not be read" in victim["error"]
    assert [_functions(t) for t in others] == [["main"]]


def test_a_deep_chain_is_shown_whole(python):
    snap, victim, others = _tasks(python, "deep")
    names = _functions(victim)
    assert names == ["chain"] * 3001
    assert "error" not in victim and snap["partial"] is False
    lines = {f["line"] for f in victim["frames"]}
    assert len(lines) == 2      # the innermost awaits the future, the others the next chain()
