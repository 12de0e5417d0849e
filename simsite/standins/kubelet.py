"""Stand-in kubelet (1.22): reads its flags and config as kubelet does, refuses what kubelet
refuses, registers its own Node and keeps it fresh. See STANDINS.md, "kubelet".

Sources of the behaviour copied (kubernetes v1.22):
* flags: `cmd/kubelet/app/options/options.go` (names), parsed by pflag; `--node-labels` is a
  `cliflag.MapStringString` (`staging/src/k8s.io/component-base/cli/flag/map_string_string.go`:
  "malformed pair, expect string=string"), `--register-with-taints` a taint list
  (`pkg/util/taints`: "invalid taint spec"); a parse error is fatal (`cmd/kubelet/app/server.go`:
  "Failed to parse kubelet flag"); labels in the kubernetes.io/k8s.io namespaces that kubelet
  may not set are refused (`cmd/kubelet/app/options/options.go` ValidateKubeletFlags);
* `--config`: KubeletConfiguration v1beta1, decoded strictly (kubelet's codec is strict);
* the CRI endpoint must answer (`pkg/kubelet/cri/remote`); with dockershim, docker's socket;
* registration: `pkg/kubelet/kubelet_node_status.go` (initialNode: default labels, taints,
  nodeInfo; tryRegisterWithAPIServer); status every nodeStatusUpdateFrequency;
* a Node deleted while the kubelet runs is not registered again until the kubelet restarts
  (kubernetes issue 71398: registration happens once, at start);
* Ready is False (KubeletNotReady, the runtime's "cni plugin not initialized") until a CNI
  configuration exists (`pkg/kubelet/nodestatus/setters.go` ReadyCondition); flannel's DaemonSet
  `kube-system/kube-flannel-ds` has its `install-cni` init container write
  /etc/cni/net.d/10-flannel.conflist (superedge/edgeadm v0.9.0 `pkg/edgeadm/constant/manifests/flannel.go`).
"""
import datetime
import json
import os
import platform
import re
import signal
import socket
import sys
import time

from . import client, kubeadmapi, pki
from .common import default_ip, P, read, ready, write

VERSION = "v1.22.6"
HEARTBEAT = float(os.environ.get("STANDIN_KUBELET_HEARTBEAT", "5"))  # kubelet: nodeStatusUpdateFrequency 10s

S, B, I, L, M = "str", "bool", "int", "list", "map"
FLAGS = {f: S for f in (
    "bootstrap-kubeconfig kubeconfig config container-runtime container-runtime-endpoint image-service-endpoint "
    "pod-infra-container-image hostname-override node-ip provider-id cloud-provider cloud-config cert-dir root-dir "
    "network-plugin cni-bin-dir cni-conf-dir cni-cache-dir network-plugin-mtu cgroup-driver runtime-cgroups kubelet-cgroups "
    "system-cgroups cgroup-root resolv-conf cluster-domain address healthz-bind-address pod-manifest-path "
    "authorization-mode client-ca-file tls-cert-file tls-private-key-file tls-min-version volume-plugin-dir "
    "lock-file log-dir log-file log-file-max-size v vmodule log-backtrace-at stderrthreshold logging-format "
    "runtime-request-timeout node-status-update-frequency image-gc-high-threshold image-gc-low-threshold "
    "eviction-pressure-transition-period max-pods pod-cidr docker-endpoint docker-root seccomp-profile-root "
    "dynamic-config-dir container-log-max-size kube-api-content-type manifest-url topology-manager-policy "
    "cpu-manager-policy reserved-cpus streaming-connection-idle-timeout sync-frequency file-check-frequency "
    "http-check-frequency minimum-image-ttl-duration volume-stats-agg-period node-status-max-images "
    "kube-api-qps kube-api-burst pods-per-core oom-score-adj port read-only-port "
    "healthz-port registry-qps registry-burst event-qps event-burst max-open-files container-log-max-files").split()}
FLAGS.update({f: B for f in (
    "fail-swap-on anonymous-auth rotate-certificates rotate-server-certificates register-node register-schedulable "
    "serialize-image-pulls cgroups-per-qos exit-on-lock-contention "
    "logtostderr alsologtostderr skip-headers skip-log-headers one-output add-dir-header help version "
    "enable-controller-attach-detach make-iptables-util-chains protect-kernel-defaults kernel-memcg-notification "
    "enable-server enable-debugging-handlers keep-terminated-pod-volumes cpu-cfs-quota").split()})
