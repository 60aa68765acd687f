#!/usr/bin/env python3
"""make bench: the figures that matter, measured on this machine, as one table.

    tools/bench.py PYSTACK LAUNCH [--python EXE] [--runs N] [--static PYSTACK]
                   [--only core|tasks|static]

Starts its own targets (tools/bench/target.py) with the interpreter given
(default: the system's python3) and measures pystack from the outside:

- dump, whole process (spawn to exit, as a user waits for it): the median
  wall time and the largest max RSS, Python-only and --native, on 1, 11 and
  200 threads and on a 10,000-frame stack;
- how long the target is held: pystack's own stopped_us (median), and the
  largest gap a probe thread inside the target sees in its clock (median
  and worst over the dumps);
- watch: the highest snapshot rate (--interval 0), and how much of the
  target's own throughput is lost while pystack watches at 100 Hz;
- every 3.13+ build found under pyenv (default and free-threaded): the same
  11-thread dump, measured in turns in one run, as a ratio to 3.13's, with
  the bytes read while the target is held (pystack -v);
- Austin's where-mode (austin -w, 3.x, found as $AUSTIN or on the PATH),
  when there is one: the same dumps of the same targets, in turns with
  pystack's in one run, as a ratio; on a quiet machine, and loaded with one
  busy process per CPU at nice 19;
- core files, from gdb's gcore of a running target: pystack core on an
  11-thread process of pyenv's newest 3.12 (else of the --python
  interpreter, as the row then says), in turns with the live dump of the
  same process, as a ratio, and its max RSS; then on the core of a process
  that wrote every page of a 1 GiB bytearray, its max RSS and wall.  The
  cores go to $BENCH_COREDIR (default: the temporary directory), only when
  it has room for all the process's readable memory, and are deleted
  whatever happens.  --only core runs these rows alone;
- asyncio tasks (--tasks): a process of 10,000 pending tasks
  (tools/bench/tasks_target.py: most asleep on their own, some awaiting
  gathers), on pyenv's newest 3.13 (else the --python interpreter) and
  pyenv's 3.8 (3.7-3.11 keep the tasks in asyncio's _all_tasks WeakSet,
  3.12+ in _scheduled_tasks and _eager_tasks): dump against dump --tasks
  in turns (wall, and the ratio), max RSS, stopped_us, the reads and bytes
  while held (pystack -v), and dump --tasks --format=json.  No other tool
  is compared: py-spy and Austin do not read asyncio tasks, and the one
  peer, CPython 3.14's `python -m asyncio pstree PID`, needs a 3.14 target
  and interpreter (none is installed on the machine the figures in the
  README come from).  --only tasks runs these rows alone.
- the static binary (make static, given as --static): its size beside the
  ordinary binary's, and the two in turns in one run, as a ratio: start-up
  (--version), the 11-thread dump, and the same with --native (where the
  ordinary binary loads libdw and libunwind, and the static one has them
  inside), with the max RSS of each.  --only static runs these rows alone.

Nothing here is a pass/fail test: the last column is the goal, for the
reader to compare.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "bench", "target.py")
TASKS_TARGET = os.path.join(HERE, "bench", "tasks_target.py")
LAUNCH = None       # the launcher, built by make bench (tools/bench/launch.c)


class Target:
    def __init__(self, python, threads, depth=1, probe=False, heap_mb=0, argv=None):
        self.proc = subprocess.Popen(argv or [python, TARGET, str(threads), str(depth),
                                              str(int(probe)), str(heap_mb)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.proc.kill()
            sys.exit("bench: the target did not start (%r)" % line)
        self.pid = self.proc.pid
        time.sleep(0.2)     # let every thread settle into its wait

    def gap(self):
        """The largest gap (us), loops and seconds since the last call."""
        self.proc.stdin.write("gap\n")
        self.proc.stdin.flush()
        gap, loops, secs = self.proc.stdout.readline().split()
        return int(gap), int(loops), float(secs)

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def run_once(argv, capture=False):
    """Wall time (s) and stdout of one pystack run."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    start = time.perf_counter()
    p = subprocess.run(argv, stdout=out, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if p.returncode not in (0, 1):
        sys.exit("bench: %s exited %d" % (" ".join(argv), p.returncode))
    return wall, p.stdout


def launch(n, argv):
    """n runs through the small launcher: [(wall s, max RSS KB)]."""
    out = subprocess.run([LAUNCH, str(n)] + argv, capture_output=True, text=True, check=True).stdout
    runs = []
    for line in out.splitlines():
        ns, kb, status = (int(x) for x in line.split())
        if status not in (0, 1):
            sys.exit("bench: %s exited %d" % (" ".join(argv), status))
        runs.append((ns / 1e9, kb))
    return runs


def dumps(pystack, target, runs, *options):
    """Median wall (ms) and largest RSS (MB) over runs; median stopped_us from JSON runs."""
    argv = [pystack, "dump"] + list(options) + [str(target.pid)]
    launch(5, argv)      # warm the page cache (and the debug-file cache with --native)
    measured = launch(runs, argv)
    stopped = []
    for _ in range(max(runs // 4, 10)):
        out = run_once(argv[:2] + ["--json"] + argv[2:], capture=True)[1]
        stopped.append(json.loads(out.splitlines()[0])["stopped_us"])
    return (statistics.median(w for w, _ in measured) * 1e3, max(k for _, k in measured) / 1024,
            statistics.median(stopped))


def gaps(pystack, python, runs):
    """What the probe inside an 11-thread target sees of each dump: median and worst gap (us)."""
    target = Target(python, 11, probe=True)
    try:
        quiet = []
        for _ in range(20):
            time.sleep(0.01)
            quiet.append(target.gap()[0])
        seen = []
        for _ in range(runs):
            target.gap()
            run_once([pystack, "dump", str(target.pid)])
            seen.append(target.gap()[0])
        return statistics.median(quiet), statistics.median(seen), max(seen)
    finally:
        target.close()


def watch_rate(pystack, python, seconds=3):
    target = Target(python, 11)
    try:
        out = run_once([pystack, "watch", "--json", "--interval", "0", "--duration",
                        "%ds" % seconds, str(target.pid)], capture=True)[1]
        return len(out.splitlines()) / seconds
    finally:
        target.close()


def watch_cost(pystack, python, seconds=5):
    """The probe's loops per second alone, then while watched at 100 Hz: the loss, and pystack's CPU."""
    target = Target(python, 11, probe=True)
    try:
        def rate():
            target.gap()
            time.sleep(seconds)
            _, loops, secs = target.gap()
            return loops / secs

        before = rate()
        target.gap()
        start = time.perf_counter()
        p = subprocess.Popen([pystack, "watch", "--json", "--interval", "10ms", "--duration",
                              "%ds" % seconds, str(target.pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        _, loops, secs = target.gap()
        during = loops / secs
        after = rate()
        alone = (before + after) / 2
        return 100 * (1 - during / alone), 100 * (usage.ru_utime + usage.ru_stime) / wall
    finally:
        target.close()


def newer_builds():
    """[(label, python)] of the 3.13+ interpreters under pyenv, 3.13 first, variants left out."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions = os.path.join(root, "versions")
    found = []
    for name in os.listdir(versions) if os.path.isdir(versions) else []:
        exe = os.path.join(versions, name, "bin", "python")
        base = name[:-1] if name.endswith("t") else name
        parts = base.split(".")
        if "-" in name or len(parts) != 3 or not os.access(exe, os.X_OK):
            continue
        try:
            minor = (int(parts[0]), int(parts[1]))
        except ValueError:
            continue
        if minor >= (3, 13):
            found.append((minor, name.endswith("t"), name, exe))
    found.sort()
    # One interpreter per minor and build: the newest patch release.
    keep = {}
    for minor, ft, name, exe in found:
        keep[(minor, ft)] = (name, exe)
    return [keep[k] for k in sorted(keep)]


def held_reads(pystack, target, *options):
    """Reads and bytes pystack -v reports while the target was held: (reads, bytes)."""
    p = subprocess.run([pystack, "dump", "-v"] + list(options) + [str(target.pid)],
                       capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if "while stopped" in line:
            words = line.split("while stopped")[1].split(" reads, ")
            return int(words[0].split()[-1]), int(words[1].split()[0])
    return 0, 0


def held_bytes(pystack, target):
    """Bytes pystack -v reports reading while the target was held."""
    return held_reads(pystack, target)[1]


def builds(pystack, runs, rounds=4):
    """Each 3.13+ build's 11-thread dump: median wall (ms), stopped (us), held bytes, in turns."""
    found = newer_builds()
    targets, walls, stopped = [], {}, {}
    try:
        for name, exe in found:
            targets.append((name, Target(exe, 11)))
        for name, target in targets:
            launch(5, [pystack, "dump", str(target.pid)])
        for _ in range(rounds):
            for name, target in targets:
                argv = [pystack, "dump", str(target.pid)]
                walls.setdefault(name, []).extend(w for w, _ in launch(max(runs // rounds, 5), argv))
                out = run_once([pystack, "dump", "--json", str(target.pid)], capture=True)[1]
                stopped.setdefault(name, []).append(json.loads(out.splitlines()[0])["stopped_us"])
        return [(name, statistics.median(walls[name]) * 1e3, statistics.median(stopped[name]),
                 held_bytes(pystack, target)) for name, target in targets]
    finally:
        for _, target in targets:
            target.close()


def pyenv_python(minor):
    """The newest pyenv interpreter of minor ("3.12"), or None."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions = os.path.join(root, "versions")
    found = []
    for name in os.listdir(versions) if os.path.isdir(versions) else []:
        exe = os.path.join(versions, name, "bin", "python3")
        patch = name[len(minor) + 1:]
        if name.startswith(minor + ".") and patch.isdigit() and os.access(exe, os.X_OK):
            found.append((int(patch), exe))
    return max(found)[1] if found else None


def readable_bytes(pid):
    """The bytes of the readable mappings of pid: the most its core can hold."""
    total = 0
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            span, perms = line.split()[:2]
            if perms.startswith("r"):
                start, end = (int(x, 16) for x in span.split("-"))
                total += end - start
    return total


def gcore(target, directory):
    """gdb's core of the running target, in directory: its path, or (None, why not)."""
    need, free = readable_bytes(target.pid), shutil.disk_usage(directory).free
    if free < need + (256 << 20):
        return None, "%d MB free in %s, the core may need %d MB" % (free >> 20, directory,
                                                                    need >> 20)
    prefix = os.path.join(directory, "core")
    p = subprocess.run(["gcore", "-o", prefix, str(target.pid)], capture_output=True, text=True)
    path = "%s.%d" % (prefix, target.pid)
    if p.returncode or not os.path.exists(path):
        return None, "gcore failed: %s" % (p.stderr.strip().splitlines() or ["?"])[-1]
    return path, ""


def has_frames(pystack, core):
    """Whether pystack core shows the target's own Python frames (bench's target.py)."""
    out = run_once([pystack, "core", core], capture=True)[1].decode()
    return "target.py" in out and "in deep" in out


def core_rows(pystack, python, runs, row):
    """pystack core on gdb's cores: an 11-thread 3.12 process, in turns with the live dump of
    the same process; then a process of 1 GiB of heap, for the memory a core costs."""
    directory = os.environ.get("BENCH_COREDIR") or tempfile.gettempdir()
    if not shutil.which("gcore"):
        row("core rows", "not run", "no gcore (gdb) on the PATH")
        return
    py = pyenv_python("3.12")
    label = "3.12" if py else "%s, no pyenv 3.12" % os.path.basename(python)
    py = py or python
    for what, threads, heap in (("core, 11 threads (%s)" % label, 11, 0),
                                ("core, 1 GB (%s)" % label, 4, 1024)):
        work = tempfile.mkdtemp(prefix="pystack-bench-core-", dir=directory)
        target = None
        try:
            target = Target(py, threads, heap_mb=heap)
            core, why = gcore(target, work)
            if not core:
                row(what, "not run", why)
                continue
            size = os.path.getsize(core)
            if not has_frames(pystack, core):
                row(what, "not run", "pystack core does not show the target's frames")
                continue
            argv = [pystack, "core", core]
            launch(3, argv)     # the core's pages in the page cache, as for the live dumps
            if not heap:
                live = [pystack, "dump", str(target.pid)]
                launch(3, live)
                (live_ms, core_ms), ratio = side_by_side([live, argv], runs // 2)
                row(what + ": wall, core / live dump", "%.2f / %.2f ms" % (core_ms, live_ms))
                row(what + ": wall against the live dump", "%.2fx" % ratio, "<= 2x live dump")
                measured = launch(20, argv)
            else:
                measured = launch(20, argv)
                row(what + ": wall (median)",
                    "%.2f ms" % (statistics.median(w for w, _ in measured) * 1e3))
            row(what + ": max RSS (core of %d MB)" % (size >> 20),
                "%.1f MB" % (max(k for _, k in measured) / 1024), "< 10 MB" if heap else "")
        finally:
            if target:
                target.close()
            shutil.rmtree(work, ignore_errors=True)


def tasks_check(pystack, target, want):
    """Why pystack dump --tasks does not show want tasks of target, or "" when it does."""
    p = subprocess.run([pystack, "dump", "--tasks", "--json", str(target.pid)],
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        return "pystack dump --tasks exited %d: %s" % (
            p.returncode, (p.stderr.strip().splitlines() or ["?"])[-1])
    try:
        got = len(json.loads(p.stdout.splitlines()[0])["tasks"])
    except (ValueError, KeyError, IndexError):
        return "no \"tasks\" in pystack dump --tasks --json"
    return "" if got == want else "pystack dump --tasks shows %d tasks of %d" % (got, want)


def tasks_rows(pystack, python, runs, row, ntasks=10000, gathers=200):
    """dump --tasks on a process of ntasks pending asyncio tasks (gathers of them awaiting a
    gather of 9 children each), on pyenv's newest 3.13 and on 3.8; there is nothing to compare
    with: the one peer, 3.14's `python -m asyncio pstree`, needs a 3.14 (none installed)."""
    py13 = pyenv_python("3.13")
    chosen = [("3.13" if py13 else os.path.basename(python), py13 or python)]
    py8 = pyenv_python("3.8")
    if py8:
        chosen.append(("3.8", py8))
    else:
        row("tasks rows on 3.8 (the _all_tasks WeakSet)", "not run", "no pyenv 3.8")
    for label, py in chosen:
        what = "%d asyncio tasks (%s)" % (ntasks, label)
        target = Target(py, 0, argv=[py, TASKS_TARGET, str(ntasks), str(gathers)])
        try:
            why = tasks_check(pystack, target, ntasks)
            if why:
                row(what, "not run", why)
                continue
            plain = [pystack, "dump", str(target.pid)]
            tasks = [pystack, "dump", "--tasks", str(target.pid)]
            as_json = [pystack, "dump", "--tasks", "--format=json", str(target.pid)]
            for argv in (plain, tasks, as_json):
                launch(5, argv)
            (plain_ms, tasks_ms), ratio = side_by_side([plain, tasks], runs // 2)
            json_runs = launch(max(runs // 2, 10), as_json)
            rss = {}
            for name, argv in (("plain", plain), ("tasks", tasks)):
                rss[name] = max(k for _, k in launch(20, argv)) / 1024
            rss["json"] = max(k for _, k in json_runs) / 1024
            stopped = {}
            for name, opts in (("plain", []), ("tasks", ["--tasks"])):
                stopped[name] = statistics.median(
                    json.loads(run_once([pystack, "dump", "--json"] + opts + [str(target.pid)],
                                        capture=True)[1].splitlines()[0])["stopped_us"]
                    for _ in range(max(runs // 4, 10)))
            held = {name: held_reads(pystack, target, *opts)
                    for name, opts in (("plain", []), ("tasks", ["--tasks"]))}
        finally:
            target.close()
        row(what + ": wall, dump / dump --tasks", "%.2f / %.2f ms" % (plain_ms, tasks_ms),
            "--tasks <= 30 ms")
        row(what + ": dump --tasks over dump", "%.2fx" % ratio)
        row(what + ": dump --tasks --format=json: wall (median)",
            "%.2f ms" % (statistics.median(w for w, _ in json_runs) * 1e3), "<= 30 ms")
        row(what + ": max RSS, dump / --tasks / --tasks json",
            "%.1f / %.1f / %.1f MB" % (rss["plain"], rss["tasks"], rss["json"]))
        row(what + ": stopped, dump / dump --tasks", "%d / %d us" % (stopped["plain"],
                                                                       stopped["tasks"]),
            "dump + the task reads")
        row(what + ": reads / bytes while held, dump",
            "%d / %d B" % held["plain"])
        row(what + ": reads / bytes while held, --tasks",
            "%d / %d B" % held["tasks"])


def static_rows(pystack, static, python, runs, row):
    """The static binary against the ordinary one: size, and wall in turns in one run."""
    row("static binary: size, ordinary / static",
        "%.2f / %.2f MB" % (os.path.getsize(pystack) / 1e6, os.path.getsize(static) / 1e6))
    target = Target(python, 11)
    try:
        for what, args in (("start-up (--version)", ["--version"]),
                           ("dump, 11 threads", ["dump", str(target.pid)]),
                           ("dump --native, 11 threads", ["dump", "--native", str(target.pid)])):
            argvs = [[pystack] + args, [static] + args]
            launch(5, argvs[0])
            launch(5, argvs[1])
            (ordinary, linked), ratio = side_by_side(argvs, runs)
            rss = [max(k for _, k in launch(10, a)) / 1024 for a in argvs]
            row("static, %s: wall, ordinary / static" % what, "%.2f / %.2f ms" % (ordinary, linked))
            row("static, %s: static's wall over ordinary's" % what, "%.2fx" % ratio, "<= 1.00x")
            row("static, %s: max RSS, ordinary / static" % what, "%.1f / %.1f MB" % tuple(rss))
    finally:
        target.close()


def find_austin():
    """Austin 3.x (its where-mode, austin -w): (path, version), or (None, why not)."""
    path = os.environ.get("AUSTIN") or shutil.which("austin")
    if not path:
        return None, "no austin on the PATH (set AUSTIN=path)"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "%s: %s" % (path, e)
    words = (out.stdout + out.stderr).split()
    version = words[1] if len(words) > 1 and words[0] == "austin" else ""
    if not version[:1].isdigit() or int(version.split(".")[0]) < 3:
        return None, "%s is not Austin 3 or newer (%r)" % (path, version or out.stdout[:40])
    return os.path.abspath(path), version


class Load:
    """One busy process per CPU at nice 19, while in the with block."""

    def __enter__(self):
        self.procs = [subprocess.Popen(["nice", "-n", "19", sys.executable, "-c", "while True: pass"])
                      for _ in range(os.cpu_count() or 1)]
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def side_by_side(argvs, runs, rounds=10):
    """Each command's median wall (ms), run in turns (the order swapped each round), and the
    median over rounds of the first command's wall divided by the second's."""
    walls = [[] for _ in argvs]
    ratios = []
    for r in range(rounds):
        order = list(range(len(argvs)))
        if r % 2:
            order.reverse()
        medians = [0.0] * len(argvs)
        for i in order:
            got = [w for w, _ in launch(max(runs // rounds, 5), argvs[i])]
            walls[i].extend(got)
            medians[i] = statistics.median(got)
        ratios.append(medians[1] / medians[0])
    return [statistics.median(w) * 1e3 for w in walls], statistics.median(ratios)


def against_austin(pystack, austin, python, runs, row):
    """The rows of pystack against Austin's where-mode, quiet and loaded."""
    for threads, loaded in ((11, False), (200, False), (11, True)):
        target = Target(python, threads)
        try:
            argvs = [[pystack, "dump", str(target.pid)], [austin, "-w", str(target.pid)]]
            launch(5, argvs[0])
            launch(5, argvs[1])
            if loaded:
                with Load():
                    (mine, theirs), ratio = side_by_side(argvs, runs)
                    floor = statistics.median(w for w, _ in launch(runs, [pystack, "--version"]))
                row("start-up alone, loaded (pystack --version): wall (median)",
                    "%.2f ms" % (floor * 1e3))
            else:
                (mine, theirs), ratio = side_by_side(argvs, runs)
        finally:
            target.close()
        what = "dump, %d threads%s, against austin -w" % (
            threads, ", loaded (a busy process per CPU, nice 19)" if loaded else "")
        row(what + ": wall, pystack / Austin", "%.2f / %.2f ms" % (mine, theirs))
        row(what + ": Austin's wall over pystack's", "%.2fx" % ratio, "1.3x")


def other_rows(pystack, python, runs, row):
    """Every row but start-up and the core rows: dump, watch, Austin, the 3.13+ builds."""
    goals = {(11, ""): ("1.5 ms", "200 us", "4 MB"), (200, ""): ("8 ms", "", ""),
             (11, "--native"): ("15 ms", "3 ms", "")}
    for threads, depth in ((1, 1), (11, 1), (200, 1), (1, 10000)):
        target = Target(python, threads, depth)
        try:
            for native in ("", "--native"):
                opts = [native] if native else []
                wall, rss, stopped = dumps(pystack, target, runs if threads < 200 else runs // 2,
                                           *opts)
                name = "dump%s, %s" % (" --native" if native else "",
                                       "%d thread%s" % (threads, "s" if threads > 1 else "")
                                       if depth == 1 else "a %d-frame stack" % depth)
                g = goals.get((threads, native), ("", "", "")) if depth == 1 else ("", "", "")
                row(name + ": wall (median)", "%.2f ms" % wall, g[0])
                row(name + ": target stopped (median stopped_us)", "%d us" % stopped, g[1])
                row(name + ": max RSS", "%.1f MB" % rss, g[2])
        finally:
            target.close()
    quiet, median_gap, worst_gap = gaps(pystack, python, runs // 2)
    row("dump, 11 threads: largest clock gap in the target (median)", "%d us" % median_gap,
        "(%d us with no dump)" % quiet)
    row("dump, 11 threads: largest clock gap in the target (worst)", "%d us" % worst_gap)
    row("watch --interval 0, 11 threads: snapshots per second",
        "%d" % watch_rate(pystack, python), "1000")
    loss, cpu = watch_cost(pystack, python)
    row("watch --interval 10ms, 11 threads: target throughput lost", "%.1f %%" % loss, "5 %")
    row("watch --interval 10ms, 11 threads: pystack CPU", "%.1f %% of a core" % cpu, "20 %")

    austin, version = find_austin()
    if austin:
        print("bench: Austin %s (%s)" % (version, austin), file=sys.stderr)
        against_austin(pystack, austin, python, runs, row)
    else:
        row("dump against austin -w", "not run", version)

    results = builds(pystack, runs)
    base = next((r for r in results if r[0].startswith("3.13") and not r[0].endswith("t")), None)
    for name, wall, stop, held in results:
        what = "dump, 11 threads, Python %s" % name
        row(what + ": wall (median)", "%.2f ms" % wall)
        if base and name != base[0]:
            row(what + ": wall against %s" % base[0], "%.2fx" % (wall / base[1]),
                "1.25x" if name.endswith("t") else "1.10x")
            row(what + ": stopped / bytes read while held", "%d us / %d B" % (stop, held),
                "%d B (%s)" % (base[3], base[0]))
        else:
            row(what + ": stopped / bytes read while held", "%d us / %d B" % (stop, held))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pystack")
    ap.add_argument("launch", help="tools/bench/launch.c, built")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else "python3")
    ap.add_argument("--runs", type=int, default=200, help="dumps per figure (default 200)")
    ap.add_argument("--static", help="the static binary (make static), for its rows")
    ap.add_argument("--only", choices=["core", "tasks", "static"],
                    help="only the start-up row and these rows")
    args = ap.parse_args()
    global LAUNCH
    pystack, python, runs = os.path.abspath(args.pystack), args.python, args.runs
    LAUNCH = os.path.abspath(args.launch)
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    rows = []

    def row(what, value, goal=""):
        rows.append((what, value, goal))
        print("  %-52s %s" % (what, value), file=sys.stderr)

    print("bench: pystack %s, Python %s (%s)" % (pystack, version, python), file=sys.stderr)
    # The floor under every figure: starting and ending a process on this machine.
    start = statistics.median(w for w, _ in launch(runs, [pystack, "--version"])) * 1e3
    row("start-up alone (pystack --version): wall (median)", "%.2f ms" % start)
    if not args.only:
        other_rows(pystack, python, runs, row)
    if args.only in (None, "tasks"):
        tasks_rows(pystack, python, runs, row)
    if args.only in (None, "core"):
        core_rows(pystack, python, runs, row)
    if args.only in (None, "static"):
        if args.static:
            static_rows(pystack, os.path.abspath(args.static), python, runs, row)
        else:
            row("static binary", "not run", "no --static given")

    width = max(len(r[0]) for r in rows)
    print("\npystack bench: Python %s (%s), %d runs a figure, %s\n" %
          (version, python, runs, time.strftime("%Y-%m-%d")))
    vwidth = max([14] + [len(r[1]) for r in rows])
    print("| %-*s | %-*s | %-22s |" % (width, "measure", vwidth, "value", "goal"))
    print("|%s|%s|%s|" % ("-" * (width + 2), "-" * (vwidth + 2), "-" * 24))
    for what, value, goal in rows:
        print("| %-*s | %-*s | %-22s |" % (width, what, vwidth, value, goal))


if __name__ == "__main__":
    main()
