# A tree of processes, for reading several at once.
#   family.py           this process starts a Python child, which starts a
#                       Python grandchild, then a `sleep`; READY once all are
#                       in place: {"pid": its own PID, "child": PID,
#                       "grandchild": PID, "sleep": PID, "oracles": {PID:
#                       file}, "mains": {PID: ident}}
#   family.py churn     this process starts one Python child that stays
#                       (READY {"stable": PID, ...}), and a thread that starts
#                       short-lived ones without end: Python processes that
#                       live a few milliseconds (so they are caught starting,
#                       running and exiting) and forks of this one that exit
#                       at once.
#   family.py replace LOG
#                       this process keeps WORKERS Python children, and every
#                       REPLACE_S kills the oldest (SIGKILL, then reaped) and
#                       starts another, as a pre-fork server's master does;
#                       LOG gets a line per change, its time.time() first:
#                       "T ready PID" once a worker is READY, "T killing PID"
#                       just before the signal.  READY {"workers": [PID...]}
#                       with the first ones in place.
#   family.py reborn    this process starts one Python child (READY
#                       {"child": PID}), which on SIGUSR2 runs exec into a
#                       new interpreter running this file as a leaf: the
#                       same PID, another program.
# Every Python process of the tree answers SIGUSR1 with its own stacks in its
# own oracle file (oracles, by PID).  Each child is killed when its parent
# dies (PR_SET_PDEATHSIG), so the whole tree goes with the process the test
# started.
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import oracle

PR_SET_PDEATHSIG = 1

try:
    import ctypes
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):
    _prctl = None


def _die_with(parent):
    """A preexec_fn: the child is killed when parent goes, even before this ran."""
    def preexec():
        if _prctl:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return preexec


def oracle_file(role):
    base = os.environ.get("PYSTACK_ORACLE")
    return base + "." + role if base else None


def spawn(role):
    """A Python child running this file as role; waits for its READY facts."""
    env = dict(os.environ)
    path = oracle_file(role)
    if path:
        env["PYSTACK_ORACLE"] = path
    # stdin stays open (kept by the Popen object): the child's quit-reader
    # thread blocks on it for good, so its threads do not change.
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), role],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                         preexec_fn=_die_with(os.getpid()))
    line = p.stdout.readline()
    if not line.startswith(b"READY"):
        sys.stderr.write("family.py: %s never became ready: %r\n" % (role, line))
        sys.exit(1)
    facts = json.loads(line[5:].decode("utf-8"))
    facts["oracle"] = path
    return p, facts


def leaf_waits():
    oracle.idle()


def child_waits():
    oracle.idle()


def root_waits():
    oracle.idle()


def churn():
    """Short-lived children, one after the other, for good."""
    me = os.getpid()
    warnings.simplefilter("ignore")     # 3.12+: fork() in a process with threads
    n = 0
    while True:
        n += 1
        if n % 2:
            # A Python that lives 0-5 ms once running: caught starting up,
            # running, or on its way out.
            code = "import time; time.sleep(%.4f)" % (0.005 * (n % 7) / 6)
            subprocess.call([sys.executable, "-S", "-c", code], preexec_fn=_die_with(me))
        else:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)


WORKERS = 3
REPLACE_S = 0.6


def replace(log):
    """Kill the oldest worker and start another, every REPLACE_S, for good."""
    def note(what, pid):
        log.write("%.6f %s %d\n" % (time.time(), what, pid))
        log.flush()

    def start():
        p, _ = spawn("leaf")
        note("ready", p.pid)
        return p

    workers = [start() for _ in range(WORKERS)]
    oracle.ready(workers=[p.pid for p in workers])
    while True:
        time.sleep(REPLACE_S)
        old = workers.pop(0)
        note("killing", old.pid)
        old.kill()
        old.wait()
        workers.append(start())


role = sys.argv[1] if len(sys.argv) > 1 else "root"
keep = []
if role == "leaf":
    oracle.ready()
    leaf_waits()
elif role == "child":
    leaf, facts = spawn("leaf")
    keep.append(leaf)
    oracle.ready(grandchild=leaf.pid, grandchild_oracle=facts["oracle"],
                 grandchild_main=facts["main"])
    child_waits()
elif role == "churn":
    stable, facts = spawn("leaf")
    keep.append(stable)
    t = threading.Thread(target=churn, name="churn")
    t.daemon = True
    t.start()
    oracle.ready(stable=stable.pid, stable_main=facts["main"])
    root_waits()
elif role == "replace":
    replace(open(sys.argv[2], "w"))
elif role == "execs":
    told = []
    signal.signal(signal.SIGUSR2, lambda signum, frame: told.append(signum))
    oracle.ready()
    while not told:
        time.sleep(0.01)
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "leaf"])
elif role == "reborn":
    child, facts = spawn("execs")
    keep.append(child)
    oracle.ready(child=child.pid)
    root_waits()
else:
    child, facts = spawn("child")
    keep.append(child)
    sleeper = subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL if
                               hasattr(subprocess, "DEVNULL") else open(os.devnull),
                               preexec_fn=_die_with(os.getpid()))
    keep.append(sleeper)
    me = os.getpid()
    oracle.ready(pid=me, child=child.pid, grandchild=facts["grandchild"], sleep=sleeper.pid,
                 oracles={str(me): os.environ.get("PYSTACK_ORACLE"),
                          str(child.pid): facts["oracle"],
                          str(facts["grandchild"]): facts["grandchild_oracle"]},
                 mains={str(child.pid): facts["main"],
                        str(facts["grandchild"]): facts["grandchild_main"]})
    root_waits()
