# Threads waiting deep in library code under the program's own frames:
# serve() -> handle() -> five calls of an installed package (written here
# into ./site-packages) -> queue.get() -> Condition.wait(), for the live
# view's fitting.
#   served.py N
# READY carries {"servers": N}.
import os
import sys
import threading

import oracle

try:
    import queue
except ImportError:
    import Queue as queue

jobs = queue.Queue()
LIB = os.path.abspath("site-packages")
if not os.path.isdir(LIB):
    os.mkdir(LIB)
with open(os.path.join(LIB, "vendorlib.py"), "w") as f:
    f.write("def level5(get):\n    return get()\n")
    for k in range(4, 0, -1):
        f.write("def level%d(get):\n    return level%d(get)\n" % (k, k + 1))
sys.path.insert(0, LIB)
import vendorlib  # noqa: E402


def handle(n):
    oracle.arrive()
    return vendorlib.level1(jobs.get)


def serve(n):
    return handle(n)


n = int(sys.argv[1])
for i in range(n):
    t = threading.Thread(target=serve, args=(i,), name="server-%d" % i)
    t.daemon = True
    t.start()
oracle.started(n)
oracle.ready(servers=n)
oracle.idle()
