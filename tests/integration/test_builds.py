"""pystack against the ways Python is built, embedded and named.

Each scenario runs a real target, has the interpreter dump its own stacks
(faulthandler), and compares pystack's reading of the same process with it;
the target must then be left running and untraced (Target.finish()).

- names of every PEP 393 string kind, and a non-ASCII (astral) file name;
- a C application that embeds libpython (tests/targets/embed.c), built here
  against each interpreter's headers and shared library;
- a libpython stripped of .symtab, loaded in place of the real one;
- Debian's static, stripped /usr/bin/python3, and other static builds
  found (pyenv's 3.14.7-static), as built and stripped;
- a script run by a relative path, so co_filename is relative (before 3.9).
"""
import functools
import json
import os
import re
import shutil
import subprocess

import pytest

import pythons
from harness import PYSTACK, TARGETS, Target, assert_same_stacks

# The targets' file names are UTF-8 whatever the caller's locale (3.6 would
# otherwise decode them as ASCII with surrogate escapes under LANG=C).
UTF8 = {"LC_ALL": "C.UTF-8"}


def _need_python(python):
    if python is None:      # the "missing" parameters are skipped before this
        pytest.skip("no interpreter")


def _need_py3(python):
    _need_python(python)
    if python.version < (3,):
        pytest.skip("Python 2 identifiers are ASCII only (non-ASCII names are PEP 3131, 3.x)")


def _need_tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip("%s is not installed" % name)
    return path


@functools.lru_cache(maxsize=None)
def _config(exe):
    """The interpreter's own build settings (sysconfig)."""
    code = ("import json, sys, sysconfig; g = sysconfig.get_config_var; "
            "sys.stdout.write(json.dumps(dict((k, g(k)) for k in ('INCLUDEPY', 'LIBDIR', "
            "'LDLIBRARY', 'VERSION', 'ABIFLAGS', 'Py_ENABLE_SHARED', 'prefix'))))")
    out = subprocess.run([exe, "-c", code], capture_output=True, check=True, timeout=30)
    return json.loads(out.stdout.decode())


