"""Finding the Python interpreters to test against.

Interpreters come from PATH (python2.7, python3.X, python3, python), from
pyenv (every version under `pyenv root`), and from the colon-separated
variable PYSTACK_TEST_PYTHONS.  Each is asked for its own version, build
and real executable, so one interpreter reached several ways is tested
once.  Every build pystack supports (each minor version, and the
free-threaded builds of 3.13 on) that is not found becomes a visible skip.

The whole suite runs on each default and free-threaded build found.  The
variants of a build it already covers (a static build beside a shared one
of the same version, the tail-calling interpreter, the JIT) run the tests
that are about them (variants()), which keeps the suite's time in bounds.
With PYSTACK_TEST_SAMPLE=1 the suite runs on a sample of the builds (the
second, sanitized pass of make check: what it looks for is pystack's own
memory errors, which do not need every interpreter again).
"""
import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass

# The builds pystack reads, as (major, minor, free-threaded); each should be tested when present.
SUPPORTED = ([(2, 7, False)] + [(3, m, False) for m in range(6, 16)] +
             [(3, m, True) for m in range(13, 16)])

_PROBE = (
    "import sys, json, sysconfig; "
    "print(json.dumps({'exe': sys.executable, 'version': list(sys.version_info[:3]), "
    "'level': sys.version_info[3], 'serial': sys.version_info[4], 'include': sysconfig.get_paths().get('include'), "
    "'shared': bool(sysconfig.get_config_var('Py_ENABLE_SHARED')), "
    "'mapped': sorted(set(l.split()[-1] for l in open('/proc/self/maps') "
    "if '/libpython' in l)), "
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
    "'config': sysconfig.get_config_var('CONFIG_ARGS') or ''}))"
)


@dataclass(frozen=True)
class Python:
    exe: str
    version: tuple
    include: str
    shared: bool
    mapped: tuple
    origin: str
    free_threaded: bool = False
    prerelease: str = ""    # "rc1", "b2", "" for a final release
    variant: str = ""       # "tailcall", "jit", or "" for the ordinary interpreter

    @property
    def minor(self):
        return self.version[:2]

    @property
    def version_text(self):
        """As Python writes it (platform.python_version()): "3.12.1", "3.15.0rc1"."""
        return ".".join(map(str, self.version)) + self.prerelease

    @property
    def build(self):
        """(major, minor, free-threaded): which of pystack's layouts reads it."""
        return self.version[:2] + (self.free_threaded,)

    @property
    def label(self):
        v = self.version_text + ("t" if self.free_threaded else "")
        where = "system" if self.exe.startswith("/usr/") else self.origin
        kind = self.variant or ("static" if not self.shared and where != "system" else "")
        return "-".join(x for x in (v, kind, where) if x)

    @property
    def libpython(self):
        """The shared libpython this interpreter runs from, or None (static)."""
        return self.mapped[0] if self.mapped else None


def _pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = None
    if not root:
        root = os.path.expanduser("~/.pyenv")
    return root if os.path.isdir(root) else None


def _candidates():
    names = ["python2.7"] + ["python3.%d" % m for m in range(6, 15)] + ["python3", "python"]
    for name in names:
        for d in os.environ.get("PATH", "").split(os.pathsep):
            path = os.path.join(d, name)
            if os.access(path, os.X_OK) and "/shims/" not in path:
                yield path, "path"
    root = _pyenv_root()
    if root:
        versions = os.path.join(root, "versions")
        for v in sorted(os.listdir(versions)) if os.path.isdir(versions) else []:
            path = os.path.join(versions, v, "bin", "python")
            if os.access(path, os.X_OK):
                yield path, "pyenv"
    for path in os.environ.get("PYSTACK_TEST_PYTHONS", "").split(":"):
        if path:
            yield path, "env"


_PRERELEASE = {"alpha": "a", "beta": "b", "candidate": "rc"}


def _probe(path, origin):
    try:
        out = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=20)
        info = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    config = info.get("config", "")
    variant = ("tailcall" if "--with-tail-call-interp" in config else
               "jit" if "--enable-experimental-jit" in config else "")
    return Python(exe=os.path.realpath(info["exe"] or path), version=tuple(info["version"]),
                  include=info["include"] or "", shared=info["shared"],
                  mapped=tuple(info["mapped"]), origin=origin,
                  free_threaded=bool(info.get("free_threaded")), variant=variant,
                  prerelease=_PRERELEASE.get(info["level"], "") and
                  "%s%d" % (_PRERELEASE[info["level"]], info["serial"]))


@functools.lru_cache(maxsize=None)
def _found():
    seen = {}
    for path, origin in _candidates():
        p = _probe(path, origin)
        if p and p.build in SUPPORTED and p.exe not in seen:
            seen[p.exe] = p
    return sorted(seen.values(), key=lambda p: (p.version, p.free_threaded, p.exe))


def _is_variant(p, found):
    """A build the suite already covers: the tail-calling or JIT interpreter, or a
    static build (other than the system's) beside a shared one of the same version."""
    if p.variant:
        return True
    return (not p.shared and not p.exe.startswith("/usr/") and
            any(q.shared and not q.variant and q.version == p.version and
                q.free_threaded == p.free_threaded for q in found))


def _sample(builds):
    """A few builds standing for all: the newest default and free-threaded
    builds, and the system's own interpreter (on Debian a static, stripped one,
    found by a scan)."""
    keep = set(p.exe for p in builds if p.exe.startswith("/usr/"))
    for ft in (False, True):
        newest = [p for p in builds if p.free_threaded == ft]
        if newest:
            keep.add(newest[-1].exe)
    return [p for p in builds if p.exe in keep]


@functools.lru_cache(maxsize=None)
def discover():
    """Every distinct interpreter the whole suite runs on, oldest version first;
    with PYSTACK_TEST_SAMPLE=1 (the sanitized pass of make check), a sample."""
    found = _found()
    builds = [p for p in found if not _is_variant(p, found)]
    return _sample(builds) if os.environ.get("PYSTACK_TEST_SAMPLE") == "1" else builds


@functools.lru_cache(maxsize=None)
def variants():
    """The other builds found (static, tail-calling, JIT), for the tests about them."""
    found = _found()
    return [p for p in found if _is_variant(p, found)]


def missing_builds():
    found = {p.build for p in _found()}
    return [b for b in SUPPORTED if b not in found]
