"""pystack dump --tasks: asyncio tasks, with the process itself as the oracle.

Each test runs tests/targets/asyncio_tasks.py in one mode (one shape of
tasks) on every interpreter from 3.7 on.  On SIGUSR1 the program writes what
asyncio says of its tasks (asyncio.all_tasks() of each loop: id, name, the
thread running the loop, get_stack(), and the coroutine chain walked down
cr_await / gi_yieldfrom / ag_await); pystack reads the same process from
outside and must list the same tasks, with the same names, threads and
frames, line by line, and say who awaits whom as the program built it.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import pythons
from harness import Target, run_pystack


@pytest.fixture
def py(python):
    """Each interpreter found, from 3.7 on (asyncio tasks before 3.7 are out of scope)."""
    if python.version < (3, 7):
        pytest.skip("asyncio tasks need 3.7+ (this is Python %s)" % python.version_text)
    return python


def _old_params():
    old = [p for p in pythons.discover() if p.version < (3, 7)]
    return [pytest.param(p, id=p.label) for p in old] or [pytest.param(
        None, id="before-3.7-missing", marks=pytest.mark.skip(reason="no Python before 3.7 found"))]


@pytest.fixture(params=_old_params())
def old_python(request):
    """Each interpreter found before 3.7, whose asyncio --tasks does not read."""
    return request.param


def need(python, version, what):
    if python.version < version:
        pytest.skip("%s needs Python %d.%d+ (this is %s)" % ((what,) + version
                                                            + (python.version_text,)))


def start(python, mode):
    return Target(python, "asyncio_tasks.py", mode)


def task_oracle(t, timeout=60):
    """What the program says of its tasks: {id: {name, thread, stack, frames}}."""
    path = t.oracle_path + ".tasks.json"
    os.kill(t.pid, signal.SIGUSR1)
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, "the program wrote no task dump"
        assert t.proc.poll() is None, "the target died: %r" % t.proc.stderr.read()
        time.sleep(0.02)
    with open(path) as f:
        tasks = json.load(f)
    out = {}
    for task in tasks:
        assert not task["done"], task
        task["qualnames"] = [f[3] for f in task["frames"]]
        task["frames"] = [tuple(f[:3]) for f in task["frames"]]
        task["stack"] = [tuple(f[:3]) for f in task["stack"]]
        out[task["id"]] = task
    assert len(out) == len(tasks)
    return out


def pystack_json(*args, timeout=60):
    r = run_pystack(*args, timeout=timeout)
    assert r.returncode == 0, "pystack %s: exit %d: %s" % (args, r.returncode, r.stderr.strip())
    lines = r.stdout.splitlines()
    assert lines, r.stderr
    return [json.loads(line) for line in lines]


def dump_tasks(t, timeout=60):
    snaps = pystack_json("dump", "--tasks", "--format", "json", t.pid, timeout=timeout)
    assert len(snaps) == 1, len(snaps)
    return snaps[0]


def frames_of(task):
    """pystack's Python frames of a task (or thread), innermost first."""
    return [(f["file"], f["line"] or 0, f["function"]) for f in task["frames"]
            if f["kind"] == "python"]


def by_id(snap):
    tasks = {task["id"]: task for task in snap["tasks"]}
    assert len(tasks) == len(snap["tasks"]), "a task listed twice"
    return tasks


TASK_KEYS = {"id", "name", "state", "loop", "thread", "current", "frames", "awaiting",
             "awaited_by", "waits_on"}


def assert_tasks_match(oracle, snap):
    """The same tasks as the program's, each with its name, thread and frames;
    none running (the dump was taken from a loop callback); awaiting and
    awaited_by the two sides of one relation."""
    ours = by_id(snap)
    frame_keys = {tuple(sorted(f)) for th in snap["threads"] for f in th["frames"]
                  if f["kind"] == "python"}
    for task in ours.values():
        assert TASK_KEYS <= set(task), sorted(TASK_KEYS - set(task))
        for f in task["frames"]:
            assert f["kind"] != "python" or tuple(sorted(f)) in frame_keys, (f, frame_keys)
    only_ours = sorted(set(ours) - set(oracle))
    only_theirs = sorted(set(oracle) - set(ours))
    assert not only_ours and not only_theirs, (
        "tasks differ: only pystack %s, only Python %s"
        % ([(hex(i), ours[i]["name"]) for i in only_ours],
           [(hex(i), oracle[i]["name"]) for i in only_theirs]))
    for tid, want in oracle.items():
        got = ours[tid]
        label = "task 0x%x %r" % (tid, want["name"])
        assert got["name"] == want["name"], (label, got["name"])
        assert got["thread"] == want["thread"], (label, "thread", got["thread"], want["thread"])
        assert got["state"] == "pending", (label, got["state"])
        assert got["current"] is False, (label, "current")
        mine = frames_of(got)
        if mine != want["frames"]:
            i = next((k for k, (a, b) in enumerate(zip(mine, want["frames"])) if a != b),
                     min(len(mine), len(want["frames"])))
            raise AssertionError("%s: %d frames from pystack, %d from Python; first difference "
                                 "at frame %d:\n pystack %r\n python  %r"
                                 % (label, len(mine), len(want["frames"]), i, mine[i:i + 3],
                                    want["frames"][i:i + 3]))
        if want["qualnames"][:1] != [None]:       # 3.11+
            quals = [f["qualname"] for f in got["frames"] if f["kind"] == "python"]
            assert quals == want["qualnames"], (label, quals, want["qualnames"])
        # get_stack() of a suspended task is its coroutine's own frame: the outermost.
        assert want["stack"] and mine[-1] == want["stack"][-1], (label, mine, want["stack"])
    assert_relation_consistent(snap)


