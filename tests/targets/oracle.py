# The interpreter's own view of its stacks, for the tests to compare with.
#
# Every test target imports this.  On SIGUSR1 the interpreter writes every
# thread's stack to the file named by $PYSTACK_ORACLE: faulthandler does it
# on 3.x; 2.7 has no faulthandler, so a Python-level handler writes the same
# format from sys._current_frames().  Targets call ready() once every thread
# is in place, then park the main thread in idle() (or block elsewhere); a
# line "quit" on stdin ends the process with status 0, which is how the tests
# check that a target still runs after pystack has read it.
import os
import signal
import sys
import threading
import time

PY2 = sys.version_info[0] == 2
_keep = []


def _frames27(frame):
    out = []
    while frame is not None:
        code = frame.f_code
        out.append('  File "%s", line %d in %s\n' % (code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return out


def _handler27(signum, frame):
    # Runs in the main thread, on top of the frame it interrupted: leave it out.
    lines = []
    for ident, top in sys._current_frames().items():
        if ident == threading_ident():
            top = frame
            lines.append("Current thread 0x%016x (most recent call first):\n" % ident)
        else:
            lines.append("Thread 0x%016x (most recent call first):\n" % ident)
        lines.extend(_frames27(top))
        lines.append("\n")
    with open(os.environ["PYSTACK_ORACLE"], "w") as f:
        f.write("".join(lines))


def threading_ident():
    try:
        return threading.get_ident()
    except AttributeError:
        import thread
        return thread.get_ident()


def _quit_on_stdin():
    line = sys.stdin.readline()
    if line.strip() == "quit":
        sys.stdout.flush()
        os._exit(0)


def install():
    path = os.environ.get("PYSTACK_ORACLE")
    if path:
        try:
            import faulthandler
            f = open(path, "w")
            _keep.append(f)
            faulthandler.register(signal.SIGUSR1, file=f, all_threads=True)
        except ImportError:
            signal.signal(signal.SIGUSR1, _handler27)
            # A read elsewhere must restart, not fail with EINTR.
            signal.siginterrupt(signal.SIGUSR1, False)
    t = threading.Thread(target=_quit_on_stdin, name="quit-reader")
    t.daemon = True
    t.start()


def ready(**facts):
    """Tell the test every thread is in place, with facts about them as JSON.

    Always included: the main thread's ident and, on 3.11+, every other
    thread's frames' qualified names as the interpreter has them.
    """
    import json
    me = threading_ident()
    facts["main"] = me
    if sys.version_info >= (3, 11):
        quals = {}
        for ident, frame in sys._current_frames().items():
            if ident != me:
                names = []
                while frame is not None:
                    names.append(frame.f_code.co_qualname)
                    frame = frame.f_back
                quals[str(ident)] = names
        facts["qualnames"] = quals
    sys.stdout.write("READY %s\n" % json.dumps(facts))
    sys.stdout.flush()


def idle():
    """Park the calling thread for good (interruptibly, for 2.7's handler)."""
    while True:
        time.sleep(0.05 if PY2 else 3600)


def busy_ident():
    """Note the calling thread as busy: the tests do not compare its moving stack."""
    with _arrived_lock:
        _busy.append(threading_ident())


_busy = []


def busy_idents():
    return list(_busy)


def started(n, timeout=60.0):
    """A barrier: wait until n threads have called arrive()."""
    deadline = time.time() + timeout
    while _arrived[0] < n and time.time() < deadline:
        time.sleep(0.005)


_arrived = [0]
_arrived_lock = threading.Lock()


def arrive():
    with _arrived_lock:
        _arrived[0] += 1


install()
