"""pytest fixtures for the simulated site (loaded by tests/conftest.py).

* ``site_factory(n, host_tools=None, **kw) -> Site``: function-scoped; every site it made
  is torn down after the test, pass or fail.
* ``site3``: a module-scoped 3-host site.

The site needs root, sshd, ip, unshare, nsenter and perl. When they are missing the test
FAILS with the reason (CI runs as root and installs openssh-server); it is never skipped.
"""
from __future__ import annotations

import os
import shutil

import pytest

from simsite.site import SSHD, Site


def require_site_prerequisites() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (network/mount namespaces)")
    if not os.access(SSHD, os.X_OK):
        problems.append(f"{SSHD} missing: apt-get install openssh-server")
    for tool in ("ip", "unshare", "nsenter", "perl"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} not on PATH")
    if problems:
        pytest.fail("simulated site unavailable: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def site_factory():
    require_site_prerequisites()
    sites: list[Site] = []

    def make(n: int, host_tools=None, **kwargs) -> Site:
        s = Site(n=n, host_tools=host_tools, **kwargs)
        sites.append(s)
        s.start()
        return s

    yield make
    errors = []
    for s in reversed(sites):
        try:
            s.close()
        except Exception as e:  # report, but close the others first
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def site3():
    require_site_prerequisites()
    with Site(n=3) as s:
        yield s
