"""Step scripts run on a simulated host through the SSH runner: each one converges, and a
second run changes nothing and says so."""
from __future__ import annotations

import hashlib

import pytest

from provisioners.core.errors import StepFailed
from provisioners.core.props import ClusterSpec, Host, InstallPackage, Registry
from provisioners.steps import cluster as cluster_steps, host as steps
from provisioners.steps.kubelet_unit import KUBELET_FILES
from provisioners.steps.context import MASTER0, Context
from provisioners.ssh.runner import Connection, run_step

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    from simsite.package import host_tools_dir
    from simsite.site import Site
    with Site(n=1, host_tools=host_tools_dir(tmp_path_factory.mktemp("tools"))) as site:
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


# --- the install package in the real shape (simsite/real_package.json) ----------------------

def pkg_ctx(h: Host, pkg_path, **spec_kw) -> Context:
    spec = ClusterSpec(name="t", masters=(h,), install_package=InstallPackage(
        path=str(pkg_path), sha256=hashlib.sha256(pkg_path.read_bytes()).hexdigest()), **spec_kw)
    return Context(spec=spec, host=h, role=MASTER0, creds=None)


def fails(h: Host, step) -> StepFailed:
    with pytest.raises(StepFailed) as exc:
        with Connection(h) as conn:
            run_step(conn, step, log=lambda *_: None)
    return exc.value


def test_a_package_lacking_a_path_the_chain_needs_stops_before_anything_is_installed(host, tmp_path):
    """The real package without edgeadm (users add it): the step names the path and the package."""
    import io
    import tarfile
    from simsite.package import build_package
    full, _ = build_package(tmp_path / "full")
    src = tarfile.open(full)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as t:
        for m in src.getmembers():
            if not m.name.endswith("/bin/edgeadm"):
                t.addfile(m, src.extractfile(m) if m.isfile() else None)
    pkg = tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg.write_bytes(out.getvalue())
    site, h = host
    ctx = pkg_ctx(h, pkg)
    err = fails(h, steps.ensure_install_package(ctx))
    assert err.step == "EnsureInstallPackage" and err.exit_code == 1
    assert f"install package {ctx.package_path} lacks edge-install/bin/edgeadm" in str(err)
    rc, out, _ = site.ssh(site.hosts[0], f"test -e {ctx.install_dir}/.sha256 || echo unverified; ls /usr/local/bin/edgeadm /usr/bin/kubelet 2>&1")
    assert "unverified" in out and "No such file" in out


def test_the_runtime_is_installed_by_the_packages_own_script_with_our_registry_settings(host, tmp_path):
    from simsite.package import build_package
    pkg, _ = build_package(tmp_path)
    site, h = host
    ctx = pkg_ctx(h, pkg, registry=Registry(mirrors=("https://mirror.example.com",)))
    first, second = twice(h, steps.ensure_install_package(ctx))
    assert "holds every path the chain needs" in first and "package already unpacked" in second
    first, second = twice(h, cluster_steps.ensure_container_runtime(ctx))
    assert "installed by the package's containerd/install" in first and "containerd already installed" in second
    rc, out, _ = site.ssh(site.hosts[0], "ls /usr/local/sbin; cat /etc/crictl.yaml /etc/containerd/config.toml; "
                                         "systemctl is-active containerd")
    for b in ("containerd", "containerd-shim-runc-v2", "ctr", "runc", "crictl"):
        assert b + "\n" in out
    assert "runtime-endpoint: unix:///run/containerd/containerd.sock" in out
    assert '[plugins.cri.registry.mirrors."docker.io"]' in out and out.rstrip().endswith("active")
    # a package whose runtime tarball is gone: the glob is named, never taken for a file
    site.ssh(site.hosts[0], f"rm -f {ctx.install_dir}/container/containerd-*.tgz")
    err = fails(h, cluster_steps.ensure_container_runtime(ctx))
    assert f"install package {ctx.package_path} lacks edge-install/container/containerd-*.tgz (no file matches)" in str(err)
    site.ssh(site.hosts[0], f"rm -f {ctx.install_dir}/.sha256")
    twice(h, steps.ensure_install_package(ctx))  # unpacked again
    first, _ = twice(h, steps.ensure_cni_plugins(ctx))
    assert "CNI plugins installed" in first
    rc, out, _ = site.ssh(site.hosts[0], "ls /opt/cni/bin")
    assert "bridge" in out and "loopback" in out


def test_the_kubelet_unit_is_edgeadms_and_written_once(host, tmp_path):
    site, h = host
    first, second = twice(h, cluster_steps.ensure_kubelet_unit(ctx_for(h, tmp_path)))
    assert "wrote /usr/lib/systemd/system/kubelet.service" in first and "wrote" not in second
    for path, text in KUBELET_FILES:
        rc, out, _ = site.ssh(site.hosts[0], f"cat {path}")
        assert rc == 0 and out == text, path
    rc, out, _ = site.ssh(site.hosts[0], "systemctl is-enabled kubelet")
    assert out.strip() == "enabled"


def test_reset_removes_what_the_runtime_script_installed_and_docker_installs_by_its_own(host, tmp_path):
    from provisioners.steps.step import Step
    from simsite.package import build_package
    pkg, _ = build_package(tmp_path)
    site, h = host
    ctx = pkg_ctx(h, pkg)
    twice(h, steps.ensure_install_package(ctx))
    twice(h, cluster_steps.ensure_container_runtime(ctx))
    with Connection(h) as conn:
        run_step(conn, Step("Uninstall", steps.uninstall_script(ctx)), log=lambda *_: None)
    gone = ["/usr/local/sbin/containerd", "/usr/local/sbin/crictl", "/usr/local/sbin/runc", "/etc/crictl.yaml",
            "/etc/systemd/system/containerd.service", "/etc/containerd/config.toml", "/var/lib/edge_constructs/pkg"]
    rc, out, _ = site.ssh(site.hosts[0], "for f in " + " ".join(gone) + "; do [ -e $f ] && echo $f; done; true")
    assert out.split() == []
    ctx = pkg_ctx(h, pkg, container_runtime="docker", registry=Registry(mirrors=("https://mirror.example.com",)))
    twice(h, steps.ensure_install_package(ctx))
    first, second = twice(h, cluster_steps.ensure_container_runtime(ctx))
    assert "installed by the package's docker/install" in first and "docker already installed" in second
    rc, out, _ = site.ssh(site.hosts[0], "cat /etc/docker/daemon.json; ls /usr/bin/dockerd /usr/lib/systemd/system/docker.service; "
                                         "systemctl is-active docker")
    assert "native.cgroupdriver=systemd" in out and "https://mirror.example.com" in out
    assert out.rstrip().endswith("active"), out
