"""Stand-in edgeadm (edgeadm v0.9.0 with kubeadm v1.22 inside). See STANDINS.md."""
import base64
import datetime
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time

import yaml

from . import apiserver, client, jws, kubeadmapi, pki, staticpods, store
from .common import default_ip, err, local_host, exists, Exit, fault, FlagError, P, parse_flags, read, run_tool, write

K8S_VERSION = "v1.22.6"
GLOBAL = {"enable-edge": "bool", "worker-path": "str", "kubeconfig": "str", "v": "str", "log-file": "str",
          "logtostderr": "bool", "alsologtostderr": "bool", "skip-headers": "bool", "skip-log-headers": "bool",
          "one-output": "bool", "add-dir-header": "bool", "log-dir": "str", "log-file-max-size": "str",
          "stderrthreshold": "str", "vmodule": "str", "log-backtrace-at": "str", "help": "bool"}
SHORTS = {"v": "v", "h": "help"}
S = "str"
B = "bool"
INIT_FLAGS = dict(GLOBAL, **{f: S for f in (
    "config install-pkg-path runtime default-ha interface edge-version edge-image-repository edge-virtual-addr manifests-dir "
    "apiserver-advertise-address node-name certificate-key cri-socket service-cidr pod-network-cidr service-dns-domain "
    "control-plane-endpoint kubernetes-version cert-dir feature-gates patches experimental-patches token token-ttl "
    "image-repository kubeconfig-dir apiserver-extra-args controller-manager-extra-args scheduler-extra-args").split()})
INIT_FLAGS.update({"apiserver-bind-port": "int", "apiserver-cert-extra-sans": "list", "ignore-preflight-errors": "list",
                   "skip-phases": "list", "ignore-runtime": B, "skip-token-print": B, "dry-run": B, "upload-certs": B,
                   "skip-certificate-key-print": B})
JOIN_FLAGS = dict(GLOBAL, **{f: S for f in (
    "install-pkg-path pod-infra-container-image default-ha interface runtime node-name certificate-key "
    "apiserver-advertise-address discovery-token discovery-file tls-bootstrap-token cri-socket config token patches experimental-patches").split()})
JOIN_FLAGS.update({"apiserver-bind-port": "int", "discovery-token-ca-cert-hash": "list", "discovery-token-unsafe-skip-ca-verification": B,
                   "ignore-preflight-errors": "list", "control-plane": B, "ignore-runtime": B, "skip-phases": "list"})
RESET_FLAGS = dict(GLOBAL, **{"force": B, "cert-dir": S, "cri-socket": S, "ignore-preflight-errors": "list", "skip-phases": "list"})
RESET_SHORTS = dict(SHORTS, f="force")
TOKEN_PERSIST = {"dry-run": B}
TOKEN_CREATE = dict({**GLOBAL, **TOKEN_PERSIST}, **{"config": S, "description": S, "groups": "list", "print-join-command": B, "ttl": S, "usages": "list", "certificate-key": S})
TOKEN_LIST = dict({**GLOBAL, **TOKEN_PERSIST}, **{"output": S, "allow-missing-template-keys": B, "show-managed-fields": B})
TOKEN_SIMPLE = {**GLOBAL, **TOKEN_PERSIST}

CERT_BASE = ["config", "cert-dir", "kubernetes-version"]
APISERVER_CERT = ["apiserver-advertise-address", "control-plane-endpoint", "apiserver-cert-extra-sans", "service-dns-domain", "service-cidr"]
KCFG = ["config", "cert-dir", "kubeconfig-dir", "control-plane-endpoint", "kubernetes-version", "apiserver-advertise-address", "apiserver-bind-port"]
CP = ["cert-dir", "config", "kubernetes-version", "image-repository", "patches", "experimental-patches", "apiserver-advertise-address",
      "apiserver-bind-port", "service-cidr", "pod-network-cidr", "feature-gates", "apiserver-extra-args", "controller-manager-extra-args", "scheduler-extra-args"]
ADDON = ["config", "kubeconfig", "kubernetes-version", "image-repository", "apiserver-advertise-address", "control-plane-endpoint",
         "apiserver-bind-port", "pod-network-cidr", "feature-gates", "service-dns-domain", "service-cidr"]
CERT_LEAVES = ["ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client", "etcd-ca", "etcd-server",
               "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client"]




def _certs_sub():
    subs = [("all", CERT_BASE + APISERVER_CERT)]
    for c in CERT_LEAVES:
        fl = CERT_BASE + (APISERVER_CERT if c == "apiserver" else [])
        if not c.endswith("ca"):
            fl = fl + ["csr-only", "csr-dir"]
        subs.append((c, fl))
    subs.append(("sa", ["cert-dir"]))
    return subs


# (name, flags-or-None, subphases[(name, flags)])
INIT_PHASES = [
    ("init-node", [], []),
    ("container", ["runtime"], []),
    ("preflight", ["config", "ignore-preflight-errors"], []),
    ("certs", None, _certs_sub()),
    ("kubeconfig", None, [("all", KCFG + ["node-name"]), ("admin", KCFG), ("kubelet", KCFG + ["node-name"]),
                          ("controller-manager", KCFG), ("scheduler", KCFG)]),
    ("kubelet-start", ["config", "cri-socket", "node-name"], []),
    ("kube-vip", ["interface", "default-ha", "control-plane-endpoint"], []),
    ("edge-config", None, [("ingress-config", [])]),
    ("control-plane", None, [("all", CP), ("apiserver", CP), ("controller-manager", CP), ("scheduler", CP)]),
    ("etcd", None, [("local", ["cert-dir", "config", "image-repository", "patches", "experimental-patches"])]),
    ("wait-control-plane", [], []),
    ("upload-config", None, [("all", ["config", "kubeconfig"]), ("kubeadm", ["config", "kubeconfig"]), ("kubelet", ["config", "kubeconfig"])]),
    ("upload-certs", ["config", "kubeconfig", "certificate-key", "upload-certs", "skip-certificate-key-print"], []),
    ("mark-control-plane", ["config", "node-name"], []),
    ("bootstrap-token", ["config", "kubeconfig", "skip-token-print"], []),
    ("kubelet-finalize", None, [("all", ["cert-dir", "config"]), ("experimental-cert-rotation", ["cert-dir", "config"])]),
    ("addon", None, [("all", ADDON), ("coredns", ADDON), ("kube-proxy", ADDON)]),
    # pkg/edgeadm/steps/cni_addon.go: one sub-phase, inheriting only --pod-network-cidr
    ("cni", None, [("flannel", ["pod-network-cidr"])]),
    # pkg/edgeadm/steps/edge_app.go getAddonPhaseFlags: join-prepare, update-config and
    # label-node are Hidden (no command), but `all` (RunAllSiblings) runs them.
    ("edge-apps", None, [(n, ["manifests-dir", "kubeconfig"] + (["cert-dir"] if n in ("all", "tunnel") else []))
                         for n in ("all", "service-group", "tunnel", "edge-health", "site-manager", "edge-coredns",
                                   "join-prepare", "update-config", "label-node")]),
]
#: Phases the runner binds no command for (workflow/runner.go BindToCommand: "skip hidden
#: phases"): kubeadm cmd/kubeadm/app/cmd/phases/init/waitcontrolplane.go (Hidden: true) and
#: edgeadm's hidden edge-apps sub-phases.
INIT_HIDDEN = {("wait-control-plane",), ("edge-apps", "join-prepare"), ("edge-apps", "update-config"),
               ("edge-apps", "label-node")}
JOIN_PRE = ["config", "ignore-preflight-errors", "certificate-key", "node-name", "control-plane", "apiserver-advertise-address",
            "apiserver-bind-port", "token", "discovery-token", "discovery-token-ca-cert-hash", "discovery-token-unsafe-skip-ca-verification",
            "discovery-file", "tls-bootstrap-token", "cri-socket"]
#: edgeadm pkg/util/kubeadm/join.go NewJoinCMD, in order: edgeadm's phases around kubeadm's;
#: "kubeconfig [egress]" and "certs [egress]" (edgeconf.go, edgecert.go) are top-level phases
#: inheriting no flags; check-etcd (kubeadm phases/join/checketcd.go) and kube-vip
#: (steps/kube_vip.go NewKubeVIPJoinPhase) are Hidden.
JOIN_PHASES = [
    ("init-node", [], []), ("join-prepare", [], []), ("container", ["runtime"], []), ("lite-apiserver", [], []),
    ("preflight", JOIN_PRE, []), ("kubeconfig", [], []),
    ("control-plane-prepare", None, [("all", JOIN_PRE), ("download-certs", JOIN_PRE), ("certs", JOIN_PRE),
                                     ("kubeconfig", JOIN_PRE), ("control-plane", JOIN_PRE)]),
    ("certs", [], []), ("check-etcd", [], []), ("kubelet-start", JOIN_PRE, []), ("kube-vip", ["interface", "default-ha"], []),
    ("control-plane-join", None, [("all", ["config", "node-name", "apiserver-advertise-address", "control-plane"]),
                                  ("etcd", ["config", "node-name", "apiserver-advertise-address", "control-plane", "patches"]),
                                  ("update-status", ["config", "node-name", "apiserver-advertise-address", "control-plane"]),
                                  ("mark-control-plane", ["config", "node-name", "control-plane"])]),
]
JOIN_HIDDEN = {("check-etcd",), ("kube-vip",)}
RESET_PHASES = [("preflight", ["ignore-preflight-errors", "force"], []), ("update-cluster-status", [], []),
                 ("remove-etcd-member", ["kubeconfig"], []), ("cleanup-node", ["cert-dir", "cri-socket"], [])]

USAGE = {"": "Usage:\n  edgeadm COMMAND [arg...] [flags]\n  edgeadm [command]\n\nAvailable Commands:\n  addon, change, detach, help, init, join, manifests, reset, revert, token, version\n\nUse \"edgeadm [command] --help\" for more information about a command.\n"}


class CmdError(Exception):
    pass


def usage(path):
    return "Usage:\n  edgeadm %s [flags]\n\nUse \"edgeadm %s --help\" for more information about a command.\n" % (path, path)


def fail_cobra(path, msg):
    err("Error: " + msg)
    sys.stderr.write(usage(path))
    raise Exit(1)


def stripped_words(argv, spec):
    """Non-flag words (for command lookup), skipping values of known non-bool flags."""
    words, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            break
        if a.startswith("-") and len(a) > 1:
            name = a.lstrip("-").split("=")[0].replace("_", "-")
            if "=" not in a and spec.get(name, B) != B and not (a.startswith("-") and not a.startswith("--") and len(a) > 2):
                i += 1
        else:
            words.append(a)
        i += 1
    return words


def main(argv, state):
    reset_worker_path()
    words = stripped_words(argv, {**INIT_FLAGS, **JOIN_FLAGS, **RESET_FLAGS, **TOKEN_CREATE, **TOKEN_LIST})
    top = words[0] if words else None
    cmds = {"init", "join", "reset", "token", "version", "manifests", "change", "revert", "addon", "detach", "help", "completion"}
    if top is None:
        sys.stdout.write("edgeadm use to manage edge kubernetes cluster\n\n" + USAGE[""])
        return 0
    if top not in cmds:
        fail_cobra("", 'unknown command "%s" for "edgeadm"' % top)
    rest = list(argv)
    rest.remove(top)
    if top in ("init", "join", "reset"):
        phases = {"init": INIT_PHASES, "join": JOIN_PHASES, "reset": RESET_PHASES}[top]
        flags = {"init": INIT_FLAGS, "join": JOIN_FLAGS, "reset": RESET_FLAGS}[top]
        shorts = RESET_SHORTS if top == "reset" else SHORTS
        if len(words) > 1 and words[1] == "phase":
            rest.remove("phase")
            return run_phase_cmd(top, phases, flags, shorts, rest, words[2:], state)
        try:
            vals, pos = parse_flags(rest, flags, shorts)
        except FlagError as e:
            fail_cobra(top, str(e))
        if vals.get("help"):
            sys.stdout.write(usage(top))
            return 0
        return {"init": cmd_init, "join": cmd_join, "reset": cmd_reset}[top](vals, pos, state, None)
    if top == "token":
        return cmd_token(rest, words[1:], state)
    if top == "manifests":
        return cmd_manifests(rest)
    if top == "version":
        try:
            parse_flags(rest, dict(GLOBAL, output=S), dict(SHORTS, o="output"))
        except FlagError as e:
            fail_cobra("version", str(e))
        print(json.dumps({"gitVersion": "v0.9.0", "gitCommit": "standin", "goVersion": "go1.17", "platform": "linux/amd64"}))
        return 0
    fail_cobra(top, "stand-in does not implement 'edgeadm %s'" % top)


def phase_index(phases):
    idx = {}
    for name, flags, subs in phases:
        idx[(name,)] = (flags, [s for s, _ in subs])
        for s, sf in subs:
            idx[(name, s)] = (sf, [])
    return idx


def phase_help(path, subs=()):
    """What cobra prints for a command it cannot run (help; the caller exits 0)."""
    text = "Usage:\n  edgeadm %s [flags]\n" % path
    if subs:
        text += "  edgeadm %s [command]\n\nAvailable Commands:\n" % path + "".join("  %s\n" % s for s in subs)
    sys.stdout.write(text + "\nUse \"edgeadm %s [command] --help\" for more information about a command.\n" % path)
    return 0


