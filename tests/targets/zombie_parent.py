# A parent that forks a child which exits at once and is never reaped, so the
# child stays a zombie for as long as the parent lives.
#   zombie_parent.py        READY {"child": PID, ...}
import os
import time

import oracle


def child_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rpartition(")")[2].split()[0]


child = os.fork()
if child == 0:
    os._exit(0)
deadline = time.time() + 30
while child_state(child) != "Z" and time.time() < deadline:
    time.sleep(0.005)
oracle.ready(child=child)
oracle.idle()
