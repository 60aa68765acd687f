# Threads whose native stacks the --native tests know in advance.
#   native_target.py DIR    (DIR holds the built pystack_native_test module)
#   through:  Python -> C (level_one, level_two) -> Python callback, blocked
#   in_c:     Python -> C, GIL released, in pystack_test::blocking_call(int)
#   sort_it:  Python -> sorted() in C -> Python key function, blocked
#   map_it:   Python -> list() of a map in C -> Python function, blocked
#   qsort:    Python -> ctypes -> libc qsort -> Python comparison, blocked
#   jit_loop: a hot loop calling C, which blocks on the last iteration: in a
#             JIT build (3.13+) the loop runs as JIT code by then, so the C
#             function is called from code in no mapped file
#   and a thread started from C that never runs Python.
import ctypes
import sys
import threading
import time

import oracle

sys.path.insert(0, sys.argv[1])
import pystack_native_test as ext  # noqa: E402


def block():
    oracle.arrive()
    time.sleep(100000)


def in_callback():
    block()


def through():
    return ext.call_through(in_callback)


def in_c():
    oracle.arrive()
    ext.sleep_in_c()


def key(item):
    block()
    return item


def sort_it():
    return sorted([2, 1], key=key)


def mapped(item):
    block()
    return item


def map_it():
    return list(map(mapped, [1]))


CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def compare(a, b):
    block()
    return a[0] - b[0]


def qsort_it():
    values = (ctypes.c_int * 2)(2, 1)
    libc = ctypes.CDLL(None)
    libc.qsort(values, 2, ctypes.sizeof(ctypes.c_int), CMP(compare))


# Iterations of jit_loop: well past the JIT's warm-up (4096 backward jumps in 3.14).
JIT_LOOPS = 20000


def jit_loop():
    oracle.arrive()
    for i in range(JIT_LOOPS):
        ext.block_if(i == JIT_LOOPS - 1)


names = {}
for fn in (through, in_c, sort_it, map_it, qsort_it, jit_loop):
    t = threading.Thread(target=fn, name=fn.__name__)
    t.start()
ext.start_c_thread()
oracle.started(6)
time.sleep(0.2)
idents = dict((t.name, t.ident) for t in threading.enumerate())
oracle.ready(threads=idents)
oracle.idle()