def run_phase_cmd(top, phases, flags, shorts, rest, words, state):
    """kubeadm's workflow runner bound to cobra (cmd/kubeadm/app/cmd/phases/workflow/runner.go
    BindToCommand, v1.22): `phase` has no Run and no Args check, so a word that names no
    bound phase (a hidden one included) gets the help of `phase`, exit 0; a phase with
    sub-phases has NoArgs and answers with its help, exit 0; a hidden phase has no command."""
    idx = phase_index(phases)
    hidden = {"init": INIT_HIDDEN, "join": JOIN_HIDDEN}.get(top, set())
    path = "%s phase" % top
    visible = [n for n, _, _ in phases if (n,) not in hidden]
    if not words or (words[0],) not in idx or (words[0],) in hidden:
        try:
            parse_flags(rest, dict(GLOBAL), {k: v for k, v in shorts.items() if v in GLOBAL})
        except FlagError as e:
            fail_cobra(path, str(e))
        if not words:
            sys.stdout.write("Use this command to invoke single phase of the %s workflow\n\n" % top)
        return phase_help(path, visible)
    key = (words[0],)
    rest.remove(words[0])
    flist, subs = idx[key]
    subs = [x for x in subs if (words[0], x) not in hidden]
    if len(words) > 1 and subs:
        if words[1] not in subs:   # cobra.NoArgs of a phase with sub-phases
            fail_cobra("%s %s" % (path, words[0]), 'unknown command "%s" for "edgeadm %s %s"' % (words[1], path, words[0]))
        key = (words[0], words[1])
        rest.remove(words[1])
        flist, subs = idx[key]
    spec = dict(GLOBAL)
    for f in flist or []:
        if f in flags:
            spec[f] = flags[f]
        elif f in ("csr-only",):
            spec[f] = B
        elif f in ("csr-dir",):
            spec[f] = S
    try:
        vals, pos = parse_flags(rest, spec, {k: v for k, v in shorts.items() if v in spec})
    except FlagError as e:
        fail_cobra("%s %s" % (path, " ".join(key)), str(e))
    if subs:  # a phase with sub-phases prints its help and does nothing
        if pos:
            fail_cobra("%s %s" % (path, " ".join(key)), 'unknown command "%s" for "edgeadm %s %s"' % (pos[0], path, " ".join(key)))
        return phase_help("%s %s" % (path, " ".join(key)), subs)
    if pos and not (top == "join" and len(pos) == 1):
        fail_cobra("%s %s" % (path, " ".join(key)), 'unknown command "%s" for "edgeadm %s %s"' % (pos[0], path, " ".join(key)))
    # `all` (RunAllSiblings) selects its parent: every sibling runs, the hidden ones too
    only = key[0] if key[1:2] == ("all",) else "/".join(key)
    return {"init": cmd_init, "join": cmd_join, "reset": cmd_reset}[top](vals, pos, state, only)


# ------------------------------------------------------------------ helpers
def load_kubeadm_config(path):
    if path is None:
        return {}, {}
    text = read(path) if path.startswith("/") else None
    if text is None:
        try:
            text = open(path).read()
        except OSError:
            raise CmdError("unable to read config from %q : open %s: no such file or directory".replace("%q", '"%s"') % (path, path))
    try:
        docs = kubeadmapi.decode(text)
    except kubeadmapi.DecodeError as e:
        raise CmdError(str(e))
    init = dict(docs.get("InitConfiguration") or {})
    cluster = docs.get("ClusterConfiguration") or {}
    if "JoinConfiguration" in docs:
        init["join"] = docs["JoinConfiguration"]
    return init, cluster


def config_or_exit(vals):
    """The configuration, or kubeadm's way out: the error and the stack-trace hint (kubeadmutil.CheckErr)."""
    try:
        return Cfg(vals)
    except CmdError as e:
        err(str(e) + "\nTo see the stack trace of this error execute with --v=5 or higher")
        raise Exit(1)


class Cfg:
    def __init__(self, vals):
        init, cl = load_kubeadm_config(vals.get("config"))
        self.vals = vals
        self.init, self.cluster = init, cl
        lep = init.get("localAPIEndpoint") or {}
        self.address = vals.get("apiserver-advertise-address") or lep.get("advertiseAddress") or default_ip()
        self.port = int(vals.get("apiserver-bind-port") or lep.get("bindPort") or 6443)
        nr = init.get("nodeRegistration") or {}
        self.node = (vals.get("node-name") or nr.get("name") or socket.gethostname()).lower()
        self.cpe = vals.get("control-plane-endpoint") or cl.get("controlPlaneEndpoint") or ""
        net = cl.get("networking") or {}
        self.svc = vals.get("service-cidr") or net.get("serviceSubnet") or "10.96.0.0/12"
        self.pods = vals.get("pod-network-cidr") or net.get("podSubnet") or ""
        self.domain = vals.get("service-dns-domain") or net.get("dnsDomain") or "cluster.local"
        self.sans = list((cl.get("apiServer") or {}).get("certSANs") or []) + list(vals.get("apiserver-cert-extra-sans") or [])
        self.version = vals.get("kubernetes-version") or cl.get("kubernetesVersion") or K8S_VERSION
        self.certdir = vals.get("cert-dir") or cl.get("certificatesDir") or "/etc/kubernetes/pki"
        self.tokens = init.get("bootstrapTokens") or []
        if vals.get("token"):
            self.tokens = [{"token": vals["token"], "ttl": vals.get("token-ttl", "24h0m0s")}]
        self.edge_virtual = vals.get("edge-virtual-addr") or "169.254.20.11"
        # edgeadm's own flags (pkg/util/kubeadm/init.go initClusterFlags; constant/const.go
        # defaults): only a whole init accepts them, a phase runs on these defaults.
        self.edge_version = vals.get("edge-version") or "v0.8.0"
        self.tunnel_token = rand(32)
        self.edge_repo = vals.get("edge-image-repository") or "superedge.tencentcloudcr.com/superedge"
        # edgeadm's initData.PatchesDir() is the --patches flag only (pkg/util/kubeadm/init.go
        # newInitData copies options.patchesDir; InitConfiguration.patches is never read).
        self.patches = vals.get("patches") or vals.get("experimental-patches") or ""
        self.cluster_name = cl.get("clusterName") or "kubernetes"

    def server(self):
        if self.cpe:
            h = self.cpe if ":" in self.cpe.split("]")[-1] else "%s:%d" % (self.cpe, self.port)
            return "https://" + h
        return "https://%s:%d" % (self.address, self.port)



def parse_duration(d):
    if d in ("0", "0s", ""):
        return 0
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(h|ms|m|s)", d):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    if total == 0 and not re.fullmatch(r"(0+[hms])+", d):
        raise CmdError('time: invalid duration "%s"' % d)
    return total


TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")


def token_secret(tok, ttl="24h0m0s", usages=("signing", "authentication"), groups=("system:bootstrappers:kubeadm:default-node-token",), desc=None):
    m = TOKEN_RE.match(tok)
    if not m:
        raise CmdError('the bootstrap token "%s" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"' % tok)
    data = {"token-id": m.group(1), "token-secret": m.group(2), "auth-extra-groups": ",".join(groups)}
    for u in usages:
        data["usage-bootstrap-" + u] = "true"
    secs = parse_duration(str(ttl)) if not isinstance(ttl, (int, float)) else ttl
    if secs:
        data["expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + secs))
    if desc:
        data["description"] = desc
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-" + m.group(1), "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def put_obj(obj, group="", plural=None):
    """Write an object straight into the local store (phases running on the master)."""
    kind = obj["kind"]
    plural = plural or (kind.lower() + ("es" if kind.endswith("s") else "s"))
    md = obj["metadata"]
    with store.locked(write=True) as data:
        k = store.key(group, plural, md.get("namespace"), md["name"])
        data["objects"][k] = store.stamp(data, obj, data["objects"].get(k))


def get_obj(group, plural, ns, name):
    with store.locked() as data:
        return data["objects"].get(store.key(group, plural, ns, name))


def self_exe():
    return [sys.executable, os.path.realpath(sys.argv[0])]


#: edgeadm's --worker-path default (superedge/edgeadm v0.9.0 cmd/edgeadm/app/server.go
#: globalFlagSet: removed and made again, with `edgeadm/` in it, whenever edgeadm starts).
WORKER = "/tmp/edgeadm-tmp/"
#: pkg/edgeadm/constant/init.go: the package unpacks into <worker>/edgeadm/ (EdgeamdDir).
INSTALL_DIR = WORKER + "edgeadm/edge-install/"
#: pkg/edgeadm/constant/init_node.go: the kubelet unit, kubeadm's drop-in, the sysconfig file
#: (KubeletService, KubeletConfig, KubeletSys; the same text as provisioners/steps/kubelet_unit.py,
#: tests/test_standins.py compares them) and where kubectl's bash completion goes.
KUBELET_FILES = (
    ("/usr/lib/systemd/system/kubelet.service",
     "\n[Unit]\nDescription=kubelet: The Kubernetes Node Agent\nDocumentation=https://kubernetes.io/docs/\n\n"
     "[Service]\nUser=root\nExecStart=/usr/bin/kubelet\nRestart=always\nStartLimitInterval=0\nRestartSec=10\n\n"
     "[Install]\nWantedBy=multi-user.target\n"),
    ("/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
     "\n# Note: This dropin only works with kubeadm and kubelet v1.11+\n[Service]\n"
     'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"\n'
     'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"\n'
     '# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically\n'
     "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\n"
     "# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use\n"
     "# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.\n"
     "EnvironmentFile=-/etc/sysconfig/kubelet\nExecStart=\n"
     "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS\n"),
    ("/etc/sysconfig/kubelet", "\nKUBELET_EXTRA_ARGS=\n"))
KUBECTL_COMPLETION = "/etc/bash_completion.d/kubectl"


def reset_worker_path():
    """cmd/edgeadm/app/server.go globalFlagSet, at every start: RemoveAll(worker path), then
    MkdirAll(<worker>/edgeadm)."""
    shutil.rmtree(P(WORKER), ignore_errors=True)
    os.makedirs(P(WORKER + "edgeadm"), exist_ok=True)


def unzip_package(src, dst):
    """pkg/edgeadm/common/static_pkg.go UnzipPackage: `tar -xzvf <src> -C <dst>` through a
    shell (a glob in src expands; dst must exist)."""
    p = subprocess.run(["sh", "-c", 'tar -xzf %s -C "$1"' % src, "tar", P(dst)], capture_output=True, text=True)
    if p.returncode:
        raise CmdError("Unzip package: %s, error: exit status %d: %s" % (src, p.returncode, p.stderr.strip()))


def set_package_path(kubeconfig_dir):
    """pkg/edgeadm/common/static_pkg.go SetPackagePath, called by a whole init's and join's
    PreRunE (pkg/util/kubeadm/init.go with --kubeconfig-dir, default /etc/kubernetes/;
    join.go with --config's path): that path removed, `mv -f <worker>/edgeadm/edge-install/bin/*
    /usr/bin/`, the CNI plugins tarball unpacked into /opt/cni/bin/, the kubelet unit, drop-in
    and sysconfig written, `kubectl completion bash` into /etc/bash_completion.d/kubectl."""
    if kubeconfig_dir:
        target = P(kubeconfig_dir)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, ignore_errors=True)
        elif os.path.lexists(target):
            os.unlink(target)
    bindir = P(INSTALL_DIR + "bin")
    names = sorted(os.listdir(bindir)) if os.path.isdir(bindir) else []
    if not names:
        raise CmdError("exit status 1: mv: cannot stat '%sbin/*': No such file or directory" % INSTALL_DIR)
    os.makedirs(P("/usr/bin"), exist_ok=True)
    for n in names:
        dst = P("/usr/bin/" + n)
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        shutil.move(os.path.join(bindir, n), dst)
    os.makedirs(P("/opt/cni/bin"), exist_ok=True)
    import shlex
    unzip_package(shlex.quote(P(INSTALL_DIR + "cni/")) + "cni-plugins-*.tgz", "/opt/cni/bin/")
    for path, text in KUBELET_FILES:
        write(path, text, 0o644)
    p = subprocess.run([P("/usr/bin/kubectl"), "completion", "bash"], capture_output=True, text=True)
    if p.returncode:
        raise CmdError("exit status %d: %s" % (p.returncode, p.stderr.strip()))
    write(KUBECTL_COMPLETION, p.stdout, 0o644)


def check_pkg(path, kubeconfig_dir=""):
    """A whole init's or join's PreRunE on the install package: --install-pkg-path (a URL is
    downloaded to /tmp/edgeadm-install.tar.gz), unpacked into <worker>/edgeadm/, then
    SetPackagePath."""
    if not path:
        raise CmdError("Please enter --install-pkg-path value(path of edgeadm static install package)")
    if path.startswith(("http://", "https://")):
        import urllib.request
        dst = P("/tmp/edgeadm-install.tar.gz")
        try:
            urllib.request.urlretrieve(path, dst)
        except Exception as e:
            raise CmdError("Get %s: %s" % (path, e))
        path = "/tmp/edgeadm-install.tar.gz"
    elif not os.path.exists(P(path)) and not os.path.exists(path):
        raise CmdError("Unzip package: %s, error: exit status 2: tar: %s: Cannot open: No such file or directory" % (path, path))
    real = P(path) if os.path.exists(P(path)) else path
    try:
        with tarfile.open(real, "r:gz") as t:
            if not any(n.startswith(("edge-install/", "./edge-install/")) for n in t.getnames()):
                raise CmdError("install package %s has no edge-install/ directory" % path)
    except (tarfile.TarError, OSError) as e:
        raise CmdError("Unzip package: %s, error: gzip: invalid header (%s)" % (path, e))
    import shlex
    unzip_package(shlex.quote(real), WORKER + "edgeadm/")
    set_package_path(kubeconfig_dir)


