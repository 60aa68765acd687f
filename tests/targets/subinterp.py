# A thread that runs code in a subinterpreter (3.14+: concurrent.interpreters,
# earlier the private modules), blocked in time.sleep inside a function that
# code defines.
#   subinterp.py    READY {"module": ..., "interp": ID, "runner": ident,
#                          "runner_tid": tid, "lines": {function: line}}
#                   or READY {"skip": reason} when the interpreter has no
#                   usable subinterpreter module.
# The code runs as "<string>" ("<script>" through concurrent.interpreters,
# as "file" says); "lines" gives, for each of its functions, the
# line each is at while the thread sleeps.
import os
import sys
import threading

import oracle

try:
    import concurrent.interpreters as interpreters  # 3.14+, the public module
except ImportError:
    try:
        import _interpreters as interpreters        # 3.13
    except ImportError:
        try:
            import _xxsubinterpreters as interpreters  # 3.8-3.12
        except ImportError:
            interpreters = None
PUBLIC = interpreters is not None and interpreters.__name__ == "concurrent.interpreters"

SOURCE = """\
import os
import time

def sub_sleeps(fd):
    os.write(fd, b"x")
    time.sleep(100000)

sub_sleeps(%d)
"""
LINES = {"sub_sleeps": 6, "<module>": 8}

facts = {}


def runner(interp, fd):
    facts["runner"] = threading.get_ident()
    facts["runner_tid"] = threading.get_native_id()
    if PUBLIC:
        interp.exec(SOURCE % fd)
    else:
        interpreters.run_string(interp, SOURCE % fd)


if interpreters is None:
    oracle.ready(skip="no _interpreters or _xxsubinterpreters module in Python %d.%d"
                 % sys.version_info[:2])
    oracle.idle()
try:
    interp = interpreters.create()
except Exception as e:
    oracle.ready(skip="%s.create() failed: %r" % (interpreters.__name__, e))
    oracle.idle()
r, w = os.pipe()
t = threading.Thread(target=runner, args=(interp, w), name="subinterp-runner")
t.daemon = True
t.start()
os.read(r, 1)
oracle.ready(module=interpreters.__name__, interp=int(interp.id if PUBLIC else interp),
             lines=LINES, file="<script>" if PUBLIC else "<string>", **facts)
oracle.idle()
