"""Finding the Python interpreters to test against.

Interpreters come from PATH (python2.7, python3.X, python3, python), from
pyenv (every version under `pyenv root`), and from the colon-separated
variable PYSTACK_TEST_PYTHONS.  Each is asked for its own version and real
executable, so one interpreter reached several ways is tested once.  Every
minor version pystack supports that is not found becomes a visible skip.
"""
import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass

# The minor versions pystack reads; each should be tested when present.
SUPPORTED = [(2, 7)] + [(3, m) for m in range(6, 14)]

_PROBE = (
    "import sys, json, sysconfig; "
    "print(json.dumps({'exe': sys.executable, 'version': list(sys.version_info[:3]), "
    "'level': sys.version_info[3], 'include': sysconfig.get_paths().get('include'), "
    "'shared': bool(sysconfig.get_config_var('Py_ENABLE_SHARED')), "
    "'mapped': sorted(set(l.split()[-1] for l in open('/proc/self/maps') "
    "if '/libpython' in l))}))"
)


@dataclass(frozen=True)
class Python:
    exe: str
    version: tuple
    include: str
    shared: bool
    mapped: tuple
    origin: str

    @property
    def minor(self):
        return self.version[:2]

    @property
    def label(self):
        v = ".".join(map(str, self.version))
        where = "system" if self.exe.startswith("/usr/") else self.origin
        return "%s-%s" % (v, where)

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


def _probe(path, origin):
    try:
        out = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=20)
        info = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return Python(exe=os.path.realpath(info["exe"] or path), version=tuple(info["version"]),
                  include=info["include"] or "", shared=info["shared"],
                  mapped=tuple(info["mapped"]), origin=origin)


@functools.lru_cache(maxsize=None)
def discover():
    """Every distinct interpreter found, oldest version first."""
    seen = {}
    for path, origin in _candidates():
        p = _probe(path, origin)
        if p and p.minor in SUPPORTED and p.exe not in seen:
            seen[p.exe] = p
    return sorted(seen.values(), key=lambda p: (p.version, p.exe))


def missing_minors():
    found = {p.minor for p in discover()}
    return [m for m in SUPPORTED if m not in found]
