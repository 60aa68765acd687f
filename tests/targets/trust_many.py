# Many blocked threads, and one that keeps counting, for checking that a
# process read (and interrupted, or killed, mid-read) goes on running.
#   trust_many.py N COUNTER_FILE
# N threads block for good (sleep, lock, event, queue, condition), so that a
# stopped read of them takes milliseconds.  A counter thread adds one to a
# count every millisecond and, every 5 ms, writes it to COUNTER_FILE
# (written aside, then renamed into place, so a reader never sees half of
# it).  READY carries {"counter": ident of the counter thread}.
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
counter_file = sys.argv[2]
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
c = threading.Thread(target=counter, name="counter")
c.daemon = True
c.start()
oracle.started(n + 1)
time.sleep(0.1)
oracle.ready(counter=counter_ident[0])
oracle.idle()
