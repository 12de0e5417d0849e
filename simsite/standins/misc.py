"""Version-only stand-ins: kubelet, lite-apiserver, conntrack, containerd, ctr, runc, docker, CNI plugins, modprobe."""
import os
import sys
import time

from .common import fault, P, ready, run_tool

VERSIONS = {"kubelet": (["--version"], "Kubernetes v1.22.6"), "lite-apiserver": (["--version"], "lite-apiserver v0.9.0"),
            "conntrack": (["--version", "-V"], "conntrack v1.4.6 (conntrack-tools)"),
            "containerd": (["--version", "-v"], "containerd github.com/containerd/containerd v1.5.9"),
            "ctr": (["version", "--version", "-v"], "ctr github.com/containerd/containerd v1.5.9"),
            "runc": (["--version", "-v"], "runc version 1.0.3"), "containerd-shim": (["-v"], "containerd-shim v1.5.9"),
            "containerd-shim-runc-v2": (["-v"], "containerd-shim-runc-v2 v1.5.9"),
            "docker": (["--version", "-v", "version"], "Docker version 20.10.12"), "dockerd": (["--version", "-v"], "Docker version 20.10.12"),
            # the install package's runtime directories (simsite/real_package.json) and the host's iptables
            "containerd-shim-runc-v1": (["-v"], "containerd-shim-runc-v1 v1.4.3"), "crictl": (["--version", "-v"], "crictl version v1.14.0"),
            "docker-init": (["--version"], "tini version 0.18.0"), "docker-proxy": (["--version"], "docker-proxy 19.03"),
            "iptables": (["--version", "-V"], "iptables v1.8.7 (legacy)")}



def serve_socket(path):
    """Listen on a unix socket (what the kubelet dials) until SIGTERM."""
    import signal
    import socket
    p = P(path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    try:
        os.unlink(p)
    except OSError:
        pass
    s = socket.socket(socket.AF_UNIX)
    s.bind(p)
    s.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: (os.unlink(p) if os.path.exists(p) else None, os._exit(0)))
    ready()
    while True:
        conn, _ = s.accept()
        conn.close()


def containerd_daemon(argv):
    """containerd: load the config (TOML; a file that does not parse stops it, as containerd's
    `failed to load TOML`), then serve the CRI socket at grpc.address."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        tomllib = None
    path, i = "/etc/containerd/config.toml", 0
    while i < len(argv):
        a = argv[i]
        if a in ("--config", "-c"):
            path = argv[i + 1]
            i += 1
        elif a.startswith("--config="):
            path = a.split("=", 1)[1]
        elif a.startswith("--log-level") or a in ("-l",):
            i += 0 if "=" in a else 1
        else:
            sys.stderr.write("Incorrect Usage: flag provided but not defined: -%s\n" % a.lstrip("-"))
            return 1
        i += 1
    conf = {}
    if os.path.exists(P(path)):
        text = open(P(path)).read()
        if tomllib is not None:
            try:
                conf = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                sys.stderr.write("containerd: failed to load TOML: %s: %s\n" % (path, e))
                return 1
    address = (conf.get("grpc") or {}).get("address") or "/run/containerd/containerd.sock"
    sys.stderr.write('time="%s" level=info msg="serving..." address=%s\n' % (time.strftime("%Y-%m-%dT%H:%M:%S"), address))
    sys.stderr.flush()
    serve_socket(address)


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
        if tool == "containerd" and (not argv or argv[0].startswith(("--config", "-c", "--log-level"))):
            return containerd_daemon(argv)
        if tool == "dockerd" and all(a.startswith(("--containerd=", "--config-file=")) for a in argv):
            serve_socket("/var/run/docker.sock")  # the package's docker.service passes these two
        if tool == "lite-apiserver" and argv and argv[0].startswith("--config"):
            # reads its flags file; the kubelet stand-in follows it to the API server (STANDINS.md)
            import signal
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            ready()
            while True:
                time.sleep(3600)
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
