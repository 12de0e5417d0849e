"""The X.509 and token building blocks of a cluster's identity: CAs, leaf certificates, keys,
the admin kubeconfig, kubeadm's CA hash and bootstrap tokens, and the checks of a CA or key
read from a file. The identity itself (its values, made at apply by the provider's
`edge_cluster_identity` and kept in state) is `credentials.identity`."""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import ipaddress
import re
import secrets as _secrets
import string
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioners.core.errors import CredentialsError

BOOTSTRAP_TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")   # kubeadm's
_ALPHABET = string.ascii_lowercase + string.digits

CA_VALIDITY = _dt.timedelta(days=3650)
LEAF_VALIDITY = _dt.timedelta(days=365)
# A leaf certificate this close to expiry is re-issued by the next apply (SuperEdge
# issue 527: certificates silently expiring after a year).
LEAF_RENEW_BEFORE = _dt.timedelta(days=30)
# Tolerate hosts whose clocks run a little behind the operator's.
CLOCK_SKEW = _dt.timedelta(minutes=5)

ADMIN_USER = "kubernetes-admin"

# ---------------------------------------------------------------- public helpers

def ca_cert_hash(ca_pem: bytes) -> str:
    """kubeadm's discovery hash: "sha256:" + hex SHA-256 of the CA cert's DER SubjectPublicKeyInfo."""
    try:
        cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise CredentialsError(f"cannot compute the CA hash: not a PEM certificate ({e})") from e
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def generate_bootstrap_token() -> str:
    """A fresh kubeadm bootstrap token "<6 [a-z0-9]>.<16 [a-z0-9]>" from a CSPRNG."""
    return _random_string(6) + "." + _random_string(16)


# ---------------------------------------------------------------- reading and checking

def read_file(path: Path) -> bytes | None:
    """The bytes of `path`, None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as e:
        raise CredentialsError(f"{path} is a directory, expected a file: move it away") from e
    except OSError as e:
        raise CredentialsError(f"cannot read {path}: {e.strerror}") from e


_Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_cert(data: bytes, path: Path) -> x509.Certificate:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise CredentialsError(f"{path} is not a PEM certificate ({e}); give a PEM file "
                               "beginning with -----BEGIN CERTIFICATE-----") from e
    if len(certs) != 1:
        raise CredentialsError(f"{path} holds {len(certs)} certificates; it must hold exactly one "
                               "(the CA certificate itself, no chain)")
    return certs[0]


def load_key(data: bytes, path: Path) -> _Key:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as e:
        raise CredentialsError(f"{path} is an encrypted private key; decrypt it first, e.g. "
                               f"openssl pkey -in {path} -out ca.key (then keep it 0600)") from e
    except ValueError as e:
        raise CredentialsError(f"{path} is not a PEM private key ({e})") from e
    except Exception as e:  # noqa: BLE001 - unsupported algorithms raise library-specific errors
        raise CredentialsError(f"{path} cannot be loaded as a private key ({e})") from e
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CredentialsError(f"{path} is a {type(key).__name__.lstrip('_')}; Kubernetes CAs "
                               "must use RSA or ECDSA keys")
    return key


def _pub_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def check_pair(cert: x509.Certificate, key: _Key, cert_path: Path, key_path: Path) -> None:
    if _pub_der(cert.public_key()) != _pub_der(key.public_key()):
        raise CredentialsError(f"private key {key_path} does not match certificate {cert_path}: "
                               "give the key the certificate was issued for")


def check_is_ca(cert: x509.Certificate, path: Path) -> None:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise CredentialsError(f"certificate {path} is not a CA (basicConstraints CA:TRUE missing); "
                               "give the cluster CA certificate, not a server or client certificate")
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if ku is not None and not ku.key_cert_sign:
        raise CredentialsError(f"CA certificate {path} may not sign certificates "
                               "(keyUsage lacks keyCertSign); give a CA that may")
    if cert.not_valid_after_utc <= now():
        raise CredentialsError(f"CA certificate {path} expired on "
                               f"{cert.not_valid_after_utc:%Y-%m-%d}; give a valid CA")


def load_byo_ca(cert_file: Path, key_file: Path) -> tuple[x509.Certificate, _Key]:
    for what, f in (("ca_cert_file", cert_file), ("ca_key_file", key_file)):
        if not f.is_file():
            raise CredentialsError(f"{what}: {f} does not exist or is not a file")
    cert = load_cert(read_file(cert_file) or b"", cert_file)
    key = load_key(read_file(key_file) or b"", key_file)
    check_pair(cert, key, cert_file, key_file)
    check_is_ca(cert, cert_file)
    return cert, key


def read_token(path: Path, pattern: re.Pattern, shape: str) -> str:
    data = read_file(path)
    if data is None:
        raise CredentialsError(f"token file {path} is missing: restore it from the backup of "
                               "that directory")
    try:
        value = data.decode("ascii").strip()
    except UnicodeDecodeError:
        value = ""
    if not pattern.match(value):
        raise CredentialsError(
            f"token file {path} does not hold a valid token (expected {shape}); if the cluster "
            f"uses it, restore it from your backup, else delete {path} to have a new one generated")
    return value


# ---------------------------------------------------------------- making things

def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _random_string(n: int) -> str:
    return "".join(_secrets.choice(_ALPHABET) for _ in range(n))


def new_key() -> rsa.RSAPrivateKey:
    # RSA 2048, as kubeadm's default: every Kubernetes component and SuperEdge accepts it.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _serial() -> int:
    return int.from_bytes(_secrets.token_bytes(16), "big") >> 1  # positive, < 2**127


def new_ca_cert(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    t0 = now()
    name = _name(common_name)
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(t0 - CLOCK_SKEW)
        .not_valid_after(t0 + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def wanted_sans(ips: tuple[str, ...], names: tuple[str, ...]) -> set:
    return ({x509.IPAddress(ipaddress.ip_address(i)) for i in ips}
            | {x509.DNSName(n) for n in names})


def cert_sans(cert: x509.Certificate) -> set:
    try:
        return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


#: A leaf's key usage, kubeadm's (pkiutil.NewSignedCert): digital signature, key encipherment.
LEAF_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=True,
    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
    encipher_only=False, decipher_only=False)


def new_leaf_cert(key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, ca_key: _Key,
                   common_name: str, organization: str | None,
                   server_ips: tuple[str, ...] = (),
                   server_names: tuple[str, ...] = (),
                   validity: _dt.timedelta = LEAF_VALIDITY) -> x509.Certificate:
    t0 = now()
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    not_after = min(t0 + validity, ca_cert.not_valid_after_utc)
    sans = wanted_sans(server_ips, server_names)
    usage = [ExtendedKeyUsageOID.SERVER_AUTH] if sans else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(t0 - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(LEAF_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(aki, critical=False)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(sorted(sans, key=str)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: _Key) -> bytes:
    # PKCS#8 unencrypted: what kubeadm, kubectl and SuperEdge all load.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def render_kubeconfig(*, endpoint: str, cluster_name: str, ca_pem: bytes, cert_pem: bytes,
                       key_pem: bytes) -> bytes:
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    context = f"{ADMIN_USER}@{cluster_name}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {
            "certificate-authority-data": b64(ca_pem), "server": f"https://{endpoint}"}}],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": ADMIN_USER}}],
        "current-context": context,
        "preferences": {},
        "users": [{"name": ADMIN_USER, "user": {
            "client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)}}],
    }
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1 << 20).encode()
