# Print line-table cases for pystack's decoder to check: every code object
# compiled from some stdlib modules and from source built to stress the
# encodings, each with the line the interpreter itself gives every address.
# Output: "T FORMAT FIRSTLINENO HEXTABLE" then "A ADDR LINE" lines.
#   linecases.py
import binascii
import dis
import os
import sys
import types

V = sys.version_info[:2]
FMT = ("lnotab27" if V < (3, 0) else "lnotab" if V < (3, 10) else
       "linetable310" if V < (3, 11) else "locations")
MODULES = ["threading", "json/decoder", "argparse", "collections/__init__", "ast",
           "inspect", "dis", "tokenize"]


def stress_source():
    parts = ["def far_apart():\n    a = 1\n" + "\n" * 300 + "    b = 2\n" + "\n" * 70000 +
             "    return a + b\n",
             "def multi_line(x):\n    return (x +\n            1 +\n\n\n            2)\n",
             "def loops(n):\n    t = 0\n    for i in range(n):\n        if i % 2:\n"
             "            t += i\n        else:\n            t -= (i *\n                  2)\n"
             "    while t > 0:\n        t -= 1\n    return t\n",
             "class K(object):\n    def m(self, *a, **k):\n        try:\n            1 / 0\n"
             "        except ZeroDivisionError:\n            pass\n        finally:\n"
             "            z = [i for i in a if i]\n        return lambda: z\n"]
    return "\n".join(parts)


def code_objects(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            for sub in code_objects(c):
                yield sub


def table(code):
    return code.co_lnotab if V < (3, 10) else code.co_linetable


def expected_lines(code):
    """{byte address: line} for every address of the code's instructions."""
    size = len(code.co_code)
    out = {}
    if V >= (3, 10):
        for start, end, line in code.co_lines():
            for a in range(start, end):
                out[a] = -1 if line is None else line
        for a in range(size):
            out.setdefault(a, -1)
    else:
        starts = list(dis.findlinestarts(code))
        line = code.co_firstlineno
        k = 0
        for a in range(size):
            while k < len(starts) and starts[k][0] <= a:
                line = starts[k][1]
                k += 1
            out[a] = line
    return out


def main():
    lib = os.path.dirname(os.__file__)
    sources = [("<stress>", stress_source())]
    for m in MODULES:
        path = os.path.join(lib, m + ".py")
        if os.path.exists(path):
            with open(path, "rb") as f:
                sources.append((path, f.read()))
    w = sys.stdout.write
    for name, src in sources:
        for code in code_objects(compile(src, name, "exec")):
            tab = binascii.hexlify(table(code)).decode("ascii") or "-"
            w("T %s %d %s\n" % (FMT, code.co_firstlineno, tab))
            step = 1 if V < (3, 6) else 2
            for a, line in sorted(expected_lines(code).items()):
                if a % step == 0:
                    w("A %d %d\n" % (a, line))


main()
