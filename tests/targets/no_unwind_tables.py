# Threads blocked in libc under C functions that have no unwind tables
# (tests/targets/no_unwind_tables.c, built by the test into LIBDIR), called
# through ctypes: one keeps a frame pointer, one does not, and one keeps it
# and is called by another such function.
#   no_unwind_tables.py LIBDIR
# READY carries each thread's ident by the C function it calls.
import ctypes
import os
import sys
import threading

import oracle

libdir = sys.argv[1]
idents = {}


def call(name):
    idents[name] = oracle.threading_ident()
    oracle.arrive()
    getattr(ctypes.CDLL(os.path.join(libdir, name + ".so")), name)()


names = ["keeps_frame_pointer", "omits_frame_pointer", "calls_keeping_frame_pointers"]
for name in names:
    t = threading.Thread(target=call, args=(name,))
    t.daemon = True
    t.start()
oracle.started(len(names))
oracle.ready(threads=idents)
oracle.idle()
