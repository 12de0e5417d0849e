"""The typed, frozen props of the public API, and the inventory codec (`Host.to_dict`,
`Host.from_dict`, `load_inventory`); the rules of the props live in
`edge_constructs.validation`."""
from __future__ import annotations

import os
import re
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Mapping, Optional, Sequence

from provisioners.core.errors import InventoryError

#: The lite-apiserver / edge DNS address on every edge node (edgeadm's `--edge-virtual-addr`).
DEFAULT_VIRTUAL_ADDRESS = "169.254.20.11"
#: Seconds Terraform keeps trying to open SSH to a host before a step fails.
DEFAULT_SSH_TIMEOUT = 30


def split_taint(text: str) -> tuple[str, str, str]:
    """(key, value, effect) of a taint written "key[=value]:Effect" (value "" when left out)."""
    key_value, _, effect = text.rpartition(":")
    key, _, value = key_value.partition("=")
    return key, value, effect


def logical_id(value: str) -> str:
    """A construct id made of what Terraform allows in resource names ('cam.1' -> 'cam-1')."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", value)


@dataclass(frozen=True)
class Host:
    """An existing machine reached over SSH.

    Leave `private_key_file` and `password_env` out only when an SSH agent holds the key
    (not supported yet: one of the two is required). The host's identity is verified on
    every connection, by Terraform and by the SSH runner: give exactly one of `host_key`
    (its OpenSSH public key line, e.g. "ssh-ed25519 AAAA…"), `known_hosts_file` (an
    OpenSSH known_hosts file holding the host, as `addr` on port 22 and `[addr]:port`
    otherwise, plain or hashed: the key is read from it at synth and pinned, and the runner
    reads it at connect) or `insecure_ignore_host_key=True` (any key is accepted; a warning
    naming the host goes to the Python logger `edge_constructs.hostkeys`, stderr unless
    logging is configured, at synth and at every connection of the runner).
    Get the key with `ssh-keyscan`, then compare its fingerprint (`ssh-keygen -lf`) with
    the host's own, read out of band. A bastion needs one of the three too. `name` keys the
    host's resources and is its node name; left out, the address is used.
    """
    address: str
    _: KW_ONLY
    port: int = 22
    user: str = "root"
    private_key_file: Optional[str] = None
    password_env: Optional[str] = None
    bastion: Optional["Host"] = None
    host_key: Optional[str] = None
    name: Optional[str] = None
    known_hosts_file: Optional[str] = None
    insecure_ignore_host_key: bool = False

    @property
    def key(self) -> str:
        """Stable identity of the host in resource names and node names."""
        return self.name or self.address

    # --- the inventory codec: a Host as JSON and back ------------------------------------

    def to_dict(self) -> dict:
        """This host as JSON-able data: paths and names only, never key material or a
        password; file paths absolute (read where the data is used, not where it was made);
        fields left at their defaults' None/False left out."""
        d = {k: getattr(self, k) for k in _HOST_FIELDS if getattr(self, k) not in (None, False)}
        for k in ("private_key_file", "known_hosts_file"):
            if d.get(k) is not None:
                d[k] = os.path.abspath(os.path.expanduser(d[k]))
        if self.bastion is not None:
            d["bastion"] = self.bastion.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping, where: str = "host") -> "Host":
        """A `Host` from its JSON (`to_dict`, an inventory entry), checked: unknown fields
        and wrong types are an `InventoryError` naming `where`, the field and what is
        allowed."""
        if not isinstance(d, Mapping) or not isinstance(d.get("address"), str):
            raise InventoryError(f"{where}: got {d!r}; an object with at least \"address\" "
                                 f"(and {', '.join(_HOST_FIELDS[1:])}, bastion)")
        unknown = sorted(set(d) - set(_HOST_FIELDS) - {"bastion"})
        if unknown:
            raise InventoryError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: "
                                 f"{', '.join(_HOST_FIELDS)}, bastion")
        kw = {}
        for k in _HOST_FIELDS[1:]:
            v = d.get(k)
            if v is None:
                continue
            want = _HOST_TYPES.get(k, str)
            if not isinstance(v, want) or (want is int and isinstance(v, bool)):
                raise InventoryError(f"{where}.{k}: got {v!r}; a {want.__name__}")
            kw[k] = v
        if d.get("bastion") is not None:
            kw["bastion"] = cls.from_dict(d["bastion"], f"{where}.bastion")
        return cls(d["address"], **kw)


#: What `Host.to_dict` writes and `Host.from_dict` reads (besides `bastion`), address first.
_HOST_FIELDS = ("address", "port", "user", "private_key_file", "password_env", "host_key", "name",
                "known_hosts_file", "insecure_ignore_host_key")
_HOST_TYPES = {"port": int, "insecure_ignore_host_key": bool}


