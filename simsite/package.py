"""Build the stand-in SuperEdge install package (test fixture; see STANDINS.md)."""
from __future__ import annotations

import gzip
import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

STANDINS = Path(__file__).parent / "standins"
MTIME = 1_600_000_000
ZIP_DATE = (2020, 9, 13, 12, 0, 0)


def zipapp(tool: str) -> bytes:
    """A self-contained Python zipapp whose shebang is this interpreter."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for src in sorted(STANDINS.glob("*.py")):
            zi = zipfile.ZipInfo("standins/" + src.name, ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, src.read_bytes())
        zi = zipfile.ZipInfo("__main__.py", ZIP_DATE)
        zi.external_attr = 0o644 << 16
        z.writestr(zi, "from standins.dispatch import run\nrun(%r)\n" % tool)
    return b"#!" + sys.executable.encode() + b"\n" + buf.getvalue()


def _tar_gz(entries: list[tuple[str, bytes, int]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        dirs = set()
        for name, _, _ in entries:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = tarfile.DIRTYPE, 0o755, MTIME, 0, 0, "root", "root"
            t.addfile(ti)
        for name, data, mode in sorted(entries):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = len(data), mode, MTIME, 0, 0, "root", "root"
            t.addfile(ti, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=MTIME, filename="") as g:
        g.write(raw.getvalue())
    return out.getvalue()


UNITS = {
    "kubelet.service": "[Unit]\nDescription=kubelet: The Kubernetes Node Agent\nAfter=network-online.target\n\n[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\n",
    "10-kubeadm.conf": "[Service]\nEnvironment=\"KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf\"\nEnvironment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"\nEnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nEnvironmentFile=-/etc/default/kubelet\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS\n",
    "containerd.service": "[Unit]\nDescription=containerd container runtime\nAfter=network.target\n\n[Service]\nExecStartPre=-/sbin/modprobe overlay\nExecStart=/usr/local/bin/containerd\nRestart=always\nDelegate=yes\nKillMode=process\n\n[Install]\nWantedBy=multi-user.target\n",
    "docker.service": "[Unit]\nDescription=Docker Application Container Engine\n\n[Service]\nExecStart=/usr/bin/dockerd\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
    "lite-apiserver.service": "[Unit]\nDescription=lite-apiserver\n\n[Service]\nExecStart=/usr/bin/lite-apiserver --config=/etc/kubernetes/edge/lite-apiserver.conf\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n",
    "kubelet-config.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n",
    "containerd-config.toml": "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"k8s.gcr.io/pause:3.5\"\n",
}
SCRIPTS = {
    "install-containerd.sh": "#!/bin/sh\nset -e\nd=$(dirname \"$0\")/..\ntar -xzf \"$d/container/containerd-linux-amd64.tgz\" -C /usr/local\ncp \"$d/conf/containerd.service\" /etc/systemd/system/\nmkdir -p /etc/containerd && cp \"$d/conf/containerd-config.toml\" /etc/containerd/config.toml\n",
    "install-docker.sh": "#!/bin/sh\nset -e\nd=$(dirname \"$0\")/..\ntar -xzf \"$d/container/docker-linux-amd64.tgz\" -C /usr/bin --strip-components=1\ncp \"$d/conf/docker.service\" /etc/systemd/system/\n",
}


def build_package(out_dir, version: str = "1.22.6", arch: str = "amd64", fail_at=None) -> tuple[Path, str]:
    """Write kube-linux-<arch>-v<version>.tar.gz; return (path, sha256). Same inputs → same bytes.

    fail_at: optional fail-at spec(s) baked in as edge-install/conf/standins-fail-at (the chain
    never reads it; tests may copy it to /etc/standins/fail-at)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    e = []
    for tool in ("edgeadm", "kubelet", "kubectl", "lite-apiserver", "conntrack"):
        e.append(("edge-install/bin/" + tool, zipapp(tool), 0o755))
    cni = _tar_gz([("./" + p, zipapp("cni-" + p), 0o755) for p in ("bridge", "host-local", "loopback", "portmap", "flannel")])
    e.append(("edge-install/cni/cni-plugins-linux-%s-v0.8.3.tgz" % arch, cni, 0o644))
    ctd = _tar_gz([("bin/" + t, zipapp(t), 0o755) for t in ("containerd", "ctr", "containerd-shim", "containerd-shim-runc-v2", "runc")])
    dkr = _tar_gz([("docker/" + t, zipapp(t), 0o755) for t in ("docker", "dockerd", "containerd", "ctr", "runc")])
    e.append(("edge-install/container/containerd-linux-%s.tgz" % arch, ctd, 0o644))
    e.append(("edge-install/container/docker-linux-%s.tgz" % arch, dkr, 0o644))
    for n, text in UNITS.items():
        e.append(("edge-install/conf/" + n, text.encode(), 0o644))
    for n, text in SCRIPTS.items():
        e.append(("edge-install/script/" + n, text.encode(), 0o755))
    if fail_at:
        specs = [fail_at] if isinstance(fail_at, str) else list(fail_at)
        e.append(("edge-install/conf/standins-fail-at", ("\n".join(specs) + "\n").encode(), 0o644))
    data = _tar_gz(e)
    path = out / ("kube-linux-%s-v%s.tar.gz" % (arch, version))
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def host_tools_dir(out_dir) -> Path:
    """Stand-ins belonging to the host OS (systemctl, journalctl, modprobe): copy into each host's /usr/local/bin."""
    d = Path(out_dir) / "host-tools"
    d.mkdir(parents=True, exist_ok=True)
    for tool in ("systemctl", "journalctl", "modprobe"):
        p = d / tool
        p.write_bytes(zipapp(tool))
        p.chmod(0o755)
    return d


def place_package(site, host, pkg: Path, remote: str) -> None:
    """What an operator does on an offline node before running the join command by hand with
    `--skip-phases=init-node`: put the install package where --install-pkg-path says, edgeadm
    on PATH, and what edgeadm's init-node would have installed: kubelet, lite-apiserver and
    the kubelet unit with kubeadm's drop-in."""
    with site.connect(host) as conn:
        conn.run(f"mkdir -p {Path(remote).parent}")
        conn.put(str(pkg), remote, "0644")
    rc, out, err = site.ssh(host, f"tar -xzf {remote} -C /tmp edge-install/bin edge-install/conf && "
                                  "install -m 0755 /tmp/edge-install/bin/edgeadm /usr/local/bin/edgeadm && "
                                  "install -m 0755 /tmp/edge-install/bin/kubelet /tmp/edge-install/bin/lite-apiserver /usr/bin/ && "
                                  "mkdir -p /etc/systemd/system/kubelet.service.d && "
                                  "install -m 0644 /tmp/edge-install/conf/kubelet.service /etc/systemd/system/ && "
                                  "install -m 0644 /tmp/edge-install/conf/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/")
    if rc != 0:
        raise RuntimeError(f"could not prepare {host.name} for the join: {out}{err}")
