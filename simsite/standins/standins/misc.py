"""Version-only stand-ins: kubelet, lite-apiserver, conntrack, containerd, ctr, runc, docker, CNI plugins, modprobe."""
import os
import sys

from .common import P, fault, run_tool

VERSIONS = {"kubelet": (["--version"], "Kubernetes v1.22.6"), "lite-apiserver": (["--version"], "lite-apiserver v0.9.0"),
            "conntrack": (["--version", "-V"], "conntrack v1.4.6 (conntrack-tools)"),
            "containerd": (["--version", "-v"], "containerd github.com/containerd/containerd v1.5.9"),
            "ctr": (["version", "--version", "-v"], "ctr github.com/containerd/containerd v1.5.9"),
            "runc": (["--version", "-v"], "runc version 1.0.3"), "containerd-shim": (["-v"], "containerd-shim v1.5.9"),
            "containerd-shim-runc-v2": (["-v"], "containerd-shim-runc-v2 v1.5.9"),
            "docker": (["--version", "-v", "version"], "Docker version 20.10.12"), "dockerd": (["--version", "-v"], "Docker version 20.10.12")}


def make(tool):
    def main(argv, state):
        if fault([tool]):
            sys.stderr.write("%s: injected fault\n" % tool)
            return 1
        if tool == "modprobe":
            mods = [a for a in argv if not a.startswith("-")]
            os.makedirs(os.path.dirname(P("/var/lib/standins/modules")), exist_ok=True)
            with open(P("/var/lib/standins/modules"), "a") as f:
                for m in mods:
                    f.write(m + "\n")
            return 0
        if tool.startswith("cni-"):
            if os.environ.get("CNI_COMMAND") == "VERSION":
                print('{"cniVersion":"0.4.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0"]}')
                return 0
            sys.stderr.write("CNI_COMMAND env variable missing\n")
            return 1
        accepted, text = VERSIONS[tool]
        if len(argv) == 1 and argv[0] in accepted:
            print(text)
            return 0
        if argv and argv[0].startswith("-"):
            sys.stderr.write("Error: unknown flag: %s\n" % argv[0].split("=")[0])
        else:
            sys.stderr.write("Error: unknown command %r for %r\n" % (argv[0] if argv else "", tool))
        return 1
    return main


def entry(tool):
    run_tool(tool, make(tool))
