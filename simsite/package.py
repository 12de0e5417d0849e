"""Build the stand-in SuperEdge install package (test fixture; see STANDINS.md)."""
from __future__ import annotations

import gzip
import hashlib
import io
import shlex
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


#: The runtime tarballs' stand-in scripts and configuration (see STANDINS.md, "Package layout").
#: Each does what edge-install's file of the same path does (branch 1.22-AMD64), in plain sh.
CONTAINERD_UNINSTALL = """\
# Stand-in for edge-install container/containerd/uninstall.sh: stop the runtimes, remove their files.
# (The real one also purges the distribution's docker/containerd packages with dpkg/yum.)
uninstall_main() {
  for s in docker containerd dockerd; do systemctl stop "$s" || true; systemctl disable "$s" || true; done
  rm -rf /etc/docker /etc/containerd /usr/bin/docker* /usr/local/sbin/containerd*
  rm -f /usr/local/sbin/ctr /usr/local/sbin/crictl
}
"""
CONTAINERD_INSTALL = """\
#!/bin/sh
# Stand-in for edge-install container/containerd/install: uninstall first, then config to
# /etc/containerd, binaries and runc to /usr/local/sbin, the unit to /etc/systemd/system,
# crictl to /usr/local/sbin with /etc/crictl.yaml; start and enable containerd.
set -e
EXEC_DIR=$(cd "$(dirname "$0")" && pwd)
. "$EXEC_DIR/uninstall.sh"
uninstall_main
mkdir -p /etc/containerd
if [ -f "$EXEC_DIR/patch.json" ]; then
  "$EXEC_DIR/conf-patch" -o "$EXEC_DIR/config.toml" -p "$EXEC_DIR/patch.json" > "$EXEC_DIR/patched-config.toml"
  cp "$EXEC_DIR/patched-config.toml" /etc/containerd/config.toml
else
  cp "$EXEC_DIR/config.toml" /etc/containerd/config.toml
fi
mkdir -p /usr/local/sbin /etc/systemd/system
cp "$EXEC_DIR/containerd" "$EXEC_DIR/containerd-shim" "$EXEC_DIR/containerd-shim-runc-v1" \\
   "$EXEC_DIR/containerd-shim-runc-v2" "$EXEC_DIR/ctr" /usr/local/sbin/
cp "$EXEC_DIR/runc" /usr/local/sbin/runc
cp "$EXEC_DIR/containerd.service" /etc/systemd/system/containerd.service
cp "$EXEC_DIR/crictl" /usr/local/sbin/
cp "$EXEC_DIR/crictl.yaml" /etc/crictl.yaml
systemctl daemon-reload
systemctl start containerd.service
systemctl enable containerd.service
"""
#: containerd 1.4's version-1 configuration, as the package's config.toml (CRI plugin as `plugins.cri`).
CONTAINERD_CONFIG = """\
root = "/var/lib/containerd"
state = "/run/containerd"
oom_score = -999
disabled_plugins = ["restart"]

[plugins.cri]
  sandbox_image = "k8s.gcr.io/pause:3.5"
  max_concurrent_downloads = 10
  [plugins.cri.containerd]
    default_runtime_name = "runc"
    [plugins.cri.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins.cri.cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
"""
CONTAINERD_SERVICE = """\
[Unit]
Description=containerd container runtime
After=network.target

[Service]
ExecStartPre=/sbin/modprobe overlay
ExecStart=/usr/local/sbin/containerd
ExecStartPost=-/sbin/iptables -I FORWARD -s 0.0.0.0/0 -j ACCEPT
Restart=always
RestartSec=5
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
"""
CRICTL_YAML = """\
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
timeout: 10
debug: false
"""
DOCKER_UNINSTALL = """\
#!/bin/sh
# Stand-in for edge-install container/docker/uninstall.sh (without its dpkg/yum purge).
for s in docker containerd dockerd; do systemctl stop "$s" || true; systemctl disable "$s" || true; done
rm -rf /etc/docker /etc/containerd
rm -f /usr/bin/docker* /usr/bin/containerd*
"""
DOCKER_INSTALL = """\
#!/bin/sh
# Stand-in for edge-install container/docker/install: uninstall first (uninstall.sh), binaries to /usr/bin, docker and containerd
# units to /usr/lib/systemd/system, daemon.json from conf/default.json patched with conf/patch.json
# (conf-patch), containerd's config; start and enable containerd and docker.
set -e
EXEC_DIR=$(cd "$(dirname "$0")" && pwd)
SYSTEMD_DIR=/usr/lib/systemd/system
. "$EXEC_DIR/uninstall.sh"   # as the real script: sourcing it runs its uninstall
mkdir -p /usr/bin "$SYSTEMD_DIR" /etc/docker /etc/containerd
cp -a "$EXEC_DIR"/bin/* /usr/bin/
cp "$EXEC_DIR/conf/docker.service" "$SYSTEMD_DIR/docker.service"
cp "$EXEC_DIR/conf/containerd.service" "$SYSTEMD_DIR/containerd.service"
cp "$EXEC_DIR/conf/default.json" "$EXEC_DIR/conf/os-patched.json"
if [ -f "$EXEC_DIR/conf/patch.json" ]; then
  "$EXEC_DIR/util/conf-patch" -o "$EXEC_DIR/conf/os-patched.json" -p "$EXEC_DIR/conf/patch.json" > "$EXEC_DIR/conf/svr-patched.json"
else
  cp "$EXEC_DIR/conf/os-patched.json" "$EXEC_DIR/conf/svr-patched.json"
fi
cp "$EXEC_DIR/conf/svr-patched.json" /etc/docker/daemon.json
cp "$EXEC_DIR/conf/config.toml" /etc/containerd/
systemctl daemon-reload
systemctl start containerd.service
systemctl start docker.service
systemctl enable containerd.service
systemctl enable docker.service
echo "Has been successfully installed container runtime!"
"""
DOCKER_DEFAULT_JSON = """\
{
  "hosts": ["unix:///var/run/docker.sock"],
  "log-driver": "json-file",
  "registry-mirrors": [],
  "live-restore": true,
  "storage-driver": "overlay2",
  "exec-opts": [],
  "insecure-registries": []
}
"""
DOCKER_SERVICE = """\
[Unit]
Description=Docker Application Container Engine
BindsTo=containerd.service
After=network-online.target containerd.service

[Service]
ExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock --config-file=/etc/docker/daemon.json
Restart=always
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
"""
DOCKER_CONTAINERD_SERVICE = """\
[Unit]
Description=containerd container runtime
After=network.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/bin/containerd
KillMode=process
Delegate=yes

[Install]
WantedBy=multi-user.target
"""
INIT_NODE_SH = """\
#!/bin/sh
# Stand-in for edge-install script/init-node.sh, which disables the firewall, installs net-tools
# with apt/yum, clears CNI state, turns swap off, sets sysctls and loads modules. The chain never
# runs it (edgeadm's init-node phase, which does, fails offline: STANDINS.md); this one fails as the
# package install does on an offline host.
echo "E: Unable to locate package net-tools" >&2
exit 100
"""
KUBE_SCHEDULER_CONFIG = """\
apiVersion: kubescheduler.config.k8s.io/v1alpha1
kind: KubeSchedulerConfiguration
schedulerName: default-scheduler
algorithmSource:
  policy:
    file:
      path: /etc/kubernetes/kube-scheduler/kube-scheduler-policy.cfg
clientConnection:
  kubeconfig: /etc/kubernetes/scheduler.conf
"""
KUBE_SCHEDULER_POLICY = '{"kind": "Policy", "apiVersion": "v1", "extenders": []}\n'

