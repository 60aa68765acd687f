"""pystack core --native and --locals: what a live dump shows, from the core.

The oracle is pystack's own live dump of the same process, taken just before
gdb's gcore wrote the core (the live --native and --locals are checked
against the interpreter elsewhere); every thread of the targets here is
blocked, so nothing moves between the two.  A kernel core of a crash in C
code must show the C frame that faulted, under the Python frame that called
it."""
import json
import os

from harness import Target, run_pystack
from test_core import gcore, kernel_core_of_a_crash, needs_gcore
from test_native import builds  # noqa: F401 (a fixture)

# What a frame is, without what only a live process has.
KEYS = ("kind", "function", "file", "line", "module", "offset", "address")


def stacks(snap):
    return {t["tid"]: [tuple(f.get(k) for k in KEYS) for f in t["frames"]]
            for t in snap["threads"]}


def core_json(core, *options):
    r = run_pystack("core", "--json", *options, core)
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
    return json.loads(r.stdout)


@needs_gcore
def test_native_frames_from_a_gcore_are_the_live_ones(python, builds, tmp_path):  # noqa: F811
    ext_dir = os.path.dirname(builds(python))
    with Target(python, "native_target.py", ext_dir) as t:
        live = {m: t.dump_json("--" + m) for m in ("native", "native-all")}
        core = gcore(t.pid, str(tmp_path))
        t.finish()
    try:
        dead = {m: core_json(core, "--" + m) for m in ("native", "native-all")}
    finally:
        os.unlink(core)
    for mode in ("native", "native-all"):
        want, got = stacks(live[mode]), stacks(dead[mode])
        assert set(got) == set(want), mode
        for tid in want:
            assert got[tid] == want[tid], (mode, tid)
        assert any(f[0] == "native" for frames in got.values() for f in frames), mode
    # --native-all adds the thread started from C, which runs no Python.
    assert len(dead["native-all"]["threads"]) > len(dead["native"]["threads"])


@needs_gcore
def test_locals_from_a_gcore_are_the_live_ones(python, tmp_path):
    with Target(python, "threads.py", 4) as t:
        live = t.dump_json("--locals")
        core = gcore(t.pid, str(tmp_path))
        t.finish()
    try:
        dead = core_json(core, "--locals")
    finally:
        os.unlink(core)

    def with_locals(snap):
        return {t["tid"]: [(f["function"], f["line"], json.dumps(f.get("locals"), sort_keys=True))
                           for f in t["frames"]] for t in snap["threads"]}
    assert with_locals(dead) == with_locals(live)
    assert any(f.get("locals") for t in dead["threads"] for f in t["frames"])


def test_a_kernel_core_of_a_crash_shows_the_faulting_c_frame(newest_python, tmp_path):
    core = kernel_core_of_a_crash(newest_python, str(tmp_path))
    try:
        snap = core_json(core, "--native")
        text = run_pystack("core", "--native", core)
    finally:
        os.unlink(core)
    crashed = [th for th in snap["threads"] if th.get("signal") == "SIGSEGV"]
    assert len(crashed) == 1, snap["threads"]
    frames = crashed[0]["frames"]
    # The innermost frame is the C code that read address 0, in a mapped
    # library; the Python function that called it is further out.
    assert frames[0]["kind"] == "native" and frames[0].get("module"), frames[0]
    calls = [i for i, f in enumerate(frames) if f["kind"] == "python" and f["function"] == "crash_in_c"]
    assert calls and calls[0] > 0, [(f["kind"], f["function"]) for f in frames]
    assert text.returncode == 0 and "took SIGSEGV" in text.stdout
