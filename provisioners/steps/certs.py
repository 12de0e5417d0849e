"""A master's kubeadm certificates: which there are, what reads them, how they are renewed.

kubeadm 1.22 issues the control plane's leaf certificates and the client certificates of
its kubeconfigs for a year (`constants.CertificateValidity`), and edgeadm has no `certs`
command. The `edge_master_certificates` resource (terraform/provider) reads them at every
plan and, when one is inside `certificate_renewal_before`, issues new ones from the CAs in
state (`edge_constructs.credentials.renewal`) and runs `RenewControlPlaneCertificates` here:
install them with their modes, restart the static pods that read them one by one, and wait
for each to answer its health endpoint again.

What is renewed is kubeadm's own list (kubernetes v1.22
`cmd/kubeadm/app/phases/certs/renewal/manager.go` NewManager: the certificates of
`certs/certlist.go` but the CAs, and admin.conf, controller-manager.conf, scheduler.conf);
the kubelet's client certificate is the kubelet's to rotate (`rotateCertificates`), and is
only shown.
"""
from __future__ import annotations

from dataclasses import dataclass

from provisioners.steps.step import On, Step, sh_script

K8S_DIR = "/etc/kubernetes"
MANIFESTS_DIR = f"{K8S_DIR}/manifests"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBELET_CLIENT = "/var/lib/kubelet/pki/kubelet-client-current.pem"


@dataclass(frozen=True)
class Cert:
    """One certificate kubeadm renews: its name in `kubeadm certs check-expiration`, its
    file under /etc/kubernetes (a kubeconfig holds it embedded), the CA that signs it and
    the static pod that reads it (None: read by clients only)."""
    name: str
    path: str
    ca: str
    pod: str | None

    @property
    def kubeconfig(self) -> bool:
        return self.path.endswith(".conf")

    @property
    def key_path(self) -> str | None:
        return None if self.kubeconfig else self.path[:-len(".crt")] + ".key"


#: kubernetes v1.22 cmd/kubeadm/app/phases/certs/renewal/manager.go (NewManager), in its order.
CERTS = (
    Cert("admin.conf", "admin.conf", "ca", None),
    Cert("apiserver", "pki/apiserver.crt", "ca", "kube-apiserver"),
    Cert("apiserver-etcd-client", "pki/apiserver-etcd-client.crt", "etcd-ca", "kube-apiserver"),
    Cert("apiserver-kubelet-client", "pki/apiserver-kubelet-client.crt", "ca", "kube-apiserver"),
    Cert("controller-manager.conf", "controller-manager.conf", "ca", "kube-controller-manager"),
    Cert("etcd-healthcheck-client", "pki/etcd/healthcheck-client.crt", "etcd-ca", None),
    Cert("etcd-peer", "pki/etcd/peer.crt", "etcd-ca", "etcd"),
    Cert("etcd-server", "pki/etcd/server.crt", "etcd-ca", "etcd"),
    Cert("front-proxy-client", "pki/front-proxy-client.crt", "front-proxy-ca", "kube-apiserver"),
    Cert("scheduler.conf", "scheduler.conf", "ca", "kube-scheduler"),
)
#: The CAs (10 years; never renewed here: a new CA is a new cluster), by kubeadm's names.
CAS = {"ca": "pki/ca.crt", "etcd-ca": "pki/etcd/ca.crt", "front-proxy-ca": "pki/front-proxy-ca.crt"}

#: The static pods restarted after a renewal, in this order, and the health endpoint each
#: answers while it runs (the liveness probes of kubeadm 1.22's manifests,
#: `phases/controlplane/manifests.go`, `phases/etcd/local.go`): etcd first, so the API
#: server comes back to a healthy member. `{api}` is this master's API server.
POD_HEALTH = (
    ("etcd", "http://127.0.0.1:2381/health"),
    ("kube-apiserver", "{api}/readyz"),
    ("kube-controller-manager", "https://127.0.0.1:10257/healthz"),
    ("kube-scheduler", "https://127.0.0.1:10259/healthz"),
)
#: Seconds a static pod has to stop, and then to answer again.
POD_TIMEOUT = 120


def renew_step(api_url: str) -> Step:
    """`RenewControlPlaneCertificates` for a master whose API server is `api_url`
    (https://address:port). The new files wait in the step's stage directory under their
    paths relative to /etc/kubernetes (`staged(c)`), put there by the provider."""
    name = "RenewControlPlaneCertificates"
    body = sh_script(
        name, K8S_DIR=K8S_DIR, MANIFESTS_DIR=MANIFESTS_DIR, NEW=stage_dir(),
        CA=f"{K8S_DIR}/{CAS['ca']}", FILES=[f"{p} {m}" for p, m in staged_files()],
        PODS=[f"{p} {url.format(api=api_url)}" for p, url in POD_HEALTH],
        TIMEOUT=str(POD_TIMEOUT))
    return Step(name, body, on=On.MASTERS)


def stage_dir() -> str:
    """Where the provider puts the new files before the step installs them."""
    return Step("RenewControlPlaneCertificates", "").stage_dir


def staged_files() -> list[tuple[str, str]]:
    """Each file the renewal writes, relative to /etc/kubernetes, with its mode (kubeadm's:
    certificates 0644, keys and kubeconfigs 0600: pkiutil.WriteCertAndKey, clientcmd)."""
    out: list[tuple[str, str]] = []
    for c in CERTS:
        if c.kubeconfig:
            out.append((c.path, "0600"))
        else:
            out += [(c.path, "0644"), (c.key_path, "0600")]
    return out


def read_script() -> str:
    """What read runs on a master (one SSH command, no secret printed): each certificate as
    `== <name>` and its PEM (a kubeconfig's embedded client certificate decoded on the host:
    its key never leaves), the CAs, the kubelet's client certificate and whether it rotates it."""
    lines = ["set -u", "K=" + K8S_DIR]
    for c in CERTS:
        if c.kubeconfig:
            lines.append(f"echo '== {c.name}'; sed -n 's/^ *client-certificate-data: *//p' "
                         f"\"$K/{c.path}\" 2>/dev/null | head -n 1 | base64 -d 2>/dev/null || true")
        else:
            lines.append(f"echo '== {c.name}'; cat \"$K/{c.path}\" 2>/dev/null || true")
    for name, path in CAS.items():
        lines.append(f"echo '== {name}'; cat \"$K/{path}\" 2>/dev/null || true")
    # the kubelet's rotated certificate (the file also holds its key: only the certificate
    # block is printed); before its first rotation, kubelet.conf's own
    lines.append(f"echo '== kubelet-client'; if [ -f {KUBELET_CLIENT} ]; then "
                 f"sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' {KUBELET_CLIENT}; else "
                 "sed -n 's/^ *client-certificate-data: *//p' \"$K/kubelet.conf\" 2>/dev/null "
                 "| head -n 1 | base64 -d 2>/dev/null || true; fi")
    lines.append("echo '== rotateCertificates'; "
                 f"sed -n 's/^rotateCertificates: *//p' {KUBELET_CONFIG} 2>/dev/null || true")
    return "\n".join(lines) + "\n"
