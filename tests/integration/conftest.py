"""Fixtures shared by the integration tests.

`python` runs a test once per interpreter found (see pythons.py), and once
more, as a visible skip, for each supported minor version that was not;
`newest_python` is the newest one found (a default build, where there is one);
`recent_python` runs a test once per build from 3.13 on.
"""
import os

import pytest

import harness
import pythons


def _params():
    params = [pytest.param(p, id=p.label) for p in pythons.discover()]
    for major, minor, ft in pythons.missing_builds():
        name = "%d.%d%s" % (major, minor, "t" if ft else "")
        reason = ("no %sPython %s found (looked on PATH, in pyenv, and in "
                  "PYSTACK_TEST_PYTHONS; tools/build_python.sh builds one)"
                  % ("free-threaded " if ft else "", name))
        params.append(pytest.param(None, id="%s-missing" % name,
                                   marks=pytest.mark.skip(reason=reason)))
    return params


@pytest.fixture(params=_params())
def python(request):
    return request.param


def _recent_params():
    found = [p for p in pythons.discover() if p.version >= (3, 13)]
    return [pytest.param(p, id=p.label) for p in found] or [pytest.param(
        None, id="3.13+-missing", marks=pytest.mark.skip(reason="no Python 3.13 or later found"))]


@pytest.fixture(params=_recent_params())
def recent_python(request):
    """Each build from 3.13 on (default and free-threaded): for the tests that
    otherwise run on the newest interpreter only, where the newer frame and
    object models must be covered too."""
    return request.param


@pytest.fixture
def newest_python():
    """The newest interpreter found, for tests that need only one."""
    found = [p for p in pythons.discover() if not p.free_threaded] or pythons.discover()
    if not found:
        pytest.skip("no Python interpreter found (looked on PATH, in pyenv, and in "
                    "PYSTACK_TEST_PYTHONS)")
    return found[-1]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timing: asserts how fast pystack is, not what it shows (left out of "
        "the sanitized pass of make check, where everything runs several times slower)")
    config.addinivalue_line(
        "markers", "soak: runs a race hundreds of times (the sanitized pass of make check "
        "runs the shorter races of each build instead)")
    config.addinivalue_line(
        "markers", "packaging: builds the Debian package (make deb), runs lintian on it, "
        "installs it into a scratch root and runs the installed program")
    if not os.access(harness.PYSTACK, os.X_OK):
        raise pytest.UsageError("pystack binary not found at %s (run make, or set PYSTACK)"
                                % harness.PYSTACK)


def pytest_report_header(config):
    found = ", ".join(p.label for p in pythons.discover()) or "none"
    return ["pystack: %s" % harness.PYSTACK, "interpreters: %s" % found]