def assert_relation_consistent(snap):
    ours = by_id(snap)
    for tid, task in ours.items():
        for other in task["awaiting"]:
            assert other in ours, "0x%x awaits 0x%x, which is not listed" % (tid, other)
            assert tid in ours[other]["awaited_by"], (hex(tid), hex(other))
        for other in task["awaited_by"]:
            assert other in ours, "0x%x awaited by 0x%x, not listed" % (tid, other)
            assert tid in ours[other]["awaiting"], (hex(other), hex(tid))


def oracle_run(python, mode):
    """Start mode, take both views, check the target was left running."""
    with start(python, mode) as t:
        facts = json.loads(t.info)
        oracle = task_oracle(t)
        snap = dump_tasks(t)
        text = t.pystack("--tasks")
        t.finish()
    assert text.returncode == 0, text.stderr
    assert_tasks_match(oracle, snap)
    return facts, oracle, snap, text.stdout


def task_headers(text):
    """[(indent, id, name)] of every task header line of the text output (3.7's tasks
    have no name: None)."""
    return [(len(m.group(1)), int(m.group(2), 16), m.group(4)) for m in
            re.finditer(r'^( *)Task 0x([0-9a-f]+)( "(.*?)")?[ :]', text, re.M)]


def test_gather(py):
    facts, oracle, snap, text = oracle_run(py, "gather")
    tasks = by_id(snap)
    assert facts["finished"] not in tasks, "a finished task is listed"
    req = tasks[facts["request"]]
    assert sorted(req["awaiting"]) == sorted(facts["lookups"])
    assert isinstance(req["waits_on"], str), req["waits_on"]      # the gather's future
    for lid in facts["lookups"]:
        assert facts["request"] in tasks[lid]["awaited_by"], hex(lid)
        assert tasks[lid]["awaiting"] == []
        assert isinstance(tasks[lid]["waits_on"], str)            # the Event's future
    assert snap["deadlocks"] == []
    assert all(task["loop"] == req["loop"] for task in tasks.values())


def test_gather_text(py):
    """The text output: a section after the threads, the lookups under the request."""
    facts, oracle, snap, text = oracle_run(py, "gather")
    m = re.search(r"^Asyncio: (\d+) pending task", text, re.M)
    assert m, text
    assert int(m.group(1)) == len(oracle)
    threads = [t.start() for t in re.finditer(r"^Thread \d+ ", text, re.M)]
    assert threads and m.start() > threads[-1], "the task section comes after the threads"
    heads = task_headers(text[m.start():])
    indent = {}
    for level, tid, name in heads:
        assert tid in oracle, hex(tid)
        if oracle[tid]["name"] is not None:
            assert name == oracle[tid]["name"], (hex(tid), name)
        indent.setdefault(tid, level)
    assert set(indent) == set(oracle), "a task without a header"
    for lid in facts["lookups"]:
        assert indent[lid] > indent[facts["request"]], (text, hex(lid))
    # Each task's frames follow its header, in the threads' form.
    for tid, task in oracle.items():
        for (file, line, func), qual in zip(task["frames"], task["qualnames"]):
            assert re.search(r'^ +File "%s", line %d, in %s$' % (
                re.escape(file), line, re.escape(qual or func)), text, re.M), (file, line, func)


def test_taskgroup(py):
    need(py, (3, 11), "asyncio.TaskGroup")
    facts, oracle, snap, text = oracle_run(py, "taskgroup")
    tasks = by_id(snap)
    parent = tasks[facts["parent"]]
    assert sorted(parent["awaiting"]) == sorted(facts["children"]), (
        "the TaskGroup's parent awaits %s, not its children %s (waits_on %r)"
        % ([hex(x) for x in parent["awaiting"]], [hex(x) for x in facts["children"]],
           parent["waits_on"]))
    for cid in facts["children"]:
        assert facts["parent"] in tasks[cid]["awaited_by"]
    assert snap["deadlocks"] == []


