# Objects for pystack's object reader (src/pyobj.c) to read, with the
# interpreter's own repr() of each: tests/integration/test_pyobj.py has the
# unit-test binary read them from outside and compares.
#
# READY carries, as JSON:
#   objects   {name: ["0x<address>", repr(obj)]} (object.__repr__ for own_repr, or
#             type.__repr__ for a class whose metaclass writes its own)
#   attrs     [[object name, attribute, repr(value) or null when absent]]
#   keys      [[dict name, key, repr(value) or null when absent]]
#   items     {dict name: [[repr(key), repr(value)], ...] in iteration order}
#   ints      {name: int value, for pyobj_u64}
#   bits      {name: bit_length(), for the ints too big to show}
# The source is ASCII and runs on 2.7 and 3.x alike: u'' literals are str on
# 3.x and unicode on 2.7, b'' literals bytes on 3.x and str on 2.7.
import abc
import array
import collections
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import threading
import types

import oracle

PY2 = sys.version_info[0] == 2


class C(object):
    def __init__(self):
        self.a = 1
        self.b = u'two'
        self.c = [3]

    def method(self):
        pass

    @classmethod
    def class_method(cls):
        pass

    class Inner(object):
        pass


class Old:  # 2.7: a classic class; 3.x: an ordinary one
    def method(self):
        pass


class Loader(object):  # a module loader without a repr or a module_repr of its own
    pass


def function():
    pass


def outer():
    def inner():
        pass
    return inner


class Many(object):
    pass


class Slotted(object):
    __slots__ = ("x",)


class int(object):  # a class that calls itself int is not an int
    pass


class IntSub(type(0)):
    pass


class TupleSub(tuple):
    pass


def make_cell(value):
    def inner():
        return value
    return inner.__closure__[0]


def make_empty_cell():
    def inner():
        return value
    if False:
        value = None
    return inner.__closure__[0]


objects = {
    "none": None, "true": True, "false": False, "ellipsis": Ellipsis,
    "notimplemented": NotImplemented,
    "zero": 0, "minus5": -5, "big": 2 ** 100, "minusbig": -2 ** 100, "two64": 2 ** 64,
    "int64max": 2 ** 63 - 1, "minus1": -1, "two30": 2 ** 30, "two60": 2 ** 60,
    "digits300": 10 ** 299, "minusdigits300": -(10 ** 299),
    "f0.1": 0.1, "f1e16": 1e16, "f1e-05": 1e-05, "fminus0": -0.0, "finf": float("inf"),
    "fminusinf": float("-inf"), "fnan": float("nan"), "fthird": 1 / 3.0, "f1e15": 1e15,
    "f0.0001": 0.0001, "f1.5e300": 1.5e300, "fmin": 5e-324, "fmax": 1.7976931348623157e308,
    "f123.456": 123.456, "fminus2.5": -2.5, "f1e22": 1e22, "f1e23": 1e23, "f100": 100.0,
    "plain": u'plain', "apostrophe": u"it's", "both": u'both \' and "', "latin": u'h\xe9llo',
    "cjk": u'\u65e5\u672c', "emoji": u'emoji \U0001F600', "ctrl": u'ctrl \x1b[2J \x00 \x7f \u200b \u202e',
    "surrogate": u'\udc80', "empty": u'', "escapes": u'a\\b\tc\nd\re', "dquote": u'say "hi"',
    "nbsp": u'\xa0\xad\u2028 \u3000', "private": u'\ue000\U000f0000', "unassigned": u'\u0378',
    # new in Unicode 11.0 (which 3.7 has), 12.0 (3.8), 13.0 (3.9), 14.0 (3.11), 15.0 (3.12),
    # 15.1 (3.13), 16.0 (3.14), 17.0 (3.15): each Python's own database says which it prints
    "unicode_ages": u'\U0001f97a \U0001fa70 \U0001fad0 \U0001fae0 \U0001fae8 \U0002ebf0 '
                    u'\U0001fae9 \U0001f6d8',
    "bytes": b'bytes\x00\xff', "bytes_apostrophe": b"it's", "bytes_empty": b'',
    "bytes_escapes": b'\\\t\n\r\x7f\x80 "\'',
    "tuple0": (), "tuple1": (1,), "tuple2": (1, u'two'), "nested": [1, [2, (3, u'x')]],
    "dict": {u'a': 1, 2: [3]}, "dict0": {}, "set0": set(), "set3": set([1, 2, 3]),
    "frozen": frozenset([4]), "frozen0": frozenset(), "list0": [],
    "dict_keys": {(1, 2): None, 1.5: b'x', None: True, u'\xe9': u'\xe9'},
    "dict20000": dict(("key%d" % i, i) for i in range(20000)),
    "class": C, "int_type": type(1), "fake_int": int(), "slotted": Slotted(),
    "cell": make_cell(42), "empty_cell": make_empty_cell(),
}
objects["instance"] = C()
if sys.version_info >= (3, 15):
    # 3.15's frozendict: a dict underneath, its own repr
    objects["frozendict"] = frozendict({u'a': 1, 2: (3,)})
    objects["frozendict0"] = frozendict()

