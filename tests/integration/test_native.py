"""pystack dump --native: C frames merged with Python frames in call order.

A small C++ extension (tests/targets/native_ext.cpp) is built against each
interpreter's own headers, so every thread of tests/targets/native_target.py
has a known native shape: Python calling C calling Python, a blocking C call
with the GIL released, sorted() with a Python key, libc's qsort calling a
ctypes callback, a hot loop calling C (run as JIT code in a JIT build), and
a thread started from C that runs no Python.  The tests check frames and
their order, modules, demangled names and source lines, and that the Python
frames are exactly those of a plain dump and of the interpreter's own
(faulthandler).

The variants of 3.14+ (pythons.variants(): the tail-calling interpreter,
whose eval loop is split into one function per opcode, the JIT build, a
static build) get the same checks, as built and stripped.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

import pythons
from harness import ROOT, TARGETS, Target, assert_same_stacks, run_pystack

SOURCE = os.path.join(TARGETS, "native_ext.cpp")
EXT = "pystack_native_test"

_CONFIG = (
    "import sys, sysconfig, json; g = sysconfig.get_config_var; p = sysconfig.get_paths(); "
    "print(json.dumps([p['include'], p.get('platinclude') or p['include'], "
    "g('EXT_SUFFIX') or g('SO') or '.so']))"
)


def source_line(marker):
    with open(SOURCE) as f:
        for n, line in enumerate(f, 1):
            if "// " + marker in line:
                return n
    raise AssertionError(marker)


def build(python, outdir, flags=()):
    """Compile the extension for python into outdir; returns the .so path."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if not cxx:
        pytest.skip("no C++ compiler (g++) to build the test extension")
    include, platinclude, suffix = json.loads(subprocess.run(
        [python.exe, "-c", _CONFIG], capture_output=True, text=True, check=True).stdout)
    if not os.path.exists(os.path.join(include, "Python.h")):
        pytest.skip("no headers for %s (Python.h not in %s)" % (python.exe, include))
    os.makedirs(outdir, exist_ok=True)
    so = os.path.join(outdir, EXT + suffix)
    cmd = [cxx, "-shared", "-fPIC", "-O1", "-g", "-fno-strict-aliasing", "-Wno-register",
           "-I" + include, "-I" + platinclude, "-o", so, SOURCE, "-lpthread"] + list(flags)
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return so


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    cache = {}

    def get(python):
        if python.exe not in cache:
            cache[python.exe] = build(python, str(tmp_path_factory.mktemp("ext")))
        return cache[python.exe]
    return get


def frames_of(snap, ident):
    return [t for t in snap["threads"] if t["thread_id"] == ident][0]["frames"]


def find(frames, function, kind="python"):
    idx = [i for i, f in enumerate(frames) if f["kind"] == kind and f["function"] == function]
    assert idx, "no %s frame %s in %s" % (kind, function, describe(frames))
    return idx[0]


def describe(frames):
    return " <- ".join(("%s" if f["kind"] == "python" else "[%s]") % f["function"]
                       for f in frames)


def module_name(f):
    return os.path.basename(f.get("module") or "?")


def dumps(python, builds, *modes, oracle=False, exe=None, env=None, verbose=False):
    """The target's snapshot in each mode (after a plain one); with oracle,
    also the interpreter's own stacks, first; with verbose, also what
    --native -v says on stderr, last.  exe runs the target with another
    copy of python's executable (a stripped one, say)."""
    ext_dir = os.path.dirname(builds(python))
    script = os.path.join(TARGETS, "native_target.py")
    command = [exe, script, ext_dir] if exe else None
    with Target(python, "native_target.py", ext_dir, env=env, command=command) as t:
        facts = json.loads(t.info)
        seen = [t.oracle()] if oracle else []
        snaps = [t.dump_json(*(["--" + m] if m else [])) for m in ("",) + modes]
        if verbose:
            r = t.pystack("--native", "-v")
            assert r.returncode == 0, r.stderr
            snaps.append(r.stderr)
        t.finish()
    return facts, seen + snaps


