# One thread DEPTH calls deep in plain Python recursion, then blocked.
#   deep.py DEPTH
import sys
import threading
import time

import oracle

depth = int(sys.argv[1])
sys.setrecursionlimit(depth + 1000)
threading.stack_size(512 * 1024 * 1024)
frames = []


def count_frames():
    n, f = 0, sys._getframe(1)
    while f is not None:
        n += 1
        f = f.f_back
    return n


def recurse(n):
    if n == 0:
        frames.append(count_frames())
        oracle.arrive()
        time.sleep(100000)
    return recurse(n - 1)


threading.Thread(target=recurse, args=(depth,), name="deep").start()
oracle.started(1)
time.sleep(0.1)
oracle.ready(frames=frames[0])
oracle.idle()
