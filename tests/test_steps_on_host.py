"""Step scripts run on a simulated host through the SSH runner: each one converges, and a
second run changes nothing and says so."""
from __future__ import annotations

import hashlib

import pytest

from provisioners.core.errors import StepFailed
from provisioners.core.props import ClusterSpec, Host, InstallPackage, Registry
from provisioners.steps import host as steps
from provisioners.steps.context import MASTER0, Context
from provisioners.ssh.runner import Connection, run_step

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    from simsite.site import Site
    with Site(n=1) as site:
        h = site.hosts[0]
        yield site, Host(h.address, port=h.port, user=h.user, private_key_file=h.private_key_file,
                         host_key=h.host_public_key, name=h.name)


def ctx_for(host: Host, tmp_path, **spec_kw) -> Context:
    pkg = tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"
    if not pkg.exists():
        pkg.write_bytes(b"not really a package")
    spec = ClusterSpec(name="t", masters=(host,), install_package=InstallPackage(
        path=str(pkg), sha256=hashlib.sha256(pkg.read_bytes()).hexdigest()), **spec_kw)
    return Context(spec=spec, host=host, role=MASTER0, creds=None)


def twice(host: Host, step):
    with Connection(host) as conn:
        first = run_step(conn, step, log=lambda *_: None)
        second = run_step(conn, step, log=lambda *_: None)
    return first.stdout, second.stdout


def test_registry_hosts_block_is_written_once(host, tmp_path):
    site, h = host
    ctx = ctx_for(h, tmp_path, registry=Registry(domain="reg.example.com", address="198.18.0.200"))
    first, second = twice(h, steps.ensure_registry_hosts(ctx))
    assert "wrote the registry block" in first and "already has the registry block" in second
    rc, hosts, _ = site.ssh(site.hosts[0], "cat /etc/hosts")
    assert hosts.count("198.18.0.200 reg.example.com") == 1


def test_sysctls_are_set_and_then_left_alone(host, tmp_path):
    site, h = host
    first, second = twice(h, steps.ensure_sysctl(ctx_for(h, tmp_path)))
    assert "sysctls already set" in second and "sysctls already set" not in first
    rc, out, _ = site.ssh(site.hosts[0], "sysctl -n net.ipv4.ip_forward")
    assert out.strip() == "1"


def test_swap_is_commented_out_of_fstab_once(host, tmp_path):
    site, h = host
    site.ssh(site.hosts[0], "echo '/swapfile none swap sw 0 0' >> /etc/fstab")
    first, second = twice(h, steps.ensure_disable_swap(ctx_for(h, tmp_path)))
    assert "commented out" in first and "commented out" not in second
    rc, fstab, _ = site.ssh(site.hosts[0], "cat /etc/fstab")
    assert "#/swapfile none swap sw 0 0" in fstab


def test_a_package_with_the_wrong_sha256_is_refused_by_name(host, tmp_path):
    site, h = host
    ctx = ctx_for(h, tmp_path)
    bad = ctx.spec.install_package.__class__(path=ctx.spec.install_package.path, sha256="0" * 64)
    ctx = Context(spec=ctx.spec.__class__(**{**ctx.spec.__dict__, "install_package": bad}),
                  host=h, role=MASTER0, creds=None)
    with pytest.raises(StepFailed) as exc:
        with Connection(h) as conn:
            run_step(conn, steps.ensure_install_package(ctx), log=lambda *_: None)
    err = exc.value
    assert err.step == "EnsureInstallPackage" and err.host == "h0" and err.exit_code == 1
    assert "sha256 mismatch: expected " + "0" * 64 in str(err)