FLAGS.update({"node-labels": M, "register-with-taints": "taints", "cluster-dns": L, "feature-gates": M,
              "eviction-hard": M, "eviction-soft": M, "kube-reserved": M, "system-reserved": M,
              "enforce-node-allocatable": L, "tls-cipher-suites": L, "allowed-unsafe-sysctls": L, "qos-reserved": M})
SHORT = {"v": "v", "h": "help"}
KUBELET_LABEL_PREFIXES = ("kubernetes.io/", "k8s.io/")
# labels kubelet may set on itself in those namespaces (kubelet's `kubeletapis` allow-list)
ALLOWED_LABELS = {"beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os",
                  "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
                  "kubernetes.io/arch", "kubernetes.io/hostname", "kubernetes.io/os", "node.kubernetes.io/instance-type",
                  "topology.kubernetes.io/region", "topology.kubernetes.io/zone"}
ALLOWED_LABEL_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class Fatal(Exception):
    pass


def klog(level, msg, **kv):
    now = datetime.datetime.now()
    extra = "".join(' %s=%s' % (k, json.dumps(v)) for k, v in kv.items())
    sys.stderr.write('%s%s %7d kubelet.go:0] "%s"%s\n' % (level, now.strftime("%m%d %H:%M:%S.%f"), os.getpid(), msg, extra))
    sys.stderr.flush()


def parse_flags(args):
    """pflag over kubelet's flag set: {name: value}; raises Fatal with pflag's message."""
    vals = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-") or a == "-":
            raise Fatal("unknown command %s" % a)  # cleanFlagSet.Args() is not empty
        name, eq, value = a.lstrip("-").partition("=")
        if a.startswith("-") and not a.startswith("--"):
            name = SHORT.get(name[:1])
            if name is None:
                raise Fatal("failed to parse kubelet flag: unknown shorthand flag: '%s' in %s" % (a[1:2], a))
        if name not in FLAGS:
            raise Fatal("failed to parse kubelet flag: unknown flag: --%s" % name)
        kind = FLAGS[name]
        if kind == B:
            if eq and value.lower() not in ("true", "false", "1", "0", "t", "f"):
                raise Fatal('failed to parse kubelet flag: invalid argument "%s" for "--%s" flag: strconv.ParseBool: parsing "%s": invalid syntax'
                            % (value, name, value))
            vals[name] = value.lower() in ("true", "1", "t") if eq else True
        else:
            if not eq:
                if i + 1 >= len(args):
                    raise Fatal("failed to parse kubelet flag: flag needs an argument: --%s" % name)
                i += 1
                value = args[i]
            try:
                vals[name] = convert(kind, value, vals.get(name))
            except ValueError as e:
                raise Fatal('failed to parse kubelet flag: invalid argument "%s" for "--%s" flag: %s' % (value, name, e))
        i += 1
    return vals


def convert(kind, value, old):
    if kind == I:
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError('strconv.ParseInt: parsing "%s": invalid syntax' % value)
        return int(value)
    if kind == L:
        return (old or []) + [v.strip() for v in value.split(",") if v.strip()]
    if kind == M:
        # cliflag.MapStringString: comma-separated key=value pairs, each must have "="
        out = dict(old or {})
        for pair in value.split(","):
            if not pair.strip():
                continue
            k, eq, v = pair.partition("=")
            if not eq:
                raise ValueError("malformed pair, expect string=string")
            out[k.strip()] = v.strip()
        return out
    if kind == "taints":
        out = list(old or [])
        for spec in value.split(","):
            if not spec:
                continue
            kv, colon, effect = spec.partition(":")
            if not colon:
                raise ValueError("invalid taint spec: %s" % spec)
            if effect not in EFFECTS:
                raise ValueError("invalid taint effect: %s, unsupported taint effect" % effect)
            k, _, v = kv.partition("=")
            if not LABEL_KEY.match(k) or v and not LABEL_VALUE.match(v):
                raise ValueError('invalid taint spec: %s' % spec)
            out.append({"key": k, "effect": effect, **({"value": v} if v else {})})
        return out
    return value