# ------------------------------------------------------------------ init
def init_steps(cfg, only, state, whole):
    """Yield (phase-name, callable) in edgeadm's order, filtered to `only`."""
    v = cfg.vals
    ca_pair = {}

    def ca():
        if "ca" not in ca_pair:
            c, k, msg = pki.ensure_ca("ca", "kubernetes", cfg.certdir)
            ca_pair["ca"] = (c, k)
            print(msg)
        return ca_pair["ca"]

    def svc_ip():
        net = ipaddress.ip_network(cfg.svc.split(",")[0], strict=False)
        return str(net[1])

    def cpe_host():
        h = cfg.cpe.rsplit(":", 1)[0] if cfg.cpe.count(":") == 1 else cfg.cpe
        return h

    def leaf(which):
        spec = kubeadm_leaves(cfg.node, cfg.address, svc_ip(), cfg.domain, cfg.sans, cpe_host() if cfg.cpe else "")[which]
        base, ca_base, cn, orgs, dns, ips, server, client_ = spec
        if ca_base == "ca":
            pair = ca()
        else:
            c, k, _ = pki.ensure_ca(ca_base, CA_CN[ca_base], cfg.certdir)
            pair = (c, k)
        print(pki.ensure_leaf(base, pair, cn, orgs, dns, ips, server=server, client=client_, pki=cfg.certdir))

    def certs(which):
        def run():
            print('[certs] Using certificateDir folder "%s"' % cfg.certdir)
            if which == "ca":
                ca()
            elif which == "front-proxy-ca":
                print(pki.ensure_ca("front-proxy-ca", "front-proxy-ca", cfg.certdir)[2])
            elif which == "etcd-ca":
                print(pki.ensure_ca("etcd/ca", "etcd-ca", cfg.certdir)[2])
            elif which == "sa":
                if exists(cfg.certdir + "/sa.key"):
                    print("[certs] Using the existing \"sa\" key")
                else:
                    from cryptography.hazmat.primitives import serialization
                    k = pki.new_key()
                    write(cfg.certdir + "/sa.key", pki.key_pem(k), 0o600)
                    write(cfg.certdir + "/sa.pub", k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
                    print('[certs] Generating "sa" key and public key')
            else:
                leaf(which)
        return run

    def tunnel_cert():
        print(pki.ensure_leaf("tunnel-anp-client", ca(), "tunnel-anp-client", pki=cfg.certdir))

    def kubeconfig(which):
        def run():
            c, k = ca()
            if k is None:
                raise CmdError("failure loading ca certificate authority: couldn't load the private key file %s/ca.key: open %s/ca.key: no such file or directory" % (cfg.certdir, cfg.certdir))
            cn, orgs = {"admin": ("kubernetes-admin", ("system:masters",)), "kubelet": ("system:node:" + cfg.node, ("system:nodes",)),
                        "controller-manager": ("system:kube-controller-manager", ()), "scheduler": ("system:kube-scheduler", ())}[which]
            fn = "/etc/kubernetes/%s.conf" % which
            if exists(fn):
                print('[kubeconfig] Using existing kubeconfig file: "%s"' % fn)
                return
            cert, key = pki.new_signed_cert(c, k, cn, orgs)
            server = cfg.server() if which in ("admin", "kubelet") else "https://%s:%d" % (cfg.address, cfg.port)
            write(fn, pki.kubeconfig(server, pki.cert_pem(c), cn if which != "admin" else "kubernetes-admin", pki.cert_pem(cert), pki.key_pem(key)), 0o600)
            print('[kubeconfig] Writing "%s.conf" kubeconfig file' % which)
        return run

    def kubelet_start():
        nr = cfg.init.get("nodeRegistration") or {}
        cri = v.get("cri-socket") or nr.get("criSocket") or "/var/run/dockershim.sock"
        write("/var/lib/kubelet/kubeadm-flags.env", kubeadm_flags_env(cri, cfg.node, nr.get("kubeletExtraArgs") or {}))
        write("/var/lib/kubelet/config.yaml", kubelet_config(cfg.domain, [svc_ip10(cfg.svc)]))
        print('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
        print('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
        print("[kubelet-start] Starting the kubelet")
        try_start_kubelet()

    def kube_vip():
        if cfg.cpe and v.get("default-ha", "kube-vip") == "kube-vip":
            write("/etc/kubernetes/manifests/vip.yaml", manifest("kube-vip", "ghcr.io/kube-vip/kube-vip:v0.3.8",
                                                                 ["manager"], env={"vip_interface": v.get("interface", "eth0"), "vip_address": cpe_host()}))
            # What the kube-vip pod does once it leads: hold the VIP on the interface.
            if not os.environ.get("STANDIN_ROOT"):
                subprocess.run(["ip", "addr", "replace", cpe_host() + "/32", "dev", v.get("interface", "eth0")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print("Installed kube-vip successfully")

    def ingress():
        write("/etc/kubernetes/kube-apiserver-conf/egress-selector-configuration.yaml", EGRESS, 0o600)

    def control_plane(which):
        def run():
            repo = v.get("image-repository") or cfg.cluster.get("imageRepository") or "k8s.gcr.io"
            text = control_plane_manifest(which, cfg.cluster, repo, cfg.version, cfg.address, cfg.port, cfg.svc, cfg.pods,
                                          cfg.certdir, cfg.domain, cfg.patches)
            write("/etc/kubernetes/manifests/kube-%s.yaml" % which, text, 0o600)
            print('[control-plane] Creating static Pod manifest for "kube-%s"' % which)
        return run

    def etcd():
        write("/etc/kubernetes/manifests/etcd.yaml", etcd_manifest(cfg.node, cfg.address, cfg.certdir, {}, cfg.patches), 0o600)
        print('[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"')

    def wait_cp():
        print('[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests". This can take up to 4m0s')
        if not kubelet_running():
            raise CmdError(KUBELET_CHECK + "\n\tUnfortunately, an error has occurred:\n\t\ttimed out waiting for the condition\n\n"
                           "\tThis error is likely caused by:\n\t\t- The kubelet is not running\n"
                           "\t\t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n\n"
                           "\tIf you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:\n"
                           "\t\t- 'systemctl status kubelet'\n\t\t- 'journalctl -xeu kubelet'\n"
                           "couldn't initialize a Kubernetes cluster")
        wait_api_healthy("https://%s:%d" % (cfg.address, cfg.port), cfg.certdir + "/ca.crt")

    def upload_config(which):
        def run():
            if which == "kubeadm":
                put_obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                         "data": {"ClusterConfiguration": yaml.safe_dump(dict(cfg.cluster, kind="ClusterConfiguration", apiVersion=cfg.cluster.get("apiVersion", "kubeadm.k8s.io/v1beta2"),
                                                                               kubernetesVersion=cfg.version, controlPlaneEndpoint=cfg.cpe or "%s:%d" % (cfg.address, cfg.port)))}})
                print('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
            else:
                put_obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubelet-config-1.22", "namespace": "kube-system"},
                         "data": {"kubelet": kubelet_config(cfg.domain, [svc_ip10(cfg.svc)])}})
                print("[kubelet] Creating a ConfigMap \"kubelet-config-1.22\" in namespace kube-system with the configuration for the kubelets in the cluster")
        return run

    def upload_certs():
        if not v.get("upload-certs"):
            print("[upload-certs] Skipping phase. Please see --upload-certs")
            return
        key = v.get("certificate-key") or cfg.init.get("certificateKey") or secrets.token_hex(32)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        aes = AESGCM(bytes.fromhex(key))
        data = {}
        for f in ("ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key"):
            raw = read(cfg.certdir + "/" + f)
            if raw is None:
                continue
            nonce = os.urandom(12)
            data[f.replace("/", "-")] = base64.b64encode(base64.b64encode(nonce + aes.encrypt(nonce, raw.encode(), None))).decode()
        put_obj({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "kubeadm-certs", "namespace": "kube-system"}, "data": data})
        print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
        if not v.get("skip-certificate-key-print"):
            print("[upload-certs] Using certificate key:\n" + key)

    def mark_cp():
        # kubeadm's MarkControlPlane patches the Node the kubelet registered (apiclient.PatchNode
        # polls until it exists); it never creates one.
        n = wait_node(lambda: get_obj("", "nodes", None, cfg.node), cfg.node)
        n["metadata"].setdefault("labels", {}).update({"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": "",
                                                       "node.kubernetes.io/exclude-from-external-load-balancers": ""})
        want = (cfg.init.get("nodeRegistration") or {}).get("taints")
        if want is None:
            want = [{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]
        taints = n["spec"].setdefault("taints", [])
        for t in want:
            if not any(x["key"] == t["key"] and x.get("effect") == t.get("effect") for x in taints):
                taints.append(t)
        put_obj(n, plural="nodes")
        print("[mark-control-plane] Marking the node %s as control-plane by adding the labels: [node-role.kubernetes.io/master(deprecated) node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]" % cfg.node)

    def bootstrap_token():
        for t in cfg.tokens:
            tok = t["token"] if isinstance(t, dict) else t
            put_obj(token_secret(tok, t.get("ttl", "24h0m0s") if isinstance(t, dict) else "24h0m0s",
                                 tuple(t.get("usages") or ("signing", "authentication")) if isinstance(t, dict) else ("signing", "authentication"),
                                 tuple(t.get("groups") or ("system:bootstrappers:kubeadm:default-node-token",)) if isinstance(t, dict) else ("system:bootstrappers:kubeadm:default-node-token",)))
            if not v.get("skip-token-print"):
                print("[bootstrap-token] Using token: " + tok)
        if not cfg.tokens:
            tok = "%s.%s" % (rand(6), rand(16))
            put_obj(token_secret(tok))
            print("[bootstrap-token] Using token: " + tok)
        ca_pem = read(cfg.certdir + "/ca.crt")
        put_obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
                 "data": {"kubeconfig": yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "", "cluster": {
                     "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(), "server": cfg.server()}}],
                     "contexts": None, "current-context": "", "preferences": {}, "users": None}, sort_keys=False)}})
        print('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
        rb = "rbac.authorization.k8s.io"
        put_obj({"apiVersion": rb + "/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "kubeadm:kubelet-bootstrap"},
                 "roleRef": {"apiGroup": rb, "kind": "ClusterRole", "name": "system:node-bootstrapper"},
                 "subjects": [{"kind": "Group", "name": "system:bootstrappers:kubeadm:default-node-token"}]}, rb, "clusterrolebindings")
        print("[bootstrap-token] configured RBAC rules to allow Node Bootstrap tokens to get nodes")
        # kubeadm `phases/bootstraptoken/node/tlsbootstrap.go`: the approver may approve the
        # CSRs of bootstrap tokens (nodeclient) and of nodes renewing their own (selfnodeclient)
        for name, role, group in (("kubeadm:node-autoapprove-bootstrap", "nodeclient", "system:bootstrappers:kubeadm:default-node-token"),
                                  ("kubeadm:node-autoapprove-certificate-rotation", "selfnodeclient", "system:nodes")):
            put_obj({"apiVersion": rb + "/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
                     "roleRef": {"apiGroup": rb, "kind": "ClusterRole", "name": "system:certificates.k8s.io:certificatesigningrequests:" + role},
                     "subjects": [{"kind": "Group", "name": group}]}, rb, "clusterrolebindings")
        print("[bootstrap-token] configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token")
        print("[bootstrap-token] configured RBAC rules to allow certificate rotation for all node client certificates in the cluster")

    def kubelet_finalize():
        print('[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client certificate and key')

    def addon(which):
        def run():
            if which == "coredns":
                put_obj({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"}}, "apps", "deployments")
                print("[addons] Applied essential addon: CoreDNS")
            else:
                for obj, group, plural in kube_proxy_objects(cfg):
                    put_obj(obj, group, plural)
                print("[addons] Applied essential addon: kube-proxy")
        return run

    def cni():
        # pkg/edgeadm/steps/cni_addon.go EnsureFlannelAddon: constant/manifests/flannel.go
        # (ClusterRole/ClusterRoleBinding/ServiceAccount "flannel", ConfigMap
        # kube-system/kube-flannel-cfg whose net-conf.json Network is {{.PodNetworkCidr}},
        # DaemonSet kube-system/kube-flannel-ds), created as kubeclient.CreateResourceWithFile
        # does: an object that exists already is left as it is.
        image = "%s/flannel:v0.12.0-edge-2.0" % cfg.edge_repo
        rb = "rbac.authorization.k8s.io"
        objs = [({"apiVersion": rb + "/v1", "kind": "ClusterRole", "metadata": {"name": "flannel"},
                  "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}]}, rb, "clusterroles"),
                ({"apiVersion": rb + "/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "flannel"},
                  "roleRef": {"apiGroup": rb, "kind": "ClusterRole", "name": "flannel"},
                  "subjects": [{"kind": "ServiceAccount", "name": "flannel", "namespace": "kube-system"}]}, rb, "clusterrolebindings"),
                ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "flannel", "namespace": "kube-system"}}, "", "serviceaccounts"),
                ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-flannel-cfg", "namespace": "kube-system"},
                  "data": {"net-conf.json": json.dumps({"Network": cfg.pods, "Backend": {"Type": "vxlan"}})}}, "", "configmaps"),
                ({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-flannel-ds", "namespace": "kube-system"},
                  "spec": {"selector": {"matchLabels": {"app": "flannel"}},
                           "template": {"metadata": {"labels": {"app": "flannel"}},
                                        "spec": {"serviceAccountName": "flannel", "hostNetwork": True,
                                                 "containers": [{"name": "kube-flannel", "image": image}]}}}}, "apps", "daemonsets")]
        for obj, group, plural in objs:
            md = obj["metadata"]
            if get_obj(group, plural, md.get("namespace"), md["name"]) is None:
                put_obj(obj, group, plural)
        print("Deploy kube-flannel success!")

    def edge_app(which):
        def run():
            put_obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-system"}}, "", "namespaces")
            if which == "edge-coredns":
                n = get_obj("", "nodes", None, cfg.node)
                if n is None:
                    raise CmdError('nodes "%s" not found' % cfg.node)
                n["metadata"].setdefault("labels", {})["superedge.io.hostname"] = cfg.node
                put_obj(n, plural="nodes")
            # The CRDs the components install when they start (application-grid-controller:
            # superedge.io grids; site-manager: site.superedge.io NodeUnit/NodeGroup).
            for group, kind, plural, versions, scope in EDGE_CRDS.get(which, []):
                put_crd(group, kind, plural, versions, scope)
            # Each app's manifest: <--manifests-dir>/<file> when it exists, else edgeadm's
            # built-in one (common.ReadYaml), filled as a Go template with what the phase knows
            # (a key it lacks renders "<no value>"), its objects created; an object that exists
            # is left as it is (kubeclient.CreateResourceWithFile ignores AlreadyExists).
            values = edge_app_values(cfg, whole)
            for fn in EDGE_APP_FILES[which]:
                user = os.path.join(v["manifests-dir"], fn) if v.get("manifests-dir") else None
                text = read(user) if user and exists(user) else EDGE_APP_TEMPLATES[fn]
                text = re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: str(values.get(m.group(1), "<no value>")), text)
                for obj in yaml.safe_load_all(text):
                    if not obj:
                        continue
                    group, _, _ = obj["apiVersion"].rpartition("/")
                    plural = obj["kind"].lower() + "s"
                    md = obj["metadata"]
                    if get_obj(group, plural, md.get("namespace"), md["name"]) is None:
                        put_obj(obj, group, plural)
                print("Deploy %s success!" % fn[:-5])
        return run

    def update_config():
        # pkg/edgeadm/steps/edge_app.go EnsureEdgeKubeConfig -> common/update_config.go:
        # UpdateKubeProxyKubeconfig (edge-system copies of kube-proxy's ConfigMap, whose
        # kubeconfig.conf servers become application-grid-wrapper's 127.0.0.1:51006, its
        # ServiceAccount and DaemonSet, each a Create: a second run fails with AlreadyExists;
        # then PatchKubeProxy), UpdateKubernetesEndpoint (backup `kubernetes-no-edge`, then
        # the annotations of `kubernetes` replaced by the local endpoint and port),
        # UpdateKubernetesEndpointSlice, and UpdateClusterInfoKubeconfig when certSANs are set.
        def copy_of(group, plural, ns, name, new_ns, new_name):
            o = get_obj(group, plural, ns, name)
            if o is None:
                raise CmdError('%s%s "%s" not found' % (plural, "." + group if group else "", name))
            o = json.loads(json.dumps(o))
            o["metadata"] = {k: val for k, val in o["metadata"].items() if k not in ("resourceVersion", "uid", "creationTimestamp")}
            o["metadata"].update(name=new_name, namespace=new_ns)
            return o

        def create(o, group, plural):
            md = o["metadata"]
            if get_obj(group, plural, md.get("namespace"), md["name"]) is not None:
                raise CmdError('%s%s "%s" already exists' % (plural, "." + group if group else "", md["name"]))
            put_obj(o, group, plural)

        cm = copy_of("", "configmaps", "kube-system", "kube-proxy", "edge-system", "edge-kube-proxy")
        kc = (cm.get("data") or {}).get("kubeconfig.conf")
        if kc is None:
            raise CmdError("Get kube-proxy kubeconfig.conf nil")
        doc = yaml.safe_load(kc)
        for c in doc.get("clusters") or []:
            c["cluster"]["server"] = "http://127.0.0.1:51006"
        cm["data"]["kubeconfig.conf"] = yaml.safe_dump(doc)
        create(cm, "", "configmaps")
        create(copy_of("", "serviceaccounts", "kube-system", "kube-proxy", "edge-system", "kube-proxy"), "", "serviceaccounts")
        ds = copy_of("apps", "daemonsets", "kube-system", "kube-proxy", "edge-system", "edge-kube-proxy")
        pod = ds.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
        pod.pop("priorityClassName", None)     # "" in Go: omitted (omitempty)
        for vol in pod.get("volumes") or []:
            if vol.get("name") == "kube-proxy" and "configMap" in vol:
                vol["configMap"]["name"] = "edge-kube-proxy"
        for c in pod.get("containers") or []:
            if c.get("name") == "kube-proxy":
                c["image"] = "%s/kube-proxy:%s" % (cfg.edge_repo, cfg.version)
                break
        create(ds, "apps", "daemonsets")
        for ns, name, op in (("kube-system", "kube-proxy", "DoesNotExist"), ("edge-system", "edge-kube-proxy", "Exists")):
            o = get_obj("apps", "daemonsets", ns, name)
            o["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "superedge.io/node-edge", "operator": op}]}]}}}
            put_obj(o, "apps", "daemonsets")
        ann = {"superedge.io/local-port": "51003", "superedge.io/local-endpoint": cfg.edge_virtual}
        create(copy_of("", "endpoints", "default", "kubernetes", "default", "kubernetes-no-edge"), "", "endpoints")
        for group, plural in (("", "endpoints"), ("discovery.k8s.io", "endpointslices")):
            o = get_obj(group, plural, "default", "kubernetes")
            if o is None:
                raise CmdError('%s%s "kubernetes" not found' % (plural, "." + group if group else ""))
            o["metadata"]["annotations"] = dict(ann)
            put_obj(o, group, plural)
        if cfg.sans:
            ci = copy_of("", "configmaps", "kube-public", "cluster-info", "kube-system", "cluster-info-no-edge")
            create(ci, "", "configmaps")
            public = next((a for a in cfg.sans if is_ip(a)), cfg.sans[0])
            o = get_obj("", "configmaps", "kube-public", "cluster-info")
            doc = yaml.safe_load(o["data"]["kubeconfig"])
            for c in doc.get("clusters") or []:
                src = c["cluster"]["server"]
                host = src[len("https://"):] if src.startswith("https://") else src
                c["cluster"]["server"] = src.replace(host[:host.index(":")], public)
            o["data"]["kubeconfig"] = yaml.safe_dump(doc)
            put_obj(o)
        print("Update Kubernetes cluster config support marginal autonomy success")

    def join_prepare_cm():
        # common/prepare_join_node.go JoinNodePrepare: a new lite-apiserver certificate whose
        # IP SANs are the `kubernetes` Service's ClusterIP and the virtual address; edge-info
        # created, or its keys updated when it exists.
        ca_pem = read(cfg.certdir + "/ca.crt")
        c, k = ca()
        svc = get_obj("", "services", "default", "kubernetes")
        cluster_ip = ((svc or {}).get("spec") or {}).get("clusterIP") or svc_ip()
        lc, lk = pki.sign(c, k, "lite-apiserver", dns=["127.0.0.1"], ips=[cluster_ip, cfg.edge_virtual], server=True)
        put_obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-system"}}, "", "namespaces")
        cm = get_obj("", "configmaps", "edge-system", "edge-info") or {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "edge-info", "namespace": "edge-system"}, "data": {}}
        cm.setdefault("data", {}).update({
            "kube-api-ca.crt": ca_pem, "lite-apiserver.crt": pki.cert_pem(lc), "lite-apiserver.key": pki.key_pem(lk),
            "tls.json": '[{"key":"/var/lib/kubelet/pki/kubelet-client-current.pem","cert":"/var/lib/kubelet/pki/kubelet-client-current.pem"}]',
            "edge-virtual-addr": cfg.edge_virtual, "kube-api-cluster-ip": cluster_ip})
        put_obj(cm)
        rb = "rbac.authorization.k8s.io"
        put_obj({"apiVersion": rb + "/v1", "kind": "Role", "metadata": {"name": "edge-info-reader", "namespace": "edge-system"},
                 "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["edge-info"], "verbs": ["get"]}]}, rb, "roles")
        put_obj({"apiVersion": rb + "/v1", "kind": "RoleBinding", "metadata": {"name": "edge-info-reader", "namespace": "edge-system"},
                 "roleRef": {"apiGroup": rb, "kind": "Role", "name": "edge-info-reader"},
                 "subjects": [{"kind": "Group", "name": "system:bootstrappers"}]}, rb, "rolebindings")

    def label_cloud():
        # steps/edge_app.go labelCLoudNode: kubeclient.AddNodeLabel on the Node named
        # NodeRegistration.Name (a phase: the host name); a missing Node is an error.
        n = get_obj("", "nodes", None, cfg.node)
        if n is None:
            raise CmdError('nodes "%s" not found' % cfg.node)
        n["metadata"].setdefault("labels", {})["superedge.io/node-cloud"] = "enable"
        put_obj(n, plural="nodes")

    def init_node():
        raise CmdError("Run linux command: apt-get update error: exit status 100 (Could not resolve 'archive.ubuntu.com'); "
                       "yum install error: Cannot find a valid baseurl for repo: base/7/x86_64")

    def container():
        rt = v.get("runtime", "containerd")
        if rt not in ("containerd", "docker"):
            raise CmdError("Container runtime support 'docker' and 'containerd', not %s" % rt)
        install_runtime(rt)
        print("Installed container runtime %s successfully" % rt)

    def preflight():
        print("[preflight] Running pre-flight checks")
        node_checks((cfg.init.get("nodeRegistration") or {}).get("criSocket") or v.get("cri-socket"), v.get("ignore-preflight-errors"))
        if os.geteuid() != 0 and os.environ.get("STANDIN_ROOT") is None:
            raise CmdError("[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root")
        if not apiserver.running_pid():
            s = socket.socket()
            try:
                s.bind((cfg.address, cfg.port))
            except OSError:
                if "all" not in [x.lower() for x in v.get("ignore-preflight-errors", [])]:
                    raise CmdError("[preflight] Some fatal errors occurred:\n\t[ERROR Port-%d]: Port %d is in use" % (cfg.port, cfg.port))
            finally:
                s.close()

    steps = [("init-node", init_node), ("container", container), ("preflight", preflight)]
    steps += [("certs/" + c, certs(c)) for c in CERT_LEAVES] + [("certs/sa", certs("sa"))]
    if (whole or only == "certs") and v.get("enable-edge", True):
        # edgeadm's own "certs" phase (pkg/util/kubeadm/edgecert.go) has kubeadm's name: its
        # command is shadowed, but the runner selects it with `certs all` as well.
        steps += [("certs/tunnel-anp-client", tunnel_cert)]
    steps += [("kubeconfig/" + k, kubeconfig(k)) for k in ("admin", "kubelet", "controller-manager", "scheduler")]
    steps += [("kubelet-start", kubelet_start), ("kube-vip", kube_vip)]
    if v.get("enable-edge", True):
        steps += [("edge-config/ingress-config", ingress)]
    steps += [("control-plane/" + c, control_plane(c)) for c in ("apiserver", "controller-manager", "scheduler")]
    steps += [("etcd/local", etcd), ("wait-control-plane", wait_cp), ("upload-config/kubeadm", upload_config("kubeadm")),
              ("upload-config/kubelet", upload_config("kubelet")), ("upload-certs", upload_certs), ("mark-control-plane", mark_cp),
              ("bootstrap-token", bootstrap_token), ("kubelet-finalize/experimental-cert-rotation", kubelet_finalize),
              ("addon/coredns", addon("coredns")), ("addon/kube-proxy", addon("kube-proxy")), ("cni/flannel", cni)]
    if v.get("enable-edge", True):
        steps += [("edge-apps/" + a, edge_app(a)) for a in ("service-group", "tunnel", "edge-health", "site-manager", "edge-coredns")]
        steps += [("edge-apps/join-prepare", join_prepare_cm), ("edge-apps/update-config", update_config),
                  ("edge-apps/label-node", label_cloud)]
    return steps


def rand(n):
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def kube_proxy_objects(cfg):
    """What kubeadm's `addon kube-proxy` creates (kubernetes v1.22
    `cmd/kubeadm/app/phases/addons/proxy/proxy.go` and `manifests.go` KubeProxyConfigMap19,
    KubeProxyDaemonSet19): ServiceAccount, ConfigMap (kubeconfig.conf to the control-plane
    endpoint, config.conf the KubeProxyConfiguration), DaemonSet, and the RBAC to read them.
    Returned as (object, group, plural)."""
    rb = "rbac.authorization.k8s.io"
    kubeconfig = ("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
                  "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n"
                  "    server: %s\n  name: default\ncontexts:\n- context:\n    cluster: default\n"
                  "    namespace: default\n    user: default\n  name: default\ncurrent-context: default\n"
                  "users:\n- name: default\n  user:\n"
                  "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token" % cfg.server())
    proxy_conf = yaml.safe_dump({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
                                 "bindAddress": "0.0.0.0", "clusterCIDR": cfg.pods,
                                 "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"},
                                 "mode": ""}, sort_keys=True).rstrip("\n")
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"labels": {"k8s-app": "kube-proxy"}, "name": "kube-proxy", "namespace": "kube-system"},
          "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}}, "updateStrategy": {"type": "RollingUpdate"},
                   "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}}, "spec": {
                       "priorityClassName": "system-node-critical",
                       "containers": [{"name": "kube-proxy", "image": "k8s.gcr.io/kube-proxy:" + cfg.version,
                                       "imagePullPolicy": "IfNotPresent",
                                       "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                                   "--hostname-override=$(NODE_NAME)"],
                                       "securityContext": {"privileged": True},
                                       "volumeMounts": [{"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"},
                                                        {"mountPath": "/run/xtables.lock", "name": "xtables-lock", "readOnly": False},
                                                        {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": True}],
                                       "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}],
                       "hostNetwork": True, "serviceAccountName": "kube-proxy",
                       "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}},
                                   {"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}},
                                   {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}}],
                       "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, {"operator": "Exists"}],
                       "nodeSelector": {"kubernetes.io/os": "linux"}}}}}
    return [({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}},
             "", "serviceaccounts"),
            ({"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
              "data": {"kubeconfig.conf": kubeconfig, "config.conf": proxy_conf}}, "", "configmaps"),
            (ds, "apps", "daemonsets"),
            ({"apiVersion": rb + "/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "kubeadm:node-proxier"},
              "roleRef": {"apiGroup": rb, "kind": "ClusterRole", "name": "system:node-proxier"},
              "subjects": [{"kind": "ServiceAccount", "name": "kube-proxy", "namespace": "kube-system"}]}, rb, "clusterrolebindings"),
            ({"apiVersion": rb + "/v1", "kind": "Role", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
              "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kube-proxy"], "verbs": ["get"]}]},
             rb, "roles"),
            ({"apiVersion": rb + "/v1", "kind": "RoleBinding", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
              "roleRef": {"apiGroup": rb, "kind": "Role", "name": "kube-proxy"},
              "subjects": [{"kind": "Group", "name": "system:bootstrappers:kubeadm:default-node-token"}]}, rb, "rolebindings")]


