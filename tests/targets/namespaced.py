# Threads that know their own OS thread ids, for reading a process that
# lives in its own PID namespace (tests/integration/test_containers.py).
#   namespaced.py N
# N threads blocked in the usual ways (a sleep, a lock, an event, a queue).
# READY carries the process's own view: its PID and each thread's id in its
# namespace (gettid() there), by thread ident, as {"pid": 1, "tids": {...}}.
import ctypes
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
lock = threading.Lock()
lock.acquire()
event = threading.Event()
jobs = queue.Queue()
tids = {}
_libc = ctypes.CDLL(None)


def note():
    """Record the calling thread's id as its own PID namespace numbers it."""
    tids[str(oracle.threading_ident())] = _libc.gettid()


def sleeper():
    note()
    oracle.arrive()
    time.sleep(100000)


def locker():
    note()
    oracle.arrive()
    lock.acquire()


def waiter():
    note()
    oracle.arrive()
    event.wait()


def getter():
    note()
    oracle.arrive()
    jobs.get()


kinds = [sleeper, locker, waiter, getter]
for i in range(n):
    threading.Thread(target=kinds[i % len(kinds)], name="worker-%d" % i).start()
oracle.started(n)
note()
time.sleep(0.1)
oracle.ready(pid=os.getpid(), tids=tids)
oracle.idle()
