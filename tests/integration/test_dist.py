"""make dist: the release tarball, unpacked elsewhere, builds and tests itself.

The tarball must hold every committed file and nothing else, under
pystack-VERSION/ with VERSION the one in the file VERSION; unpacked in a
directory of its own, with no git in sight, it must build, pass its unit
tests and fuzz replay, and pass its own integration tests of dumps and of
the command line on the sample of interpreters (its full make check is the
suite this one is part of, run again on the same files).
"""
import os
import shutil
import subprocess
import tarfile

import pytest

from harness import ROOT

pytestmark = pytest.mark.packaging


def version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    if not shutil.which("git") or subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                                                 capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: make dist packs the committed tree")
    out = str(tmp_path_factory.mktemp("dist") / "out.tar.gz")
    r = subprocess.run(["make", "-s", "-C", ROOT, "dist", "DIST_OUT=" + out],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out


def test_tarball_holds_the_committed_tree(tarball):
    committed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True,
                               check=True).stdout.decode().split("\0")
    prefix = "pystack-%s/" % version()
    with tarfile.open(tarball) as t:
        names = [m.name for m in t.getmembers() if not m.isdir()]
    assert all(n.startswith(prefix) for n in names), names[:5]
    assert sorted(n[len(prefix):] for n in names) == sorted(c for c in committed if c)


def test_tarball_builds_and_tests_itself(tarball, tmp_path):
    with tarfile.open(tarball) as t:
        t.extractall(str(tmp_path))
    src = str(tmp_path / ("pystack-%s" % version()))
    assert not os.path.exists(os.path.join(src, ".git"))
    env = dict(os.environ, GIT_DIR=str(tmp_path / "no-git"), PYSTACK_TEST_SAMPLE="1")
    for var in ("PYSTACK", "PYSTACK_UNIT", "PYSTACK_STATIC"):
        env.pop(var, None)
    r = subprocess.run(["make", "-s", "-C", src, "-j2", "WERROR=1", "all", "unit"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    assert "0 failed" in r.stdout, r.stdout[-2000:]
    r = subprocess.run([os.path.join(src, "build", "pystack"), "--version"],
                       capture_output=True, text=True)
    assert r.stdout.split()[:2] == ["pystack", version()], r.stdout
    r = subprocess.run(["make", "-s", "-C", src, "integration", "TEST_JOBS=2",
                        "TESTS=tests/integration/test_dump.py tests/integration/test_cli.py",
                        "PYTEST_ARGS=-m 'not soak and not timing'"],
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    assert " passed" in r.stdout and " failed" not in r.stdout, r.stdout[-2000:]
