# A stand-in debugger: traces PID with ptrace and holds on until a line (or
# end of file) arrives on stdin, then detaches and exits.
#   seize.py PID [attach]
# PTRACE_SEIZE leaves the tracee running; "attach" uses PTRACE_ATTACH, which
# stops it (the tracee then sits in tracing stop, state "t") until the
# helper detaches it with PTRACE_DETACH, which lets it run on.
# Prints "TRACING" once the tracer is in place, or "ERROR errno".
import ctypes
import os
import sys

PTRACE_ATTACH = 16
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
pid = int(sys.argv[1])
attach = "attach" in sys.argv[2:]
if libc.ptrace(PTRACE_ATTACH if attach else PTRACE_SEIZE, pid, None, None) != 0:
    sys.stdout.write("ERROR %d\n" % ctypes.get_errno())
    sys.stdout.flush()
    sys.exit(1)
if attach:
    os.waitpid(pid, getattr(os, "__WALL", 0x40000000))
sys.stdout.write("TRACING\n")
sys.stdout.flush()
sys.stdin.readline()
if attach and libc.ptrace(PTRACE_DETACH, pid, None, None) != 0:
    sys.stdout.write("ERROR %d\n" % ctypes.get_errno())
    sys.exit(1)
# A seized tracee is detached by this exit (it cannot be PTRACE_DETACHed
# while it runs).