def check_through(facts, native, full, so):
    """Python -> C -> C -> Python, in call order, with modules, names and lines."""
    for snap in (native, full):
        frames = frames_of(snap, facts["threads"]["through"])
        order = [find(frames, "in_callback"), find(frames, "level_two", "native"),
                 find(frames, "level_one", "native"), find(frames, "through")]
        assert order == sorted(order), describe(frames)
        for name in ("level_one", "level_two"):
            f = frames[find(frames, name, "native")]
            assert module_name(f) == so and f["file"].endswith("native_ext.cpp"), f
            assert f["line"] == source_line("CALL-ONE" if name == "level_one" else "CALL-TWO")
            assert f["address"].startswith("0x") and not f["inlined"]
        # The leaf: the thread sleeps in libc, under the Python callback.
        assert any(module_name(f).startswith("libc.so")
                   for f in frames[:find(frames, "in_callback")]), describe(frames)
    # --native hides the interpreter's machinery between the two; --native-all keeps it.
    interp = os.path.basename(native["binary"])
    between = lambda frames: frames[find(frames, "in_callback") + 1:find(frames, "level_two", "native")]
    assert not [f for f in between(frames_of(native, facts["threads"]["through"]))
                if module_name(f) == interp]
    assert [f for f in between(frames_of(full, facts["threads"]["through"]))
            if module_name(f) == interp]


# The note of a native stack cut after JIT code it could not be unwound through.
JIT_CUT = re.compile(r"^native stack cut after 0x[0-9a-f]+: code outside any file \(JIT code\?\)")


def check_python_frames(facts, plain, snaps, python):
    """The merged Python frames are those of a plain dump, with no note but
    the one a JIT build may give the thread that runs JIT code."""
    for snap in snaps:
        for t in plain["threads"]:
            merged = [f for f in frames_of(snap, t["thread_id"]) if f["kind"] == "python"]
            assert merged == t["frames"], (t["thread_id"], describe(merged), describe(t["frames"]))
            note = [th for th in snap["threads"] if th["thread_id"] == t["thread_id"]][0].get("note")
            if python.variant == "jit" and t["thread_id"] == facts["threads"]["jit_loop"]:
                assert note is None or JIT_CUT.match(note), note
            else:
                assert note is None, (t["thread_id"], note)


def check_blocked_in_c(facts, native):
    frames = frames_of(native, facts["threads"]["in_c"])
    calls = [f for f in frames if f["kind"] == "native"
             and f["function"] == "pystack_test::blocking_call(int)"]
    assert len(calls) == 3, describe(frames)
    assert calls[0]["line"] == source_line("CALL-SLEEP")
    assert [c["line"] for c in calls[1:]] == [source_line("CALL-RECURSE")] * 2
    assert find(frames, "pystack_test::blocking_call(int)", "native") < find(frames, "in_c")


# The generic ways to call an object, in CPython's own names.
TRAMPOLINE = re.compile(r"^_?Py(Object|Vectorcall|CFunction|Function|Eval)_|^(cfunction|method)_vectorcall"
                        r"|^(cfunction|function|type|slot_tp|method)_call$|^call_function$")


def called_c(snap, facts, thread, inner, outer):
    """The native frames of the interpreter between Python frames inner and outer."""
    interp = os.path.basename(snap["binary"])
    f = frames_of(snap, facts["threads"][thread])
    return [x["function"] or "" for x in f[find(f, inner) + 1:find(f, outer)]
            if x["kind"] == "native" and module_name(x) == interp]


def has_symtab(path):
    r = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True)
    return ".symtab" in r.stdout


