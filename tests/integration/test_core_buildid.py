"""pystack core checks the files a core needs against the core, by GNU build ID.

A gcore of a hung Python is read with a --sysroot tree of links to the files
it had mapped: one library replaced by another ELF file draws one warning
that names it, and the run still ends cleanly; the tree as it is draws none
and gives the output of a run without it.  Another interpreter's binary
given as EXECUTABLE is an error (status 2)."""
import json
import os

import pytest

import pythons
from harness import Target, run_pystack
from test_core import gcore, needs_gcore


def mapped_files(pid):
    with open("/proc/%d/maps" % pid) as f:
        return sorted({line.split(None, 5)[5].strip() for line in f
                       if len(line.split(None, 5)) > 5 and line.split(None, 5)[5].startswith("/")})


def sysroot_of(files, root):
    """A tree under root with a link to each file at its own path."""
    for path in files:
        if not os.path.isfile(path):
            continue
        dest = root + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.symlink(path, dest)


@pytest.fixture
def hung_core(newest_python, tmp_path):
    with Target(newest_python, "threads.py", 2, 1) as t:
        files = mapped_files(t.pid)
        core = gcore(t.pid, str(tmp_path))
        t.finish()
    yield newest_python, core, files
    os.unlink(core)


@needs_gcore
def test_a_replaced_library_is_named_and_left_out(hung_core, tmp_path):
    python, core, files = hung_core
    root = str(tmp_path / "root")
    sysroot_of(files, root)
    libs = [p for p in files if ".so" in os.path.basename(p) and "libpython" not in p
            and os.path.realpath(p) != os.path.realpath(python.exe)]
    if len(libs) < 2:
        pytest.skip("the target maps fewer than two libraries besides the interpreter")
    victim = next((p for p in libs if "libm." in p), libs[0])
    other = next(p for p in libs if p != victim)
    os.unlink(root + victim)
    with open(other, "rb") as src, open(root + victim, "wb") as dst:
        dst.write(src.read())                    # another ELF file, another build ID
    r = run_pystack("core", "--sysroot", root, core)
    assert r.returncode in (0, 1), r.stderr
    warnings = [l for l in r.stderr.splitlines() if "warning:" in l]
    assert len(warnings) == 1, r.stderr
    assert root + victim in warnings[0] and "is not the file the process had mapped" in warnings[0]
    assert "in the core" in warnings[0] and "its bytes are not used" in warnings[0]
    assert "Thread " in r.stdout


@needs_gcore
def test_a_matching_sysroot_changes_nothing(hung_core, tmp_path):
    python, core, files = hung_core
    root = str(tmp_path / "root")
    # The source files too, which the text shows lines of.
    snap = json.loads(run_pystack("core", "--json", core).stdout)
    sources = {f["file"] for th in snap["threads"] for f in th["frames"]
               if f["kind"] == "python" and f.get("file", "").startswith("/")}
    sysroot_of(sorted(set(files) | sources), root)
    plain = run_pystack("core", core)
    rooted = run_pystack("core", "--sysroot", root, core)
    assert plain.returncode == 0 and rooted.returncode == 0, (plain.stderr, rooted.stderr)
    assert rooted.stderr == "" and plain.stderr == ""
    assert rooted.stdout == plain.stdout


@needs_gcore
def test_another_interpreter_as_executable_is_an_error(hung_core):
    python, core, files = hung_core
    mine = os.path.realpath(python.exe)
    others = [p for p in pythons.discover() if os.path.realpath(p.exe) != mine]
    if not others:
        pytest.skip("only one interpreter here: no other binary to give")
    r = run_pystack("core", core, others[0].exe)
    assert r.returncode == 2 and r.stdout == "", r
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert "%s: %s does not match the core (build ID " % (core, others[0].exe) in r.stderr
    # The interpreter's own binary is accepted.
    ok = run_pystack("core", core, python.exe)
    assert ok.returncode == 0, ok.stderr
