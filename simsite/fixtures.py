"""pytest fixtures for the simulated site (loaded by tests/conftest.py).

* ``site_factory(n, host_tools=None, **kw) -> Site``: function-scoped; every site it made
  is torn down after the test, pass or fail.
* ``site3``: a module-scoped 3-host site.
* ``behind_bastion``: (bastion, target) Hosts; the target is reachable only through the bastion.

The site needs root, sshd, ip, unshare, nsenter and perl. When they are missing the test
FAILS with the reason (CI runs as root and installs openssh-server); it is never skipped.
"""
from __future__ import annotations

import os
import shutil

import pytest

from provisioners.core.props import Host
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


@pytest.fixture
def behind_bastion(site_factory):
    """A simulated host `jump` (the bastion) and, inside its network namespace only, a second
    sshd on 127.0.0.1:2222: a target that only the bastion can reach (from here, 127.0.0.1:2222
    is this machine's own loopback, where nothing of it listens)."""
    site = site_factory(1)
    jump = site.hosts[0]
    rc, out, err = site.ssh(jump, "printf '%s\\n' 'ListenAddress 127.0.0.1:2222' 'HostKey /run/ecsim/ssh_host_ed25519_key' "
                                  "'AuthorizedKeysFile /run/ecsim/authorized_keys' 'PasswordAuthentication no' 'UsePAM no' "
                                  "'StrictModes no' 'PermitRootLogin prohibit-password' 'PidFile none' 'Subsystem sftp /usr/lib/openssh/sftp-server' > /tmp/inner_sshd_config "
                                  "&& /usr/sbin/sshd -f /tmp/inner_sshd_config && sleep 0.2 && ss -tln")
    assert rc == 0 and "127.0.0.1:2222" in out, out + err
    bastion = Host(jump.address, port=jump.port, user=jump.user, private_key_file=jump.private_key_file,
                   host_key=jump.host_public_key, name="jump")
    target = Host("127.0.0.1", port=2222, user="root", private_key_file=jump.private_key_file,
                  host_key=jump.host_public_key, name="inner")
    return bastion, target
