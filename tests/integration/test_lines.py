"""Line tables: pystack's decoder against each interpreter's own.

Every code object compiled from several stdlib modules and from source
built to stress each encoding (long jumps, huge line numbers, multi-line
expressions), at every instruction address.  The interpreter says the line
(co_lines() from 3.10, dis.findlinestarts() before); the unit-test binary
decodes the same table with pystack's code and reports any difference.
"""
import os
import subprocess

from harness import TARGETS, UNIT



def test_line_tables_match_the_interpreter(python):
    cases = subprocess.run([python.exe, os.path.join(TARGETS, "linecases.py")],
                           capture_output=True, check=True, timeout=300).stdout
    r = subprocess.run([UNIT, "lines"], input=cases, capture_output=True, timeout=300)
    out = r.stdout.decode()
    assert r.returncode == 0, out
    assert " 0 mismatches" in out
    tables = int(out.split()[-6])
    assert tables > 300, out