#: The CAs' common names (kubeadm 1.22 `cmd/kubeadm/app/phases/certs/certlist.go`).
CA_CN = {"ca": "kubernetes", "front-proxy-ca": "front-proxy-ca", "etcd/ca": "etcd-ca"}


def kubeadm_leaves(node, address, svc_ip, domain, cert_sans, cpe_host):
    """The leaf certificates of kubeadm 1.22's GetDefaultCertList (`cmd/kubeadm/app/phases/certs/
    certlist.go`), as {name: (base name, CA base name, CN, O, DNS SANs, IP SANs, serverAuth,
    clientAuth)}; SANs of `cmd/kubeadm/app/util/pkiutil/pki_helpers.go` GetAPIServerAltNames
    (node name, kubernetes..., the service range's first IP, the advertise address, the
    controlPlaneEndpoint host, apiServer.certSANs) and getAltNames for etcd (node name,
    localhost, advertise address, 127.0.0.1, ::1)."""
    api_dns = [node, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + domain]
    api_ips = [svc_ip, address]
    for s in ([cpe_host] if cpe_host else []) + list(cert_sans or []):
        (api_ips if is_ip(s) else api_dns).append(s)
    etcd_dns, etcd_ips = [node, "localhost"], [address, "127.0.0.1", "::1"]
    masters = ("system:masters",)
    return {
        "apiserver": ("apiserver", "ca", "kube-apiserver", (), api_dns, api_ips, True, False),
        "apiserver-kubelet-client": ("apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", masters, (), (), False, True),
        "front-proxy-client": ("front-proxy-client", "front-proxy-ca", "front-proxy-client", (), (), (), False, True),
        # etcd 3.2 wants ClientAuth on the server certificate too (certlist.go's TODO)
        "etcd-server": ("etcd/server", "etcd/ca", node, (), etcd_dns, etcd_ips, True, True),
        "etcd-peer": ("etcd/peer", "etcd/ca", node, (), etcd_dns, etcd_ips, True, True),
        "etcd-healthcheck-client": ("etcd/healthcheck-client", "etcd/ca", "kube-etcd-healthcheck-client", masters, (), (), False, True),
        "apiserver-etcd-client": ("apiserver-etcd-client", "etcd/ca", "kube-apiserver-etcd-client", masters, (), (), False, True),
    }


#: The client certificates of kubeadm 1.22's kubeconfig files (`cmd/kubeadm/app/phases/kubeconfig/
#: kubeconfig.go` getKubeConfigSpecsBase): file -> (CN, O); clientAuth, signed by the cluster CA.
KUBECONFIG_CLIENTS = {"admin": ("kubernetes-admin", ("system:masters",)), "controller-manager": ("system:kube-controller-manager", ()),
                      "scheduler": ("system:kube-scheduler", ())}


