"""kubeadm's certificate renewal, from the CAs in Terraform state.

What `kubeadm certs renew` does in kubernetes v1.22, transcribed:
* `cmd/kubeadm/app/phases/certs/renewal/manager.go` (`certToConfig`): the new certificate
  takes the old one's subject CommonName and Organization, its IP and DNS SANs and its
  extended key usages;
* `renewal/filerenewer.go` -> `util/pkiutil/pki_helpers.go` (`NewCertAndKey`,
  `NewSignedCert`): a new RSA 2048 key, a random serial, NotBefore the CA's NotBefore,
  NotAfter now + one year (`constants.CertificateValidity`), KeyUsage digital signature and
  key encipherment, not a CA;
* `renewal/readwriter.go` (kubeconfig): the client certificate and key of the kubeconfig's
  current context's user are replaced, the rest of the file is kept.
A certificate not signed by the CA it should be is refused: kubeadm would refuse it too
(`renewal/manager.go` CertificateExists/… "not signed by").
"""
from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass
from typing import Mapping, Optional

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from provisioners.core.errors import CredentialsError
from provisioners.core.certificates import KUBEADM_VALIDITY
from edge_constructs.credentials import pki


@dataclass(frozen=True)
class Renewed:
    cert_pem: bytes
    key_pem: bytes
    not_after: _dt.datetime


def load(pem: bytes | str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    try:
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                               cert.signature_hash_algorithm)
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True


def renew(old_pem: bytes | str, ca_pem: str, ca_key_pem: str, what: str,
          now: Optional[_dt.datetime] = None) -> Renewed:
    """A new certificate and key like `old_pem` (kubeadm's renewal), signed by the CA."""
    old, ca = load(old_pem), load(ca_pem)
    if not signed_by(old, ca):
        raise CredentialsError(f"{what} is not signed by the CA in Terraform state "
                               f"({ca.subject.rfc4514_string()}): the host holds another "
                               "cluster's certificate; nothing was renewed")
    ca_key = pki.load_key(ca_key_pem.encode(), what)
    key = pki.new_key()
    t0 = now or pki.now()
    try:
        sans = old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    try:
        ekus = list(old.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = []
    if not ekus:
        raise CredentialsError(f"{what} has no extended key usage: kubeadm refuses to renew it "
                               "(\"must specify at least one ExtKeyUsage\")")
    name = x509.Name([a for a in old.subject
                      if a.oid in (x509.NameOID.ORGANIZATION_NAME, x509.NameOID.COMMON_NAME)])
    not_after = t0 + KUBEADM_VALIDITY
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(ca.not_valid_before_utc).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(pki.LEAF_KEY_USAGE, critical=True)
         .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
                        critical=False))
    if sans is not None and len(sans):
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    return Renewed(pki.cert_pem(cert), pki.key_pem(key), cert.not_valid_after_utc)


def kubeconfig_client_cert(text: str, what: str) -> tuple[dict, dict]:
    """The kubeconfig as a document and its current context's user entry (`user` dict)."""
    try:
        doc = yaml.safe_load(text) or {}
        ctx = {c["name"]: c["context"] for c in doc.get("contexts") or []}[doc["current-context"]]
        user = {u["name"]: u["user"] for u in doc.get("users") or []}[ctx["user"]]
        user["client-certificate-data"]
    except (yaml.YAMLError, KeyError, TypeError) as e:
        raise CredentialsError(f"{what}: not a kubeconfig with an embedded client certificate "
                               f"for its current context ({e!r})") from None
    return doc, user


def renew_kubeconfig(text: str, ca_pem: str, ca_key_pem: str, what: str,
                     now: Optional[_dt.datetime] = None) -> tuple[bytes, _dt.datetime]:
    """The kubeconfig with its client certificate renewed (kubeadm's kubeconfig renewer)."""
    doc, user = kubeconfig_client_cert(text, what)
    old = base64.b64decode(user["client-certificate-data"])
    new = renew(old, ca_pem, ca_key_pem, what, now)
    user["client-certificate-data"] = base64.b64encode(new.cert_pem).decode()
    user["client-key-data"] = base64.b64encode(new.key_pem).decode()
    out = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1 << 20)
    return out.encode(), new.not_after


def facts(pem: bytes | str, now: Optional[_dt.datetime] = None) -> dict:
    """What `<id>_certificates` shows of a certificate: not-after and whole days left."""
    cert = load(pem)
    end = cert.not_valid_after_utc
    left = end - (now or pki.now())
    return {"not_after": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": left.days}


def ca_pair(cas: Mapping[str, str], name: str) -> tuple[str, str]:
    """The certificate and key of CA `name` (kubeadm's: ca, etcd-ca, front-proxy-ca) in the
    identity's values."""
    attr = {"ca": "ca", "etcd-ca": "etcd_ca", "front-proxy-ca": "front_proxy_ca"}[name]
    return cas[f"{attr}_cert"], cas[f"{attr}_key"]


def parse_time(text: str) -> _dt.datetime:
    """A `not_after` as `facts` writes it."""
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
