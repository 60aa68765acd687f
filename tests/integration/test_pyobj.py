"""The object reader (src/pyobj.c) against each interpreter's own repr().

tests/targets/objects.py builds objects of every kind pystack decodes and
reports, at READY, each one's address and the interpreter's repr() of it
(object.__repr__() for the few whose class writes its own, which pystack
shows in the default form).  The unit-test binary's hidden modes
(tests/unit/live_pyobj.c) read the same objects from outside with pystack's
code.  Every repr must match exactly, except where pystack's bounds apply:
those have their own expectations, derived from the interpreter's repr.
Attribute lookup (instance dicts, 3.11+ managed dicts and split values,
3.13+ inline values, a __dict__ made on request), dict lookup, dict
iteration order and pyobj_u64 are checked the same way, on every build
found (the free-threaded ones among them, where every object field moves).
"""
import json
import os
import re
import subprocess

import pytest

import pythons
from harness import ROOT, UNIT, Target


# Bounds, as in include/pyobj.h.
ITEMS = 8
CHARS = 200


@pytest.fixture
def objects(python):
    with Target(python, "objects.py") as t:
        yield t, json.loads(t.info)
        t.finish()


def unit(mode, pid, *args):
    """The unit binary's answers, one parsed JSON value a line."""
    r = subprocess.run([UNIT, mode, str(pid)] + [str(a) for a in args], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


def split_items(inner):
    """The items of a flat container's repr (items without ", " inside)."""
    return inner.split(", ") if inner else []


def first_items(python_repr, open_, close, total):
    """What pystack shows of a flat container Python shows whole."""
    assert python_repr.startswith(open_) and python_repr.endswith(close), python_repr
    items = split_items(python_repr[len(open_):len(python_repr) - len(close)])
    assert len(items) == total, python_repr
    return "%s%s, ... %d more%s" % (open_, ", ".join(items[:ITEMS]), total - ITEMS, close)


def bounded_expectations(py2, reprs, bits):
    """{name: what pystack shows} for the objects its bounds cut."""
    u = "u" if py2 else ""
    set_open, set_close = ("set([", "])") if py2 else ("{", "}")
    kind = "long" if py2 else "int"
    return {
        "range100": first_items(reprs["range100"], "[", "]", 100),
        "tuple9": first_items(reprs["tuple9"], "(", ")", 9),
        "set20": first_items(reprs["set20"], set_open, set_close, 20),
        "dict12": first_items(reprs["dict12"], "{", "}", 12),
        "dict300": first_items(reprs["dict300"], "{", "}", 300),
        "dict20000": first_items(reprs["dict20000"], "{", "}", 20000),
        "long_str": "%s'%s'..." % (u, "x" * CHARS),
        "long_bytes": "%s'%s'..." % ("" if py2 else "b", "y" * CHARS),
        "deep": "[[[[[...1 item]]]]]",
        "deep_dict": "{%s'a': {%s'b': {%s'c': {%s'd': {...2 items}}}}}" % (u, u, u, u),
        "huge": "<%s of %d bits>" % (kind, bits["huge"]),
        "minushuge": "<negative %s of %d bits>" % (kind, bits["minushuge"]),
    }


def test_repr_matches_the_interpreter(python, objects):
    t, info = objects
    names = sorted(info["objects"])
    got = unit("repr", t.pid, *[info["objects"][n][0] for n in names])
    assert len(got) == len(names)
    reprs = dict((n, info["objects"][n][1]) for n in names)
    bounded = bounded_expectations(python.version[0] == 2, reprs, info["bits"])
    wrong = []
    for name, mine in zip(names, got):
        want = bounded.get(name, reprs[name])
        if mine != want:
            wrong.append("%s: pystack %r, Python %r" % (name, mine, want))
    assert not wrong, "%d of %d differ:\n%s" % (len(wrong), len(names), "\n".join(wrong))
    # the bounded ones really were bounded, and the others were not
    for name in bounded:
        assert bounded[name] != reprs[name], name


def test_getattr_and_dict_lookup(python, objects):
    t, info = objects
    wrong = []
    for mode, cases in (("getattr", info["attrs"]), ("dictget", info["keys"])):
        for name, key, want in cases:
            got = unit(mode, t.pid, info["objects"][name][0], key)[0]
            if want is None:
                want = {"error": "ENOENT"}
            if got != want:
                wrong.append("%s %s.%s: pystack %r, Python %r" % (mode, name, key, got, want))
    assert not wrong, "\n".join(wrong)


def test_dict_lookup_probes_as_the_interpreter_does(python, objects):
    # A lookup computes the key's hash (SipHash keyed by the process's secret, or
    # 2.7's) and follows the probe sequence: a few reads a step, not one per key.
    t, info = objects
    for key in ("key0", "key12345", "key19999"):
        got = unit("dictcalls", t.pid, info["objects"]["dict20000"][0], key)[0]
        assert got["value"] == key[3:], got
        # A probe step is about three reads and the number of steps depends on the
        # process's random hash secret (seen: 2 to 16 for these keys); a scan reads the
        # 20,000 entries 64 at a time, over 300 reads before any key.
        assert got["calls"] <= 120, (key, got)


def test_dict_items_in_python_order(python, objects):
    t, info = objects
    for name, want in info["items"].items():
        got = unit("items", t.pid, info["objects"][name][0])
        assert got == [want], name


def test_u64(python, objects):
    t, info = objects
    for name, value in info["ints"].items():
        got = unit("u64", t.pid, info["objects"][name][0])[0]
        if value is None:
            want = {"error": "BAD_DATA"}
        elif value < 0 or value >= 2 ** 64:
            want = {"error": "ERANGE"}
        else:
            want = int(value)
        assert got == want, name


def test_type_names(python, objects):
    t, info = objects
    cases = {"zero": "int", "dict": "dict", "f0.1": "float", "fake_int": "int", "instance": "C",
             "plain": "unicode" if python.version[0] == 2 else "str"}
    got = unit("typename", t.pid, *[info["objects"][n][0] for n in sorted(cases)])
    assert got == [cases[n] for n in sorted(cases)]


def test_printable_table_is_generated():
    """src/unicode_printable.h is what tools/gen_printable.py writes with the Pythons it names."""
    path = os.path.join(ROOT, "src", "unicode_printable.h")
    with open(path) as f:
        committed = f.read()
    m = re.match(r"/\* Generated by tools/gen_printable\.py with Python (\d+\.\d+\.\d+) .*\n"
                 r"/\* Older Pythons asked: ([\d. ]*) \*/\n", committed)
    assert m, "%s: unexpected first lines" % path
    named = [tuple(int(x) for x in v.split(".")) for v in [m.group(1)] + m.group(2).split()]
    found = {}
    for p in pythons.discover() + pythons.variants():
        found.setdefault(p.version, p.exe)
    missing = [v for v in named if v not in found]
    if missing:
        pytest.skip("no Python %s to run tools/gen_printable.py with" %
                    ", ".join("%d.%d.%d" % v for v in missing))
    got = subprocess.run([found[named[0]], os.path.join(ROOT, "tools", "gen_printable.py")] +
                         [found[v] for v in named[1:]],
                         capture_output=True, check=True, universal_newlines=True).stdout
    assert got == committed


def test_printable_table_is_the_newest():
    """Every Python found has a Unicode database the table knows (else regenerate it)."""
    path = os.path.join(ROOT, "src", "unicode_printable.h")
    with open(path) as f:
        committed = f.read()
    minors = [int(x) for x in re.findall(r"\{ (\d+), \d+ \}",
                                         committed[committed.index("unicode_python3["):
                                                   committed.index("unicode_nonprintable[")])]
    newer = [p.label for p in pythons.discover()
             if p.version[0] == 3 and p.version[1] > max(minors)]
    assert not newer, "src/unicode_printable.h knows 3.%d at most: %s" % (max(minors), newer)
