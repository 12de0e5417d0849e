"""The steps: each a small function `(ctx) -> Step | None` that renders one idempotent script.

A step's docstring says what state it guarantees and on which hosts. A function returns
None when it has nothing to do for this host (no resource is made for it then).
Scripts never hold secrets: those are uploaded from the cluster's identity in Terraform state
(`edge_cluster_identity`, made by the provider at apply).
"""
from __future__ import annotations

from typing import Optional

from provisioners.core.net import DEFAULT_API_SERVER_PORT, KUBELET_PORT, RESERVED_PORTS, is_ip
from provisioners.core.paths import HOOKS_DIR, PKG_DIR, STATE_DIR
from provisioners.steps.context import Context
from provisioners.steps.kubelet_unit import KUBELET_FILES
from provisioners.steps.step import On, Upload, sh_script, step


#: Kernel modules kube-proxy (ipvs) and the bridge CNI need (TKE's list).
KERNEL_MODULES = ("iptable_nat", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "br_netfilter")
SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}


def _hosts_block(tag: str, lines: list[str]) -> str:
    """Script that keeps one marked block in /etc/hosts equal to `lines`."""
    return sh_script("hosts_block", TAG=tag, LINES=lines)


def _hook(name: str, text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    return sh_script("hook", HOOK_NAME=name, HOOK_PATH=f"{HOOKS_DIR}/{name}.sh", HOOK=text)


# --- host preparation (ours, offline-safe: edgeadm's apt-based init-node is skipped) -----

@step("EnsureCopyFiles", on=On.EVERY_HOST)
def ensure_copy_files(ctx: Context):
    """Every host: the user's `files` are in place with their modes."""
    if not ctx.spec.files:
        return None
    ups = tuple(Upload(str(f.src), f.dst, f.mode) for f in ctx.spec.files)
    return (sh_script("EnsureCopyFiles", COUNT=len(ups)), ups)


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
    if is_ip(name):
        return None
    return (_hosts_block("apiserver", [f"{ctx.spec.masters[0].address} {name}"]))


@step("EnsureKernelModule", on=On.EVERY_HOST)
def ensure_kernel_module(ctx: Context):
    """Every host: the modules kube-proxy and the CNI need are loaded and load at boot."""
    return sh_script("EnsureKernelModule", MODULES=KERNEL_MODULES)


@step("EnsureSysctl", on=On.EVERY_HOST)
def ensure_sysctl(ctx: Context):
    """Every host: IP forwarding and bridge netfilter are on, now and at boot."""
    return sh_script("EnsureSysctl", SYSCTLS=[f"{k} = {v}" for k, v in SYSCTLS.items()])


@step("EnsureDisableSwap", on=On.EVERY_HOST)
def ensure_disable_swap(ctx: Context):
    """Every host: swap is off and stays off after a reboot (kubelet refuses swap)."""
    return sh_script("EnsureDisableSwap")


@step("EnsurePreflight", on=On.EVERY_HOST)
def ensure_preflight(ctx: Context):
    """Every host: what the later steps need is there (tools, IP forwarding, free ports)."""
    ports = (DEFAULT_API_SERVER_PORT, *RESERVED_PORTS) if ctx.is_master else (KUBELET_PORT,)
    return sh_script("EnsurePreflight", PORTS=ports)


# --- install package --------------------------------------------------------------------

#: The package's runtime tarballs, as edgeadm v0.9.0 finds them (pkg/edgeadm/constant/init.go
#: ContainerdZipPath, ZipContainerPath): globs under edge-install/.
RUNTIME_TGZ = {"containerd": "container/containerd-*.tgz", "docker": "container/docker-*.tgz"}
#: edgeadm's CNIPluginsPKG.
CNI_TGZ = "cni/cni-plugins-*.tgz"


def runtime_marker(runtime: str) -> str:
    """Where EnsureContainerRuntime records the sha256 of the runtime tarball it installed."""
    return f"{STATE_DIR}/runtime-{runtime}.sha256"


def package_needs(ctx: Context) -> list[str]:
    """The paths under edge-install/ this host's steps read (globs match exactly one file):
    the binaries the chain installs, the CNI plugins and the runtime tarball (masters install it
    in EnsureContainerRuntime, edge nodes in `edgeadm join`'s container phase). edgeadm is the
    one path the real package lacks: users add it (docs/GUIDE.md, simsite/real_package.json)."""
    bins = ["kubelet", "kubectl", "conntrack", "edgeadm"] + ([] if ctx.is_master else ["lite-apiserver"])
    return [f"bin/{b}" for b in bins] + [CNI_TGZ, RUNTIME_TGZ[ctx.spec.container_runtime]]


@step("EnsureInstallPackage", on=On.EVERY_HOST)
def ensure_install_package(ctx: Context):
    """Every host: the install package lies at its path, sha256-verified, is unpacked, and
    holds every path this host's steps need (checked before anything is installed from it;
    a missing path stops the step naming it and the package)."""
    pkg = ctx.spec.install_package
    path = ctx.package_path
    ups = (Upload(str(pkg.path), f"{path}.upload", "0644"),) if pkg.path else ()
    return (sh_script("one_match", "EnsureInstallPackage", PKG_DIR=PKG_DIR, PKG_PATH=path,
                      SHA256=pkg.sha256, INSTALL_DIR=ctx.install_dir, URL=pkg.url or "",
                      NEEDS=package_needs(ctx)), ups)


def _install_bins(names: list[str], dest: str, ctx: Context) -> str:
    return sh_script("install_bins", INSTALL_DIR=ctx.install_dir, BINS=names, DEST=dest)


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
    return sh_script("one_match", "EnsureCNIPlugins", INSTALL_DIR=ctx.install_dir, PKG_DIR=PKG_DIR,
                     PKG_PATH=ctx.package_path)


@step("EnsureConntrackTools", on=On.EVERY_HOST)
def ensure_conntrack_tools(ctx: Context):
    """Every host: conntrack (kube-proxy needs it) is installed from the package."""
    return (_install_bins(["conntrack"], "/usr/bin", ctx))


@step("EnsureKubeadm", on=On.EVERY_HOST)
def ensure_kubeadm(ctx: Context):
    """Every host: edgeadm (kubeadm is built into it) is installed."""
    return (_install_bins(["edgeadm"], "/usr/local/bin", ctx))


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
    binaries (only while they are the package's own bytes), what the runtime's install script
    installed (files equal to the runtime tarball's), the kubelet unit files, the CNI plugins, our modules-load and sysctl files, the package. Runs before the reset
    removes the package, whose files it compares against. Deliberately kept (README, "What
    destroy leaves"): swap lines commented out of /etc/fstab, files of `files` and what hooks
    did, and the kernel modules and sysctl values in effect until the next boot."""
    return sh_script("uninstall", INSTALL_DIR=ctx.install_dir, PKG_DIR=PKG_DIR,
                     MARKERS=[runtime_marker(r) for r in sorted(RUNTIME_TGZ)],
                     KUBELET_FILES=[path for path, _ in KUBELET_FILES])