def check_sort_and_qsort(facts, native, full, python):
    # sorted() and list(map()) are the interpreter's own C code, which the
    # Python code called: shown in both modes, without the call machinery
    # around it in --native.  A stripped interpreter's frames between Python
    # frames have no names to tell them by: --native leaves them out.
    mapper = "builtin_map" if python.version < (3,) else "map_next"
    if not has_symtab(native["binary"]):
        assert not called_c(native, facts, "sort_it", "key", "sort_it")
        assert called_c(full, facts, "sort_it", "key", "sort_it")
        return
    for snap in (native, full):
        between = called_c(snap, facts, "sort_it", "key", "sort_it")
        assert [n for n in between if "sort" in n], between
        assert mapper in called_c(snap, facts, "map_it", "mapped", "map_it")
    for thread, inner, outer in (("sort_it", "key", "sort_it"), ("map_it", "mapped", "map_it")):
        kept = called_c(native, facts, thread, inner, outer)
        everything = called_c(full, facts, thread, inner, outer)
        assert not [n for n in kept if TRAMPOLINE.search(n)], kept
        assert len(everything) > len(kept), (everything, kept)
    # libc's qsort sits between the comparison and its caller, in both modes.
    for snap in (native, full):
        f = frames_of(snap, facts["threads"]["qsort_it"])
        assert any(module_name(x).startswith("libc.so") and "qsort" in (x["function"] or "")
                   for x in f[find(f, "compare") + 1:find(f, "qsort_it")]), describe(f)


def check_c_thread(native, full):
    assert not [t for t in native["threads"] if t["thread_id"] is None]
    c_threads = [t for t in full["threads"] if t["thread_id"] is None]
    assert any("c_thread_main" in [f["function"] for f in t["frames"]] for t in c_threads), \
        [describe(t["frames"]) for t in c_threads]
    for t in c_threads:
        assert t["tid"] > 0 and not t["main"]
        assert all(f["kind"] == "native" for f in t["frames"])


def bare(f):
    """A native frame known only by its address (code in no mapped file: JIT code)."""
    return f["kind"] == "native" and f["function"] is None and f["module"] is None


def check_jit_loop(facts, native, full, python):
    """The hot loop calls C.  In a JIT build that call comes from JIT code,
    shown as bare addresses between the C function and the loop's Python
    frame; then either the stack goes on below it as in any build, or it
    ends there with a note, the outer Python frames following."""
    for snap in (native, full):
        thread = [t for t in snap["threads"] if t["thread_id"] == facts["threads"]["jit_loop"]][0]
        frames = thread["frames"]
        order = [find(frames, "jit_blocked", "native"), find(frames, "block_if(_object*, _object*)", "native"),
                 find(frames, "jit_loop")]
        assert order == sorted(order), describe(frames)
        jit = [f for f in frames[order[1] + 1:order[2]] if bare(f)]
        if python.variant != "jit":
            assert not jit, describe(frames)
            continue
        assert jit, "no JIT code under block_if: " + describe(frames)
        if thread.get("note"):
            assert JIT_CUT.match(thread["note"]), thread["note"]
            assert int(jit[-1]["address"], 16) == int(thread["note"].split()[4][:-1], 16)
            # Nothing is guessed past the JIT code: only Python frames after it.
            assert all(f["kind"] == "python" for f in frames[frames.index(jit[-1]) + 1:]), \
                describe(frames)
        else:
            assert any(f["function"] == "start_thread" for f in frames[order[2]:]), describe(frames)


def check_no_handlers(snaps):
    """A tail-calling interpreter's opcode handlers belong to their eval-loop
    call: never shown, in either mode."""
    for snap in snaps:
        for t in snap["threads"]:
            names = [f["function"] or "" for f in t["frames"] if f["kind"] == "native"]
            assert not [n for n in names if n.startswith("_TAIL_CALL_")], describe(t["frames"])


def check_all(python, builds, facts, plain, native, full):
    so = os.path.basename(builds(python))
    check_through(facts, native, full, so)
    check_python_frames(facts, plain, (native, full), python)
    check_blocked_in_c(facts, native)
    check_sort_and_qsort(facts, native, full, python)
    check_c_thread(native, full)
    check_jit_loop(facts, native, full, python)
    check_no_handlers((native, full))