# bounded
objects["range100"] = list(range(100))
objects["long_str"] = u'x' * 1000
objects["long_bytes"] = b'y' * 300
objects["deep"] = [[[[[[1]]]]]]
objects["deep_dict"] = {u'a': {u'b': {u'c': {u'd': {u'e': 1, u'f': 2}}}}}
objects["huge"] = 10 ** 400
objects["minushuge"] = -(10 ** 400)
objects["tuple9"] = tuple(range(9))
objects["set20"] = set(range(20))
objects["dict12"] = dict((u'k%d' % i, i) for i in range(12))

# recursion
selflist = []
selflist.append(selflist)
objects["selflist"] = selflist
selfdict = {}
selfdict[u'self'] = selfdict
objects["selfdict"] = selfdict
pair = [1]
objects["pair"] = (pair,)
pair.append(objects["pair"])

# deletions: dicts skip them, sets skip their dummies
deleted = dict((u'k%d' % i, i) for i in range(10))
for i in range(0, 10, 3):
    del deleted[u'k%d' % i]
objects["deleted_dict"] = deleted
deleted_set = set(range(10))
for i in (2, 5, 7):
    deleted_set.discard(i)
objects["deleted_set"] = deleted_set
objects["dict300"] = dict((i, -i) for i in range(300))  # 3.x: 2-byte indices

# instances: split values (3.11+), a __dict__ asked for, one past the shared keys
plain = C()
objects["plain_instance"] = plain
asked = C()
asked.__dict__  # materialise the dict (3.11+)
asked.d = u'added after'
objects["asked_instance"] = asked
objects["asked_dict"] = asked.__dict__
many = Many()
for i in range(40):
    setattr(many, "attr%d" % i, i)
objects["many_instance"] = many
gone = C()
del gone.b
gone.e = u'late'
objects["gone_instance"] = gone
objects["thread"] = threading.current_thread()
# subclasses of variable-size types keep their __dict__ after the items (a negative tp_dictoffset)
objects["int_sub"] = IntSub(2 ** 70 if not PY2 else 7)
objects["int_sub"].x = u'ix'
objects["tuple_sub"] = TupleSub((1, 2, 3))
objects["tuple_sub"].x = u'tx'
objects["module"] = sys

# plain data with reprs of their own: classes (with metaclasses too), functions, built-in
# functions and methods, bound methods, modules of every origin, 2.7's classic classes
Abstract = abc.ABCMeta("Abstract", (object,), {})
objects.update({
    "abstract_class": Abstract, "abcmeta": abc.ABCMeta, "type_type": type, "inner_class": C.Inner,
    "ordered_dict_class": collections.OrderedDict, "deque_class": collections.deque,
    "old_class": Old, "old_instance": Old(), "function": function, "nested_function": outer(),
    "lambda": lambda: None, "class_function": C.__dict__["method"], "len": len,
    "list_append": [1].append, "dict_get": {}.get, "object_new": object.__new__,
    "lock_acquire": threading.Lock().acquire, "array_reduce_ex": array.array('b').__reduce_ex__,
    "bound_method": C().method, "bound_class_method": C.class_method,
    "bound_to_int": types.MethodType(function, 5), "bound_old": Old().method,
    "unbound_method": C.method, "module_sys": sys, "module_os": os, "module_json": json,
    "module_main": sys.modules["__main__"], "module_bare": types.ModuleType("bare"),
    "module_quote": types.ModuleType("it's"),
})
objects["module_file"] = types.ModuleType("with_file")
objects["module_file"].__file__ = "/nowhere/with_file.py"
objects["module_loader"] = types.ModuleType("with_loader")
objects["module_loader"].__loader__ = Loader()
if not PY2:
    import enum
    import importlib.machinery
    import importlib.util

    class Colour(enum.Enum):  # its metaclass writes its own repr: pystack shows type's
        RED = 1
    objects["enum_class"] = Colour
    objects["module_frozen"] = sys.modules["_frozen_importlib"]
    objects["module_io"] = sys.modules["_io"]  # its __name__ is "io" up to 3.10
    objects["module_from_spec"] = importlib.util.module_from_spec(
        importlib.machinery.ModuleSpec("from_spec", Loader()))
    objects["module_spec_no_loader"] = importlib.util.module_from_spec(
        importlib.machinery.ModuleSpec("no_loader", None))
    # a namespace package: a directory without __init__.py (removed once imported)
    ns_root = tempfile.mkdtemp(prefix="pystack-ns-")
    os.mkdir(os.path.join(ns_root, "pystack_namespace"))
    sys.path.append(ns_root)
    import pystack_namespace
    shutil.rmtree(ns_root)
    objects["module_namespace"] = pystack_namespace

# shapes the newer builds give common objects
cleared = dict((u'k%d' % i, i) for i in range(20))
cleared.clear()  # back to the keys every empty dict shares (Py_EMPTY_KEYS)
objects["cleared_dict"] = cleared
objects["dict_call"] = dict()
grown = []
for i in range(7):
    grown.append(i * 7)  # room for 8 (free-threaded: in an items array of its own)
