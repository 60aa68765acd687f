# N threads blocked in the usual ways, and BUSY threads spinning in Python.
#   threads.py N [BUSY]
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


kinds = [sleeper, locker, waiter, getter, condition]
for i in range(n):
    threading.Thread(target=kinds[i % len(kinds)], name="worker-%d" % i).start()
for i in range(busy):
    threading.Thread(target=spinner, name="spinner-%d" % i).start()
oracle.started(n + busy)
time.sleep(0.1)
oracle.ready(busy=oracle.busy_idents())
oracle.idle()
