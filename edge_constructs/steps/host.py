"""The steps: each a small function `(ctx) -> Step | None` that renders one idempotent script.

A step's docstring says what state it guarantees and on which hosts. A function returns
None when it has nothing to do for this host (no resource is made for it then).
Scripts never hold secrets: those are uploaded from the credentials directory.
"""
from __future__ import annotations

import ipaddress
import shlex
from typing import Optional

from edge_constructs.core.paths import HOOKS_DIR, PKG_DIR
from edge_constructs.steps.context import Context
from edge_constructs.steps.step import On, Upload, step


q = shlex.quote

#: Kernel modules kube-proxy (ipvs) and the bridge CNI need (TKE's list).
KERNEL_MODULES = ("iptable_nat", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "br_netfilter")
SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}


def _hosts_block(tag: str, lines: list[str]) -> str:
    """Script that keeps one marked block in /etc/hosts equal to `lines`."""
    begin, end = f"# BEGIN edge_constructs {tag}", f"# END edge_constructs {tag}"
    body = "\n".join(lines)
    return f"""\
want=$(printf '%s\\n' {q(begin)} {q(body)} {q(end)})
have=$(sed -n '/^{begin}$/,/^{end}$/p' /etc/hosts)
if [ "$want" = "$have" ]; then say "/etc/hosts already has the {tag} block"; else
  {{ sed '/^{begin}$/,/^{end}$/d' /etc/hosts; printf '%s\\n' "$want"; }} > /etc/hosts.edge-tmp
  cat /etc/hosts.edge-tmp > /etc/hosts && rm -f /etc/hosts.edge-tmp
  say "wrote the {tag} block to /etc/hosts"
fi"""