def test_shield_wait_for_wait(py):
    """shield(), wait_for() and wait(): the waiting task awaits the inner one."""
    facts, oracle, snap, text = oracle_run(py, "shield")
    tasks = by_id(snap)
    missed = []
    for how, (outer, inner) in zip(("shield", "wait_for", "wait"), facts["pairs"]):
        if inner not in tasks[outer]["awaiting"]:
            missed.append("%s: task 0x%x awaiting %s, not 0x%x (waits_on %r)" % (
                how, outer, [hex(x) for x in tasks[outer]["awaiting"]], inner,
                tasks[outer]["waits_on"]))
        elif outer not in tasks[inner]["awaited_by"]:
            missed.append("%s not awaited_by %s" % (hex(inner), hex(outer)))
    assert not missed, "; ".join(missed)
    assert snap["deadlocks"] == []


def test_deadlock(py):
    facts, oracle, snap, text = oracle_run(py, "deadlock")
    ring = set(facts["ring"])
    assert len(snap["deadlocks"]) == 1, snap["deadlocks"]
    cycle = snap["deadlocks"][0]
    assert len(cycle) == 2 and set(cycle) == ring, (cycle, facts)
    tasks = by_id(snap)
    a, b = facts["ring"]
    assert tasks[a]["awaiting"] == [b] and tasks[b]["awaiting"] == [a]
    # What they await is a task: no future to name.
    assert tasks[a]["waits_on"] is None and tasks[b]["waits_on"] is None
    assert tasks[facts["bystander"]]["awaiting"] == [a]
    lines = [line for line in text.splitlines() if line.startswith("Deadlock:")]
    assert len(lines) == 1, text
    if py.version >= (3, 8):
        names = re.findall(r'"([^"]*)"', lines[0])
        assert sorted(names) == ["ring-a", "ring-b"], lines[0]
    else:
        # 3.7's tasks have no names: they are named by address.
        ids = [int(x, 16) for x in re.findall(r"0x([0-9a-f]+)", lines[0])]
        assert sorted(ids) == sorted(ring), lines[0]
    # ring-a, awaited by ring-b and by the bystander: once in full, then "shown above".
    heads = [line for line in text.splitlines() if re.match(r' *Task 0x%x[ :]' % a, line)]
    full = [line for line in heads if not line.rstrip().endswith("shown above")]
    assert len(full) == 1 and len(heads) >= 2, heads


def test_ten_thousand_sleepers(py):
    with start(py, "many") as t:
        facts = json.loads(t.info)
        oracle = task_oracle(t)
        began = time.time()
        snap = dump_tasks(t)
        took = time.time() - began
        t.finish()
    sleepers = [task for task in snap["tasks"] if (task["name"] or "").startswith("sleeper-")
                or py.version < (3, 8)]
    assert len(oracle) == facts["count"] + 1          # and the main task
    assert_tasks_match(oracle, snap)
    if py.version >= (3, 8):
        assert sorted(task["name"] for task in sleepers) == sorted(
            "sleeper-%d" % i for i in range(facts["count"]))
    outer = [frames_of(task)[-1][2] for task in sleepers]
    assert outer.count("sleeper") == facts["count"], took


def test_executor(py):
    facts, oracle, snap, text = oracle_run(py, "executor")
    task = by_id(snap)[facts["offload"]]
    assert isinstance(task["waits_on"], str) and task["waits_on"], task["waits_on"]
    assert task["awaiting"] == []
    assert frames_of(task)[0] == oracle[facts["offload"]]["frames"][0]


def test_async_generator_and_generator(py):
    facts, oracle, snap, text = oracle_run(py, "agen")
    want = oracle[facts["consumer"]]["frames"]
    # The oracle itself: Event.wait, inside agen, inside consumer.
    assert [f[2] for f in want] == ["wait", "agen", "consumer"], want
    assert frames_of(by_id(snap)[facts["consumer"]]) == want
    # A generator-based coroutine (types.coroutine) in the chain, and below it the
    # coroutine its coroutine_wrapper (__await__) holds.
    want = oracle[facts["generator"]]["frames"]
    assert [f[2] for f in want] == ["wait", "legacy", "old_style"], want
    assert frames_of(by_id(snap)[facts["generator"]]) == want


def test_pure_python_task(py):
    facts, oracle, snap, text = oracle_run(py, "pytask")
    tasks = by_id(snap)
    assert facts["py"] in tasks and facts["c"] in tasks
    assert frames_of(tasks[facts["py"]]) == oracle[facts["py"]]["frames"]