def validate(vals):
    """kubelet's ValidateKubeletFlags for labels: syntax, and the restricted namespaces."""
    bad = []
    for k, v in (vals.get("node-labels") or {}).items():
        if not LABEL_KEY.match(k) or len(v) > 63 or not LABEL_VALUE.match(v):
            raise Fatal('invalid node labels: invalid label key "%s" or value "%s": a valid label must be an empty string or '
                        "consist of alphanumeric characters, '-', '_' or '.'" % (k, v))
        ns = k.split("/", 1)[0] if "/" in k else ""
        restricted = ns == "kubernetes.io" or ns.endswith(".kubernetes.io") or ns == "k8s.io" or ns.endswith(".k8s.io")
        if restricted and k not in ALLOWED_LABELS and not k.startswith(ALLOWED_LABEL_PREFIXES):
            bad.append(k)
    if bad:
        raise Fatal("unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %s\n"
                    "--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix "
                    "(kubelet.kubernetes.io, node.kubernetes.io) or be in the specifically allowed set "
                    "(beta.kubernetes.io/arch, beta.kubernetes.io/instance-type, beta.kubernetes.io/os, "
                    "failure-domain.beta.kubernetes.io/region, failure-domain.beta.kubernetes.io/zone, kubernetes.io/arch, "
                    "kubernetes.io/hostname, kubernetes.io/os, node.kubernetes.io/instance-type, topology.kubernetes.io/region, "
                    "topology.kubernetes.io/zone)" % sorted(bad))


def cri_socket(vals):
    """The socket the kubelet dials: the remote runtime's endpoint, or docker's for dockershim."""
    if vals.get("container-runtime", "docker") == "remote":
        ep = vals.get("container-runtime-endpoint") or ""
        if not ep:
            raise Fatal("failed to run Kubelet: failed to create kubelet: remote runtime endpoint is empty")
        return ep[len("unix://"):] if ep.startswith("unix://") else ep, "remote"
    ep = vals.get("docker-endpoint", "unix:///var/run/docker.sock")
    return ep[len("unix://"):], "docker"


def check_cri(vals):
    path, kind = cri_socket(vals)
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(P(path))
    except OSError as e:
        why = "no such file or directory" if not os.path.exists(P(path)) else "connection refused"
        if kind == "docker":
            raise Fatal("failed to run Kubelet: failed to create kubelet: failed to get docker version: Cannot connect to the "
                        "Docker daemon at unix://%s. Is the docker daemon running?" % path)
        raise Fatal('failed to run Kubelet: unable to determine runtime API version: rpc error: code = Unavailable desc = '
                    'connection error: desc = "transport: Error while dialing dial unix %s: connect: %s"' % (path, why))
    finally:
        s.close()
    return kind


def api(kubeconfig):
    """(server, TLS context) of the kubelet's kubeconfig; an edge node's lite-apiserver address
    is followed to the upstream lite-apiserver's config names (the stand-in lite-apiserver does
    not serve, see STANDINS.md)."""
    kc = pki.parse_kubeconfig(read(kubeconfig))
    server = kc["server"]
    lite = read("/etc/kubernetes/edge/lite-apiserver.conf")
    if lite and server.endswith(":51003"):
        conf = dict(line.lstrip("-").split("=", 1) for line in lite.split() if "=" in line)
        server = "https://%s:%s" % (conf.get("kube-apiserver-url", "kubernetes.default"), conf.get("kube-apiserver-port", "6443"))
    return server, client.context(kc["ca"], kc["cert"], kc["key"])



def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def conditions(network_error=None, since=None):
    """The node's conditions as kubelet's setters make them (`pkg/kubelet/nodestatus/setters.go`):
    Ready is False with reason KubeletNotReady and the runtime's network error as its message
    while the container runtime's network is not ready; `since` is the Ready condition's
    lastTransitionTime (kept while its status stays the same)."""
    t = now()
    def c(typ, status, reason, msg, trans=None):
        return {"type": typ, "status": status, "reason": reason, "message": msg, "lastHeartbeatTime": t,
                "lastTransitionTime": trans or t}
    ready = (c("Ready", "False", "KubeletNotReady", network_error, since) if network_error
             else c("Ready", "True", "KubeletReady", "kubelet is posting ready status", since))
    return [c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ready]


#: Where the CRI runtime looks for network configurations: containerd's CRI plugin
#: (`plugins."io.containerd.grpc.v1.cri".cni.conf_dir`) and dockershim (`--cni-conf-dir`) both
#: default to it.
CNI_CONF_DIR = "/etc/cni/net.d"
#: The runtimes' NetworkReady condition while no CNI configuration is loaded, as kubelet's
#: updateRuntimeUp wraps it (`pkg/kubelet/kubelet.go`: "container runtime network not ready: %v",
#: `pkg/kubelet/container/runtime.go` RuntimeCondition.String): containerd 1.5's CRI plugin
#: (`pkg/cri/server/status.go`: "Network plugin returns error: %v", go-cni's
#: ErrCNINotInitialized) and 1.22's dockershim (`pkg/kubelet/dockershim/docker_service.go`:
#: "docker: network plugin is not ready: %v", `pkg/kubelet/dockershim/network/cni/cni.go`).
NETWORK_NOT_READY = {
    "remote": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
              "message:Network plugin returns error: cni plugin not initialized",
    "docker": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
              "message:docker: network plugin is not ready: cni config uninitialized",
}


