# Threads for watch: one whose stack never changes, one whose stack changes
# all the time, and, on request, a library loaded while being watched.
#   watched.py [EXIT_AFTER] [TRIGGER]
# sleeper: blocked in time.sleep for good.
# mover:   recurses one level deeper every few milliseconds (then unwinds
#          and starts again), so no two snapshots see the same stack.
# With EXIT_AFTER > 0 the process exits (status 0) that many seconds after
# READY.  With TRIGGER, the main thread waits for that file to appear, then
# loads ctypes (new libraries in the maps) and blocks in a callback from
# libc's qsort.
import os
import sys
import threading
import time

import oracle

exit_after = float(sys.argv[1]) if len(sys.argv) > 1 else 0
trigger = sys.argv[2] if len(sys.argv) > 2 else None


def sleeper():
    oracle.arrive()
    time.sleep(100000)


def deeper(n):
    time.sleep(0.004)
    if n < 200:
        deeper(n + 1)


def mover():
    oracle.busy_ident()
    oracle.arrive()
    while True:
        deeper(0)


def wait_for_trigger():
    while not os.path.exists(trigger):
        time.sleep(0.01)
    import ctypes

    def compare(a, b):
        time.sleep(100000)
        return 0

    cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                ctypes.POINTER(ctypes.c_int))
    values = (ctypes.c_int * 2)(2, 1)
    ctypes.CDLL(None).qsort(values, 2, ctypes.sizeof(ctypes.c_int), cmp_type(compare))


sleeper_thread = threading.Thread(target=sleeper, name="sleeper")
sleeper_thread.start()
mover_thread = threading.Thread(target=mover, name="mover")
mover_thread.daemon = True
mover_thread.start()
oracle.started(2)
oracle.ready(busy=oracle.busy_idents(), sleeper=sleeper_thread.ident, mover=mover_thread.ident)
if exit_after:
    time.sleep(exit_after)
    sys.stdout.flush()
    os._exit(0)
if trigger:
    wait_for_trigger()
oracle.idle()
