# -*- coding: utf-8 -*-
# Names and values chosen to fool a terminal or a parser, for pystack to
# show harmlessly.  Run it from a copy whose file name holds escape
# sequences too (test_hostile.py does).
#   hostile_names.py
# ctrl:  a function renamed (co_name, and co_qualname on 3.11+) to hold ESC,
#        BEL, C1 CSI and DEL, in a thread whose name is 10,000 characters of
#        escape sequences and bidi overrides; its locals are a str with ESC,
#        NUL, a lone surrogate and U+202E, a bytes with \xff, and a str of
#        10,000 ESCs.  Blocked in Event.wait.
# long:  a function renamed to a name of more than 10,000 characters (with
#        escape sequences), blocked in time.sleep.
# nul:   a function renamed to hold NUL ("before\0after"), in a thread named
#        "nul\0thread", blocked in time.sleep.
# READY carries, as hex of the raw bytes the interpreter holds (UTF-8 for a
# 3.x str, the str itself on 2.7), every name, and the reprs of the locals.
import binascii
import sys
import threading
import time
import types

import oracle

PY2 = sys.version_info[0] == 2


def native(u):
    """The interpreter's own str for the text u: 2.7's str holds UTF-8 bytes."""
    return u.encode("utf-8") if PY2 else u


def wire(s):
    """s as hex, so that READY is plain ASCII whatever s holds."""
    if not isinstance(s, bytes):
        s = s.encode("utf-8", "surrogatepass") if not PY2 else s.encode("utf-8")
    return binascii.hexlify(s).decode("ascii")


CTRL_NAME = native(u"a\x1b[2Jb\x07c\x9b31md\x7fe")
CTRL_QUAL = native(u"Q\x1b]0;pwned\x07.\u202eR\x1b[31m")
LONG_NAME = native(u"long" + u"_\x1b[7mX\x07" * 1430)         # 10,014 characters
THREAD_NAME = native((u"T\x1b[31m\x07\u202e" * 1700)[:10000])
NUL_NAME = native(u"before\x00after")
NUL_THREAD = native(u"nul\x00thread")
HOSTILE_STR = u"esc\x1b[2J nul\x00 sur\udcff bidi\u202e end"
HOSTILE_BYTES = b"\xff\x1b[0m\x00z"
BIG = u"\x1b" * 10000

event = threading.Event()


def rename(fn, name, qualname):
    code = fn.__code__
    if hasattr(code, "replace"):            # 3.8+
        kw = {"co_name": name}
        if sys.version_info >= (3, 11):
            kw["co_qualname"] = qualname
        fn.__code__ = code.replace(**kw)
    elif PY2:
        fn.__code__ = types.CodeType(
            code.co_argcount, code.co_nlocals, code.co_stacksize, code.co_flags, code.co_code,
            code.co_consts, code.co_names, code.co_varnames, code.co_filename, name,
            code.co_firstlineno, code.co_lnotab, code.co_freevars, code.co_cellvars)
    else:                                   # 3.6, 3.7
        fn.__code__ = types.CodeType(
            code.co_argcount, code.co_kwonlyargcount, code.co_nlocals, code.co_stacksize,
            code.co_flags, code.co_code, code.co_consts, code.co_names, code.co_varnames,
            code.co_filename, name, code.co_firstlineno, code.co_lnotab, code.co_freevars,
            code.co_cellvars)


def ctrl():
    s = HOSTILE_STR
    b = HOSTILE_BYTES
    big = BIG
    oracle.arrive()
    event.wait()
    return s, b, big


def long():
    oracle.arrive()
    time.sleep(100000)


def nul():
    oracle.arrive()
    time.sleep(100000)


rename(ctrl, CTRL_NAME, CTRL_QUAL)
rename(nul, NUL_NAME, NUL_NAME)
rename(long, LONG_NAME, LONG_NAME)
assert ctrl.__code__.co_name == CTRL_NAME and long.__code__.co_name == LONG_NAME

ctrl_thread = threading.Thread(target=ctrl, name=THREAD_NAME)
ctrl_thread.daemon = True
ctrl_thread.start()
long_thread = threading.Thread(target=long, name="long")
long_thread.daemon = True
long_thread.start()
nul_thread = threading.Thread(target=nul, name=NUL_THREAD)
nul_thread.daemon = True
nul_thread.start()
oracle.started(3)
time.sleep(0.1)
assert ctrl_thread.name == THREAD_NAME
facts = {
    "ctrl_name": wire(ctrl.__code__.co_name),
    "long_name": wire(long.__code__.co_name),
    "thread_name": wire(ctrl_thread.name),
    "nul_name": wire(nul.__code__.co_name),
    "nul_thread": wire(nul_thread.name),
    "file": wire(ctrl.__code__.co_filename),
    "reprs": {"s": wire(repr(HOSTILE_STR)), "b": wire(repr(HOSTILE_BYTES)),
              "big": wire(repr(BIG[:200]))},
}
if sys.version_info >= (3, 11):
    facts["ctrl_qualname"] = wire(ctrl.__code__.co_qualname)
    facts["long_qualname"] = wire(long.__code__.co_qualname)
oracle.ready(**facts)
oracle.idle()
