"""Entry point embedded in each zipapp: TOOL is patched in at build time."""
import os


def run(tool):
    internal = os.environ.pop("STANDIN_INTERNAL", None)
    if internal == "static-pods":
        from .staticpods import serve_runner
        serve_runner()
        return
    if internal in ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"):
        import sys
        from .components import main
        main(internal, sys.argv[1:])
        return
    if tool == "edgeadm":
        from .edgeadm import entry
        entry()
    elif tool == "kubectl":
        from .kubectl import entry
        entry()
    elif tool == "systemctl":
        from .systemctl import entry
        entry()
    elif tool == "journalctl":
        from .systemctl import journalctl_entry
        journalctl_entry()
    elif tool == "conf-patch":
        from .confpatch import entry
        entry()
    elif tool == "kubelet":
        from .kubelet import entry
        entry()
    else:
        from .misc import entry
        entry(tool)
