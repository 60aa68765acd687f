# The process `make bench` reads.
#   target.py THREADS DEPTH PROBE [HEAP_MB]
# THREADS Python threads in all: the main thread, DEPTH calls deep in a
# recursion that ends blocked; a control thread reading stdin; with PROBE=1
# a probe thread; the rest workers blocked on an event.  The probe measures,
# from inside, how long the process was kept from running: it spins on the
# monotonic clock and keeps the largest gap between two readings, and counts
# its loops, the throughput `make bench` compares while pystack watches.
# READY on stdout when all is in place; then, on stdin, "gap" prints and
# resets the largest gap (microseconds), the loops and the seconds since the
# last "gap"; "quit" ends the process.  With HEAP_MB, the main thread first
# fills a bytearray of that many MiB, a byte in every page (a big process
# for the core rows: every page is memory a core holds).
import os
import sys
import threading
import time

threads, depth, with_probe = (int(a) for a in sys.argv[1:4])
heap = bytearray((int(sys.argv[4]) if len(sys.argv) > 4 else 0) << 20)
for page in range(0, len(heap), 4096):
    heap[page] = 1
sys.setrecursionlimit(depth + 1000)
started = threading.Semaphore(0)
block = threading.Event()
state = {"gap": 0.0, "loops": 0, "since": time.monotonic()}


def worker():
    started.release()
    block.wait()


def probe():
    clock = time.monotonic
    last = clock()
    started.release()
    while True:
        for _ in range(1000):
            now = clock()
            if now - last > state["gap"]:
                state["gap"] = now - last
            last = now
        state["loops"] += 1


def control():
    started.release()
    for line in sys.stdin:
        word = line.strip()
        if word == "gap":
            now = time.monotonic()
            sys.stdout.write("%d %d %.6f\n" % (state["gap"] * 1e6, state["loops"],
                                               now - state["since"]))
            sys.stdout.flush()
            state["gap"], state["loops"], state["since"] = 0.0, 0, now
        elif word == "quit":
            break
    os._exit(0)


def deep(n):
    if n <= 1:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        block.wait()
    else:
        deep(n - 1)


helpers = [control] + ([probe] if with_probe else [])
helpers += [worker] * max(threads - 1 - len(helpers), 0)
for fn in helpers:
    t = threading.Thread(target=fn)
    t.daemon = True
    t.start()
for _ in helpers:
    started.acquire()
deep(max(depth, 1))
