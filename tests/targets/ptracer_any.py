# A target meant to be read by an unprivileged pystack of the same user.
#   ptracer_any.py [nodump]
# Where the Yama LSM is active (kernel.yama.ptrace_scope=1) only a process's
# ancestors may trace it, and pystack is not one: the process allows any
# tracer of its own user with prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY).
# Without Yama that prctl fails with EINVAL, which is fine: then the usual
# same-user rule already applies.  READY carries {"yama": errno or 0}.
# With "nodump" the process also makes itself non-dumpable
# (prctl(PR_SET_DUMPABLE, 0)), as setuid and setcap programs are: then only
# a tracer with CAP_SYS_PTRACE may read it, whatever its user.
import ctypes
import sys
import threading
import time

import oracle

PR_SET_DUMPABLE = 4
PR_SET_PTRACER = 0x59616D61
PR_SET_PTRACER_ANY = ctypes.c_ulong(-1 & 0xFFFFFFFFFFFFFFFF)

libc = ctypes.CDLL(None, use_errno=True)
yama = 0
if libc.prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0) != 0:
    yama = ctypes.get_errno()
if "nodump" in sys.argv[1:]:
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise SystemExit("prctl(PR_SET_DUMPABLE, 0) failed: errno %d" % ctypes.get_errno())

event = threading.Event()


def napper():
    oracle.arrive()
    time.sleep(100000)


def waiter():
    oracle.arrive()
    event.wait()


threading.Thread(target=napper, name="napper").start()
threading.Thread(target=waiter, name="waiter").start()
oracle.started(2)
time.sleep(0.1)
oracle.ready(yama=yama)
oracle.idle()
