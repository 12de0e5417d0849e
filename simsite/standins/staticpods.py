"""The kubelet's static pods (kubernetes v1.22 `pkg/kubelet/config/file.go`, `file_linux.go`):
the manifests in staticPodPath are the pods this node must run. See STANDINS.md, "Static pods".

* every file of the directory is a pod, except files whose name starts with "." (file.go
  extractFromDir ignores them) and what is not a regular file;
* a manifest present and its pod not running: the pod starts; a manifest removed: its pod
  stops; a manifest whose pod changed: the pod is killed and started again (the kubelet keys a
  static pod by the hash of its spec, `pkg/kubelet/types` ConfigHashAnnotationKey: a changed
  pod is a new pod). The real kubelet learns of changes by inotify at once and re-lists every
  fileCheckFrequency (20s); the stand-in re-lists every SYNC_INTERVAL (0.5s);
* a pod whose process exits by itself is started again after the kubelet's back-off (10s,
  doubling, at most 300s: `pkg/kubelet/kubelet.go` backOffPeriod, MaxContainerBackOff);
* stopping the kubelet leaves its pods running (their containers do not belong to it);
  `kubeadm reset` stops them (stop_all).

The pods the stand-ins run are the control plane's: kube-apiserver, etcd,
kube-controller-manager, kube-scheduler, each a process of the stand-in program with the
container's command line; other manifests (kube-vip's vip.yaml) are read and left alone.
Each pod's process id is in /run/standins/<pod>.pid, the hash of the spec it runs next to it
in /run/standins/static-pods/<pod>.hash, its output in /var/log/standins/<pod>.log.
"""
import hashlib
import json
import os
import signal
import sys
import time

import yaml

from .common import P, alive

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
MANIFESTS = "/etc/kubernetes/manifests"
STATE = "/run/standins/static-pods"
SYNC_INTERVAL = float(os.environ.get("STANDIN_STATIC_POD_INTERVAL", "0.5"))
BACKOFF, MAX_BACKOFF = 10.0, 300.0


def pidfile(comp):
    return "/run/standins/%s.pid" % comp


def logfile(comp):
    return "/var/log/standins/%s.log" % comp


def log(msg):
    sys.stderr.write("%s static pods: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def desired(manifest_dir):
    """{pod: (file name, spec hash, command line)} of the control-plane pods in the directory."""
    want = {}
    try:
        names = sorted(os.listdir(P(manifest_dir)))
    except OSError:
        return want
    for fn in names:
        path = os.path.join(P(manifest_dir), fn)
        if fn.startswith(".") or not os.path.isfile(path):
            continue
        try:
            with open(path) as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            log("could not process manifest file %s: %s" % (fn, e))
            continue
        if not isinstance(doc, dict) or doc.get("kind") != "Pod":
            continue
        name = (doc.get("metadata") or {}).get("name")
        containers = (doc.get("spec") or {}).get("containers") or []
        if name not in COMPONENTS or not containers or name in want:
            continue
        c = containers[0]
        argv = list(c.get("command") or []) + list(c.get("args") or [])
        h = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
        want[name] = (fn, h, argv)
    return want


def running_pid(comp):
    try:
        with open(P(pidfile(comp))) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def running_hash(comp):
    try:
        with open(P("%s/%s.hash" % (STATE, comp))) as f:
            return f.read().strip()
    except OSError:
        return None


def exe():
    """The stand-in program: any of its tools runs a pod (dispatch.py, STANDIN_INTERNAL)."""
    return [sys.executable, os.path.realpath(sys.argv[0])]


def start(comp, argv, spec_hash):
    """Start the pod's process (detached: its own session, as a container is not the kubelet's
    child); returns its pid once its pid file is written."""
    for d in (os.path.dirname(P(pidfile(comp))), P(STATE), os.path.dirname(P(logfile(comp)))):
        os.makedirs(d, exist_ok=True)
    try:
        os.unlink(P(pidfile(comp)))
    except OSError:
        pass
    with open(P("%s/%s.hash" % (STATE, comp)), "w") as f:
        f.write(spec_hash + "\n")
    program = exe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            fd = os.open(P(logfile(comp)), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            nul = os.open(os.devnull, os.O_RDONLY)
            os.dup2(nul, 0)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(s, signal.SIG_DFL)
            with open(P(pidfile(comp)), "w") as f:
                f.write(str(os.getpid()))
            env = dict(os.environ, STANDIN_INTERNAL=comp)
            env.pop("STANDIN_READY_FD", None)
            os.execve(program[0], program + list(argv[1:]), env)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)
    for _ in range(200):
        p = running_pid(comp)
        if p:
            return p
        time.sleep(0.01)
    return None


def stop(comp, grace=5.0):
    """Kill the pod's process (SIGTERM, then SIGKILL after `grace` seconds); its pid."""
    pid = running_pid(comp)
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        end = time.time() + grace
        while alive(pid) and time.time() < end:
            time.sleep(0.02)
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            while alive(pid):
                time.sleep(0.02)
    for f in (P(pidfile(comp)), P("%s/%s.hash" % (STATE, comp))):
        try:
            os.unlink(f)
        except OSError:
            pass
    return pid


def stop_all():
    """Every control-plane pod of this host stopped (kubeadm reset removes the containers)."""
    return {c: pid for c in COMPONENTS for pid in [stop(c)] if pid}


class Syncer:
    """The kubelet's pod workers for static pods, one sync() at a time."""

    def __init__(self, manifest_dir):
        self.dir = manifest_dir
        self.crashes = {}   # pod -> (restarts so far, not before)

    def sync(self):
        want = desired(self.dir)
        for comp in COMPONENTS:
            pid = running_pid(comp)
            if comp not in want:
                self.crashes.pop(comp, None)
                if pid or running_hash(comp):
                    log("manifest of %s removed: stopping pid %s" % (comp, pid))
                    stop(comp)
                continue
            fn, h, argv = want[comp]
            if pid and running_hash(comp) != h:
                log("manifest %s changed: restarting %s (pid %d)" % (fn, comp, pid))
                stop(comp)
                self.crashes.pop(comp, None)
                pid = None
            if pid:
                continue
            if running_hash(comp) == h:
                # it ran this spec and exited on its own: back off before the next start
                n, not_before = self.crashes.get(comp, (0, 0.0))
                if time.time() < not_before:
                    continue
                self.crashes[comp] = (n + 1, time.time() + min(BACKOFF * (2 ** n), MAX_BACKOFF))
                log("%s exited: starting it again (restart %d)" % (comp, n + 1))
            else:
                self.crashes.pop(comp, None)
            new = start(comp, argv, h)
            log("started %s from %s: pid %s" % (comp, fn, new))

    def run(self, stop_flag=lambda: False):
        while not stop_flag():
            try:
                self.sync()
            except Exception as e:  # noqa: BLE001 - a bad sync is logged, the next one retries
                log("sync failed: %s: %s" % (type(e).__name__, e))
            end = time.time() + SYNC_INTERVAL
            while not stop_flag() and time.time() < end:
                time.sleep(0.05)


def serve_runner():
    """STANDIN_INTERNAL=static-pods: only the kubelet's static-pod part, for unit-test sandboxes
    that run no kubelet (no container runtime, no node to register). Argument: the directory."""
    done = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: done.update(now=True))
    Syncer(sys.argv[1] if len(sys.argv) > 1 else MANIFESTS).run(lambda: done["now"])
