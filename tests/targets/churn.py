# Threads that start and end without pause, next to threads that stay put.
#   churn.py [CONCURRENT]
# Stable threads block for good (sleep, lock, event, queue, condition) and
# so does the main thread (3.x; on 2.7 it wakes every 50 ms for the oracle's
# signal handler).  A spawner thread starts short-lived threads without end,
# at most CONCURRENT (default 6) alive at once, alternately through
# threading.Thread and the low-level thread module; each calls a few nested
# functions (churn_body > level1 > level2 > level3) and ends.  So pystack
# keeps finding thread states being created and deleted, and frames being
# pushed and popped, while it reads.
# A test that wants the interpreter's own view (faulthandler walks the thread
# states without a lock, and can crash when threads end under it) creates
# churn.pause in the working directory: the spawner stops starting threads,
# waits until every short-lived thread is gone from the OS, and answers with
# churn.quiet; when churn.pause is removed it removes churn.quiet and goes on.
# READY carries {"stable": [idents of the threads that never move]}.
import os
import sys
import threading
import time

import oracle

try:
    import _thread as thread_mod
except ImportError:
    import thread as thread_mod
try:
    import queue
except ImportError:
    import Queue as queue

concurrent = int(sys.argv[1]) if len(sys.argv) > 1 else 6
slots = threading.Semaphore(concurrent)
lock = threading.Lock()
lock.acquire()
event = threading.Event()
jobs = queue.Queue()
cond = threading.Condition()
stable = []
stable_lock = threading.Lock()


def mark_stable():
    with stable_lock:
        stable.append(oracle.threading_ident())
    oracle.arrive()


def stable_sleeper():
    mark_stable()
    time.sleep(100000)


def stable_locker():
    mark_stable()
    lock.acquire()


def stable_waiter():
    mark_stable()
    event.wait()


def stable_getter():
    mark_stable()
    jobs.get()


def stable_condition():
    with cond:
        mark_stable()
        cond.wait()


def level3(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def level2(n):
    a = level3(n)
    b = level3(n // 2)
    return a + b


def level1(n):
    if n % 3 == 0:
        time.sleep(0.0002)
    return level2(n) + 1


def churn_body(n, release):
    try:
        level1(n)
    finally:
        if release:
            slots.release()


def os_threads():
    return len(os.listdir("/proc/self/task"))


def keep_quiet(alone):
    """Hold every slot until churn.pause goes, once the churners are gone."""
    for _ in range(concurrent):
        slots.acquire()
    while os_threads() > alone:
        time.sleep(0.001)
    open("churn.quiet", "w").close()
    while os.path.exists("churn.pause"):
        time.sleep(0.01)
    os.remove("churn.quiet")
    for _ in range(concurrent):
        slots.release()


def spawner():
    alone = os_threads()
    k = 0
    while True:
        k += 1
        if os.path.exists("churn.pause"):
            keep_quiet(alone)
        slots.acquire()
        n = 50 + (k * 37) % 400
        if k % 2:
            thread_mod.start_new_thread(churn_body, (n, True))
        else:
            t = threading.Thread(target=churn_body, args=(n, True), name="churn-%d" % k)
            t.daemon = True
            t.start()


for fn in (stable_sleeper, stable_locker, stable_waiter, stable_getter, stable_condition):
    threading.Thread(target=fn, name=fn.__name__).start()
oracle.started(5)
s = threading.Thread(target=spawner, name="spawner")
s.daemon = True
s.start()
time.sleep(0.1)
if not oracle.PY2:
    stable.append(oracle.threading_ident())
stable.extend(t.ident for t in threading.enumerate() if t.name == "quit-reader")
oracle.ready(stable=stable)
oracle.idle()
