"""Stand-in of kubeadm 1.22's node checks that the chain depends on (edgeadm's preflight phase).

Transcribed from kubernetes/kubernetes v1.22 `cmd/kubeadm/app/preflight/checks.go`
(addCommonChecks, InPathCheck, FileContentCheck, SwapCheck, RunChecks, setHasItemOrAll):

* a CRI runtime (any socket but dockershim's) needs `crictl` on PATH (InPathCheck, mandatory);
* `/proc/sys/net/bridge/bridge-nf-call-iptables` and `/proc/sys/net/ipv4/ip_forward` hold 1
  (FileContentCheck: "<path> does not exist" / "<path> contents are not set to 1");
* no swap: `/proc/swaps` has no line past its header (SwapCheck: "running with swap on is not
  supported. Please disable swap");
* `conntrack`, `ip`, `iptables`, `mount`, `nsenter` on PATH (mandatory: an error);
  `ebtables`, `ethtool`, `socat`, `tc`, `touch` (optional: a warning) — "<exe> not found in
  system path".

Each check's error is `\t[ERROR <Name>]: <message>`, a warning `\t[WARNING <Name>]: ...`;
`--ignore-preflight-errors` lowers a check's errors to warnings by its name, lower-cased, or
`all`. Not here (the chain does not depend on them, or the site cannot simulate them): the
system verification (kernel config, cgroups), the hostname, kubelet version and service checks,
HTTP proxies, and the image pull (RunPullImagesCheck) that kubeadm does after the checks.
Paths and PATH directories go through STANDIN_ROOT (tests) like every stand-in's.
"""
import os

from .common import P

BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"
IPV4_FORWARD = "/proc/sys/net/ipv4/ip_forward"
MANDATORY = ("conntrack", "ip", "iptables", "mount", "nsenter")
OPTIONAL = ("ebtables", "ethtool", "socat", "tc", "touch")
DOCKERSHIM = ("/var/run/dockershim.sock", "unix:///var/run/dockershim.sock")
HINT = "[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n"


class PreflightError(Exception):
    """The text kubeadm's RunChecks returns (handleError)."""


def look_path(exe):
    for d in os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
        p = P(os.path.join(d or ".", exe))
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def in_path(exe, mandatory):
    """(name, warnings, errors) of kubeadm's InPathCheck."""
    name = "FileExisting-" + exe.replace("/", "-")
    if look_path(exe):
        return name, [], []
    msg = "%s not found in system path" % exe
    return (name, [], [msg]) if mandatory else (name, [msg], [])


def file_content(path, content="1"):
    name = "FileContent-" + path.replace("/", "-")
    try:
        with open(P(path)) as f:
            got = f.read()
    except OSError:
        return name, [], ["%s does not exist" % path]
    if not got.startswith(content):  # kubeadm compares the first len(content) bytes
        return name, [], ["%s contents are not set to %s" % (path, content)]
    return name, [], []


def swap():
    try:
        with open(P("/proc/swaps")) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
    except OSError as e:
        return "Swap", [], ["error reading /proc/swaps: %s" % e]
    if len(lines) > 1:
        return "Swap", [], ["running with swap on is not supported. Please disable swap"]
    return "Swap", [], []


def common_checks(cri_socket):
    """The checks of addCommonChecks the chain depends on, in kubeadm's order."""
    out = []
    if (cri_socket or "") not in DOCKERSHIM:
        out.append(in_path("crictl", True))
    out += [file_content(BRIDGE_NF), file_content(IPV4_FORWARD), swap()]
    out += [in_path(e, True) for e in MANDATORY] + [in_path(e, False) for e in OPTIONAL]
    return out


def run_checks(checks, ignore, warn):
    """kubeadm's RunChecks: warnings to `warn` (a writer), errors collected; raises
    PreflightError with kubeadm's text when any error is left."""
    ignore = {x.lower() for x in (ignore or [])}
    errs = ""
    for name, warnings, errors in checks:
        if "all" in ignore or name.lower() in ignore:
            warnings, errors = warnings + errors, []
        for w in warnings:
            warn("\t[WARNING %s]: %s\n" % (name, w))
        for e in errors:
            errs += "\t[ERROR %s]: %s\n" % (name, e)
    if errs:
        raise PreflightError("[preflight] Some fatal errors occurred:\n" + errs + HINT)


def check_node(cri_socket, ignore, warn):
    """What edgeadm's preflight phase adds to its own checks (stand-in: simsite/STANDINS.md)."""
    run_checks(common_checks(cri_socket), ignore, warn)
