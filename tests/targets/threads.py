# N threads blocked in the usual ways, and BUSY threads spinning in Python.
#   threads.py N [BUSY [COUNTER_FILE]]
# With COUNTER_FILE, one more thread adds one to a count every millisecond
# and every 5 ms writes it there (aside, then renamed into place, so a
# reader never sees half of it): a process that still counts still runs.
# READY carries the spinners' idents, and the counter's.
import os
import sys
import threading
import time

import oracle

try:
    import queue
except ImportError:
    import Queue as queue

n = int(sys.argv[1])
busy = int(sys.argv[2]) if len(sys.argv) > 2 else 0
counter_file = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()
lock.acquire()
event = threading.Event()
jobs = queue.Queue()
cond = threading.Condition()


def sleeper():
    oracle.arrive()
    time.sleep(100000)


def locker():
    oracle.arrive()
    lock.acquire()


def waiter():
    oracle.arrive()
    event.wait()


def getter():
    oracle.arrive()
    jobs.get()


def condition():
    with cond:
        oracle.arrive()
        cond.wait()


def spinner():
    oracle.busy_ident()
    oracle.arrive()
    x = 0
    while True:
        x += 1


def publish(count):
    tmp = counter_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % count)
    os.rename(tmp, counter_file)


counter_ident = []


def counter():
    counter_ident.append(oracle.threading_ident())
    count = 0
    publish(count)
    oracle.arrive()
    last = time.time()
    while True:
        time.sleep(0.001)
        count += 1
        now = time.time()
        if now - last >= 0.005:
            publish(count)
            last = now


kinds = [sleeper, locker, waiter, getter, condition]
for i in range(n):
    threading.Thread(target=kinds[i % len(kinds)], name="worker-%d" % i).start()
for i in range(busy):
    threading.Thread(target=spinner, name="spinner-%d" % i).start()
if counter_file:
    c = threading.Thread(target=counter, name="counter")
    c.daemon = True
    c.start()
oracle.started(n + busy + (1 if counter_file else 0))
time.sleep(0.1)
oracle.ready(busy=oracle.busy_idents(), counter=counter_ident[0] if counter_ident else None)
oracle.idle()
