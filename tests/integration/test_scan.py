"""Finding the interpreter without symbols, while its threads come and go.

A libpython stripped of .symtab hides interp_head (2.7, 3.6: a static
variable, in no dynamic symbol table), and pystack finds the interpreter by
scanning the library's writable data for a word that points at one.  It
scans the running process, whose thread list changes under the reads: a
thread state read as the list's head may be freed, and its memory reused,
before it is followed.  A live interpreter must still never be reported as
missing.  The target (join_churn.py) starts and joins threads without
pause, and every dump of it scans again.
"""
import os
import shutil
import subprocess

import pytest

from harness import Target

# Where no dynamic symbol leads to the interpreters, so a stripped libpython
# takes the scan (3.7+ export _PyRuntime).
SCANNED = [(2, 7), (3, 6)]
DUMPS = 1000


@pytest.mark.soak
def test_scan_finds_interpreter_under_thread_churn(python, tmp_path):
    if python is None:      # the "missing" parameters are skipped before this
        pytest.skip("no interpreter")
    if python.minor not in SCANNED:
        pytest.skip("Python %s finds its interpreters through the dynamic symbol _PyRuntime: "
                    "no scan to race" % python.version_text)
    if not python.libpython:
        pytest.skip("%s is a static build: no shared libpython to strip" % python.exe)
    strip = shutil.which("strip")
    if not strip:
        pytest.skip("strip is not installed")
    copy = os.path.join(str(tmp_path), os.path.basename(python.libpython))
    shutil.copy(python.libpython, copy)
    subprocess.run([strip, "--strip-all", copy], check=True, timeout=60)
    with Target(python, "join_churn.py", env={"LD_LIBRARY_PATH": str(tmp_path)},
                busy=1000) as t:
        with open("/proc/%d/maps" % t.pid) as f:
            assert copy in f.read(), "the target does not run from the stripped copy"
        r = t.pystack("-v")
        assert "interpreters found by scan of the writable data" in r.stderr, r.stderr
        failed = []
        for n in range(DUMPS):
            r = t.pystack()
            if r.returncode != 0:
                failed.append((n, r.returncode, r.stderr.strip()))
        assert not failed, "%d of %d dumps failed, the first: %r" % (
            len(failed), DUMPS, failed[:3])
        t.finish()