def _frame_lines(text):
    """[(file, line, name, source line or None)] of every frame in text output."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r'  File "(.*)", line (\d+), in (.*)$', line)
        if m:
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            src = nxt[4:] if nxt.startswith("    ") else None
            out.append((m.group(1), int(m.group(2)), m.group(3), src))
    return out


def _source_line(path, lineno):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()[lineno - 1].strip()


def _mapped(pid, needle):
    """The distinct files in /proc/PID/maps whose path contains needle."""
    with open("/proc/%d/maps" % pid) as f:
        return sorted({l.split(None, 5)[5].strip() for l in f
                       if len(l.split(None, 5)) == 6 and needle in l})


# 1. Non-ASCII names and file names ------------------------------------------

def _check_unicode_target(t, facts, python):
    """Oracle, JSON and text of a running unicode_names.py; returns the snapshot."""
    oracle = t.oracle()
    r = t.pystack("--json")
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert_same_stacks(oracle, snap)
    names = facts["names"]
    functions = {f["function"] for th in snap["threads"] for f in th["frames"]}
    assert set(names.values()) <= functions, sorted(functions)
    # Real UTF-8 in the JSON text, not \u escapes (and no surrogates: the
    # harness decodes pystack's output as UTF-8 with surrogateescape).
    for name in names.values():
        assert ('"function": "%s"' % name) in r.stdout or ('"function":"%s"' % name) in r.stdout
    assert "\\u" not in r.stdout
    assert not re.search("[\ud800-\udfff]", r.stdout), "output not UTF-8"
    if python.version >= (3, 11):
        for th in snap["threads"]:
            expected = facts["qualnames"].get(str(th["thread_id"]))
            if expected is not None:
                assert [f["qualname"] for f in th["frames"]] == expected
        quals = {f["qualname"] for th in snap["threads"] for f in th["frames"]}
        assert "\u00d1and\u00fa.m\u00e9todo" in quals
    # The text output shows the names as they are, with their source lines.
    text = t.pystack().stdout
    shown = _frame_lines(text)
    shown_names = {n for _, _, n, _ in shown}
    for key, name in names.items():
        if key == "method" and python.version >= (3, 11):
            name = "\u00d1and\u00fa.m\u00e9todo"
        assert name in shown_names, (name, sorted(shown_names))
    assert not re.search(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})", text), text
    script = facts["code_file"]
    mine = [(line, src) for f, line, _, src in shown if f == script]
    assert mine, (script, text)
    for line, src in mine:
        assert src == _source_line(script, line), (script, line, src)
    return snap


def test_non_ascii_function_names(python):
    """Function names that are Latin-1, BMP and astral (1-, 2- and 4-byte) strings."""
    _need_py3(python)
    with Target(python, "unicode_names.py", env=UTF8) as t:
        facts = json.loads(t.info)
        assert facts["names"]["astral"] == "\U00020000\U00020001"
        _check_unicode_target(t, facts, python)
        t.finish()


def test_non_ascii_file_name(python, tmp_path):
    """A script whose file name has Latin-1, BMP and astral (emoji) characters."""
    _need_py3(python)
    d = tmp_path / "r\u00e9pertoire"
    d.mkdir()
    script = str(d / "donn\u00e9es_\u65e5\u672c_\U0001f600.py")
    shutil.copy(os.path.join(TARGETS, "unicode_names.py"), script)
    with Target(python, script, env=UTF8) as t:
        facts = json.loads(t.info)
        assert facts["code_file"] == script
        snap = _check_unicode_target(t, facts, python)
        t.finish()
    files = {f["file"] for th in snap["threads"] for f in th["frames"]}
    assert script in files, sorted(files)


def _undecodable_script(tmp_path):
    """A copy of threads.py whose file name is not UTF-8 (bytes 0xff, 0xfe).

    Python 3 holds such a name with surrogate escapes (os.fsdecode): U+DCFF.
    """
    d = os.fsencode(str(tmp_path))
    path = os.path.join(d, b"bad\xff_\xfe.py")
    shutil.copy(os.path.join(TARGETS, "threads.py").encode(), path)
    return os.fsdecode(path)


def test_undecodable_file_name(python, tmp_path):
    """A file name that is not UTF-8 comes out as Python's own string for it."""
    _need_python(python)
    script = _undecodable_script(tmp_path)
    assert "\udcff" in script
    with Target(python, script, "3", env=UTF8) as t:
        oracle = t.oracle()
        snap = t.dump_json()
        t.finish()
    if python.version < (3,):
        # 2.7's oracle writes the name's raw bytes, which the harness reads as
        # ASCII (one U+FFFD each): compare under that reading.
        seen_as = script.encode("utf-8", "surrogateescape").decode("ascii", "replace")
        shown = json.loads(json.dumps(snap))
        for th in shown["threads"]:
            for f in th["frames"]:
                if f["file"] == script:
                    f["file"] = seen_as
        assert_same_stacks(oracle, shown)
    else:
        assert_same_stacks(oracle, snap)
    files = {f["file"] for th in snap["threads"] for f in th["frames"]}
    # JSON escapes the lone surrogates, so json.loads gives the name back exactly.
    assert script in files, sorted(files)


def test_undecodable_file_name_source_line(python, tmp_path):
    """The source line of a file whose name is not UTF-8 is shown, as Python would,
    and the name reads the same, \\xNN for each such byte, on every version."""
    _need_python(python)
    script = _undecodable_script(tmp_path)
    with Target(python, script, "3", env=UTF8) as t:
        text = t.pystack().stdout
        t.finish()
    assert "bad\\xff_\\xfe.py" in text, text
    shown = [(line, name, src) for f, line, name, src in _frame_lines(text) if "/bad" in f]
    assert {"<module>", "sleeper", "locker", "waiter"} <= {n for _, n, _ in shown}, text
    for line, name, src in shown:
        assert src == _source_line(script, line), (line, name, src)


# 2. An application embedding libpython ---------------------------------------