def wait_api_healthy(url, ca_path, timeout=None):
    """kubeadm's WaitForAPI (`cmd/kubeadm/app/util/apiclient/wait.go`): GET /healthz until it
    answers 200 "ok" (the kubelet starts the static pods; the API server is healthy once its
    etcd answers)."""
    ctx = client.context(read(ca_path), verify=True) if exists(ca_path) else client.context(verify=False)
    start = time.time()
    deadline = start + (timeout or float(os.environ.get("STANDIN_WAIT_CP_TIMEOUT", "40")))
    last = None
    while time.time() < deadline:
        try:
            client.request(url, "GET", "/healthz", ctx, timeout=2)
            print("[apiclient] All control plane components are healthy after %.6f seconds" % (time.time() - start))
            return
        except Exception as e:  # noqa: BLE001 - not up yet (refused, 500 while etcd is down)
            last = getattr(e, "message", None) or e
            time.sleep(0.2)
    raise CmdError("couldn't initialize a Kubernetes cluster: timed out waiting for the condition (%s)" % last)


def _component_args(cmd, base_args, extra):
    """kubeadm's command line: its flags, the component's extraArgs overriding and adding
    (`cmd/kubeadm/app/util/arguments.go` BuildArgumentListFromMap: sorted by name)."""
    base = {a.split("=", 1)[0]: a for a in base_args}
    base.update({"--" + k: "--%s=%s" % (k, val) for k, val in (extra or {}).items()})
    return [cmd] + [base[k] for k in sorted(base)]


def _probe(host, port, path, scheme):
    return {"httpGet": {"host": host, "path": path, "port": port, "scheme": scheme},
            "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 15, "failureThreshold": 8}


def control_plane_manifest(which, cluster, repo, version, address, port, svc, pods, certdir, domain, patches):
    """The static pod of kube-<which> as kubeadm 1.22 writes it (`cmd/kubeadm/app/phases/
    controlplane/manifests.go` getAPIServerCommand, getControllerManagerCommand,
    getSchedulerCommand; probes of GetStaticPodSpecs: kube-apiserver /livez, /readyz on the
    advertise address and port over HTTPS; kube-controller-manager and kube-scheduler /healthz
    on 127.0.0.1:10257 and 127.0.0.1:10259 over HTTPS), with the component's extraArgs and
    extraVolumes and the patches of `patches`."""
    pk = certdir.rstrip("/")
    if which == "apiserver":
        args = ["--advertise-address=" + address, "--allow-privileged=true", "--authorization-mode=Node,RBAC",
                "--client-ca-file=%s/ca.crt" % pk, "--enable-admission-plugins=NodeRestriction", "--enable-bootstrap-token-auth=true",
                "--etcd-cafile=%s/etcd/ca.crt" % pk, "--etcd-certfile=%s/apiserver-etcd-client.crt" % pk,
                "--etcd-keyfile=%s/apiserver-etcd-client.key" % pk, "--etcd-servers=https://127.0.0.1:2379",
                "--kubelet-client-certificate=%s/apiserver-kubelet-client.crt" % pk,
                "--kubelet-client-key=%s/apiserver-kubelet-client.key" % pk,
                "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                "--proxy-client-cert-file=%s/front-proxy-client.crt" % pk, "--proxy-client-key-file=%s/front-proxy-client.key" % pk,
                "--requestheader-allowed-names=front-proxy-client", "--requestheader-client-ca-file=%s/front-proxy-ca.crt" % pk,
                "--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-username-headers=X-Remote-User", "--secure-port=%d" % port,
                "--service-account-issuer=https://kubernetes.default.svc." + domain,
                "--service-account-key-file=%s/sa.pub" % pk, "--service-account-signing-key-file=%s/sa.key" % pk,
                "--service-cluster-ip-range=" + svc, "--tls-cert-file=%s/apiserver.crt" % pk,
                "--tls-private-key-file=%s/apiserver.key" % pk]
        probes = {"livenessProbe": _probe(address, port, "/livez", "HTTPS"), "readinessProbe": _probe(address, port, "/readyz", "HTTPS"),
                  "startupProbe": _probe(address, port, "/livez", "HTTPS")}
        key = "apiServer"
    elif which == "controller-manager":
        kc = "/etc/kubernetes/controller-manager.conf"
        args = ["--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc, "--bind-address=127.0.0.1",
                "--client-ca-file=%s/ca.crt" % pk, "--cluster-name=kubernetes", "--cluster-signing-cert-file=%s/ca.crt" % pk,
                "--cluster-signing-key-file=%s/ca.key" % pk, "--controllers=*,bootstrapsigner,tokencleaner", "--kubeconfig=" + kc,
                "--leader-elect=true", "--requestheader-client-ca-file=%s/front-proxy-ca.crt" % pk,
                "--root-ca-file=%s/ca.crt" % pk, "--service-account-private-key-file=%s/sa.key" % pk,
                "--use-service-account-credentials=true"]
        if pods:
            args += ["--allocate-node-cidrs=true", "--cluster-cidr=" + pods, "--service-cluster-ip-range=" + svc]
        probes = {"livenessProbe": _probe("127.0.0.1", 10257, "/healthz", "HTTPS"),
                  "startupProbe": _probe("127.0.0.1", 10257, "/healthz", "HTTPS")}
        key = "controllerManager"
    else:
        kc = "/etc/kubernetes/scheduler.conf"
        args = ["--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc, "--bind-address=127.0.0.1",
                "--kubeconfig=" + kc, "--leader-elect=true"]
        probes = {"livenessProbe": _probe("127.0.0.1", 10259, "/healthz", "HTTPS"),
                  "startupProbe": _probe("127.0.0.1", 10259, "/healthz", "HTTPS")}
        key = "scheduler"
    comp = cluster.get(key) or {}
    command = _component_args("kube-" + which, args, comp.get("extraArgs"))
    text = manifest("kube-" + which, "%s/kube-%s:%s" % (repo, which, version), command, volumes=comp.get("extraVolumes") or [],
                    probes=probes)
    return apply_patches(text, "kube-" + which, patches)


def etcd_manifest(node, address, certdir, existing, patches, extra=None):
    """kubeadm 1.22's local etcd static pod (`cmd/kubeadm/app/phases/etcd/local.go`
    getEtcdCommand, GetEtcdPodSpec): client URLs on 127.0.0.1 and the advertise address, the
    metrics (and liveness probe) URL http://127.0.0.1:2381, peer URLs on the advertise address;
    `existing` ({name: peer URL}) makes a joining member's --initial-cluster and
    --initial-cluster-state=existing."""
    pk = certdir.rstrip("/")
    peer = "https://%s:2380" % address
    cluster = dict(existing or {})
    cluster[node] = peer
    args = ["--advertise-client-urls=https://%s:2379" % address, "--cert-file=%s/etcd/server.crt" % pk,
            "--client-cert-auth=true", "--data-dir=/var/lib/etcd", "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=" + ",".join("%s=%s" % (n, u) for n, u in cluster.items()),
            "--key-file=%s/etcd/server.key" % pk, "--listen-client-urls=https://127.0.0.1:2379,https://%s:2379" % address,
            "--listen-metrics-urls=http://127.0.0.1:2381", "--listen-peer-urls=" + peer, "--name=" + node,
            "--peer-cert-file=%s/etcd/peer.crt" % pk, "--peer-client-cert-auth=true", "--peer-key-file=%s/etcd/peer.key" % pk,
            "--peer-trusted-ca-file=%s/etcd/ca.crt" % pk, "--snapshot-count=10000", "--trusted-ca-file=%s/etcd/ca.crt" % pk]
    if existing:
        args.append("--initial-cluster-state=existing")
    probes = {"livenessProbe": _probe("127.0.0.1", 2381, "/health", "HTTP"), "startupProbe": _probe("127.0.0.1", 2381, "/health", "HTTP")}
    text = manifest("etcd", "k8s.gcr.io/etcd:3.5.0-0", _component_args("etcd", args, extra), probes=probes)
    return apply_patches(text, "etcd", patches)


def wait_etcd_healthy(timeout):
    """Until the local member's /health (http://127.0.0.1:2381, what its liveness probe asks)
    answers `"health":"true"`."""
    import urllib.request
    url = "http://%s:2381/health" % local_host("127.0.0.1")
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if json.loads(r.read().decode()).get("health") == "true":
                    return
        except (OSError, ValueError) as e:
            last = e
        time.sleep(0.2)
    raise CmdError("error creating local etcd static pod manifest file: timeout waiting for etcd cluster to be available (%s)" % last)


def svc_ip10(cidr):
    return str(ipaddress.ip_network(cidr.split(",")[0], strict=False)[10])


def kubelet_config(domain, dns):
    return yaml.safe_dump({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                           "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}, "anonymous": {"enabled": False}},
                           "cgroupDriver": "systemd", "clusterDNS": dns, "clusterDomain": domain,
                           "staticPodPath": "/etc/kubernetes/manifests", "rotateCertificates": True})


def manifest(name, image, command, env=None, volumes=(), probes=None):
    c = {"name": name, "image": image, "command": command}
    c.update(probes or {})
    if env:
        c["env"] = [{"name": k, "value": val} for k, val in env.items()]
    spec = {"hostNetwork": True, "priorityClassName": "system-node-critical", "containers": [c]}
    if volumes:
        c["volumeMounts"] = [{"name": vol["name"], "mountPath": vol["mountPath"], "readOnly": bool(vol.get("readOnly"))} for vol in volumes]
        spec["volumes"] = [{"name": vol["name"], "hostPath": {"path": vol["hostPath"], "type": vol.get("pathType", "")}} for vol in volumes]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kube-system",
                                                                            "labels": {"component": name, "tier": "control-plane"}},
                           "spec": spec})


def merge(dst, patch):
    """A JSON merge patch (RFC 7386), what kubeadm applies for `+merge` patch files."""
    if not isinstance(patch, dict) or not isinstance(dst, dict):
        return patch
    out = dict(dst)
    for k, val in patch.items():
        if val is None:
            out.pop(k, None)
        else:
            out[k] = merge(dst.get(k), val)
    return out


def apply_patches(text, component, directory):
    """kubeadm's patches (cmd/kubeadm/app/util/patches): files in `directory` named
    <component>[suffix][+strategic|+merge|+json].yaml, applied in file-name order; the
    stand-in applies `+merge` (edgeadm writes kube-apiserver0+merge.yaml) and refuses the rest."""
    if not directory or not os.path.isdir(P(directory)):
        return text
    doc = yaml.safe_load(text)
    for fn in sorted(os.listdir(P(directory))):
        m = re.match(r"^(kube-apiserver|kube-controller-manager|kube-scheduler|etcd)([^+.]*)(\+(strategic|merge|json))?\.(yaml|json)$", fn)
        if not m or m.group(1) != component:
            continue
        if m.group(4) not in (None, "merge", "strategic"):
            raise CmdError("the stand-in applies only merge patches, not %s" % fn)
        doc = merge(doc, yaml.safe_load(read(directory.rstrip("/") + "/" + fn)) or {})
        print('[patches] Applied patch of type "application/merge-patch+json" to target "%s"' % component)
    return yaml.safe_dump(doc)


EGRESS = """apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      tcp:
        url: https://tunnel-cloud.edge-system.svc.cluster.local:8000
        tlsConfig:
          caBundle: /etc/kubernetes/pki/ca.crt
          clientCert: /etc/kubernetes/pki/tunnel-anp-client.crt
          clientKey: /etc/kubernetes/pki/tunnel-anp-client.key
"""


KUBELET_CHECK = ("[kubelet-check] It seems like the kubelet isn't running or healthy.\n"
                 "[kubelet-check] The HTTP call equal to 'curl -sSL http://localhost:10248/healthz' failed with error: "
                 "Get \"http://localhost:10248/healthz\": dial tcp 127.0.0.1:10248: connect: connection refused.\n")
DOCKERSHIM = "/var/run/dockershim.sock"


def kubeadm_flags_env(cri, node, extra):
    """kubeadm's kubeadm-flags.env (phases/kubelet/flags.go): the runtime flags, the node name
    when it is not the hostname, the pause image; kubeletExtraArgs override and add, each
    written as --key=value, sorted, on one line."""
    flags = {}
    if cri == DOCKERSHIM:
        flags["network-plugin"] = "cni"
    else:
        flags["container-runtime"] = "remote"
        flags["container-runtime-endpoint"] = cri
    flags["pod-infra-container-image"] = "k8s.gcr.io/pause:3.5"
    if node != socket.gethostname().lower():
        flags["hostname-override"] = node
    flags.update(extra)
    return 'KUBELET_KUBEADM_ARGS="%s"\n' % " ".join("--%s=%s" % (k, flags[k]) for k in sorted(flags))