CONTAINERD_VERSION = "containerd-1.4.3"
DOCKER_VERSION = "docker-19.03"
CNI_VERSION = "v0.8.3"


def _containerd_tgz() -> bytes:
    e = [("./containerd/" + t, zipapp(t), 0o755) for t in
         ("containerd", "containerd-shim", "containerd-shim-runc-v1", "containerd-shim-runc-v2", "ctr", "runc", "crictl", "conf-patch")]
    e += [("./containerd/install", CONTAINERD_INSTALL.encode(), 0o755),
          ("./containerd/uninstall.sh", CONTAINERD_UNINSTALL.encode(), 0o755),
          ("./containerd/config.toml", CONTAINERD_CONFIG.encode(), 0o644),
          ("./containerd/containerd.service", CONTAINERD_SERVICE.encode(), 0o644),
          ("./containerd/crictl.yaml", CRICTL_YAML.encode(), 0o644),
          ("./containerd/README.md", b"Stand-in of the containerd runtime directory (simsite/STANDINS.md).\n", 0o644)]
    return _tar_gz(e)


def _docker_tgz() -> bytes:
    e = [("./docker/bin/" + t, zipapp(t), 0o755) for t in
         ("containerd", "containerd-shim", "ctr", "docker", "docker-init", "docker-proxy", "dockerd", "runc")]
    e += [("./docker/util/conf-patch", zipapp("conf-patch"), 0o755),
          ("./docker/install", DOCKER_INSTALL.encode(), 0o755),
          ("./docker/uninstall.sh", DOCKER_UNINSTALL.encode(), 0o755),
          ("./docker/conf/default.json", DOCKER_DEFAULT_JSON.encode(), 0o644),
          ("./docker/conf/patch.json", DOCKER_DEFAULT_JSON.encode(), 0o644),
          ("./docker/conf/aufs.patch.json", b'{"storage-driver": "aufs"}\n', 0o644),
          ("./docker/conf/config.toml", b'disabled_plugins = ["cri"]\n', 0o644),
          ("./docker/conf/docker.service", DOCKER_SERVICE.encode(), 0o644),
          ("./docker/conf/containerd.service", DOCKER_CONTAINERD_SERVICE.encode(), 0o644)]
    return _tar_gz(e)


