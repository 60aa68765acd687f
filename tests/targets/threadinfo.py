# Threads a runbook asks about: named ones, renamed ones, one started
# without the threading module, two spinning in Python (one holds the GIL,
# the other waits for it), and frames whose variables --locals shows.
#   threadinfo.py [SPINNERS]
# READY carries the interpreter's own view: every thread's name by ident,
# the spinners' idents, and for each function whose frame is blocked, the
# repr() of each of its variables (arguments listed apart).
import sys
import threading
import time

import oracle

try:
    import _thread as thread_module
except ImportError:
    import thread as thread_module

PY2 = sys.version_info[0] == 2
spinners = int(sys.argv[1]) if len(sys.argv) > 1 else 2
block = threading.Event()
views = {}


def note(name, args, local_vars):
    views[name] = {"args": dict((k, repr(v)) for k, v in args.items()),
                   "locals": dict((k, repr(v)) for k, v in local_vars.items())}


def values(a, b=2, *rest, **options):
    big = 2 ** 100
    negative = -2 ** 100
    f = 0.1
    g = 1e16
    h = 1e-05
    z = -0.0
    third = 1.0 / 3
    s = "it's"
    both = 'both \' and "'
    u = u"h\xe9llo \u65e5\u672c \U0001F600"
    ctrl = u"ctrl \x1b[2J \x00 \x7f \u200b \u202e"
    raw = b"bytes\x00\xff'"
    empty = ()
    single = (1,)
    nested = [1, [2, (3, "x")]]
    mapping = {"a": 1, 2: [3]}
    nothing = set()
    some = set([1, 2, 3])
    frozen = frozenset([4])
    long_list = list(range(100))
    long_text = "x" * 1000
    none = None
    flags = (True, False)
    note("values", {"a": a, "b": b, "rest": rest, "options": options},
         dict((k, v) for k, v in locals().items() if k not in ("a", "b", "rest", "options")))
    oracle.arrive()
    block.wait()


def outer(captured):
    kept = [captured]

    def inner(arg):
        local = arg + 1
        note("inner", {"arg": arg}, {"local": local, "captured": captured, "kept": kept})
        oracle.arrive()
        block.wait()
        return captured, kept
    return inner(41)


def spin():
    oracle.busy_ident()
    oracle.arrive()
    x = 0
    while True:
        x += 1


def raw_thread():
    oracle.arrive()
    block.wait()


def renamed():
    oracle.arrive()
    block.wait()


named = [
    threading.Thread(target=values, args=(1,), kwargs={"k": "v"},
                     name="values-\xce\xb1" if PY2 else u"values-\u03b1"),
    threading.Thread(target=outer, args=("c",), name="closure"),
    threading.Thread(target=renamed, name="before"),
]
named += [threading.Thread(target=spin, name="spinner-%d" % i) for i in range(spinners)]
for t in named:
    t.daemon = True
    t.start()
named[2].name = "after\x1b[31m"
thread_module.start_new_thread(raw_thread, ())
oracle.started(len(named) + 1)
time.sleep(0.1)
names = dict((str(t.ident), t.name) for t in threading.enumerate())
oracle.ready(busy=oracle.busy_idents(), names=names, views=views,
             spinners=[t.ident for t in named[3:]], main_name=threading.current_thread().name)
oracle.idle()
