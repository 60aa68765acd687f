"""Busy threads whose stacks change all the time, for reads that do not stop them.

Each of THREADS threads calls d0(n) in a loop for n from 0 to DEPTH-1: d0
calls d1, d1 calls d2, ... down to d(n), which returns at once.  So any
real stack of a worker is run -> d0 -> d1 -> ... -> dk, each di but the
innermost at its call line; anything else is a chimera of two instants.
The main thread prints READY with the call lines as JSON, then idles
(oracle.py's 'quit' on stdin ends the process).
"""
import json
import sys
import threading

import oracle

DEPTH = 24
THREADS = 4
SRC = "".join(
    "def d%d(n):\n    if n > %d:\n        return d%d(n)\n    return %d\n" % (i, i, i + 1, i)
    for i in range(DEPTH)) + "def d%d(n):\n    return %d\n" % (DEPTH, DEPTH)
CALL_LINE = {"d%d" % i: 4 * i + 3 for i in range(DEPTH)}

code = compile(SRC, "<frame_churn>", "exec")
exec(code)


def run():
    while True:
        for n in range(DEPTH):
            d0(n)


def main():
    for i in range(THREADS):
        threading.Thread(target=run, name="churn-%d" % i, daemon=True).start()
    sys.stdout.write("READY %s\n" % json.dumps(CALL_LINE))
    sys.stdout.flush()
    oracle.idle()


main()