def network_error(vals, runtime):
    """None when the runtime has a network configuration, else kubelet's error for it. A
    configuration is a `.conf`, `.conflist` or `.json` file of the conf dir that parses as one
    (a `type`, or a non-empty `plugins` list), as libcni's ConfFiles/LoadConf(List) read them.
    dockershim without `--network-plugin=cni` uses no CNI (its no-op plugin is always ready)."""
    if runtime == "docker" and vals.get("network-plugin") != "cni":
        return None
    conf_dir = vals.get("cni-conf-dir") or CNI_CONF_DIR if runtime == "docker" else CNI_CONF_DIR
    try:
        names = sorted(os.listdir(P(conf_dir)))
    except OSError:
        names = []
    for n in names:
        if not n.endswith((".conf", ".conflist", ".json")):
            continue
        try:
            doc = json.loads(read(conf_dir + "/" + n) or "")
        except ValueError:
            continue
        if isinstance(doc, dict) and (doc.get("type") if not n.endswith(".conflist") else doc.get("plugins")):
            return None
    return NETWORK_NOT_READY[runtime]


#: What writes the CNI configuration on a SuperEdge cluster: the init container `install-cni` of
#: flannel's DaemonSet `kube-system/kube-flannel-ds`, which copies the `cni-conf.json` key of the
#: ConfigMap `kube-flannel-cfg` (volume `flannel-cfg`, mounted at /etc/kube-flannel/) to
#: /etc/cni/net.d/10-flannel.conflist on the node (superedge/edgeadm v0.9.0,
#: `pkg/edgeadm/constant/manifests/flannel.go`, applied by `pkg/edgeadm/steps/cni_addon.go`).
FLANNEL_DS = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-flannel-ds"
FLANNEL_CM = "/api/v1/namespaces/kube-system/configmaps/"
FLANNEL_CONFLIST = CNI_CONF_DIR + "/10-flannel.conflist"
#: The `cni-conf.json` of that manifest, for a DaemonSet whose ConfigMap the stand-in cannot read.
FLANNEL_CNI_CONF = json.dumps({"name": "cbr0", "cniVersion": "0.3.1", "plugins": [
    {"type": "flannel", "delegate": {"hairpinMode": True, "isDefaultGateway": True}},
    {"type": "portmap", "capabilities": {"portMappings": True}}]}, indent=2) + "\n"


