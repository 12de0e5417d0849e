"""A cluster's identity as values (PEM text and tokens), made, renewed and read back in memory.

The provider's `edge_cluster_identity` makes them at apply and keeps them in Terraform state;
nothing here touches the disk except `load_directory` (`terraform import` of a credentials
directory written by an earlier release) and the reading of a bring-your-own CA. Which
attributes there are, which are secret and which reach hosts: `identity_table`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Mapping, Optional

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from provisioners.core import certificates, identity_table as table
from provisioners.core.errors import CredentialsError
from provisioners.core.props import DEFAULT_VIRTUAL_ADDRESS
from edge_constructs.credentials import pki, renewal

#: CAs and keys: made once, never re-made (a new one is a new cluster).
CA_PAIRS = {"ca": "kubernetes", "front_proxy_ca": "front-proxy-ca", "etcd_ca": "etcd-ca"}

#: Leaf certificates the identity issues and renews: name -> (common name, organization,
#: server IPs beyond the virtual address, server DNS names).
LEAVES = {
    "admin": (pki.ADMIN_USER, "system:masters"),
    "tunnel_anp_client": ("tunnel-anp-client", None),
    "lite_apiserver": ("lite-apiserver", None),
}

#: Re-exported from the table, for the provider and the constructs.
UPLOADED, SECRET, VALUES, FILES = table.UPLOADED, table.SECRET, table.VALUES, table.FILES

#: A leaf this close to expiry is planned for renewal.
RENEW_BEFORE = pki.LEAF_RENEW_BEFORE

#: The admin certificate's longest life. It is `system:masters` (kubeadm's admin.conf) and
#: Kubernetes cannot revoke a client certificate: a leaked admin kubeconfig works until it
#: expires (or the cluster CA is replaced). 90 days bounds that; it is renewed like every leaf
#: 30 days before its end, so a cluster applied at least every 60 days never sees it lapse
#: (the provider reads the cluster with it: status, drains), and `admin_credential_rotation`
#: re-issues it at once.
ADMIN_MAX_VALIDITY = certificates.ADMIN_MAX_VALIDITY


def leaf_validity_for(name: str, validity: _dt.timedelta) -> _dt.timedelta:
    """The validity leaf `name` is issued with: `validity`, at most ADMIN_MAX_VALIDITY for
    the admin certificate."""
    return min(validity, ADMIN_MAX_VALIDITY) if name == "admin" else validity


def admin_outlives(values: Mapping[str, object], now: Optional[_dt.datetime] = None,
                   slack: _dt.timedelta = _dt.timedelta(days=1)) -> bool:
    """True when the admin certificate in `values` ends later than one issued now would
    (an identity made by an earlier release, with a 365-day admin certificate)."""
    pem = values.get("admin_cert")
    if not isinstance(pem, str):
        return False
    return leaf_not_after(pem) > (now or pki.now()) + ADMIN_MAX_VALIDITY + slack


def _text(b: bytes) -> str:
    return b.decode("ascii")


def _lite_sans(virtual_address: str, service_ip: Optional[str] = None
               ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """lite-apiserver's SANs: localhost, the virtual address and, as edgeadm v0.9.0's
    `common/prepare_join_node.go` issues it, the `kubernetes` Service ClusterIP
    (application-grid-wrapper sends that Service to lite-apiserver on edge nodes)."""
    ips = ("127.0.0.1", virtual_address) + ((service_ip,) if service_ip else ())
    return ips, ("localhost",)


def issue_leaf(values: dict, name: str, *, virtual_address: str,
               validity: _dt.timedelta, service_ip: Optional[str] = None) -> None:
    """(Re-)issue leaf `name` (a key of LEAVES) with a new key, signed by the cluster CA."""
    ca_cert = x509.load_pem_x509_certificate(values["ca_cert"].encode())
    ca_key = serialization.load_pem_private_key(values["ca_key"].encode(), password=None)
    cn, org = LEAVES[name]
    ips, names = _lite_sans(virtual_address, service_ip) if name == "lite_apiserver" else ((), ())
    key = pki.new_key()
    cert = pki.new_leaf_cert(key, ca_cert, ca_key, cn, org, ips, names,
                             validity=leaf_validity_for(name, validity))
    values[f"{name}_cert"] = _text(pki.cert_pem(cert))
    values[f"{name}_key"] = _text(pki.key_pem(key))


def render_kubeconfig(values: dict, *, endpoint: str, cluster_name: str) -> str:
    return _text(pki.render_kubeconfig(
        endpoint=endpoint, cluster_name=cluster_name, ca_pem=values["ca_cert"].encode(),
        cert_pem=values["admin_cert"].encode(), key_pem=values["admin_key"].encode()))


def new_identity(*, cluster_name: str, endpoint: str, virtual_address: str,
                 leaf_validity: _dt.timedelta,
                 ca_cert_file: Optional[str] = None,
                 ca_key_file: Optional[str] = None,
                 service_ip: Optional[str] = None) -> dict[str, str]:
    """Every value of a new cluster identity (the cluster CA from the given files, if any)."""
    values: dict[str, str] = {}
    byo = byo_ca(ca_cert_file, ca_key_file)
    for prefix, cn in CA_PAIRS.items():
        if prefix == "ca" and byo is not None:
            cert, key = byo
        else:
            key = pki.new_key()
            cert = pki.new_ca_cert(key, cn)
        values[f"{prefix}_cert"] = _text(pki.cert_pem(cert))
        values[f"{prefix}_key"] = _text(pki.key_pem(key))
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    values["sa_key"] = _text(pki.key_pem(sa))
    values["sa_pub"] = _text(sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    for name in LEAVES:
        issue_leaf(values, name, virtual_address=virtual_address, validity=leaf_validity,
                   service_ip=service_ip)
    values["kubeconfig"] = render_kubeconfig(values, endpoint=endpoint, cluster_name=cluster_name)
    set_bootstrap_token(values, pki.generate_bootstrap_token())
    values["retired_bootstrap_token_ids"] = ""
    values["ca_cert_hash"] = pki.ca_cert_hash(values["ca_cert"].encode())
    return values


def set_bootstrap_token(values: dict, token: str) -> None:
    values["bootstrap_token"] = token
    values["bootstrap_token_id"] = token.split(".", 1)[0]


def rotate_bootstrap_token(values: dict) -> None:
    """A new bootstrap token; the old token's id joins `retired_bootstrap_token_ids` so the
    next apply deletes its Secret on the cluster."""
    old = values.get("bootstrap_token_id")
    retired = (values.get("retired_bootstrap_token_ids") or "").split()
    if old and old not in retired:
        retired.append(old)
    set_bootstrap_token(values, pki.generate_bootstrap_token())
    values["retired_bootstrap_token_ids"] = " ".join(retired[-20:])


def digests(values: Mapping[str, object]) -> dict[str, object]:
    """sha256 of each uploaded value (what a step's replace trigger holds); a value not yet
    known gives a digest not yet known (the caller's marker object is passed through)."""
    out: dict[str, object] = {}
    for name in UPLOADED:
        v = values.get(name)
        out[name] = hashlib.sha256(v.encode()).hexdigest() if isinstance(v, str) else v
    return out


def leaf_not_after(pem: str) -> _dt.datetime:
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


def expiring(values: Mapping[str, object], now: Optional[_dt.datetime] = None,
             before: _dt.timedelta = RENEW_BEFORE) -> list[str]:
    """Leaves (keys of LEAVES) that expire within `before`, and not because the CA does."""
    now = now or pki.now()
    ca = values.get("ca_cert")
    ca_end = leaf_not_after(ca) if isinstance(ca, str) else None
    due = []
    for name in LEAVES:
        pem = values.get(f"{name}_cert")
        if not isinstance(pem, str):
            continue
        end = leaf_not_after(pem)
        if end - now <= before and (ca_end is None or end < ca_end):
            due.append(name)
    return due


def expiry(values: Mapping[str, object], now: Optional[_dt.datetime] = None) -> dict:
    """What `<id>_certificates` shows of the identity: each leaf's and CA's not-after and
    whole days left, and who renews it."""
    out = {}
    for name, renewed_by in [*((n, "edge_cluster_identity") for n in LEAVES),
                             *((n, "nobody: a new CA is a new cluster") for n in CA_PAIRS)]:
        pem = values.get(f"{name}_cert")
        if isinstance(pem, str):
            out[name] = dict(renewal.facts(pem, now), renewed_by=renewed_by)
    return out


def lite_sans_match(values: Mapping[str, object], virtual_address: str,
                    service_ip: Optional[str] = None) -> bool:
    pem = values.get("lite_apiserver_cert")
    if not isinstance(pem, str):
        return True
    cert = x509.load_pem_x509_certificate(pem.encode())
    return pki.cert_sans(cert) == pki.wanted_sans(*_lite_sans(virtual_address, service_ip))


def byo_ca(cert_file: Optional[str], key_file: Optional[str]):
    """The (certificate, key) of a bring-your-own cluster CA, checked; None when not given."""
    if (cert_file is None) != (key_file is None):
        raise CredentialsError(
            "ca_cert_file and ca_key_file go together: give both (to bring your own cluster CA) "
            f"or neither (to have one generated); got ca_cert_file={cert_file!r}, "
            f"ca_key_file={key_file!r}")
    if cert_file is None:
        return None
    return pki.load_byo_ca(Path(cert_file).expanduser(), Path(key_file).expanduser())


# --------------------------------------------------------------- import from a directory

def load_directory(directory: str) -> dict[str, str]:
    """The values of a credentials directory written by the earlier release (the files of
    `identity_table.FILES`): every file checked, missing ones named all at once."""
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise CredentialsError(f"import: {d} is not a directory; give the cluster's credentials "
                               "directory (e.g. .edge-credentials/<cluster name>)")
    wanted = dict(FILES)
    missing = sorted(v for v in wanted.values() if not (d / v).is_file())
    if missing:
        raise CredentialsError(
            f"import: {d} lacks {', '.join(missing)}; restore them from the backup of that "
            "directory (a cluster's CAs and keys cannot be made again)")
    raw = {k: (d / v).read_bytes() for k, v in wanted.items()}
    values: dict[str, str] = {}
    cas = {}
    for prefix in CA_PAIRS:
        cp, kp = d / FILES[f"{prefix}_cert"], d / FILES[f"{prefix}_key"]
        cert = pki.load_cert(raw[f"{prefix}_cert"], cp)
        key = pki.load_key(raw[f"{prefix}_key"], kp)
        pki.check_pair(cert, key, cp, kp)
        pki.check_is_ca(cert, cp)
        cas[prefix] = cert
        values[f"{prefix}_cert"] = _text(pki.cert_pem(cert))
        values[f"{prefix}_key"] = _text(pki.key_pem(key))
    sa = pki.load_key(raw["sa_key"], d / FILES["sa_key"])
    values["sa_key"] = _text(pki.key_pem(sa))
    values["sa_pub"] = _text(sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    for name in LEAVES:
        cp, kp = d / FILES[f"{name}_cert"], d / FILES[f"{name}_key"]
        cert = pki.load_cert(raw[f"{name}_cert"], cp)
        key = pki.load_key(raw[f"{name}_key"], kp)
        pki.check_pair(cert, key, cp, kp)
        try:
            cert.verify_directly_issued_by(cas["ca"])
        except (ValueError, TypeError, InvalidSignature) as e:
            raise CredentialsError(f"import: {cp} was not issued by the cluster CA "
                                   f"{d / FILES['ca_cert']}") from e
        values[f"{name}_cert"] = _text(pki.cert_pem(cert))
        values[f"{name}_key"] = _text(pki.key_pem(key))
    values["kubeconfig"] = raw["kubeconfig"].decode()
    set_bootstrap_token(values, pki.read_token(d / FILES["bootstrap_token"], pki.BOOTSTRAP_TOKEN_RE,
                                                "<6 [a-z0-9]>.<16 [a-z0-9]>"))
    values["retired_bootstrap_token_ids"] = ""
    values["ca_cert_hash"] = pki.ca_cert_hash(values["ca_cert"].encode())
    return values


def kubeconfig_facts(kubeconfig: str) -> tuple[str, str]:
    """(cluster name, endpoint) of an admin kubeconfig this package wrote."""
    try:
        doc = yaml.safe_load(kubeconfig)
        cluster = doc["clusters"][0]
        server = cluster["cluster"]["server"]
        return cluster["name"], server.split("://", 1)[-1]
    except Exception as e:  # noqa: BLE001 - any malformed document gets the same advice
        raise CredentialsError(f"import: admin.conf is not a kubeconfig this package wrote ({e})") from e


def virtual_address_of(values: Mapping[str, str]) -> str:
    """The virtual address the lite-apiserver certificate was issued for."""
    cert = x509.load_pem_x509_certificate(values["lite_apiserver_cert"].encode())
    ips = [str(s.value) for s in pki.cert_sans(cert) if isinstance(s, x509.IPAddress)]
    others = [i for i in ips if i != "127.0.0.1"]
    return others[0] if others else DEFAULT_VIRTUAL_ADDRESS
