# A process whose main thread has ended while its other threads run on: the
# main thread leaves with the raw exit system call (not exit_group), as a C
# extension calling pthread_exit() would.  The kernel then shows the thread
# group leader, and so /proc/PID, as a zombie ("Z"), yet the process lives.
#   main_thread_exits.py        READY {"sleeper": ident, "leader_tid": pid}
# The quit-reader thread of oracle.py still ends the process on "quit".
import ctypes
import os
import platform
import threading
import time

import oracle

SYS_EXIT = {"x86_64": 60, "aarch64": 93, "i686": 1, "i386": 1, "armv7l": 1}

idents = []


def sleeper():
    idents.append(oracle.threading_ident())
    oracle.arrive()
    while True:
        time.sleep(3600)


threading.Thread(target=sleeper, name="sleeper").start()
oracle.started(1)
time.sleep(0.1)
nr = SYS_EXIT.get(platform.machine())
if nr is None:
    raise SystemExit("no exit system call number known for %s" % platform.machine())
oracle.ready(sleeper=idents[0], leader_tid=os.getpid())
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall(nr, 0)