def run_flannel_pod(server, ctx):
    """The flannel DaemonSet's pod on this node, as far as the node sees it: once the DaemonSet
    exists, its `install-cni` init container writes the conflist (once; a deleted DaemonSet
    leaves the file, as on a real node). Returns True when it wrote it."""
    if os.path.exists(P(FLANNEL_CONFLIST)):
        return False
    try:
        ds = client.request(server, "GET", FLANNEL_DS, ctx, timeout=5)
    except client.APIError as e:
        if e.status == 404:
            return False
        raise
    cm_name = "kube-flannel-cfg"
    for v in ((((ds.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []):
        if v.get("name") == "flannel-cfg" and (v.get("configMap") or {}).get("name"):
            cm_name = v["configMap"]["name"]
    try:
        conf = (client.request(server, "GET", FLANNEL_CM + cm_name, ctx, timeout=5).get("data") or {}).get("cni-conf.json")
    except client.APIError as e:
        if e.status != 404:
            raise
        conf = None
    write(FLANNEL_CONFLIST, conf or FLANNEL_CNI_CONF)
    klog("I", "install-cni: wrote the CNI configuration", path=FLANNEL_CONFLIST, daemonset="kube-system/kube-flannel-ds")
    return True


def initial_node(name, vals, runtime):
    """kubelet's initialNode: default labels, --node-labels, --register-with-taints, status."""
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
    labels.update(vals.get("node-labels") or {})
    ip = vals.get("node-ip") or default_ip()
    machine = (read("/etc/machine-id") or "0" * 32).strip()
    boot = _boot_id()
    rel = platform.release()
    spec = {}
    if vals.get("register-with-taints"):
        spec["taints"] = vals["register-with-taints"]
    cap = {"cpu": str(os.cpu_count() or 1), "memory": "%dKi" % (_mem_kib()), "pods": "110", "ephemeral-storage": "10Gi",
           "hugepages-2Mi": "0"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec,
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                       "capacity": cap, "allocatable": dict(cap), "conditions": conditions(network_error(vals, runtime)),
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"machineID": machine, "systemUUID": machine, "bootID": boot, "kernelVersion": rel,
                                    "osImage": _os_image(), "containerRuntimeVersion":
                                        "containerd://1.5.9" if runtime == "remote" else "docker://20.10.12",
                                    "kubeletVersion": VERSION, "kubeProxyVersion": VERSION,
                                    "operatingSystem": "linux", "architecture": "amd64"}}}


def _boot_id():
    """The kernel's boot id: /proc is the running kernel's, never under STANDIN_ROOT."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _mem_kib():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 1024 * 1024


def _os_image():
    for line in (read("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"


def run(argv):
    vals = parse_flags(argv)
    if vals.get("version"):
        print("Kubernetes " + VERSION)
        return 0
    validate(vals)
    cfg = {}
    if vals.get("config"):
        text = read(vals["config"])
        if text is None:
            raise Fatal("failed to load kubelet config file, error: failed to load Kubelet config file %s, error failed to read "
                        "kubelet config file \"%s\", error: open %s: no such file or directory" % ((vals["config"],) * 3))
        try:
            cfg = kubeadmapi.decode_kubelet_config(text, vals["config"])
        except kubeadmapi.DecodeError as e:
            raise Fatal("failed to load kubelet config file, error: %s, path: %s" % (e, vals["config"]))
    runtime = check_cri(vals)
    name = (vals.get("hostname-override") or socket.gethostname()).lower().strip()
    ready()
    klog("I", "Kubelet started", node=name)
    manifests = cfg.get("staticPodPath") or vals.get("pod-manifest-path")
    if manifests:
        start_static_pods(manifests)
    loop(name, vals, runtime)
    return 0



def start_static_pods(path):
    """The file source of pods (`pkg/kubelet/config/file.go`): the static pods of `path` run
    whether or not the API server answers (they are how the control plane comes up)."""
    import threading
    from . import staticpods
    klog("I", "Adding static pod path", path=path)
    t = threading.Thread(target=staticpods.Syncer(path).run, daemon=True)
    t.start()
    return t


def loop(name, vals, runtime):
    """Register once (retrying until the API server answers), then post status; a Node that
    disappears is reported, not registered again (kubernetes issue 71398)."""
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    kubeconfig = vals.get("kubeconfig") or "/etc/kubernetes/kubelet.conf"
    registered = False
    ready = {"status": None, "since": None}
    while not stop["now"]:
        if read(kubeconfig) is None:
            klog("E", "Unable to read the kubeconfig: waiting for it (TLS bootstrap)", path=kubeconfig)
            _sleep(stop, 1)
            continue
        try:
            server, ctx = api(kubeconfig)
            if not registered:
                node = initial_node(name, vals, runtime)
                try:
                    client.request(server, "POST", "/api/v1/nodes", ctx, body=node, timeout=5)
                    klog("I", "Successfully registered node", node=name)
                except client.APIError as e:
                    if e.status != 409:
                        raise
                    klog("I", "Node was previously registered", node=name)
                registered = True
            run_flannel_pod(server, ctx)
            net = network_error(vals, runtime)
            if net:
                klog("E", "Container runtime network not ready", networkReady=net)
            status = "False" if net else "True"
            if status != ready["status"]:
                ready.update(status=status, since=now())
            client.request(server, "PATCH", "/api/v1/nodes/%s/status" % name, ctx,
                           body={"status": {"conditions": conditions(net, ready["since"])}},
                           timeout=5, content_type="application/merge-patch+json")
        except client.APIError as e:
            klog("E", "Error updating node status, will retry", err="error getting node \"%s\": %s" % (name, e.message))
        except (OSError, ValueError, KeyError) as e:
            klog("E", "Unable to register node with API server" if not registered else "Error updating node status, will retry",
                 err=str(e))
            _sleep(stop, 1)
            continue
        _sleep(stop, HEARTBEAT)
    klog("I", "Shutting down kubelet")


def _sleep(stop, secs):
    end = time.time() + secs
    while not stop["now"] and time.time() < end:
        time.sleep(min(0.2, end - time.time()) if end > time.time() else 0)


def main(argv, state):
    try:
        return run(argv)
    except Fatal as e:
        msg = str(e)
        if msg.startswith("failed to parse kubelet flag: "):
            klog("E", "Failed to parse kubelet flag", err=msg[len("failed to parse kubelet flag: "):])
        else:
            klog("E", "Failed to run kubelet" if "failed to run Kubelet" in msg else "command failed", err=msg)
        return 1


def entry():
    if sys.argv[1:] == ["--version"]:
        print("Kubernetes " + VERSION)
        os._exit(0)
    from .common import run_tool
    run_tool("kubelet", main)