def kubelet_running():
    exe = systemctl_exe()
    if exe is None:
        return False
    return subprocess.run([exe, "is-active", "-q", "kubelet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def try_start_kubelet():
    """kubeadm's TryStartKubelet: a kubelet that does not start is only a warning here."""
    exe = systemctl_exe()
    if exe is None:
        print("[kubelet-start] WARNING: unable to start the kubelet service: couldn't find systemctl")
        return
    p = subprocess.run([exe, "restart", "kubelet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        print("[kubelet-start] WARNING: unable to start the kubelet service: [%s]" % p.stdout.strip().splitlines()[0] if p.stdout.strip()
              else "[kubelet-start] WARNING: unable to start the kubelet service")


def wait_node(get, name, on_timeout="error patching node \"%s\" through apiserver: timed out waiting for the condition"):
    """Poll until the kubelet has registered the Node (STANDIN_NODE_TIMEOUT, default 40s); a
    kubelet that is not running never will, so that fails at once with kubeadm's advice."""
    deadline = time.time() + float(os.environ.get("STANDIN_NODE_TIMEOUT", "40"))
    while True:
        n = get()
        if n is not None:
            return n
        if not kubelet_running():
            raise CmdError(KUBELET_CHECK + (on_timeout % name if "%s" in on_timeout else on_timeout))
        if time.time() > deadline:
            raise CmdError(on_timeout % name if "%s" in on_timeout else on_timeout)
        time.sleep(0.5)


EDGE_CRDS = {
    "service-group": [("superedge.io", "DeploymentGrid", "deploymentgrids", ["v1"], "Namespaced"),
                      ("superedge.io", "StatefulSetGrid", "statefulsetgrids", ["v1"], "Namespaced"),
                      ("superedge.io", "ServiceGrid", "servicegrids", ["v1"], "Namespaced")],
    "site-manager": [("site.superedge.io", "NodeUnit", "nodeunits", ["v1alpha1", "v1alpha2"], "Cluster"),
                     ("site.superedge.io", "NodeGroup", "nodegroups", ["v1alpha1", "v1alpha2"], "Cluster")],
}


#: The manifest files of edgeadm's edge-apps sub-phases (pkg/edgeadm/constant/manifests/*.go
#: APP_* constants; the files `edgeadm manifests` writes).
EDGE_APP_FILES = {"service-group": ["application-grid-controller.yaml", "application-grid-wrapper.yaml"],
                  "tunnel": ["tunnel-cloud.yaml", "tunnel-edge.yaml"],
                  "edge-health": ["edge-health.yaml", "edge-health-admission.yaml"],
                  "site-manager": ["site-manager.yaml"], "edge-coredns": ["edge-coredns.yaml"]}


def _workload(kind, name, image_key, extra=""):
    return ("apiVersion: apps/v1\nkind: %s\nmetadata:\n  name: %s\n  namespace: {{.Namespace}}\nspec:\n"
            "  selector:\n    matchLabels: {app: %s}\n  template:\n    metadata:\n      labels: {app: %s}\n"
            "    spec:\n      containers:\n      - name: %s\n        image: {{.%s}}\n%s" % (kind, name, name, name, name, image_key, extra))


#: Stand-in manifests: the workloads of SuperEdge's real ones with the real template keys
#: where the chain's values go (images; tunnel-edge's server address and token; the virtual
#: address), not their whole text.
EDGE_APP_TEMPLATES = {
    "application-grid-controller.yaml": _workload("Deployment", "application-grid-controller", "GridControllerImage"),
    "application-grid-wrapper.yaml": _workload("DaemonSet", "application-grid-wrapper-node", "GridWrapperImage",
                                               "        args: ['--bind-address={{.ADDRESS}}']\n"),
    "tunnel-cloud.yaml": _workload("Deployment", "tunnel-cloud", "TunnelImage") +
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: tunnel-cloud-conf, namespace: '{{.Namespace}}'}\n"
    "data:\n  token: '{{.TunnelCloudEdgeToken}}'\n",
    "tunnel-edge.yaml": _workload("DaemonSet", "tunnel-edge", "TunnelImage") +
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: tunnel-edge-conf, namespace: '{{.Namespace}}'}\n"
    "data:\n  mode.toml: |\n    token = \"{{.TunnelCloudEdgeToken}}\"\n"
    "    server_name = \"{{.MasterIP}}:{{.TunnelPersistentConnectionPort}}\"\n",
    "edge-health.yaml": _workload("DaemonSet", "edge-health", "EdgeHealthImage"),
    "edge-health-admission.yaml": _workload("Deployment", "edge-health-admission", "EdgeHealthAdmissionImage"),
    "site-manager.yaml": _workload("Deployment", "site-manager", "SiteManagerImage"),
    "edge-coredns.yaml": _workload("DaemonSet", "edge-coredns", "CoreDnsImage",
                                   "        args: ['--listen={{.EdgeVirtualAddr}}']\n"),
}
#: The rest of what `edgeadm manifests` writes (pkg/edgeadm/cmd/manifests.go yamlMap).
OTHER_MANIFESTS = ["kube-flannel.yaml", "helper-job.yaml", "lite-apiserver.yaml", "edge-health-webhook.yaml", "vip.yaml"]


def edge_app_values(cfg, whole):
    """The template values edgeadm's deploy functions pass (pkg/edgeadm/common/deploy_*.go):
    images <repo>/<name>:<version> (common.GetSuperEdgeImage; coredns 1.6.9), tunnel-edge's
    server = certSANs[0] else controlPlaneEndpoint (steps/edge_app.go EnsureTunnelAddon), the
    tunnel token made in init's PreRunE (empty in a phase), the virtual address."""
    img = lambda n: "%s/%s:%s" % (cfg.edge_repo, n, cfg.edge_version)  # noqa: E731
    return {"Namespace": "edge-system", "TunnelImage": img("tunnel"), "EdgeHealthImage": img("edge-health"),
            "EdgeHealthAdmissionImage": img("edge-health-admission"), "SiteManagerImage": img("site-manager"),
            "GridControllerImage": img("application-grid-controller"), "GridWrapperImage": img("application-grid-wrapper"),
            "CoreDnsImage": "%s/coredns:1.6.9" % cfg.edge_repo, "EdgeVirtualAddr": cfg.edge_virtual, "ADDRESS": cfg.edge_virtual,
            "MasterIP": (cfg.sans[0] if cfg.sans else cfg.cpe.rsplit(":", 1)[0] if cfg.cpe else ""),
            "TunnelPersistentConnectionPort": "31673", "TunnelCloudEdgeToken": cfg.tunnel_token if whole else ""}


def cmd_manifests(rest):
    """`edgeadm manifests [-m DIR]` (pkg/edgeadm/cmd/manifests.go): writes each default manifest
    not yet in DIR (default ./manifests/); errors are printed and it exits 0 (util.OutPutMessage)."""
    try:
        vals, pos = parse_flags(rest, dict(GLOBAL, **{"manifest-dir": S}), dict(SHORTS, m="manifest-dir"))
    except FlagError as e:
        fail_cobra("manifests", str(e))
    d = vals.get("manifest-dir", "./manifests/")
    try:
        for fn in list(EDGE_APP_TEMPLATES) + OTHER_MANIFESTS:
            path = d.rstrip("/") + "/" + fn
            if not exists(path):
                write(path, EDGE_APP_TEMPLATES.get(fn, "# %s\n" % fn))
    except OSError as e:
        print("\033[1;31;40m%s\033[0m" % e)
        return 0
    print("Success output edge clsuter yaml files to %s" % d)
    return 0


def put_crd(group, kind, plural, versions, scope):
    put_obj({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "%s.%s" % (plural, group)},
             "spec": {"group": group, "scope": scope,
                      "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
                      "versions": [{"name": v, "served": True, "storage": v == versions[-1]} for v in versions]},
             "status": {"conditions": [{"type": "Established", "status": "True"}]}},
            "apiextensions.k8s.io", "customresourcedefinitions")


def install_runtime(rt):
    """The container phase: simsite/standins/runtime.py (edgeadm's runtime.go)."""
    from .runtime import InstallError, install
    try:
        install(rt, INSTALL_DIR.rstrip("/"))
    except InstallError as e:
        raise CmdError(str(e))


def node_checks(cri_socket, ignore):
    """kubeadm 1.22's node checks the chain depends on: simsite/standins/preflight.py."""
    from .preflight import PreflightError, check_node
    try:
        check_node(cri_socket, ignore, sys.stderr.write)
    except PreflightError as e:
        raise CmdError(str(e).rstrip("\n"))


def systemctl_exe():
    """The host's systemctl (the stand-in in /usr/local/bin); none in a STANDIN_ROOT sandbox
    unless STANDIN_SYSTEMCTL names one (this machine's own systemctl must never be called)."""
    if os.environ.get("STANDIN_ROOT"):
        return os.environ.get("STANDIN_SYSTEMCTL")
    return shutil.which("systemctl", path="/usr/local/bin:" + os.environ.get("PATH", ""))


