"""Entry point embedded in each zipapp: TOOL is patched in at build time."""
import os


def run(tool):
    if os.environ.get("STANDIN_INTERNAL") == "kube-apiserver":
        os.environ.pop("STANDIN_INTERNAL")
        from .apiserver import serve
        serve()
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