objects["grown_list"] = grown
emptied = [1, 2, 3]
del emptied[:]
objects["emptied_list"] = emptied
popped = set(range(40))
for i in range(35):
    popped.pop()
objects["popped_set"] = popped
# small ints (immortal from 3.14, up to 256 or, from 3.15, 1024) and their neighbours
for i in (256, 257, 1024, 1025, -6):
    objects["i%d" % i] = i + 0
# strings the interpreter keeps statically (3.12+): empty, one character, identifiers
objects["char_a"] = u'a'
objects["char_e_acute"] = u'\xe9'
objects["identifier"] = u'__module__'
objects["bytes_char"] = b'a'
split_owner = C()
objects["split_dict"] = split_owner.__dict__  # over the class's shared keys
split_owner.x = [u'after']
later = Many()
later.q = 1
later.r = (2,)
objects["later_instance"] = later
objects["cells_list"] = [make_cell(u'in a list'), make_empty_cell()]

if PY2:
    objects["str27"] = 'h\xe9llo'
    objects["str27_quote"] = "it's \"both\""
    objects["long_small"] = type(2 ** 64)(5)  # a long
    objects["long_zero"] = type(2 ** 64)(0)
    objects["unicode_pair"] = u'\ud83d\ude00'
    objects["bool_sum"] = True + 0

# floats: every power of two and random bit patterns, where shortest repr is hardest
rng = random.Random(1234)
for e in range(-1074, 1024):
    objects["pow2_%d" % e] = 2.0 ** e
for i in range(600):
    x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if x == x and x not in (float("inf"), float("-inf")):
        objects["rand_%d" % i] = x
for i in range(200):
    objects["short_%d" % i] = round(rng.uniform(-1000, 1000), rng.randint(0, 6))

attrs = [
    ["plain_instance", "a"], ["plain_instance", "b"], ["plain_instance", "c"],
    ["plain_instance", "missing"], ["asked_instance", "b"], ["asked_instance", "d"],
    ["many_instance", "attr0"], ["many_instance", "attr39"], ["many_instance", "attr40"],
    ["gone_instance", "a"], ["gone_instance", "b"], ["gone_instance", "e"],
    ["thread", "_Thread__name" if PY2 else "_name"], ["module", "maxsize"],
    ["module", "no_such_thing"], ["int_sub", "x"], ["tuple_sub", "x"], ["class", "__module__"], ["class", "nope"], ["slotted", "x"], ["zero", "real"],
    ["later_instance", "q"], ["later_instance", "r"], ["later_instance", "a"],
]
keys = [
    ["dict", u"a"], ["dict", u"b"], ["dict_keys", u"\xe9"], ["deleted_dict", u"k1"],
    ["deleted_dict", u"k3"], ["asked_dict", u"d"], ["dict12", u"k11"], ["cleared_dict", u"k1"],
    ["dict0", u"a"], ["split_dict", u"b"], ["split_dict", u"x"], ["split_dict", u"z"],
]
items = ["dict", "dict0", "deleted_dict", "dict300", "asked_dict", "dict12", "dict_keys",
         "cleared_dict", "dict_call", "split_dict"]
# pystack writes the default repr of anything it does not decode: objects whose
# class has a __repr__ of its own, and instances of subclasses of the types it
# decodes (it recognises exact types only)
own_repr = ["thread", "int_sub", "tuple_sub", "enum_class"]
ints = ["zero", "two64", "int64max", "minus5", "big", "true", "two30", "two60", "f0.1", "i256",
        "i257", "i1024", "i1025", "i-6", "false"]


def absent(value):
    return None if value is absent else repr(value)


def describe():
    out = {"objects": {}, "attrs": [], "keys": [], "items": {}, "ints": {}, "bits": {}}
    for name, obj in objects.items():
        if name in own_repr:
            text = (type.__repr__ if isinstance(obj, type) else object.__repr__)(obj)
        else:
            text = repr(obj)
        out["objects"][name] = ["0x%x" % id(obj), text]
    for name, attr in attrs:
        out["attrs"].append([name, attr, absent(instance_attr(objects[name], attr))])
    for name, key in keys:
        out["keys"].append([name, key, absent(objects[name].get(key, absent))])
    for name in items:
        out["items"][name] = [[repr(k), repr(v)] for k, v in objects[name].items()]
    for name in ints:
        value = objects[name]
        out["ints"][name] = value if type(value) in (type(0), type(2 ** 64), bool) else None
    for name in ("huge", "minushuge"):
        out["bits"][name] = objects[name].bit_length()
    return out


def instance_attr(obj, attr):
    """attr from obj's instance dictionary (not its class, not its slots): what pystack reads."""
    if type(obj) in (C, Many):
        # reading __dict__ would make one (3.11+): ask the object, which for these
        # classes (no properties, no slots, no class attributes by these names) is the same
        try:
            return object.__getattribute__(obj, attr)
        except AttributeError:
            return absent
    d = getattr(obj, "__dict__", None)
    return absent if d is None else d.get(attr, absent)


oracle.ready(**describe())
oracle.idle()