def test_python_calling_c_calling_python(python, builds):
    facts, (plain, native, full) = dumps(python, builds, "native", "native-all")
    check_through(facts, native, full, os.path.basename(builds(python)))


def test_python_frames_are_those_of_a_plain_dump(python, builds):
    facts, (oracle, plain, native, full) = dumps(python, builds, "native", "native-all",
                                                 oracle=True)
    check_python_frames(facts, plain, (native, full), python)
    assert_same_stacks(oracle, native)


def test_blocked_in_c_with_demangled_names_and_lines(python, builds):
    facts, (plain, native) = dumps(python, builds, "native")
    check_blocked_in_c(facts, native)


def test_sorted_key_and_qsort_callbacks(python, builds):
    facts, (plain, native, full) = dumps(python, builds, "native", "native-all")
    check_sort_and_qsort(facts, native, full, python)


def test_thread_started_from_c(python, builds):
    facts, (plain, native, full) = dumps(python, builds, "native", "native-all")
    check_c_thread(native, full)


def test_hot_loop_calling_c(python, builds):
    facts, (plain, native, full) = dumps(python, builds, "native", "native-all")
    check_jit_loop(facts, native, full, python)
    check_no_handlers((native, full))


# The variants of 3.14+: tail-calling, JIT, static ----------------------------

def _variant_params():
    found = [p for p in pythons.variants()]
    params = [pytest.param(p, id=p.label) for p in found]
    for kind, how in (("tailcall", "--with-tail-call-interp, built by clang 19+"),
                      ("jit", "--enable-experimental-jit")):
        if not any(p.variant == kind for p in found):
            params.append(pytest.param(None, id="%s-missing" % kind, marks=pytest.mark.skip(
                reason="no %s build found (configure %s; tools/build_python.sh builds one)"
                % (kind, how))))
    return params


@pytest.fixture(params=_variant_params())
def variant(request):
    return request.param


def _env(python):
    # The JIT build runs its JIT whether or not it is on by default.
    return {"PYTHON_JIT": "1"} if python.variant == "jit" else None


def test_variant_merged_in_call_order(variant, builds):
    """Everything the default builds show, and the interpreter's own stacks."""
    facts, (oracle, plain, native, full, stderr) = dumps(
        variant, builds, "native", "native-all", oracle=True, env=_env(variant), verbose=True)
    check_all(variant, builds, facts, plain, native, full)
    assert_same_stacks(oracle, native)
    assert ("a tail-calling interpreter" in stderr) == (variant.variant == "tailcall"), stderr


def shape(snap, facts):
    """Each Python thread's merged frames, as (kind, module or function) for
    what stripping keeps: the Python frames, each native frame's module,
    and no inlined frames (their names come from DWARF)."""
    out = {}
    for name, ident in facts["threads"].items():
        frames = frames_of(snap, ident)
        out[name] = [("python", f["function"]) if f["kind"] == "python" else
                     ("native", module_name(f) if f["module"] else None)
                     for f in frames if not f.get("inlined")]
    return out