def _build_embedapp(python, outdir):
    """Compile tests/targets/embed.c against python's headers and libpython."""
    gcc = _need_tool("gcc")
    cfg = _config(python.exe)
    include, libdir, ldlib = cfg["INCLUDEPY"], cfg["LIBDIR"], cfg["LDLIBRARY"] or ""
    if not include or not os.path.exists(os.path.join(include, "Python.h")):
        pytest.skip("no headers for %s (Python.h not in %s)" % (python.exe, include))
    if not (ldlib.startswith("lib") and ldlib.endswith(".so")
            and os.path.exists(os.path.join(libdir or "", ldlib))):
        pytest.skip("no shared libpython for %s (LDLIBRARY=%s in %s)" % (python.exe, ldlib, libdir))
    lib = "python%s%s" % (cfg["VERSION"], cfg["ABIFLAGS"] or "")
    assert ldlib == "lib%s.so" % lib, (ldlib, lib)
    app = os.path.join(str(outdir), "embedapp")
    r = subprocess.run([gcc, "-std=gnu11", "-Wall", "-o", app, os.path.join(TARGETS, "embed.c"),
                        "-I" + include, "-L" + libdir, "-l" + lib, "-Wl,-rpath," + libdir],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return app, os.path.realpath(os.path.join(libdir, ldlib))


def test_embedded_interpreter(python, tmp_path):
    """A C program (not called python) that initialises libpython and runs a script."""
    _need_python(python)
    app, lib = _build_embedapp(python, tmp_path)
    script = os.path.join(TARGETS, "threads.py")
    with Target(python, script, command=[app, script, "5"], env=UTF8) as t:
        facts = json.loads(t.info)
        assert os.path.realpath("/proc/%d/exe" % t.pid) == app
        assert _mapped(t.pid, "/libpython") == [lib]
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        text = t.pystack().stdout
        t.finish()
    assert snap["executable"] == app
    assert snap["binary"] == lib
    assert snap["python"].split(".")[:2] == [str(n) for n in python.version[:2]]
    assert len(snap["threads"]) == 7     # main, 5 workers, the quit reader
    main = [th for th in snap["threads"] if th["thread_id"] == facts["main"]][0]
    assert main["main"] and main["tid"] == t.pid
    assert (main["frames"][-1]["function"], main["frames"][-1]["file"]) == ("<module>", script)
    lines = text.splitlines()
    assert lines[0].startswith("Process %d: %s %s 5" % (t.pid, app, script)), lines[0]
    assert lines[1] == "Python %s (%sshared libpython, %s)" % (
        snap["python"], "free-threaded, " if python.free_threaded else "", lib), lines[1]


# 3. A stripped libpython -------------------------------------------------------

# Versions whose libpython has no dynamic symbol to find the interpreters by:
# 2.7 and 3.6 keep interp_head static (3.7+ export _PyRuntime).
NO_DYNAMIC_SYMBOL = [(2, 7), (3, 6)]


def test_stripped_libpython(python, tmp_path):
    """libpython without .symtab: found by .dynsym, or by scanning its data.

    Then the stripped file is deleted, as an upgrade would replace it, and
    read again from the mapping that remains.
    """
    _need_python(python)
    if not python.libpython:
        pytest.skip("%s is a static build: no shared libpython to strip" % python.exe)
    strip = _need_tool("strip")
    readelf = _need_tool("readelf")
    copy = os.path.join(str(tmp_path), os.path.basename(python.libpython))
    shutil.copy(python.libpython, copy)
    subprocess.run([strip, "--strip-all", copy], check=True, timeout=60)
    sections = subprocess.run([readelf, "-SW", copy], capture_output=True, text=True,
                              check=True).stdout
    assert ".symtab" not in sections and ".dynsym" in sections
    with Target(python, "threads.py", 5, env={"LD_LIBRARY_PATH": str(tmp_path)}) as t:
        # The interpreter runs from the stripped copy, not from the original.
        assert _mapped(t.pid, "/libpython") == [copy]
        oracle = t.oracle()
        r = t.pystack("--json", "-v")
        assert r.returncode == 0, r.stderr
        snap = json.loads(r.stdout)
        assert_same_stacks(oracle, snap)
        # As after an upgrade: the mapped file is gone from the file system.
        os.remove(copy)
        assert _mapped(t.pid, "/libpython") == [copy + " (deleted)"]
        gone = t.dump_json()
        assert_same_stacks(oracle, gone)
        t.finish()
    assert snap["binary"] == copy
    assert gone["binary"].startswith(copy)
    assert len(snap["threads"]) == 7
    if python.minor in NO_DYNAMIC_SYMBOL:
        assert "interpreters found by scan of the writable data" in r.stderr, r.stderr
    else:
        assert re.search(r"interpreters found by symbol \w+", r.stderr), r.stderr
        assert "scan of the writable data" not in r.stderr, r.stderr


# 4. Debian's static python3 ----------------------------------------------------

def test_static_system_python_reports_its_executable():
    exe = "/usr/bin/python3"
    if not os.path.exists(exe):
        pytest.skip("%s is not installed" % exe)
    readelf = _need_tool("readelf")
    dyn = subprocess.run([readelf, "-d", exe], capture_output=True, text=True, check=True).stdout
    if re.search(r"\(NEEDED\).*\[libpython", dyn):
        pytest.skip("%s links a shared libpython: not a static build" % exe)
    real = os.path.realpath(exe)
    script = os.path.join(TARGETS, "threads.py")
    with Target(None, script, command=[exe, script, "3"]) as t:
        assert _mapped(t.pid, "/libpython") == []
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        text = t.pystack().stdout
        t.finish()
    version = subprocess.run([exe, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert snap["python"] == version
    assert snap["binary"] == real
    assert snap["executable"] == real
    header = text.splitlines()[1]
    assert header.startswith("Python %s (" % version) and real in header, header
    assert "shared libpython" not in header, header


# 4b. Static builds of other versions (pyenv's 3.14.7-static, say) ---------------

def _static_variants():
    found = [p for p in pythons.variants() if not p.shared and not p.variant]
    return [pytest.param(p, id=p.label) for p in found] or [
        pytest.param(None, id="none", marks=pytest.mark.skip(
            reason="no static build beside a shared one found (tools/build_python.sh "
                   "SOURCE 3.14.7-static builds one)"))]


@pytest.mark.parametrize("py", _static_variants())
def test_static_build(py, tmp_path):
    """A static interpreter, as built and then stripped of .symtab (copied, so
    that its own install is untouched; PYTHONHOME finds its library)."""
    strip = _need_tool("strip")
    copy = str(tmp_path / os.path.basename(py.exe))
    shutil.copy(py.exe, copy)
    subprocess.run([strip, "--strip-all", copy], check=True, timeout=60)
    prefix = _config(py.exe)["prefix"]
    script = os.path.join(TARGETS, "threads.py")
    for exe, env in ((py.exe, None), (copy, {"PYTHONHOME": prefix})):
        with Target(None, script, command=[exe, script, "4"], env=env) as t:
            assert _mapped(t.pid, "/libpython") == []
            oracle = t.oracle()
            r = t.pystack("--json", "-v")
            assert r.returncode == 0, r.stderr
            snap = json.loads(r.stdout)
            assert_same_stacks(oracle, snap)
            t.finish()
        assert snap["binary"] == exe and snap["python"] == py.version_text
        assert ("(static, stripped)" if exe == copy else "(static, with .symtab)") in r.stderr, \
            r.stderr


# 5. Relative file names ----------------------------------------------------------

def test_relative_file_name(python, tmp_path):
    """`python threads.py` from the script's own directory: the source lines still show."""
    _need_python(python)
    script = str(tmp_path / "threads.py")
    shutil.copy(os.path.join(TARGETS, "threads.py"), script)
    with Target(python, script, cwd=str(tmp_path), command=[python.exe, "threads.py", "5"]) as t:
        oracle = t.oracle()
        snap = t.dump_json()
        assert_same_stacks(oracle, snap)
        # pystack runs elsewhere: the relative name cannot resolve against its own cwd.
        r = subprocess.run([PYSTACK, "dump", str(t.pid)], capture_output=True, timeout=60,
                           cwd="/", encoding="utf-8", errors="surrogateescape")
        assert r.returncode == 0, r.stderr
        t.finish()
    files = {f["file"] for th in snap["threads"] for f in th["frames"]}
    # Before 3.9 the main script keeps the name it was given; 3.9+ makes it absolute.
    expect = "threads.py" if python.version < (3, 9) else script
    assert expect in files, sorted(files)
    shown = [(line, name, src) for f, line, name, src in _frame_lines(r.stdout) if f == expect]
    assert {"<module>", "sleeper", "locker", "waiter", "getter", "condition"} <= \
        {name for _, name, _ in shown}, shown
    for line, name, src in shown:
        assert src == _source_line(script, line), (expect, line, name, src)