def systemctl(*args):
    exe = systemctl_exe()
    if exe:
        subprocess.run([exe] + list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_steps(kind, steps, only, skip, state):
    selected = []
    for name, fn in steps:
        top = name.split("/")[0]
        if only and not (name == only or top == only):
            continue
        if not only and (top in skip or name in skip):
            continue
        selected.append((name, fn))
    for name, fn in selected:
        state["phase"] = "%s/%s" % (kind, name)
        spec = fault(["edgeadm:%s:%s" % (kind, name), "edgeadm:%s:%s" % (kind, name.split("/")[0])])
        try:
            if spec:
                raise CmdError("injected fault (%s)" % spec)
            fn()
        except (CmdError, RuntimeError, OSError) as e:
            msg = str(e)
            if name.startswith("certs/"):
                msg = "failure loading %s certificate: %s" % (name.split("/")[1], msg) if spec else msg
            err("Error: error execution phase %s: %s\nTo see the stack trace of this error execute with --v=5 or higher" % (name, msg))
            raise Exit(1)


def cmd_init(vals, pos, state, only):
    if pos:
        fail_cobra("init", 'unknown command "%s" for "edgeadm init"' % pos[0])
    try:
        if vals.get("config"):
            mixed = [k for k in vals if k in ("pod-network-cidr", "service-cidr", "service-dns-domain", "apiserver-advertise-address",
                                              "apiserver-bind-port", "control-plane-endpoint", "kubernetes-version", "apiserver-cert-extra-sans",
                                              "token", "token-ttl", "cert-dir", "image-repository", "feature-gates")]
            if mixed and only is None:
                raise CmdError("can not mix '--config' with arguments %s" % json.dumps(sorted(mixed)).replace('"', "").replace(",", " "))
        cfg = config_or_exit(vals)
        if only is None:
            check_pkg(vals.get("install-pkg-path"), vals.get("kubeconfig-dir") or "/etc/kubernetes/")
            whole_init_prerun(cfg)
    except CmdError as e:
        err("Error: " + str(e))
        sys.stderr.write(usage("init"))
        raise Exit(1)
    if only is None:
        print("[init] Using Kubernetes version: " + cfg.version)
    run_steps("init", init_steps(cfg, only, state, only is None), only, set(vals.get("skip-phases") or []), state)
    if only is None:
        print("\nYour Kubernetes control-plane has initialized successfully!\n")
        ca_hash = pki.spki_hash(pki.load_cert(read(cfg.certdir + "/ca.crt")))
        for t in cfg.tokens or []:
            tok = t["token"] if isinstance(t, dict) else t
            print("edgeadm join %s --token %s \\\n    --discovery-token-ca-cert-hash %s \\\n    --install-pkg-path <Path of edgeadm kube-* install package>"
                  % (cfg.server()[8:], tok, ca_hash))
    return 0


PATCH_DIR = "/etc/kubernetes/patch/"
#: edgeadm pkg/edgeadm/constant/init.go KubeAPIServerPatch / KubeAPIServerPatchYaml
KUBE_APISERVER_PATCH = ("kube-apiserver0+merge.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n"
                        "  namespace: kube-system\nspec:\n  dnsPolicy: ClusterFirstWithHostNet\n")


def write_apiserver_patch(vals):
    d = vals.get("patches") or PATCH_DIR
    write(d.rstrip("/") + "/" + KUBE_APISERVER_PATCH[0], KUBE_APISERVER_PATCH[1])
    return d


def whole_init_prerun(cfg):
    """What `edgeadm init`'s PreRunE does, and only a whole init runs (a phase subcommand
    has no PreRunE; pkg/util/kubeadm/init.go): the CRI socket of --runtime overrides the
    configuration's; with --enable-edge, edgeadmConfigUpdate sets the API server's extraArgs
    and kube-apiserver-conf volume on the flag-built ClusterConfiguration (a --config file
    replaces that one, so they are lost with --config) and writes the kube-apiserver patch
    into the patches directory."""
    v = cfg.vals
    rt = v.get("runtime", "containerd")
    if rt not in ("containerd", "docker"):
        raise CmdError("Container runtime support 'docker' and 'containerd', not %s" % rt)
    v["cri-socket"] = "/run/containerd/containerd.sock" if rt == "containerd" else DOCKERSHIM
    if not v.get("enable-edge", True):
        return
    if not v.get("config"):
        cfg.cluster = dict(cfg.cluster, apiServer=dict(cfg.cluster.get("apiServer") or {}, extraArgs={
            "kubelet-preferred-address-types": "Hostname",
            "egress-selector-config-file": "/etc/kubernetes/kube-apiserver-conf/egress-selector-configuration.yaml",
            "enable-aggregator-routing": "true"}, extraVolumes=[{
                "name": "kube-apiserver-conf", "hostPath": "/etc/kubernetes/kube-apiserver-conf",
                "mountPath": "/etc/kubernetes/kube-apiserver-conf", "readOnly": False, "pathType": "DirectoryOrCreate"}]))
    cfg.patches = write_apiserver_patch(v)


# ------------------------------------------------------------------ join
class Discovery:
    def __init__(self, endpoint, token, hashes, skip_ca):
        self.endpoint, self.token, self.hashes, self.skip_ca = endpoint, token, hashes, skip_ca
        self.ca_pem = None
        self.kubeconfig = None

    def run(self):
        tid, _, sec = self.token.partition(".")
        server = "https://" + self.endpoint
        path = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
        insecure = client.context(verify=False)
        deadline = time.time() + float(os.environ.get("STANDIN_DISCOVERY_TIMEOUT", "10"))
        last = None
        while True:
            try:
                cm = client.request(server, "GET", path, insecure, timeout=10)   # kubeadm: ?timeout=10s
                data = cm.get("data") or {}
                if "jws-kubeconfig-" + tid in data:
                    break
                last = 'could not find a JWS signature in the cluster-info ConfigMap for token ID "%s"' % tid
            except client.APIError as e:
                last = str(e)
            except OSError as e:
                last = 'Get "%s%s?timeout=10s": dial tcp %s: connect: %s' % (server, path, self.endpoint,
                                                                             "connection refused" if isinstance(e, ConnectionRefusedError) else e)
            if time.time() > deadline:
                raise CmdError("couldn't validate the identity of the API Server: " + last)
            time.sleep(1)
        kc = data["kubeconfig"]
        if not jws.valid(data["jws-kubeconfig-" + tid], kc, tid, sec):
            raise CmdError("couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server")
        parsed = pki.parse_kubeconfig(kc)
        ca = pki.load_cert(parsed["ca"])
        actual = pki.spki_hash(ca)
        if not self.skip_ca:
            if actual not in [h.lower() for h in self.hashes]:
                raise CmdError('couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "%s" are pinned' % actual)
        secure = client.context(parsed["ca"], verify=True)
        try:
            cm2 = client.request(server, "GET", path, secure, timeout=5)
        except Exception as e:
            raise CmdError('couldn\'t validate the identity of the API Server: Get "%s%s?timeout=10s": %s' % (server, path, e))
        if cm2["data"]["kubeconfig"] != kc:
            raise CmdError("couldn't validate the identity of the API Server: the second cluster-info ConfigMap did not match the first")
        self.ca_pem = parsed["ca"]
        self.secure = secure
        self.server = server
        return self


def cmd_join(vals, pos, state, only):
    endpoint = pos[0] if pos else None
    token = vals.get("discovery-token") or vals.get("token")
    tls_token = vals.get("tls-bootstrap-token") or vals.get("token")
    control = vals.get("control-plane", False)
    edge = vals.get("enable-edge", True)
    node = (vals.get("node-name") or socket.gethostname()).lower()
    patches_dir = vals.get("patches") or ""
    try:
        if only is None:
            # join's PreRunE (pkg/util/kubeadm/join.go), a whole join only: a control-plane
            # join with --enable-edge writes the kube-apiserver patch and uses its directory.
            if control and edge:
                patches_dir = write_apiserver_patch(vals)
            check_pkg(vals.get("install-pkg-path"), vals.get("config") or "")
            if vals.get("runtime", "containerd") not in ("containerd", "docker"):
                raise CmdError("Container runtime support 'docker' and 'containerd', not %s" % vals["runtime"])
        # edgeadm's newJoinData: --install-pkg-path, --token... cannot go with --config
        validate_mixed_arguments(vals)
        if not endpoint and not vals.get("discovery-file") and not vals.get("config"):
            raise CmdError("discovery: Invalid value: \"\": bootstrapToken or file must be set")
        if endpoint and not token:
            raise CmdError("discovery.bootstrapToken.token: Invalid value: \"\": the bootstrap token is invalid")
        if endpoint and not vals.get("discovery-token-ca-cert-hash") and not vals.get("discovery-token-unsafe-skip-ca-verification"):
            raise CmdError("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. "
                           "Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
        if token and not TOKEN_RE.match(token):
            raise CmdError('discovery.bootstrapToken.token: Invalid value: "%s": the bootstrap token is invalid' % token)
    except CmdError as e:
        err("Error: " + str(e))
        sys.stderr.write(usage("join"))
        raise Exit(1)
    ctx = {"patches": patches_dir}

    def disc():
        if "d" not in ctx:
            ctx["d"] = Discovery(endpoint, token, vals.get("discovery-token-ca-cert-hash") or [],
                                 vals.get("discovery-token-unsafe-skip-ca-verification", False)).run()
        return ctx["d"]

    def edge_info():
        d = disc()
        try:
            return client.request(d.server, "GET", "/api/v1/namespaces/edge-system/configmaps/edge-info", d.secure, token=tls_token)["data"]
        except client.APIError as e:
            raise CmdError(e.message)

    def hosts_block(lines):
        cur = read("/etc/hosts", "")
        cur = re.sub(r"# begin \(generated by SuperEdge\)\n.*?# end \(generated by SuperEdge\)\n?", "", cur, flags=re.S)
        write("/etc/hosts", cur + "# begin (generated by SuperEdge)\n" + "".join(l + "\n" for l in lines if l) + "# end (generated by SuperEdge)\n")

    def init_node():
        raise CmdError("Run linux command: apt-get update error: exit status 100 (Could not resolve 'archive.ubuntu.com'); "
                       "yum install error: Cannot find a valid baseurl for repo: base/7/x86_64")

    def join_prepare():
        # pkg/edgeadm/steps/join_master.go joinPreparePhase: `defer` removes the bootstrap
        # kubeconfig and /etc/kubernetes/pki/ca.crt (constant.KubeadmCertPath) when the phase
        # returns, on a control-plane join too.
        try:
            join_prepare_body()
        finally:
            for f in ("/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/pki/ca.crt"):
                try:
                    os.unlink(P(f))
                except OSError:
                    pass

    def join_prepare_body():
        host = endpoint.rsplit(":", 1)[0]
        disc()
        lines = []
        try:
            ipaddress.ip_address(host)
            lines.append("%s kubernetes.default" % host)
        except ValueError:
            pass
        if not control and edge:
            try:
                info = edge_info()
                ctx["dns"] = info.get("edge-virtual-addr", "169.254.20.11").strip()
                lines += [l for l in (info.get("host-config") or "").splitlines()]
            except CmdError as e:  # edgeadm logs and carries on here
                sys.stderr.write("E Prepare Join edge node, error: %s\n" % e)
        hosts_block(lines)

    def container():
        install_runtime(vals.get("runtime", "containerd"))

    def lite_apiserver():
        if control or not edge:
            return
        info = edge_info()
        for k in ("kube-api-ca.crt", "lite-apiserver.key", "lite-apiserver.crt", "tls.json"):
            if k not in info:
                raise CmdError("Get lite-apiserver configMap %s value nil" % k)
        write("/etc/kubernetes/pki/lite-apiserver-ca.crt", info["kube-api-ca.crt"])
        write("/etc/kubernetes/edge/lite-apiserver.crt", info["lite-apiserver.crt"])
        write("/etc/kubernetes/edge/lite-apiserver.key", info["lite-apiserver.key"], 0o600)
        write("/etc/kubernetes/edge/tls.json", info["tls.json"])
        port = endpoint.rsplit(":", 1)[1] if ":" in endpoint else "443"
        va = info.get("edge-virtual-addr", "169.254.20.11").strip()
        write("/etc/kubernetes/edge/lite-apiserver.conf",
              "--ca-file=/etc/kubernetes/pki/lite-apiserver-ca.crt\n--tls-cert-file=/etc/kubernetes/edge/lite-apiserver.crt\n"
              "--tls-private-key-file=/etc/kubernetes/edge/lite-apiserver.key\n--kube-apiserver-url=kubernetes.default\n"
              "--kube-apiserver-port=%s\n--port=51003\n--tls-config-file=/etc/kubernetes/edge/tls.json\n--file-cache-path=/data/lite-apiserver/cache\n" % port)
        write("/etc/systemd/system/lite-apiserver.service",
              "[Unit]\nDescription=lite-apiserver\n\n[Service]\nExecStart=/usr/bin/lite-apiserver --config=/etc/kubernetes/edge/lite-apiserver.conf\n"
              "Restart=always\n\n[Install]\nWantedBy=multi-user.target\n")
        write("/var/lib/standins/lite-apiserver-iface.json", json.dumps({"interface": "lite-apiserver", "type": "dummy", "address": va + "/32",
                                                                          "note": "not created in the simulated host"}))
        for a in (("daemon-reload",), ("restart", "lite-apiserver.service"), ("enable", "lite-apiserver.service")):
            systemctl(*a)
        ctx["lite"] = "https://%s:51003" % va

    def preflight():
        print("[preflight] Running pre-flight checks")
        node_checks(vals.get("cri-socket") or ("/var/run/dockershim.sock" if vals.get("runtime") == "docker" else
                                               "/run/containerd/containerd.sock"), vals.get("ignore-preflight-errors"))
        if control and not vals.get("certificate-key"):
            # kubeadm phases/join/preflight.go: without a certificate key the certificates
            # shared among control-plane instances must be in place (checkIfReadyForAdditionalControlPlane).
            shared = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key",
                      "etcd/ca.crt", "etcd/ca.key"]
            missing = [f for f in shared if not exists("/etc/kubernetes/pki/" + f)]
            if missing:
                raise CmdError("\nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n"
                               "[failure loading certificate authority: couldn't load the certificate file "
                               "/etc/kubernetes/pki/%s: open /etc/kubernetes/pki/%s: no such file or directory]\n\n"
                               "Please ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n"
                               "* The certificates that must be shared among control plane instances are provided." % (missing[0], missing[0]))
        if exists("/etc/kubernetes/kubelet.conf"):
            if "all" not in [x.lower() for x in vals.get("ignore-preflight-errors", [])] and "fileavailable--etc-kubernetes-kubelet.conf" not in [x.lower() for x in vals.get("ignore-preflight-errors", [])]:
                raise CmdError("[preflight] Some fatal errors occurred:\n\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists")
        disc()

    def cp_prepare():
        if not control:
            return
        d = disc()
        key = vals.get("certificate-key")
        sec = {"data": {}}
        if key:
            try:
                sec = client.request(d.server, "GET", "/api/v1/namespaces/kube-system/secrets/kubeadm-certs", d.secure, token=tls_token)
            except client.APIError as e:
                raise CmdError("error downloading certs: error downloading the secret: " + e.message)
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            aes = AESGCM(bytes.fromhex(key))
        for k, v in sec.get("data", {}).items():
            raw = base64.b64decode(base64.b64decode(v))
            try:
                plain = aes.decrypt(raw[:12], raw[12:], None)
            except Exception:
                raise CmdError("error downloading certs: error decoding secret data with provided key: cipher: message authentication failed")
            fname = k.replace("etcd-", "etcd/") if k.startswith("etcd-") else k
            write("/etc/kubernetes/pki/" + fname, plain, 0o600 if fname.endswith(".key") else 0o644)
        # kubeadm join's control-plane-prepare certs/kubeconfig/control-plane
        # (`cmd/kubeadm/app/cmd/phases/join/controlplaneprepare.go`): this master's own leaf
        # certificates from the shared CAs (certs.CreatePKIAssets), its admin,
        # controller-manager and scheduler kubeconfigs, its static pod manifests, all made
        # from the cluster's ClusterConfiguration (ConfigMap kube-system/kubeadm-config)
        # and this node's name and advertise address.
        cl = ctx.get("cluster")
        if cl is None:
            try:
                cm = client.request(d.server, "GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", d.secure, token=tls_token)
                cl = yaml.safe_load((cm.get("data") or {}).get("ClusterConfiguration") or "") or {}
            except client.APIError as e:
                raise CmdError("unable to fetch the kubeadm-config ConfigMap: " + e.message)
            ctx["cluster"] = cl
        net = cl.get("networking") or {}
        svc = net.get("serviceSubnet") or "10.96.0.0/12"
        domain = net.get("dnsDomain") or "cluster.local"
        certdir = "/etc/kubernetes/pki"
        cpe = cl.get("controlPlaneEndpoint") or ""
        cpe_host = cpe.rsplit(":", 1)[0] if cpe.count(":") == 1 else cpe
        adv = vals.get("apiserver-advertise-address") or default_ip()
        port = int(vals.get("apiserver-bind-port") or 6443)
        ctx.update(adv=adv, port=port)
        write("/etc/kubernetes/pki/apiserver.crt", "")  # replaced below
        os.unlink(P("/etc/kubernetes/pki/apiserver.crt"))
        cas = {}
        for base in ("ca", "front-proxy-ca", "etcd/ca"):
            cert_pem_, key_pem_ = read("%s/%s.crt" % (certdir, base)), read("%s/%s.key" % (certdir, base))
            if not cert_pem_ or not key_pem_:
                raise CmdError("failure loading %s certificate authority: couldn't load the certificate file %s/%s.crt: "
                               "open %s/%s.crt: no such file or directory" % (base, certdir, base, certdir, base))
            cas[base] = (pki.load_cert(cert_pem_), pki.load_key(key_pem_))
        svc_ip = str(ipaddress.ip_network(svc.split(",")[0], strict=False)[1])
        for name, (base, ca_base, cn, orgs, dns, ips, server, client_) in kubeadm_leaves(
                node, adv, svc_ip, domain, (cl.get("apiServer") or {}).get("certSANs") or [], cpe_host).items():
            print(pki.ensure_leaf(base, cas[ca_base], cn, orgs, dns, ips, server=server, client=client_, pki=certdir))
        c = cas["ca"][0]
        for which, (cn, orgs) in KUBECONFIG_CLIENTS.items():
            fn = "/etc/kubernetes/%s.conf" % which
            cert, key_ = pki.new_signed_cert(c, cas["ca"][1], cn, orgs)
            server = d.server if which == "admin" else "https://%s:%d" % (adv, port)
            write(fn, pki.kubeconfig(server, pki.cert_pem(c), cn, pki.cert_pem(cert), pki.key_pem(key_)), 0o600)
            print('[kubeconfig] Writing "%s.conf" kubeconfig file' % which)
        repo = cl.get("imageRepository") or "k8s.gcr.io"
        version = cl.get("kubernetesVersion") or K8S_VERSION
        for comp in ("apiserver", "controller-manager", "scheduler"):
            text = control_plane_manifest(comp, cl, repo, version, adv, port, svc, net.get("podSubnet") or "", certdir, domain,
                                          ctx.get("patches", ""))
            write("/etc/kubernetes/manifests/kube-%s.yaml" % comp, text, 0o600)
            print('[control-plane] Creating static Pod manifest for "kube-%s"' % comp)

    def kube_vip_join():
        # steps/kube_vip.go installKubeVIP (JoinData): a control-plane join with --default-ha
        # (default kube-vip) writes kube-vip's static pod holding the discovery endpoint's host.
        if not control or not vals.get("default-ha", "kube-vip"):
            return
        vip = endpoint.rsplit(":", 1)[0]
        write("/etc/kubernetes/manifests/vip.yaml", manifest("kube-vip", "ghcr.io/kube-vip/kube-vip:v0.3.8", ["manager"],
                                                             env={"vip_interface": vals.get("interface", "eth0"), "vip_address": vip}))
        # kube-vip elects a leader (constant/manifests/kube-vip.go: vip_leaderelection "true"):
        # a joining master's kube-vip does not take the address while the leader holds it.
        print("Installed kube-vip successfully")

    def kubelet_start():
        d = disc()
        from cryptography import x509 as _x
        from cryptography.hazmat.primitives import hashes as _h
        k = pki.new_key()
        csr = _x.CertificateSigningRequestBuilder().subject_name(_x.Name([
            _x.NameAttribute(_x.oid.NameOID.ORGANIZATION_NAME, "system:nodes"),
            _x.NameAttribute(_x.oid.NameOID.COMMON_NAME, "system:node:" + node)])).sign(k, _h.SHA256())
        from cryptography.hazmat.primitives import serialization as _s
        body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "csr-" + rand(5)},
                "spec": {"request": base64.b64encode(csr.public_bytes(_s.Encoding.PEM)).decode(), "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                         "usages": ["digital signature", "key encipherment", "client auth"]}}
        try:
            resp = client.request(d.server, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", d.secure, body=body, token=tls_token)
        except client.APIError as e:
            raise CmdError("error uploading crisocket: " + e.message)
        # kube-controller-manager approves and signs it, or leaves it pending (the stand-in
        # API server's csr.py): wait as kubeadm waits for the TLS bootstrap, then give up
        deadline = time.time() + float(os.environ.get("STANDIN_NODE_TIMEOUT", "40"))
        while not (resp.get("status") or {}).get("certificate"):
            if time.time() > deadline:
                raise CmdError("\n\tUnfortunately, an error has occurred:\n\t\ttimed out waiting for the condition\n\n"
                               "\tThis error is likely caused by:\n\t\t- The kubelet is not running\n"
                               "\t\t- The kubelet is unhealthy due to a misconfiguration of the node in some way "
                               "(required cgroups disabled)\n\n"
                               "timed out waiting for the condition (CertificateSigningRequest %s is not approved)"
                               % resp["metadata"]["name"])
            time.sleep(0.5)
            resp = client.request(d.server, "GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/"
                                  + resp["metadata"]["name"], d.secure, token=tls_token)
        cert_pem = base64.b64decode(resp["status"]["certificate"]).decode()
        write("/var/lib/kubelet/pki/kubelet-client-current.pem", cert_pem + pki.key_pem(k), 0o600)
        server = ctx.get("lite") or d.server.replace(endpoint.rsplit(":", 1)[0], "kubernetes.default") if not control and edge else d.server
        write("/etc/kubernetes/kubelet.conf", pki.kubeconfig(server, d.ca_pem, "system:node:" + node, cert_pem, pki.key_pem(k)), 0o600)
        dns = [ctx["dns"]] if ctx.get("dns") else ["10.96.0.10"]
        write("/var/lib/kubelet/config.yaml", kubelet_config("cluster.local", dns))
        extra = {"cluster-dns": ctx["dns"]} if ctx.get("dns") else {}
        cri = vals.get("cri-socket") or ("/run/containerd/containerd.sock" if vals.get("runtime", "containerd") == "containerd" else DOCKERSHIM)
        write("/var/lib/kubelet/kubeadm-flags.env", kubeadm_flags_env(cri, node, extra))
        print("[kubelet-start] Starting the kubelet")
        try_start_kubelet()
        print("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...")

        def get():
            try:
                return client.request(d.server, "GET", "/api/v1/nodes/" + node, d.secure, token=tls_token)
            except client.APIError as e:
                if e.status == 404:
                    return None
                raise CmdError(e.message)
        wait_node(get, node, "error uploading crisocket: timed out waiting for the condition")
        # kubeadm annotates the CRI socket; edgeadm labels cloud/edge nodes
        labels = {"superedge.io/node-cloud": "enable"} if control or not edge else {"superedge.io/node-edge": "enable",
                                                                                    "superedge.io.hostname": node}
        client.request(d.server, "PATCH", "/api/v1/nodes/" + node, d.secure, token=tls_token, content_type="application/merge-patch+json",
                       body={"metadata": {"labels": labels, "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": cri}}})

    def check_etcd():
        pass

    def cp_join_etcd():
        """control-plane-join/etcd (kubeadm `cmd/kubeadm/app/cmd/phases/join/controlplanejoin.go`
        runEtcdPhase -> etcdphase.CreateStackedEtcdStaticPodManifestFile): the new member is
        added to the cluster, its static pod written with the existing members in
        --initial-cluster and --initial-cluster-state=existing, then kubeadm waits for the
        cluster to be available."""
        if not control:
            return
        adv = ctx.get("adv") or vals.get("apiserver-advertise-address") or default_ip()
        existing = {n: u for n, u in store.members().items() if n != node}
        store.add_member(node, "https://%s:2380" % adv)
        etcd_local = ((ctx.get("cluster") or {}).get("etcd") or {}).get("local") or {}
        write("/etc/kubernetes/manifests/etcd.yaml", etcd_manifest(node, adv, "/etc/kubernetes/pki", existing,
                                                                   ctx.get("patches", ""), etcd_local.get("extraArgs")), 0o600)
        print("[etcd] Announced new etcd member joining to the existing etcd cluster")
        print('[etcd] Creating static Pod manifest for "etcd"')
        print("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s")
        wait_etcd_healthy(float(os.environ.get("STANDIN_ETCD_JOIN_TIMEOUT", "40")))

    def cp_join():
        if control:
            d = disc()
            n = client.request(d.server, "GET", "/api/v1/nodes/" + node, d.secure, token=tls_token)
            taints = [t for t in (n.get("spec") or {}).get("taints") or [] if t["key"] != "node-role.kubernetes.io/master"]
            taints.append({"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"})
            client.request(d.server, "PATCH", "/api/v1/nodes/" + node, d.secure, token=tls_token, content_type="application/merge-patch+json",
                           body={"metadata": {"labels": {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": "",
                                                         "node.kubernetes.io/exclude-from-external-load-balancers": ""}},
                                 "spec": {"taints": taints}})
            print("[mark-control-plane] Marking the node %s as control-plane" % node)

    steps = [("init-node", init_node), ("join-prepare", join_prepare), ("container", container), ("lite-apiserver", lite_apiserver),
             ("preflight", preflight), ("control-plane-prepare/all", cp_prepare), ("check-etcd", check_etcd),
             ("kubelet-start", kubelet_start), ("kube-vip", kube_vip_join), ("control-plane-join/etcd", cp_join_etcd),
             ("control-plane-join/mark-control-plane", cp_join)]
    run_steps("join", steps, only, set(vals.get("skip-phases") or []), state)
    if only is None:
        print("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n"
              "* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.\n")
    return 0


def local_ip_to(endpoint):
    host, _, port = endpoint.rpartition(":")
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, int(port or 443)))
        ip = s.getsockname()[0]
        s.close()
        return ip
    except OSError:
        return default_ip()