def test_eager_task(py):
    need(py, (3, 12), "asyncio.eager_task_factory")
    facts, oracle, snap, text = oracle_run(py, "eager")
    tasks = by_id(snap)
    assert facts["eager"] in tasks and facts["lazy"] in tasks
    assert facts["finished"] not in tasks


def test_loops_in_threads(py):
    """Tasks of a loop in another thread carry that thread; a loop no thread runs, none."""
    facts, oracle, snap, text = oracle_run(py, "threads")
    tasks = by_id(snap)
    assert tasks[facts["main_task"]]["thread"] == snap["pid"]
    for wid in facts["worker"]:
        assert tasks[wid]["thread"] == facts["worker_tid"] != snap["pid"]
    assert tasks[facts["idle_task"]]["thread"] is None
    assert len({task["loop"] for task in tasks.values()}) == 3


def test_running_task(py):
    """A task blocking its loop in time.sleep: the one current task, on the main thread."""
    with start(py, "running") as t:
        facts = json.loads(t.info)
        snap = dump_tasks(t)
        t.finish()
    tasks = by_id(snap)
    current = [task for task in tasks.values() if task["current"]]
    assert [task["id"] for task in current] == [facts["hog"]], [
        (task["name"], hex(task["id"])) for task in current]
    hog = current[0]
    if py.version >= (3, 8):
        assert hog["name"] == "hog"
    assert hog["thread"] == snap["pid"]
    inner = frames_of(hog)[0]
    assert inner[2] == "hog" and inner[1] == facts["hog_line"], inner
    main = [th for th in snap["threads"] if th["main"]]
    assert len(main) == 1
    assert inner in frames_of(main[0]), (inner, frames_of(main[0]))
    assert tasks[facts["bystander"]]["current"] is False
    assert_relation_consistent(snap)


def test_watch_tasks(py):
    with start(py, "gather") as t:
        facts = json.loads(t.info)
        snaps = pystack_json("watch", "--tasks", "--format", "json", "--count", 2,
                             "--interval", "0.2s", t.pid)
        t.finish()
    assert len(snaps) == 2
    for snap in snaps:
        tasks = by_id(snap)
        assert facts["request"] in tasks and set(facts["lookups"]) <= set(tasks)
        for task in tasks.values():
            assert "unchanged_s" in task, "snapshot %d: task %r has no unchanged_s (keys %s)" % (
                snap["snapshot"], task["name"], sorted(task))
            assert isinstance(task["unchanged_s"], (int, float)) and task["unchanged_s"] >= 0, task
    # Nothing moved between the two: each stack stayed the same for at least the interval.
    assert all(task["unchanged_s"] >= 0.15 for task in snaps[1]["tasks"]), snaps[1]["tasks"]


@pytest.mark.skipif(not shutil.which("gcore"), reason="no gcore (gdb) here: make deps installs it")
def test_core_tasks(py, tmp_path):
    """pystack core --tasks reads the same tasks from a core of the process."""
    with start(py, "gather") as t:
        facts = json.loads(t.info)
        oracle = task_oracle(t)
        prefix = str(tmp_path / "core")
        r = subprocess.run([shutil.which("gcore"), "-o", prefix, str(t.pid)],
                           capture_output=True, timeout=120)
        core = "%s.%d" % (prefix, t.pid)
        assert r.returncode == 0 and os.path.exists(core), r.stderr[-2000:]
        t.finish()
    try:
        snaps = pystack_json("core", "--tasks", "--format", "json", core)
    finally:
        os.unlink(core)                           # cores are large
    assert len(snaps) == 1
    assert_tasks_match(oracle, snaps[0])
    tasks = by_id(snaps[0])
    assert sorted(tasks[facts["request"]]["awaiting"]) == sorted(facts["lookups"])


def test_no_asyncio(py):
    """A program that never imported asyncio: no tasks, and the text says why."""
    with Target(py, "threads.py", 2) as t:
        text = t.pystack("--tasks")
        snap = dump_tasks(t)
        t.finish()
    assert snap["tasks"] == [] and snap.get("deadlocks", []) == []
    assert snap["threads"], "the threads are still dumped"
    assert text.returncode == 0, text.stderr
    assert "Task 0x" not in text.stdout, text.stdout
    section = [line for line in text.stdout.splitlines() if line.startswith("Asyncio")]
    assert section == ["Asyncio: not imported, no tasks"], section


def test_before_3_7_is_refused(old_python):
    """--tasks on an interpreter before 3.7: refused, in one line on stderr (the threads
    are still dumped); the reason names the versions it reads."""
    with Target(old_python, "threads.py", 2) as t:
        r = t.pystack("--tasks")
        t.finish()
    assert r.returncode != 0, r.stdout
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert "3.7" in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert "Thread" in r.stdout
