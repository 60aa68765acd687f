"""The Debian package: built by make deb, checked by lintian, installed, run.

make deb builds it with dpkg-buildpackage in a copy of the tree under
build-deb/ (started clean here).  lintian must report no error.  The .deb
must hold the program, the man page, both completions, the README, the
copyright and a version taken from VERSION.  Then dpkg installs it for real,
into a scratch root with an admin directory of its own (--root): the
package's dependencies are not installed there, hence --force-depends, and
the installed program runs against the host's libraries.  It must read a
live target's stack, natively too (libdw and libunwind, which it loads at run
time and the package declares by hand), and dpkg must then remove it again.
"""
import os
import shutil
import subprocess

import pytest

from harness import ROOT, Target

pytestmark = pytest.mark.packaging

DEB_DIR = os.path.join(ROOT, "build-deb")


def _version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


def _env():
    """This environment without what make passes to its children (make
    integration runs pytest), so that make deb starts afresh."""
    env = dict(os.environ)
    for key in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(key, None)
    return env


def _build():
    """The path of the .deb that make deb built."""
    for tool in ("dpkg-buildpackage", "dh", "lintian", "make"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed (tools/deps.sh installs what the "
                        "package test needs)" % tool)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True, check=True).stdout.strip()
    if arch != "amd64":
        pytest.skip("the package is built for amd64 only, not %s" % arch)
    deps = subprocess.run(["dpkg-checkbuilddeps"], cwd=ROOT, capture_output=True, text=True)
    if deps.returncode:
        pytest.skip("build dependencies missing: %s" % deps.stderr.strip())
    shutil.rmtree(DEB_DIR, ignore_errors=True)
    parent = os.path.dirname(ROOT)
    before = set(os.listdir(parent))
    r = subprocess.run(["make", "deb"], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, "make deb failed:\n%s\n%s" % (r.stdout[-4000:], r.stderr[-4000:])
    path = os.path.join(DEB_DIR, "pystack_%s_amd64.deb" % _version())
    assert os.path.isfile(path), sorted(os.listdir(DEB_DIR))
    # Everything the build wrote is under build-deb/, nothing beside the tree.
    assert not [n for n in set(os.listdir(parent)) - before if n.startswith("pystack")]
    return path


def _lintian(deb):
    cmd = ["lintian", "--fail-on", "error"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    r = subprocess.run(cmd + [deb], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "lintian:\n%s%s" % (r.stdout, r.stderr)
    assert not [l for l in r.stdout.splitlines() if l.startswith("E:")], r.stdout


def _field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                          check=True).stdout.strip()


def _contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                         check=True).stdout
    files = {line.split()[-1].lstrip(".") for line in out.splitlines() if line.startswith("-")}
    doc = "/usr/share/doc/pystack/"
    for path in ("/usr/bin/pystack", "/usr/share/man/man1/pystack.1.gz",
                 "/usr/share/bash-completion/completions/pystack",
                 "/usr/share/zsh/vendor-completions/_pystack",
                 doc + "copyright", doc + "changelog.gz"):
        assert path in files, (path, sorted(files))
    assert {doc + "README.md", doc + "README.md.gz"} & files, sorted(files)
    assert _field(deb, "Version") == _version()
    depends = [d.strip().split()[0] for d in _field(deb, "Depends").split(",")]
    for lib in ("libdw1", "libunwind8", "libelf1", "libc6"):
        assert lib in depends, depends


def _dpkg(root, *args):
    cmd = ["dpkg", "--root=" + root, "--log=" + os.path.join(root, "dpkg.log"),
           "--force-not-root"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _install_and_run(deb, python, tmp_path):
    root = str(tmp_path / "root")
    admin = os.path.join(root, "var", "lib", "dpkg")
    for d in ("info", "updates"):
        os.makedirs(os.path.join(admin, d))
    for f in ("status", "available"):
        open(os.path.join(admin, f), "w").close()
    r = _dpkg(root, "--force-depends", "-i", deb)
    assert r.returncode == 0, r.stdout + r.stderr
    status = _dpkg(root, "-s", "pystack").stdout
    assert "Status: install ok installed" in status, status
    program = os.path.join(root, "usr", "bin", "pystack")

    with Target(python, "deep.py", 5) as t:
        for args in ([], ["--native"]):
            r = subprocess.run([program, "dump"] + args + [str(t.pid)], capture_output=True,
                               text=True, errors="surrogateescape", timeout=60)
            assert r.returncode == 0, (args, r.returncode, r.stderr)
            assert "in recurse" in r.stdout, (args, r.stdout)
        assert "Native " in r.stdout, r.stdout
        t.finish()

    r = _dpkg(root, "-r", "pystack")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(program)


def test_package(newest_python, tmp_path):
    deb = _build()
    _lintian(deb)
    _contents(deb)
    _install_and_run(deb, newest_python, tmp_path)