# ------------------------------------------------------------------ reset
def cmd_reset(vals, pos, state, only):
    if pos:
        fail_cobra("reset", 'unknown command "%s" for "edgeadm reset"' % pos[0])
    if not vals.get("force") and only is None:
        sys.stdout.write("[reset] WARNING: Changes made to this host by 'edgeadm init' or 'edgeadm join' will be reverted.\n"
                         "[reset] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        ans = sys.stdin.readline().strip().lower()
        if ans not in ("y", "yes"):
            err("Error: aborted reset operation")
            raise Exit(1)

    def remove_etcd_member():
        # kubeadm reset's remove-etcd-member (`cmd/kubeadm/app/cmd/phases/reset/removeetcdmember.go`):
        # this master's member leaves the etcd cluster; the others keep the data
        if exists("/etc/kubernetes/manifests/etcd.yaml"):
            name = (staticpods.desired("/etc/kubernetes/manifests").get("etcd") or ("", "", []))[2]
            flags = dict(a[2:].split("=", 1) for a in name if a.startswith("--") and "=" in a)
            store.remove_member(flags.get("name") or socket.gethostname().lower())
        elif not store.members():
            store.remove_member("")

    def cleanup():
        systemctl("stop", "kubelet")
        # the kubelet's containers are removed (kubeadm reset's cleanup-node removes the
        # containers of the CRI): the static pods' processes stop
        for comp, pid in staticpods.stop_all().items():
            print("[reset] Stopping the stand-in %s (pid %d)" % (comp, pid))
        for d in ("/etc/kubernetes/manifests", "/var/lib/kubelet", "/var/lib/etcd", "/etc/kubernetes/pki", "/etc/kubernetes/edge",
                  "/etc/kubernetes/kube-apiserver-conf", "/etc/kubernetes/patch", "/var/lib/standins/apiserver", "/etc/cni/net.d"):
            shutil.rmtree(P(d), ignore_errors=True)
        for f in ("admin.conf", "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf"):
            try:
                os.unlink(P("/etc/kubernetes/" + f))
            except OSError:
                pass
        for f in ("/etc/systemd/system/lite-apiserver.service", apiserver.CONF, "/var/lib/standins/lite-apiserver-iface.json"):
            try:
                os.unlink(P(f))
            except OSError:
                pass
        cur = read("/etc/hosts")
        if cur is not None:
            new = re.sub(r"# begin \(generated by SuperEdge\)\n.*?# end \(generated by SuperEdge\)\n?", "", cur, flags=re.S)
            if new != cur:
                write("/etc/hosts", new)
        print("[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]")
        print("[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]")

    steps = [("preflight", lambda: print("[preflight] Running pre-flight checks")), ("update-cluster-status", lambda: None),
             ("remove-etcd-member", remove_etcd_member), ("cleanup-node", cleanup)]
    if fault(["edgeadm:reset"]):
        err("Error: error execution phase cleanup-node: injected fault (edgeadm:reset)")
        raise Exit(1)
    run_steps("reset", steps, only, set(vals.get("skip-phases") or []), state)
    return 0


# ------------------------------------------------------------------ token
#: kubeadm's isAllowedFlag (SuperEdge's copy of kubeadm 1.22, app/apis/kubeadm/validation):
#: the flags that may be given with --config; "skip-*" flags may too.
CONFIG_ALLOWED = {"config", "ignore-preflight-errors", "dry-run", "kubeconfig", "node-name", "cri-socket",
                  "kubeconfig-dir", "upload-certs", "print-join-command", "rootfs", "v"}


def validate_mixed_arguments(vals):
    """kubeadm's ValidateMixedArguments: with --config, any other flag given (pflag visits
    them in name order) is refused."""
    if "config" not in vals:
        return
    bad = sorted(f for f in vals if f not in CONFIG_ALLOWED and not f.startswith("skip-"))
    if bad:
        raise CmdError("can not mix '--config' with arguments [%s]" % " ".join(bad))


def tokens_from_config(path):
    """`token create --config`: every bootstrap token of the file's InitConfiguration, as
    (token, Secret) (kubeadm loads the file and ignores a token argument then; left out, one
    token is generated, as kubeadm's defaulting does)."""
    init, _ = load_kubeadm_config(path)
    made = []
    for bt in init.get("bootstrapTokens") or [{}]:
        tok = bt.get("token") or "%s.%s" % (rand(6), rand(16))
        made.append((tok, token_secret(tok, bt.get("ttl", "24h0m0s"), tuple(bt.get("usages") or ("signing", "authentication")),
                                       tuple(bt.get("groups") or ("system:bootstrappers:kubeadm:default-node-token",)),
                                       bt.get("description"))))
    return made

def admin_client(kubeconfig):
    text = read(kubeconfig or "/etc/kubernetes/admin.conf")
    if text is None:
        raise CmdError("failed to load admin kubeconfig: open %s: no such file or directory" % (kubeconfig or "/etc/kubernetes/admin.conf"))
    kc = pki.parse_kubeconfig(text)
    return kc["server"], client.context(kc["ca"], kc["cert"], kc["key"])


def cmd_token(rest, words, state):
    sub = words[0] if words else None
    specs = {"create": TOKEN_CREATE, "list": TOKEN_LIST, "delete": TOKEN_SIMPLE, "generate": TOKEN_SIMPLE}
    if sub is None:
        sys.stdout.write(usage("token"))
        return 0
    if sub not in specs:
        fail_cobra("token", 'unknown command "%s" for "edgeadm token"' % sub)
    rest.remove(sub)
    try:
        vals, pos = parse_flags(rest, specs[sub], dict(SHORTS, o="output") if sub == "list" else SHORTS)
    except FlagError as e:
        fail_cobra("token " + sub, str(e))
    state["phase"] = "token/" + sub
    try:
        if fault(["edgeadm:token:" + sub]):
            raise CmdError("injected fault (edgeadm:token:%s)" % sub)
        if sub == "generate":
            print("%s.%s" % (rand(6), rand(16)))
            return 0
        kubeconfig = vals.get("kubeconfig") if vals.get("kubeconfig") not in (None, "~/.kube/config") else None
        server, ctx = admin_client(kubeconfig)
        if sub == "create":
            if len(pos) > 1:
                raise CmdError("accepts at most 1 arg(s), received %d" % len(pos))
            validate_mixed_arguments(vals)
            if vals.get("config"):
                made = tokens_from_config(vals["config"])
            else:
                tok = pos[0] if pos else "%s.%s" % (rand(6), rand(16))
                made = [(tok, token_secret(tok, vals.get("ttl", "24h0m0s"), tuple(vals.get("usages") or ("signing", "authentication")),
                                           tuple(vals.get("groups") or ("system:bootstrappers:kubeadm:default-node-token",)),
                                           vals.get("description")))]
            tok = made[0][0]
            for _, sec in made:
                # kubeadm's UpdateOrCreateTokens(failIfExists=true): `token create` never overwrites
                try:
                    client.request(server, "POST", client.path_for("", "v1", "secrets", "kube-system"), ctx, body=sec)
                except client.APIError as e:
                    if e.status != 409:
                        raise
                    err('a token with id "%s" already exists\nTo see the stack trace of this error execute with --v=5 or higher'
                        % sec["metadata"]["name"][len("bootstrap-token-"):])
                    raise Exit(1)
            if vals.get("print-join-command"):
                ca = pki.load_cert(pki.parse_kubeconfig(read(kubeconfig or "/etc/kubernetes/admin.conf"))["ca"])
                print("edgeadm join %s --token %s --discovery-token-ca-cert-hash %s " % (server[8:], tok, pki.spki_hash(ca)))
            else:
                print(tok)
        elif sub == "delete":
            if not pos:
                raise CmdError("missing subcommand; 'token delete' is missing token of form \"[a-z0-9]{6}\"")
            for t in pos:
                tid = t.split(".")[0]
                try:
                    client.request(server, "DELETE", client.path_for("", "v1", "secrets", "kube-system", "bootstrap-token-" + tid), ctx)
                except client.APIError as e:
                    raise CmdError('failed to delete bootstrap token with ID "%s": %s' % (tid, e.message))
                print('bootstrap token "%s" deleted' % tid)
        else:
            lst = client.request(server, "GET", "/api/v1/namespaces/kube-system/secrets", ctx)
            rows = []
            for o in lst["items"]:
                if o.get("type") != "bootstrap.kubernetes.io/token":
                    continue
                d = {k: base64.b64decode(v).decode() for k, v in o["data"].items()}
                exp = d.get("expiration")
                if exp:
                    t = datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
                    left = t - time.time()
                    if left <= 0:
                        continue  # kubeadm lists only valid ones
                    ttl = "%dh" % (left // 3600) if left >= 3600 else "%dm" % (left // 60)
                else:
                    ttl = "<forever>"
                usages = ",".join(u[len("usage-bootstrap-"):] for u in sorted(d) if u.startswith("usage-bootstrap-") and d[u] == "true")
                rows.append(("%s.%s" % (d["token-id"], d["token-secret"]), ttl, exp or "<never>", usages, d.get("description", "<none>"),
                             d.get("auth-extra-groups", "")))
            if vals.get("output") in ("json", "yaml"):
                objs = [{"kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha1", "token": r[0], "ttl": r[1], "expires": r[2],
                         "usages": r[3].split(","), "groups": r[5].split(",")} for r in rows]
                for o in objs:
                    print(json.dumps(o, indent=4) if vals["output"] == "json" else yaml.safe_dump(o))
            else:
                fmt = "%-24s %-11s %-21s %-24s %-12s %s"
                print(fmt % ("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"))
                for r in rows:
                    print(fmt % r)
    except CmdError as e:
        err("Error: " + str(e))
        raise Exit(1)
    except client.APIError as e:
        err("Error: " + e.message)
        raise Exit(1)
    except OSError as e:
        err("Error: couldn't create a Kubernetes client from file: %s" % e)
        raise Exit(1)
    return 0


def entry():
    run_tool("edgeadm", main)
