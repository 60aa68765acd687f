# Asyncio tasks in one of several shapes, for pystack dump --tasks.
#   asyncio_tasks.py MODE
# MODE is gather, taskgroup, shield, deadlock, many, executor, agen, pytask,
# eager, threads or running.  Once every task is in place the program prints
# READY with facts (the tasks' ids by role) and the loop runs on for good.
#
# The oracle is the process itself: on SIGUSR1 the main loop writes to
# $PYSTACK_ORACLE.tasks.json a JSON list of every task of asyncio.all_tasks()
# of each loop: its id, name (3.8+), the OS thread id of the thread running
# its loop (null if none), get_stack()'s frames, and its coroutine chain
# ([file, line, function, qualname (3.11+)])
# innermost first, walked down cr_await / gi_yieldfrom / ag_await (through
# async_generator_asend and coroutine_wrapper objects by gc.get_referents)
# until a frame-less object such as a Future.  The dump runs as a loop
# callback, so every task is suspended while it is taken.
# In mode running a task blocks the loop in time.sleep: no dump then; READY
# says which task it is.
import asyncio
import gc
import json
import os
import signal
import sys
import threading
import time
import types

import oracle

MODE = sys.argv[1]
V = sys.version_info[:2]
OUT = (os.environ.get("PYSTACK_ORACLE") or "/dev/null") + ".tasks.json"
loops = {}          # loop -> OS thread id running it (None: not running)
keep = []           # things that must stay alive (finished tasks among them)
facts = {}


def native_id():
    if hasattr(threading, "get_native_id"):
        return threading.get_native_id()
    # 3.7: the main thread's tid is the pid; another thread's is found by
    # threads_mode, as the one tid /proc/self/task gained when it started.
    return os.getpid() if threading.current_thread() is threading.main_thread() else None


def tids():
    return set(int(t) for t in os.listdir("/proc/self/task"))


def where(frame):
    code = frame.f_code
    return [code.co_filename, frame.f_lineno, code.co_name, getattr(code, "co_qualname", None)]


def chain(coro):
    """The task's coroutine chain, innermost first."""
    out = []
    obj = coro
    seen = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if hasattr(obj, "cr_frame"):
            frame, nxt = obj.cr_frame, obj.cr_await
        elif hasattr(obj, "ag_frame"):
            frame, nxt = obj.ag_frame, obj.ag_await
        elif hasattr(obj, "gi_frame"):
            frame, nxt = obj.gi_frame, obj.gi_yieldfrom
        elif type(obj).__name__ in ("async_generator_asend", "coroutine_wrapper",
                                    "async_generator_athrow"):
            inner = [r for r in gc.get_referents(obj)
                     if hasattr(r, "ag_frame") or hasattr(r, "cr_frame")]
            obj = inner[0] if inner else None
            continue
        else:
            break
        if frame is None:
            break
        out.append(where(frame))
        obj = nxt
    return out[::-1]


def describe(task, loop):
    return {"id": id(task),
            "name": task.get_name() if hasattr(task, "get_name") else None,
            "thread": loops[loop],
            "done": task.done(),
            "stack": [where(f) for f in task.get_stack()],
            "frames": chain(task.get_coro() if hasattr(task, "get_coro") else task._coro)}


def dump():
    tasks = []
    for loop in loops:
        for task in asyncio.all_tasks(loop):
            tasks.append(describe(task, loop))
    with open(OUT + ".part", "w") as f:
        json.dump(tasks, f)
    os.rename(OUT + ".part", OUT)


def spawn(coro, name):
    if V >= (3, 8):
        return asyncio.get_event_loop().create_task(coro, name=name)
    return asyncio.get_event_loop().create_task(coro)


async def ticks(n=3):
    for _ in range(n):
        await asyncio.sleep(0)


# --- the shapes --------------------------------------------------------------

async def lookup(ev):
    await ev.wait()


async def request(children):
    return await asyncio.gather(*children)


async def quick():
    return 1


async def gather_mode():
    ev = asyncio.Event()
    done = spawn(quick(), "finished")
    await done
    keep.append(done)                  # finished, still referenced: not pending
    kids = [spawn(lookup(ev), "lookup-%d" % i) for i in range(3)]
    req = spawn(request(kids), "request")
    keep.append(ev)
    facts.update(request=id(req), lookups=[id(k) for k in kids], finished=id(done))


async def child(ev):
    await ev.wait()


async def parent(ev, ids):
    async with asyncio.TaskGroup() as tg:
        for i in range(3):
            ids.append(id(tg.create_task(child(ev), name="child-%d" % i)))
        await asyncio.sleep(0)


async def taskgroup_mode():
    ev = asyncio.Event()
    kids = []
    p = spawn(parent(ev, kids), "parent")
    await ticks()
    keep.append(ev)
    facts.update(parent=id(p), children=kids)


async def shielder(inner):
    await asyncio.shield(inner)


async def timed(inner):
    await asyncio.wait_for(inner, timeout=3600)


async def waiter(inner):
    await asyncio.wait([inner])