def build_package(out_dir, version: str = "1.22.6", arch: str = "amd64", fail_at=None) -> tuple[Path, str]:
    """Write kube-linux-<arch>-v<version>.tar.gz in the shape of SuperEdge's real package
    (simsite/real_package.json) plus edge-install/bin/edgeadm; return (path, sha256).
    Same inputs -> same bytes.

    fail_at: optional fail-at spec(s) baked in as edge-install/conf/standins-fail-at (the chain
    never reads it; tests may copy it to /etc/standins/fail-at)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    top = "./edge-install/"
    e = []
    for tool in ("edgeadm", "kubelet", "kubectl", "lite-apiserver", "conntrack"):
        e.append((top + "bin/" + tool, zipapp(tool), 0o755))
    cni = _tar_gz([("./" + p, zipapp("cni-" + p), 0o755) for p in ("bridge", "host-local", "loopback", "portmap", "flannel")])
    e.append((top + "cni/cni-plugins-linux-%s-%s.tgz" % (arch, CNI_VERSION), cni, 0o644))
    e.append((top + "conf/kube-scheduler/kube-scheduler-config.yaml", KUBE_SCHEDULER_CONFIG.encode(), 0o644))
    e.append((top + "conf/kube-scheduler/kube-scheduler-policy.cfg", KUBE_SCHEDULER_POLICY.encode(), 0o644))
    e.append((top + "container/%s-linux-%s.tgz" % (CONTAINERD_VERSION, arch), _containerd_tgz(), 0o644))
    e.append((top + "container/%s-linux-%s.tgz" % (DOCKER_VERSION, arch), _docker_tgz(), 0o644))
    e.append((top + "script/init-node.sh", INIT_NODE_SH.encode(), 0o755))
    e.append((top + "build_package.sh", b"#!/bin/sh\n# stand-in package: built by simsite/package.py\n", 0o644))
    e.append((top + ".gitattributes", b"bin/kubelet filter=lfs diff=lfs merge=lfs -text\n", 0o644))
    if fail_at:
        specs = [fail_at] if isinstance(fail_at, str) else list(fail_at)
        e.append((top + "conf/standins-fail-at", ("\n".join(specs) + "\n").encode(), 0o644))
    data = _tar_gz(e)
    path = out / ("kube-linux-%s-v%s.tar.gz" % (arch, version))
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


#: Host programs a real host has in /usr/sbin (/sbin): the package's containerd.service runs
#: /sbin/modprobe, kubeadm's preflight needs iptables on PATH. Stand-ins of them go to the host's
#: /usr/sbin only where this machine has none (the real tool wins where it exists).
SBIN_TOOLS = ("modprobe", "iptables")


def host_tools_dir(out_dir) -> Path:
    """Stand-ins belonging to the host OS: systemctl, journalctl, modprobe (copied into each host's
    /usr/local/bin) and, under `sbin/`, those of SBIN_TOOLS this machine lacks (copied into the
    host's /usr/sbin by Site). ip, mount, nsenter, tar... are the machine's own."""
    d = Path(out_dir) / "host-tools"
    d.mkdir(parents=True, exist_ok=True)
    for tool in ("systemctl", "journalctl", "modprobe"):
        p = d / tool
        p.write_bytes(zipapp(tool))
        p.chmod(0o755)
    sbin = d / "sbin"
    sbin.mkdir(exist_ok=True)
    for tool in SBIN_TOOLS:
        if not Path("/usr/sbin", tool).exists():
            p = sbin / tool
            p.write_bytes(zipapp(tool))
            p.chmod(0o755)
    return d


def place_package(site, host, pkg: Path, remote: str) -> None:
    """What an operator does on an offline node before running the join command by hand with
    `--skip-phases=init-node`: put the install package where --install-pkg-path says, edgeadm
    on PATH, and what edgeadm's init-node (edge-install script/init-node.sh: swap off,
    ip_forward and bridge-nf-call-iptables on) and its SetPackagePath (bin/* to /usr/bin, the
    kubelet unit, drop-in and sysconfig file: provisioners/steps/kubelet_unit.py) would have
    done, so that kubeadm's preflight passes as on a prepared real host."""
    from provisioners.steps.kubelet_unit import KUBELET_FILES
    with site.connect(host) as conn:
        conn.run(f"mkdir -p {Path(remote).parent}")
        conn.put(str(pkg), remote, "0644")
    units = " && ".join(f"mkdir -p {Path(path).parent} && printf %s {shlex.quote(text)} > {path}"
                        for path, text in KUBELET_FILES)
    rc, out, err = site.ssh(host, f"tar -xzf {remote} -C /tmp && "
                                  "install -m 0755 /tmp/edge-install/bin/edgeadm /usr/local/bin/edgeadm && "
                                  "for b in kubelet kubectl lite-apiserver conntrack; do "
                                  "install -m 0755 /tmp/edge-install/bin/$b /usr/bin/ || exit 1; done && "
                                  "sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 && "
                                  "swapoff -a && " + units)
    if rc != 0:
        raise RuntimeError(f"could not prepare {host.name} for the join: {out}{err}")