def load_inventory(data: object, where: str = "inventory") -> list[Host]:
    """The hosts of an inventory, `{"hosts": [{...}, ...]}` (other keys ignored): its JSON
    text or the parsed object."""
    if isinstance(data, (str, bytes)):
        import json
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise InventoryError(f"{where}: not JSON ({e})") from None
    hosts = data.get("hosts") if isinstance(data, Mapping) else None
    if not isinstance(hosts, list) or not hosts:
        raise InventoryError(f"{where}: got {type(data).__name__}; an object with a non-empty "
                             f"\"hosts\" list")
    return [Host.from_dict(h, f"{where}: hosts[{i}]") for i, h in enumerate(hosts)]


@dataclass(frozen=True)
class InstallPackage:
    """SuperEdge's `kube-linux-<arch>-v<version>.tar.gz`, from a local `path` (uploaded)
    or a `url` (downloaded on each host); `sha256` is required either way."""
    path: Optional[str] = None
    url: Optional[str] = None
    sha256: Optional[str] = None
    arch: str = "amd64"


@dataclass(frozen=True)
class SuperEdge:
    """SuperEdge add-ons. `image_repository` left out: edgeadm's default repository.
    `virtual_address`: the lite-apiserver / edge DNS address on every edge node."""
    version: str = "v0.9.0"
    image_repository: Optional[str] = None
    virtual_address: str = DEFAULT_VIRTUAL_ADDRESS


@dataclass(frozen=True)
class Registry:
    """A private image registry. `address` left out: no /etc/hosts entry is written."""
    domain: Optional[str] = None
    address: Optional[str] = None
    insecure: bool = False
    mirrors: Sequence[str] = ()


@dataclass(frozen=True)
class HA:
    """Highly available control plane: a `vip` served by kube-vip on `interface` (edgeadm
    `--default-ha=kube-vip`), or an `endpoint` ("host:port") of a load balancer you run."""
    vip: Optional[str] = None
    interface: Optional[str] = None
    endpoint: Optional[str] = None


@dataclass(frozen=True)
class File:
    """A local file copied to every host of the cluster before anything else (EnsureCopyFiles)."""
    src: str
    dst: str
    mode: str = "0644"


@dataclass(frozen=True)
class Hooks:
    """Shell scripts (their text) run at TKE's hook points; each left out: nothing runs."""
    pre_install: Optional[str] = None
    post_install: Optional[str] = None
    pre_cluster_install: Optional[str] = None
    post_cluster_install: Optional[str] = None


def _doc(text: str, **kw):
    """A dataclass field carrying its documentation (docs/GUIDE.md and help() are made
    from it): what the prop is, and what leaving it out does."""
    return field(metadata={"doc": text}, **kw)


def prop_doc(f) -> str:
    """The documentation of a props field (a `dataclasses.Field`)."""
    return f.metadata.get("doc", "")


