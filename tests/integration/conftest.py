"""Fixtures shared by the integration tests.

`python` runs a test once per interpreter found (see pythons.py), and once
more, as a visible skip, for each supported minor version that was not;
`newest_python` is the newest one found (a default build, where there is one).
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


@pytest.fixture
def newest_python():
    """The newest interpreter found, for tests that need only one."""
    found = [p for p in pythons.discover() if not p.free_threaded] or pythons.discover()
    if not found:
        pytest.skip("no Python interpreter found (looked on PATH, in pyenv, and in "
                    "PYSTACK_TEST_PYTHONS)")
    return found[-1]


def pytest_configure(config):
    if not os.access(harness.PYSTACK, os.X_OK):
        raise pytest.UsageError("pystack binary not found at %s (run make, or set PYSTACK)"
                                % harness.PYSTACK)


def pytest_report_header(config):
    found = ", ".join(p.label for p in pythons.discover()) or "none"
    return ["pystack: %s" % harness.PYSTACK, "interpreters: %s" % found]
