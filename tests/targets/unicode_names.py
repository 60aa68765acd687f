# -*- coding: utf-8 -*-
# Python 3 only: functions named in every PEP 393 string kind, each parked
# in its own thread, so names read from the target's memory are 1-byte
# (Latin-1), 2-byte (BMP) and 4-byte (astral) strings.  The tests also run a
# copy of this file under a non-ASCII file name, so co_filename is one too.
#   unicode_names.py
import sys
import threading
import time

import oracle


def block():
    oracle.arrive()
    time.sleep(100000)


def café():                 # Latin-1: a 1-byte-kind string
    block()


def 日本語():                 # BMP: a 2-byte-kind string
    block()


def 𠀀𠀁():                  # CJK Extension B, astral: a 4-byte-kind string
    block()


def mixé_日本_𠀀():            # one name mixing all three, stored as 4-byte kind
    café()


class Ñandú(object):
    def método(self):
        𠀀𠀁()


# NFKC normalisation leaves these identifiers as written; check the
# interpreter agrees before the tests rely on it.
expected = {
    "latin1": (café, u"caf\u00e9", 1),
    "bmp": (日本語, u"\u65e5\u672c\u8a9e", 2),
    "astral": (𠀀𠀁, u"\U00020000\U00020001", 4),
    "mixed": (mixé_日本_𠀀, u"mix\u00e9_\u65e5\u672c_\U00020000", 4),
    "method": (Ñandú.método, u"m\u00e9todo", 1),
}
names = {}
for key, (fn, name, width) in expected.items():
    assert fn.__code__.co_name == name, (key, fn.__code__.co_name)
    top = max(ord(c) for c in name)
    assert top > 0x7f and top <= {1: 0xff, 2: 0xffff, 4: 0x10ffff}[width], (key, width)
    assert width == 1 or top > {2: 0xff, 4: 0xffff}[width], (key, width)
    names[key] = name
assert Ñandú.__name__ == u"\u00d1and\u00fa"

threads = [café, 日本語, 𠀀𠀁, mixé_日本_𠀀, Ñandú().método]
for fn in threads:
    threading.Thread(target=fn).start()
oracle.started(len(threads))
time.sleep(0.1)
oracle.ready(names=names, file=__file__, code_file=sys._getframe().f_code.co_filename)
oracle.idle()