@dataclass(frozen=True)
class ClusterSpec:
    """Everything an EdgeCluster is: its props, each declared once here with its default
    and its documentation (the construct's signature, help() and docs/GUIDE.md are made
    from these fields; checks live in `validation`)."""
    name: str = _doc("Cluster name (a DNS-1123 label): names the kubeconfig's cluster and "
                     "the cluster's identity. Required.")
    masters: Sequence[Host] = _doc("The control-plane hosts (1, or 3+ with `ha`). Master 0 "
                                   "forms the cluster, the others join it in order. Required.")
    install_package: InstallPackage = _doc(
        "SuperEdge's kube-linux-<arch>-v<version>.tar.gz, by local `path` (checked against "
        "`sha256` at synth, uploaded) or `url` (downloaded and checked on each host). Required.")
    _: KW_ONLY
    api_server_address: Optional[str] = _doc(
        "Address edge nodes dial for the API server (in the join command and kubeconfig). "
        "Left out: the HA VIP or endpoint host, else master 0's address.", default=None)
    api_server_port: int = _doc("API server port. Left out: 6443.", default=6443)
    kubernetes_version: str = _doc(
        "Kubernetes version of the install package; must pair with `superedge.version`. "
        "Left out: 1.22.6.", default="1.22.6")
    superedge: SuperEdge = _doc("SuperEdge version and add-on settings. Left out: "
                                "SuperEdge() (v0.9.0, edgeadm's image repository).",
                                default_factory=SuperEdge)
    pod_cidr: str = _doc("Pod network. Left out: 10.244.0.0/16.", default="10.244.0.0/16")
    service_cidr: str = _doc("Service network. Left out: 10.96.0.0/12.",
                             default="10.96.0.0/12")
    dns_domain: str = _doc("Cluster DNS domain. Left out: cluster.local.",
                           default="cluster.local")
    cert_sans: Sequence[str] = _doc(
        "Extra names/IPs in the API server certificate. Left out: only the advertise address "
        "and the masters' addresses.", default=())
    container_runtime: str = _doc("containerd or docker, installed from the package. Left "
                                  "out: containerd.", default="containerd")
    registry: Optional[Registry] = _doc(
        "A private registry: /etc/hosts entry, Docker Hub mirrors, insecure domain. Left out: "
        "images come from their default registries.", default=None)
    ha: Optional[HA] = _doc("Highly available control plane: a kube-vip VIP or your load "
                            "balancer's endpoint. Left out: one API server on master 0 (more "
                            "masters still join as control-plane nodes).", default=None)
    files: Sequence[File] = _doc("Local files copied to every host before anything else "
                                 "(EnsureCopyFiles). Left out: no step.", default=())
    hooks: Hooks = _doc("Shell scripts run at TKE's hook points. Left out: none run.",
                        default_factory=Hooks)
    skip_steps: Sequence[str] = _doc("Names of chain steps not to run (e.g. EnsureDisableSwap). "
                                     "Left out: every step runs.", default=())
    credentials_dir: Optional[str] = _doc(
        "No longer used: the cluster's identity lives in Terraform state (edge_cluster_identity). "
        "Given, it is refused with the `terraform import` command that brings an existing "
        "directory into state. Left out: nothing.", default=None)
    join_token_ttl: str = _doc("Lifetime of the bootstrap token in the join command (a Go "
                               "duration); \"0\" never expires, an explicit choice. Renew it "
                               "with `token_rotation`. Left out: \"24h\".", default="24h")
    ca_cert_file: Optional[str] = _doc(
        "Your own cluster CA certificate (PEM), with `ca_key_file`; read once, when the "
        "identity is created. Left out: the identity makes a CA.", default=None)
    ca_key_file: Optional[str] = _doc("The key of `ca_cert_file`. Left out: see "
                                      "ca_cert_file.", default=None)
    ssh_timeout: int = _doc(
        "Seconds Terraform keeps trying to open SSH to a host before a step fails (each "
        "chain's CheckSSH reports a wrong key or host key at once anyway). Left out: 30.",
        default=DEFAULT_SSH_TIMEOUT)
    token_rotation: Optional[str] = _doc(
        "Any string; changing it makes a new bootstrap token, and the old one stops joining. "
        "Left out: the token made with the identity stays.", default=None)
    admin_credential_rotation: Optional[str] = _doc(
        "Any string; changing it re-issues the admin certificate (system:masters) and its "
        "kubeconfig with a new key. The old one stays valid until it expires: rotate when a "
        "kubeconfig may have leaked, and see the guide on revoking it. Left out: the admin "
        "certificate changes only when renewed.", default=None)
    leaf_validity_days: Optional[int] = _doc(
        "Validity of the identity's leaf certificates, in days (renewed 30 days before they "
        "expire); the admin certificate's is at most 90. Left out: 365 (admin: 90).",
        default=None)
    certificate_renewal_before: str = _doc(
        "A Go duration: a certificate that ends within it is renewed by the next apply, each "
        "master's kubeadm certificates one master at a time, and the identity's own "
        "(admin, lite-apiserver, tunnel client). Shorter than the shortest certificate life "
        "(the admin credential's: 90 days, 2160h); a leaf_validity_days shorter than the "
        "window renews those leaves at every apply. "
        "\"renew-now\" renews every certificate at every apply while set: set it for one "
        "apply, then remove it. Left out: \"720h\" (30 days).", default="720h")
    replace_identity: bool = _doc(
        "A plan that would replace the identity (e.g. a changed `name`) orphans the running "
        "cluster and fails unless this is True. Left out: False.", default=False)

    def __post_init__(self) -> None:
        # None means "the default" for the nested props; lists are kept as tuples (frozen).
        if self.superedge is None:
            object.__setattr__(self, "superedge", SuperEdge())
        if self.hooks is None:
            object.__setattr__(self, "hooks", Hooks())
        for name in ("masters", "cert_sans", "files", "skip_steps"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    @classmethod
    def prop_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @property
    def advertise_address(self) -> str:
        """What edge nodes dial: `api_server_address`, else the HA VIP/endpoint host,
        else master 0."""
        if self.api_server_address:
            return self.api_server_address
        if self.ha and self.ha.vip:
            return self.ha.vip
        if self.ha and self.ha.endpoint:
            return self.ha.endpoint.rsplit(":", 1)[0]
        return self.masters[0].address

    @property
    def endpoint(self) -> str:
        """`<address>:<port>` of the API server as edge nodes dial it; a load balancer's
        `ha.endpoint` keeps its own port."""
        if not self.api_server_address and self.ha and self.ha.endpoint and not self.ha.vip:
            return self.ha.endpoint
        host = self.advertise_address
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"          # an IPv6 address: "[2001:db8::1]:6443"
        return f"{host}:{self.api_server_port}"