async def shield_mode():
    ev = asyncio.Event()
    inners = [spawn(lookup(ev), "inner-%d" % i) for i in range(3)]
    outers = [spawn(shielder(inners[0]), "shielder"), spawn(timed(inners[1]), "timed"),
              spawn(waiter(inners[2]), "waiter")]
    await ticks()
    keep.append(ev)
    facts.update(pairs=[[id(o), id(i)] for o, i in zip(outers, inners)])


async def await_other(first, holder, key):
    await first
    await holder[key]


async def deadlock_mode():
    loop = asyncio.get_event_loop()
    go = loop.create_future()
    holder = {}
    a = spawn(await_other(go, holder, "b"), "ring-a")
    holder["a"] = a
    b = spawn(await_other(asyncio.sleep(0), holder, "a"), "ring-b")
    holder["b"] = b
    c = spawn(await_other(asyncio.sleep(0), holder, "a"), "bystander")
    await ticks()
    go.set_result(None)
    await ticks()
    keep.append(holder)
    facts.update(ring=[id(a), id(b)], bystander=id(c))


async def sleeper():
    await asyncio.sleep(3600)


async def many_mode():
    ts = [spawn(sleeper(), "sleeper-%d" % i) for i in range(10000)]
    await asyncio.sleep(0)
    facts.update(count=len(ts))


async def offload(fn):
    return await asyncio.get_event_loop().run_in_executor(None, fn)


async def executor_mode():
    blocker = threading.Event()
    keep.append(blocker)
    t = spawn(offload(blocker.wait), "offload")
    await ticks()
    facts.update(offload=id(t))


async def agen(ev):
    await ev.wait()
    yield 1


async def consumer(ev):
    async for x in agen(ev):
        return x


@types.coroutine
def legacy(ev):
    # A generator-based coroutine, suspended in a coroutine_wrapper (__await__).
    yield from ev.wait().__await__()


async def old_style(ev):
    await legacy(ev)


async def agen_mode():
    ev = asyncio.Event()
    keep.append(ev)
    t = spawn(consumer(ev), "consumer")
    g = spawn(old_style(ev), "old-style")
    await ticks()
    facts.update(consumer=id(t), generator=id(g))


async def pytask_mode():
    ev = asyncio.Event()
    keep.append(ev)
    kw = {"name": "py-task"} if V >= (3, 8) else {}
    p = asyncio.tasks._PyTask(lookup(ev), **kw)
    c = spawn(lookup(ev), "c-task")
    await ticks()
    assert type(p) is not type(c) or not hasattr(asyncio.tasks, "_CTask")
    keep.append(p)
    facts.update(py=id(p), c=id(c))


async def eager_mode():
    loop = asyncio.get_event_loop()
    ev = asyncio.Event()
    keep.append(ev)
    loop.set_task_factory(asyncio.eager_task_factory)
    e = loop.create_task(lookup(ev), name="eager")
    done = loop.create_task(quick(), name="eager-done")   # finishes at once
    loop.set_task_factory(None)
    lazy = loop.create_task(lookup(ev), name="lazy")
    keep.append(done)
    await ticks()
    facts.update(eager=id(e), lazy=id(lazy), finished=id(done))


def other_loop(ready):
    loop = asyncio.new_event_loop()
    loops[loop] = native_id()

    async def main():
        ev2 = asyncio.Event()
        keep.append(ev2)
        ts = [spawn(lookup(ev2), "worker-%d" % i) for i in range(2)]
        await ticks()
        facts.update(worker=[id(t) for t in ts], worker_tid=loops[loop])
        ready.set()
        await asyncio.sleep(3600 * 24)
    loop.run_until_complete(main())


async def threads_mode():
    ev = asyncio.Event()
    keep.append(ev)
    m = spawn(lookup(ev), "main-task")
    ready = threading.Event()
    before = tids()
    t = threading.Thread(target=other_loop, args=(ready,), name="loop-thread", daemon=True)
    t.start()
    while not ready.is_set():
        await asyncio.sleep(0.01)
    for loop, tid in list(loops.items()):
        if tid is None:         # 3.7
            new = tids() - before
            assert len(new) == 1, new
            loops[loop] = facts["worker_tid"] = new.pop()
    # A loop no thread runs, with a task that never started.
    idle = asyncio.new_event_loop()
    loops[idle] = None
    kw = {"name": "idle-task"} if V >= (3, 8) else {}
    it = idle.create_task(lookup(asyncio.Event(**({} if V >= (3, 10) else {"loop": idle}))), **kw)
    keep.extend([idle, it])
    await ticks()
    facts.update(main_task=id(m), idle_task=id(it))


def blocked():
    time.sleep(3600)


async def hog():
    oracle.ready(**facts)
    blocked()


async def running_mode():
    ev = asyncio.Event()
    keep.append(ev)
    w = spawn(lookup(ev), "bystander")
    await ticks()
    h = spawn(hog(), "hog")
    facts.update(hog=id(h), bystander=id(w), hog_line=hog.__code__.co_firstlineno + 2)


async def main():
    loop = asyncio.get_event_loop()
    loops[loop] = native_id()
    loop.add_signal_handler(signal.SIGUSR1, dump)
    await globals()[MODE + "_mode"]()
    if MODE != "running":
        oracle.ready(**facts)
    await asyncio.sleep(3600 * 24)


asyncio.run(main())
