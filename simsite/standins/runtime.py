"""The stand-in edgeadm's `container` phase: install the runtime from the unpacked package.

As edgeadm v0.9.0 `pkg/edgeadm/steps/runtime.go` (installContainerd / installDocker): unpack
`container/<runtime>-*.tgz` (constant.ContainerdZipPath / ZipContainerPath, a shell glob given
to `tar -xzvf`) into `container/`, then run `container/<runtime>/install`
(ContainerdInstallShell / DockerInstallShell). The package's install scripts are stand-ins that
do what edge-install's do (simsite/package.py). In a STANDIN_ROOT sandbox (tests) the script is
not run, since it writes absolute paths of this machine; its file effects are made under the
sandbox root instead (same files, same places).
"""
import glob
import os
import shutil
import subprocess
import tarfile

from .common import P, ROOT


class InstallError(Exception):
    pass


def _sandbox_install(rt, d):
    def cp(src, dst, mode=0o644):
        dst = P(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(d, src), dst)
        os.chmod(dst, mode)
    if rt == "containerd":
        for b in ("containerd", "containerd-shim", "containerd-shim-runc-v1", "containerd-shim-runc-v2", "ctr", "runc", "crictl"):
            cp(b, "/usr/local/sbin/" + b, 0o755)
        cp("config.toml", "/etc/containerd/config.toml")
        cp("containerd.service", "/etc/systemd/system/containerd.service")
        cp("crictl.yaml", "/etc/crictl.yaml")
    else:
        for b in sorted(os.listdir(os.path.join(d, "bin"))):
            cp("bin/" + b, "/usr/bin/" + b, 0o755)
        cp("conf/docker.service", "/usr/lib/systemd/system/docker.service")
        cp("conf/containerd.service", "/usr/lib/systemd/system/containerd.service")
        cp("conf/default.json", "/etc/docker/daemon.json")
        cp("conf/config.toml", "/etc/containerd/config.toml")


def install(rt, base):
    """Install runtime `rt` from the package unpacked at `base` (…/edge-install)."""
    cdir = base + "/container"
    pattern = "%s/%s-*.tgz" % (cdir, rt)
    found = sorted(glob.glob(P(pattern)))
    if len(found) != 1:
        # `tar -xzvf <glob> -C <dir>`: no match leaves the glob as it is; several make tar read
        # the rest as member names. Either way tar fails.
        raise InstallError("Unzip %s runtime Package: %s/, error: tar -xzvf %s -C %s/: exit status 2"
                           % (rt, cdir, pattern, cdir))
    try:
        with tarfile.open(found[0], "r:gz") as t:
            t.extractall(P(cdir))
    except (tarfile.TarError, OSError) as e:
        raise InstallError("Unzip %s runtime Package: %s/, error: %s" % (rt, cdir, e))
    script = "%s/%s/install" % (cdir, rt)
    if not os.path.exists(P(script)):
        raise InstallError("Run %s install shell: %s/, error: /bin/sh: 1: %s: not found" % (rt, cdir, script))
    if ROOT not in ("", "/"):
        _sandbox_install(rt, P(cdir + "/" + rt))
        return
    p = subprocess.run([script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise InstallError("Run %s install shell: %s/, error: exit status %d\n%s" % (rt, cdir, p.returncode, p.stdout))