def strip_copy(python, tmp_path):
    """A copy of the interpreter's binary without .symtab or DWARF, and how to run it."""
    strip = shutil.which("strip")
    if not strip:
        pytest.skip("strip (binutils) is needed for a stripped copy")
    src = python.libpython or python.exe
    copy = str(tmp_path / os.path.basename(src))
    shutil.copy(src, copy)
    subprocess.run([strip, "--strip-all", copy], check=True, timeout=120)
    if python.libpython:
        return copy, None, {"LD_LIBRARY_PATH": str(tmp_path)}
    prefix = subprocess.run([python.exe, "-c", "import sys; print(sys.prefix)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return copy, copy, {"PYTHONHOME": prefix}


def test_variant_stripped_merges_as_built(variant, builds, tmp_path):
    """Stripped of its symbol table, the interpreter's binary still merges, and
    to the same shape: a tail-calling interpreter's handlers, unnamed now, are
    still known as the unnamed function its eval-loop entry called."""
    facts, (plain, native, full) = dumps(variant, builds, "native", "native-all", env=_env(variant))
    copy, exe, env = strip_copy(variant, tmp_path)
    env.update(_env(variant) or {})
    sfacts, (splain, snative, sfull, stderr) = dumps(variant, builds, "native", "native-all",
                                                     exe=exe, env=env, verbose=True)
    assert snative["binary"] == copy, snative["binary"]
    assert ("a tail-calling interpreter" in stderr) == (variant.variant == "tailcall"), stderr
    check_all(variant, builds, sfacts, splain, snative, sfull)
    for a, b in ((native, snative), (full, sfull)):
        assert shape(a, facts) == shape(b, sfacts)


def test_text_output(python, builds):
    with Target(python, "native_target.py", os.path.dirname(builds(python))) as t:
        text = t.pystack("--native").stdout
        t.finish()
    assert re.search(r"^  Native level_two\+0x[0-9a-f]+ \(%s[^)]*\) at \S*native_ext\.cpp:%d$"
                     % (EXT, source_line("CALL-TWO")), text, re.M), text
    assert "  Native pystack_test::blocking_call(int)" in text


def test_separate_debug_file(python, tmp_path):
    """Debug information in a separate file, found by .gnu_debuglink beside
    the library, compressed as distributions ship it."""
    if not shutil.which("objcopy"):
        pytest.skip("objcopy is needed to split the debug information")
    so = build(python, str(tmp_path / "ext"))
    debug = so + ".debug"
    for cmd in (["objcopy", "--only-keep-debug", "--compress-debug-sections=zlib", so, debug],
                ["objcopy", "--strip-debug", "--add-gnu-debuglink=" + debug, so]):
        subprocess.run(cmd, check=True, cwd=os.path.dirname(so))
    out = subprocess.run(["readelf", "-S", so], capture_output=True, text=True).stdout
    assert ".debug_info" not in out and ".gnu_debuglink" in out
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    with Target(python, "native_target.py", os.path.dirname(so)) as t:
        facts = json.loads(t.info)
        first = run_pystack("dump", "--native", "--json", t.pid, env=env)
        again = run_pystack("dump", "--native", "--json", t.pid, env=env)
        t.finish()
    for r in (first, again):
        assert r.returncode == 0, r.stderr
        frames = frames_of(json.loads(r.stdout), facts["threads"]["through"])
        f = frames[find(frames, "level_two", "native")]
        assert f["file"].endswith("native_ext.cpp") and f["line"] == source_line("CALL-TWO"), f
    # The first read kept an inflated copy for the next one.
    assert os.listdir(str(tmp_path / "cache" / "pystack"))


def test_native_needs_the_process_stopped():
    r = run_pystack("dump", "--native", "--nonblocking", "1")
    assert r.returncode == 64 and "--nonblocking" in r.stderr


NATIVE_KEYS = {"kind": str, "function": (str, type(None)), "offset": int, "module": (str, type(None)),
               "address": str, "file": (str, type(None)), "line": (int, type(None)), "inlined": bool}


def test_native_frame_schema(python, builds):
    facts, (plain, native) = dumps(python, builds, "native")
    natives = [f for t in native["threads"] for f in t["frames"] if f["kind"] == "native"]
    assert natives
    for f in natives:
        assert set(f) == set(NATIVE_KEYS), f
        for key, kind in NATIVE_KEYS.items():
            assert isinstance(f[key], kind), (key, f)
        assert int(f["address"], 16) > 0


def test_python_only_path_loads_no_native_libraries():
    """libdw and libunwind are loaded at run time, only for --native."""
    out = subprocess.run(["readelf", "-d", os.path.join(ROOT, "build", "pystack")
                          if not os.environ.get("PYSTACK") else os.environ["PYSTACK"]],
                         capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
    assert needed and not [n for n in needed if "libdw" in n or "unwind" in n], needed


# OpenBLAS's hand-written kernels (tests/targets/blas_target.py): code with no unwind tables.
BLAS_ENV = {"OPENBLAS_NUM_THREADS": "2", "OPENBLAS_CORETYPE": "Haswell"}
BLAS_DUMPS = 20


@pytest.fixture(scope="module")
def blas_python():
    """An interpreter with numpy (on Debian the system's: python3-numpy,
    with libopenblas0-pthread as its BLAS), on a CPU that runs OpenBLAS's
    Haswell kernels (forced, as they are the ones without unwind tables)."""
    with open("/proc/cpuinfo") as f:
        flags = set(next((l for l in f if l.startswith("flags")), "").split())
    if not {"avx2", "fma"} <= flags:
        pytest.skip("this CPU cannot run OpenBLAS's Haswell kernels (no AVX2 and FMA)")
    for p in pythons.discover():
        if subprocess.run([p.exe, "-c", "import numpy"], capture_output=True).returncode == 0:
            return p
    pytest.skip("no interpreter with numpy (on Debian: apt-get install python3-numpy "
                "libopenblas0-pthread)")


def blas_target(python):
    t = Target(python, "blas_target.py", 1500, env=BLAS_ENV, busy=2)
    facts = json.loads(t.info)
    if not facts["blas"]:
        t.kill()
        pytest.skip("numpy does not use OpenBLAS here (libopenblas0-pthread as the BLAS)")
    return t, facts


def in_blas(thread):
    """Whether the thread's innermost native frame is in OpenBLAS (merged or not)."""
    natives = [f for f in thread.get("native_frames") or thread["frames"] if f["kind"] == "native"]
    return bool(natives) and module_name(natives[0]).startswith("libopenblas")


def test_native_through_code_without_unwind_tables(blas_python):
    """Each dump of a thread busy in OpenBLAS's kernels finds the kernel's
    caller (the kernel has no unwind table) and unwinds on through numpy
    to the interpreter: the Python frames the interpreter reported, merged,
    with OpenBLAS and numpy inner of them."""
    t, facts = blas_target(blas_python)
    # Dumps until half of BLAS_DUMPS found it in OpenBLAS (a loaded machine
    # catches it elsewhere more often), at most three times as many.
    def main_of(snap):
        return [th for th in snap["threads"] if th["thread_id"] == facts["main"]][0]

    with t:
        snaps = []
        while len(snaps) < 3 * BLAS_DUMPS and sum(in_blas(main_of(s)) for s in snaps) < BLAS_DUMPS // 2:
            snaps.append(t.dump_json("--native"))
    busy, found_by = 0, set()
    for snap in snaps:
        main = main_of(snap)
        frames = main["frames"]
        found_by |= {f["found_by"] for f in frames + main.get("native_frames", []) if "found_by" in f}
        if not in_blas(main):
            continue
        busy += 1
        assert "native_frames" not in main and main.get("note") is None, (main.get("note"),
                                                                           describe(frames))
        py = [f["function"] for f in frames if f["kind"] == "python"]
        assert py == facts["chain"], describe(frames)
        inner = frames[:find(frames, "multiply")]
        numpy_at = [i for i, f in enumerate(inner) if "_multiarray_umath" in module_name(f)]
        blas_at = [i for i, f in enumerate(inner) if module_name(f).startswith("libopenblas")]
        assert blas_at and numpy_at and max(blas_at) < min(numpy_at), describe(frames)
    assert busy >= BLAS_DUMPS // 2, "the target was in OpenBLAS in only %d dumps" % busy
    # The kernel's caller was found on the stack (or at its frame pointer), and said so.
    assert found_by and found_by <= {"stack scan", "frame pointer"}, found_by


def test_collapsed_keeps_native_frames_on_top_of_python(blas_python):
    """-f collapsed: the native frames that ran under the innermost Python
    frame (OpenBLAS's) are on top of the Python frames, not dropped."""
    t, facts = blas_target(blas_python)
    with t:
        outs = [t.pystack("--native", "-f", "collapsed") for _ in range(BLAS_DUMPS)]
    above = 0
    for r in outs:
        assert r.returncode == 0, r.stderr
        line = [l for l in r.stdout.splitlines() if ";Thread %d " % t.pid in l][0]
        parts = line.rsplit(" ", 1)[0].split(";")
        calls = [i for i, p in enumerate(parts) if p.startswith("multiply (")]
        if calls and any("[libopenblas" in p for p in parts[calls[0] + 1:]):
            above += 1
    assert above >= BLAS_DUMPS * 3 // 4, "OpenBLAS above multiply() in %d of %d: %s" % (
        above, BLAS_DUMPS, outs[-1].stdout)


# Libraries built from tests/targets/no_unwind_tables.c without unwind tables:
# name -> (compiler flags, the native frames from the innermost one built
# without tables outwards, each as (function or None, how it was found)).
NO_TABLES = {
    "keeps_frame_pointer": (["-fno-omit-frame-pointer", "-DNAME=keeps_frame_pointer"],
                            [("keeps_frame_pointer", None), (None, "frame pointer")]),
    "omits_frame_pointer": (["-fomit-frame-pointer", "-DNAME=omits_frame_pointer"],
                            [("omits_frame_pointer", None), (None, "stack scan")]),
    "calls_keeping_frame_pointers": (
        ["-fno-omit-frame-pointer", "-DNAME=blocks_under_caller",
         "-DCALLER=calls_keeping_frame_pointers"],
        [("blocks_under_caller", None), ("calls_keeping_frame_pointers", "frame pointer"),
         (None, "frame pointer")]),
}


@pytest.fixture(scope="module")
def no_tables_dir(tmp_path_factory):
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler (gcc) to build the test library")
    out = str(tmp_path_factory.mktemp("no-tables"))
    for name, (flags, _) in NO_TABLES.items():
        so = os.path.join(out, name + ".so")
        subprocess.run([cc, "-shared", "-fPIC", "-O1", "-fno-asynchronous-unwind-tables",
                        "-fno-unwind-tables", "-o", so, os.path.join(TARGETS, "no_unwind_tables.c")]
                       + flags, check=True)
        frames = subprocess.run(["readelf", "--debug-dump=frames", so], capture_output=True,
                                text=True).stdout
        assert "FDE" not in frames, frames
    return out


@pytest.mark.parametrize("name", sorted(NO_TABLES))
def test_native_through_c_without_unwind_tables(python, no_tables_dir, name):
    """C functions without unwind tables, called through ctypes and blocked
    in libc: the caller of each is found at its frame pointer (through a
    chain of them) or by the stack scan, said so, and the unwind goes on
    through ctypes to the Python frame that called it, merged, every Python
    frame the interpreter reported kept."""
    with Target(python, "no_unwind_tables.py", no_tables_dir) as t:
        facts = json.loads(t.info)
        plain, native = t.dump_json(), t.dump_json("--native")
        text = t.pystack("--native").stdout
        t.finish()
    ident = facts["threads"][name]
    thread = [th for th in native["threads"] if th["thread_id"] == ident][0]
    frames = thread["frames"]
    assert "native_frames" not in thread and thread.get("note") is None, thread.get("note")
    assert [f for f in frames if f["kind"] == "python"] == frames_of(plain, ident)
    chain = NO_TABLES[name][1]
    at = find(frames, chain[0][0], "native")
    for k, (function, found_by) in enumerate(chain):
        f = frames[at + k]
        assert f["kind"] == "native" and f.get("found_by") == found_by, describe(frames)
        assert function is None or f["function"] == function, describe(frames)
    assert [f for f in frames[at + len(chain):find(frames, "call")]
            if "_ctypes" in module_name(f)], describe(frames)
    assert len([f for f in frames if "found_by" in f]) == len([c for c in chain if c[1]])
    assert re.search(r"^  Native .*\(from %s\)$" % chain[-1][1], text, re.M), text