def _hook(name: str, text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    path = f"{HOOKS_DIR}/{name}.sh"
    return f"""\
printf '%s\\n' {q(text)} | put {path} 0700 || true
say "running hook {name}"
run sh {path}"""


# --- host preparation (ours, offline-safe: edgeadm's apt-based init-node is skipped) -----

@step("EnsureCopyFiles", on=On.EVERY_HOST)
def ensure_copy_files(ctx: Context):
    """Every host: the user's `files` are in place with their modes."""
    if not ctx.spec.files:
        return None
    ups = tuple(Upload(str(f.src), f.dst, f.mode) for f in ctx.spec.files)
    return (f'say "{len(ups)} file(s) in place"', ups)


@step("EnsurePreClusterInstallHook", on=On.MASTER0)
def ensure_pre_cluster_install_hook(ctx: Context):
    """Master 0: the user's pre-cluster-install hook has run once, before anything else."""
    return _hook("pre-cluster-install", ctx.spec.hooks.pre_cluster_install)


@step("EnsurePreInstallHook", on=On.EVERY_HOST)
def ensure_pre_install_hook(ctx: Context):
    """Every host: the user's pre-install hook has run."""
    return _hook("pre-install", ctx.spec.hooks.pre_install)


@step("EnsureRegistryHosts", on=On.EVERY_HOST)
def ensure_registry_hosts(ctx: Context):
    """Every host: the private registry's domain resolves to its address (/etc/hosts)."""
    reg = ctx.spec.registry
    if not reg or not reg.address or not reg.domain:
        return None
    return (_hosts_block("registry", [f"{reg.address} {reg.domain}"]))


@step("EnsureInitAPIServerHost", on=On.MASTERS)
def ensure_init_api_server_host(ctx: Context):
    """Masters: a named API server address resolves to master 0 while the cluster forms."""
    name = ctx.spec.advertise_address
    if _is_ip(name):
        return None
    return (_hosts_block("apiserver", [f"{ctx.spec.masters[0].address} {name}"]))


@step("EnsureKernelModule", on=On.EVERY_HOST)
def ensure_kernel_module(ctx: Context):
    """Every host: the modules kube-proxy and the CNI need are loaded and load at boot."""
    mods = " ".join(KERNEL_MODULES)
    conf = "\n".join(KERNEL_MODULES)
    return (f"""\
printf '%s\\n' {q(conf)} | put /etc/modules-load.d/edge_constructs.conf 0644 \\
  && say "wrote /etc/modules-load.d/edge_constructs.conf" || true
if command -v modprobe >/dev/null 2>&1; then
  for m in {mods}; do run modprobe "$m"; done
  say "modules loaded: {mods}"
else
  say "no modprobe on this host (a container?): modules must come from the kernel it shares"
fi""")


@step("EnsureSysctl", on=On.EVERY_HOST)
def ensure_sysctl(ctx: Context):
    """Every host: IP forwarding and bridge netfilter are on, now and at boot."""
    conf = "\n".join(f"{k} = {v}" for k, v in SYSCTLS.items())
    checks = " && ".join(f'[ "$(sysctl -n {k})" = "{v}" ]' for k, v in SYSCTLS.items())
    return (f"""\
changed=0
printf '%s\\n' {q(conf)} | put /etc/sysctl.d/99-edge_constructs.conf 0644 && changed=1 || true
if [ "$changed" = 0 ] && {checks}; then say "sysctls already set"; else
  run sysctl -p /etc/sysctl.d/99-edge_constructs.conf
fi""")


@step("EnsureDisableSwap", on=On.EVERY_HOST)
def ensure_disable_swap(ctx: Context):
    """Every host: swap is off and stays off after a reboot (kubelet refuses swap)."""
    return ("""\
if [ "$(tail -n +2 /proc/swaps | wc -l)" -gt 0 ]; then run swapoff -a; say "swap turned off"
else say "swap already off"; fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null; then
  sed -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/#\\1/' /etc/fstab > /etc/fstab.edge-tmp
  cat /etc/fstab.edge-tmp > /etc/fstab && rm -f /etc/fstab.edge-tmp
  say "swap commented out of /etc/fstab"
fi""")


@step("EnsurePreflight", on=On.EVERY_HOST)
def ensure_preflight(ctx: Context):
    """Every host: what the later steps need is there (tools, IP forwarding, free ports)."""
    ports = "6443 2379 2380 10250 10257 10259" if ctx.is_master else "10250"
    return (f"""\
missing=""
for c in sh tar gzip sha256sum install sed awk; do command -v $c >/dev/null 2>&1 || missing="$missing $c"; done
if [ -n "$missing" ]; then echo "missing commands:$missing" >&2; run false; fi
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || run sh -c 'echo "net.ipv4.ip_forward is not 1" >&2; false'
if [ ! -f /etc/kubernetes/kubelet.conf ] && command -v ss >/dev/null 2>&1; then
  for p in {ports}; do
    if ss -Htln "sport = :$p" | grep -q .; then
      run sh -c "echo 'port $p is in use by another program' >&2; false"
    fi
  done
fi
say "preflight checks passed" """)


# --- install package --------------------------------------------------------------------

@step("EnsureInstallPackage", on=On.EVERY_HOST)
def ensure_install_package(ctx: Context):
    """Every host: the install package lies at its path, sha256-verified, and is unpacked."""
    pkg = ctx.spec.install_package
    path, sha = ctx.package_path, pkg.sha256
    ups: tuple[Upload, ...] = ()
    if pkg.path:
        ups = (Upload(str(pkg.path), f"{path}.upload", "0644"),)
        fetch = f"""\
if [ -f {path}.upload ]; then mv -f {path}.upload {path}.part; fi"""
    else:
        fetch = f"""\
if ! have_pkg; then
  if command -v curl >/dev/null 2>&1; then run curl -fsSL --retry 3 -o {path}.part {q(pkg.url)}
  else run wget -q -O {path}.part {q(pkg.url)}; fi
fi"""
    return (f"""\
mkdir -p {PKG_DIR}
have_pkg() {{ [ -f {path} ] && echo "{sha}  {path}" | sha256sum -c --status; }}
{fetch}
if [ -f {path}.part ]; then
  if echo "{sha}  {path}.part" | sha256sum -c --status; then mv -f {path}.part {path}
  else got=$(sha256sum {path}.part | cut -d' ' -f1); rm -f {path}.part
    run sh -c "echo 'install package sha256 mismatch: expected {sha}, got $got' >&2; false"; fi
elif have_pkg; then say "package already in place"; fi
have_pkg || run sh -c 'echo "install package {path} missing or corrupt" >&2; false'
if [ "$(cat {ctx.install_dir}/.sha256 2>/dev/null)" = "{sha}" ]; then say "package already unpacked"
else
  rm -rf {ctx.install_dir}; run tar -xzf {path} -C {PKG_DIR}
  echo {sha} > {ctx.install_dir}/.sha256; say "unpacked to {ctx.install_dir}"
fi""", ups)


def _install_bins(names: list[str], dest: str, ctx: Context) -> str:
    lines = []
    for n in names:
        lines.append(
            f'if cmp -s {ctx.install_dir}/bin/{n} {dest}/{n}; then say "{n} already installed"; '
            f'else run install -m 0755 {ctx.install_dir}/bin/{n} {dest}/{n}; say "installed {dest}/{n}"; fi')
    return "\n".join(lines)


@step("EnsureKubelet", on=On.EVERY_HOST)
def ensure_kubelet(ctx: Context):
    """Every host: the kubelet binary from the package is installed."""
    return _install_bins(["kubelet"], "/usr/bin", ctx)


@step("EnsureKubectl", on=On.EVERY_HOST)
def ensure_kubectl(ctx: Context):
    """Every host: kubectl from the package is installed (steps on master 0 use it; on edge
    nodes it is there for the operator)."""
    return _install_bins(["kubectl"], "/usr/bin", ctx)


@step("EnsureLiteAPIServer", on=On.EDGE_NODE)
def ensure_lite_apiserver(ctx: Context):
    """Edge nodes: the lite-apiserver binary (edge autonomy: the kubelet talks to it, and it
    serves its cache when the cloud does not answer) is installed; `edgeadm join` runs it."""
    return _install_bins(["lite-apiserver"], "/usr/bin", ctx)


@step("EnsureCNIPlugins", on=On.EVERY_HOST)
def ensure_cni_plugins(ctx: Context):
    """Every host: the CNI plugins from the package are in /opt/cni/bin."""
    return (f"""\
tgz=$(ls {ctx.install_dir}/cni/*.tgz {ctx.install_dir}/cni/*.tar.gz 2>/dev/null | head -n 1)
[ -n "$tgz" ] || run sh -c 'echo "no CNI plugin archive in {ctx.install_dir}/cni" >&2; false'
sum=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$(cat /opt/cni/bin/.edge_constructs 2>/dev/null)" = "$sum" ]; then say "CNI plugins already installed"
else mkdir -p /opt/cni/bin; run tar -xzf "$tgz" -C /opt/cni/bin; echo "$sum" > /opt/cni/bin/.edge_constructs
  say "CNI plugins installed"; fi""")


@step("EnsureConntrackTools", on=On.EVERY_HOST)
def ensure_conntrack_tools(ctx: Context):
    """Every host: conntrack (kube-proxy needs it) is installed from the package."""
    return (_install_bins(["conntrack"], "/usr/bin", ctx))


@step("EnsureKubeadm", on=On.EVERY_HOST)
def ensure_kubeadm(ctx: Context):
    """Every host: edgeadm (kubeadm is built into it) is installed."""
    return (_install_bins(["edgeadm"], "/usr/local/bin", ctx))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


@step("EnsurePostInstallHook", on=On.EVERY_HOST)
def ensure_post_install_hook(ctx: Context):
    """Every host: the user's post-install hook has run."""
    return _hook("post-install", ctx.spec.hooks.post_install)


@step("EnsurePostClusterInstallHook", on=On.MASTER0)
def ensure_post_cluster_install_hook(ctx: Context):
    """Master 0: the user's post-cluster-install hook has run, after everything else."""
    return _hook("post-cluster-install", ctx.spec.hooks.post_cluster_install)


# --- reset (called by the teardown steps of masters and edge nodes) ----------------------

def uninstall_script(ctx: Context) -> str:
    """Shell that removes what host preparation and the install package put on a host:
    binaries (only while they are the package's own bytes), the runtime's files and units,
    the CNI plugins, our modules-load and sysctl files, the package. Runs before the reset
    removes the package, whose files it compares against. Deliberately kept (README, "What
    destroy leaves"): swap lines commented out of /etc/fstab, files of `files` and what hooks
    did, and the kernel modules and sysctl values in effect until the next boot."""
    d = ctx.install_dir
    return f"""_uninstall_bin() {{ if [ -f "$2/$1" ] && [ -f {d}/bin/$1 ] && cmp -s {d}/bin/$1 "$2/$1"; then
  rm -f "$2/$1"; say "removed $2/$1"; fi; }}
_uninstall_listed() {{ # tgz prefix-to-strip destdir marker
  if [ -f "$4" ] && [ -f "$1" ]; then
    tar -tzf "$1" | while read -r f; do case $f in */) ;; *) rm -f "$3/${{f#$2}}" ;; esac; done
    rm -f "$4"; say "removed the files of $(basename "$1") from $3"; fi; }}
_uninstall_unit() {{ if [ -f "/etc/systemd/system/$1" ]; then
  systemctl disable --now "$1" >/dev/null 2>&1 || true; rm -f "/etc/systemd/system/$1"
  say "removed the $1 unit"; fi; }}
for b in kubelet kubectl lite-apiserver conntrack; do _uninstall_bin $b /usr/bin; done
_uninstall_bin edgeadm /usr/local/bin
for t in {d}/cni/*.tgz; do _uninstall_listed "$t" ./ /opt/cni/bin /opt/cni/bin/.edge_constructs; done
for t in {d}/container/containerd-linux-*.tgz; do
  _uninstall_listed "$t" "" /usr/local /usr/local/bin/.edge_constructs-containerd; done
for t in {d}/container/docker-linux-*.tgz; do
  _uninstall_listed "$t" docker/ /usr/bin /usr/bin/.edge_constructs-docker; done
for u in kubelet.service containerd.service docker.service; do _uninstall_unit $u; done
rm -rf /etc/systemd/system/kubelet.service.d
if grep -qs '^# edge_constructs:' /etc/containerd/config.toml; then
  rm -f /etc/containerd/config.toml; say "removed /etc/containerd/config.toml"; fi
if [ -f /etc/docker/daemon.json ] && [ ! -f /usr/bin/docker ]; then
  rm -f /etc/docker/daemon.json; say "removed /etc/docker/daemon.json"; fi
rmdir /etc/containerd /etc/docker /opt/cni/bin /opt/cni 2>/dev/null || true
for f in /etc/modules-load.d/edge_constructs.conf /etc/sysctl.d/99-edge_constructs.conf; do
  if [ -f "$f" ]; then rm -f "$f"; say "removed $f"; fi; done
systemctl daemon-reload >/dev/null 2>&1 || true
rm -rf {PKG_DIR}"""

