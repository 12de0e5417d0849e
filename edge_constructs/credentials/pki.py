"""The credentials of one cluster, created at synth time in a private local directory and reused."""
from __future__ import annotations

import base64
import ipaddress
import datetime as _dt
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets as _secrets
import stat
import string
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioners.core.errors import CredentialsError, ValidationError
from provisioners.core.props import DEFAULT_VIRTUAL_ADDRESS

log = logging.getLogger(__name__)

BOOTSTRAP_TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")   # kubeadm's
TUNNEL_TOKEN_RE = re.compile(r"^[a-z0-9]{32}$")
_ALPHABET = string.ascii_lowercase + string.digits

CA_VALIDITY = _dt.timedelta(days=3650)
LEAF_VALIDITY = _dt.timedelta(days=365)
# A leaf certificate this close to expiry is re-issued on the next synth (SuperEdge
# issue 527: certificates silently expiring after a year).
LEAF_RENEW_BEFORE = _dt.timedelta(days=30)
# Tolerate hosts whose clocks run a little behind the operator's.
CLOCK_SKEW = _dt.timedelta(minutes=5)

ADMIN_USER = "kubernetes-admin"

# File names inside the credentials directory (flat; steps upload them by path to
# kubeadm's locations under /etc/kubernetes/pki).
FILES = {
    "ca_cert": "ca.crt", "ca_key": "ca.key",
    "front_proxy_ca_cert": "front-proxy-ca.crt", "front_proxy_ca_key": "front-proxy-ca.key",
    "etcd_ca_cert": "etcd-ca.crt", "etcd_ca_key": "etcd-ca.key",
    "sa_key": "sa.key", "sa_pub": "sa.pub",
    "admin_cert": "admin.crt", "admin_key": "admin.key",
    "admin_kubeconfig": "admin.conf",
    "tunnel_anp_client_cert": "tunnel-anp-client.crt",
    "tunnel_anp_client_key": "tunnel-anp-client.key",
    "lite_apiserver_cert": "lite-apiserver.crt",
    "lite_apiserver_key": "lite-apiserver.key",
    "bootstrap_token": "bootstrap-token",
    "tunnel_token": "tunnel-token",
}
_LOCK_FILE = ".lock"


@dataclass(frozen=True)
class ClusterCredentials:
    """Paths of one cluster's credentials (all files 0600 in a 0700 directory) and its CA hash."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    front_proxy_ca_cert: Path
    front_proxy_ca_key: Path
    etcd_ca_cert: Path
    etcd_ca_key: Path
    sa_key: Path
    sa_pub: Path
    admin_cert: Path
    admin_key: Path
    admin_kubeconfig: Path
    tunnel_anp_client_cert: Path
    tunnel_anp_client_key: Path
    lite_apiserver_cert: Path                    # serving cert of lite-apiserver on edge nodes (edge-info)
    lite_apiserver_key: Path
    bootstrap_token: Path
    tunnel_token: Path
    ca_cert_hash: str

    def read_bootstrap_token(self) -> str:
        """The whole bootstrap token "<id>.<secret>" (secret: never put it in synthesized JSON or logs)."""
        return _read_token(self.bootstrap_token, BOOTSTRAP_TOKEN_RE, "<6 [a-z0-9]>.<16 [a-z0-9]>")

    def read_tunnel_token(self) -> str:
        """The SuperEdge tunnel token (secret)."""
        return _read_token(self.tunnel_token, TUNNEL_TOKEN_RE, "32 characters [a-z0-9]")

    def token_id(self) -> str:
        """The bootstrap token's 6-character id (public: it names the token Secret)."""
        return self.read_bootstrap_token().split(".", 1)[0]

    def secrets(self) -> tuple[str, ...]:
        """Strings to pass to mask() before anything is logged."""
        token = self.read_bootstrap_token()
        return (token, token.split(".", 1)[1], self.read_tunnel_token())


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


def verify_ca_hash(ca_pem: bytes, expected: str) -> bool:
    """True when `expected` ("sha256:<hex>", hex in any case) is the hash of this CA certificate."""
    if not isinstance(expected, str) or not expected.lower().startswith("sha256:"):
        return False
    try:
        actual = ca_cert_hash(ca_pem)
    except CredentialsError:
        return False
    return hmac.compare_digest(actual, "sha256:" + expected[len("sha256:"):].lower())


def generate_bootstrap_token() -> str:
    """A fresh kubeadm bootstrap token "<6 [a-z0-9]>.<16 [a-z0-9]>" from a CSPRNG."""
    return _random_string(6) + "." + _random_string(16)


def generate_tunnel_token() -> str:
    """A fresh SuperEdge tunnel token: 32 characters [a-z0-9] from a CSPRNG."""
    return _random_string(32)




# ---------------------------------------------------------------- ensure_credentials

def ensure_credentials(directory: str | Path, *, endpoint: str, cluster_name: str,
                       virtual_address: str = DEFAULT_VIRTUAL_ADDRESS,
                       ca_cert_file: str | None = None,
                       ca_key_file: str | None = None,
                       service_ip: str | None = None) -> ClusterCredentials:
    """Create what is missing in `directory`, check what is there, and return the paths.

    Never regenerates a CA (cluster, front-proxy, etcd), the service-account key or a
    token that already exists; re-issues the admin and tunnel-anp-client certificates
    only when missing or within LEAF_RENEW_BEFORE of expiry; rewrites the admin
    kubeconfig when its content (endpoint, cluster name, client cert) changed.
    """
    if not isinstance(endpoint, str) or not endpoint or "://" in endpoint or any(c.isspace() for c in endpoint):
        raise ValidationError("endpoint", endpoint,
                              'a "host:port" (or "host") without scheme or spaces, e.g. "10.0.0.10:6443"')
    if not isinstance(cluster_name, str) or not cluster_name or any(c.isspace() for c in cluster_name):
        raise ValidationError("cluster_name", cluster_name, "a non-empty name without spaces")
    if (ca_cert_file is None) != (ca_key_file is None):
        raise CredentialsError(
            "ca_cert_file and ca_key_file go together: give both (to bring your own cluster CA) "
            f"or neither (to have one generated); got ca_cert_file={ca_cert_file!r}, "
            f"ca_key_file={ca_key_file!r}")

    # Check a given CA before touching the directory, so a bad one leaves nothing behind.
    byo = _load_byo_ca(Path(ca_cert_file), Path(ca_key_file)) if ca_cert_file else None
    d = _ensure_directory(Path(directory).expanduser().absolute())
    paths = {name: d / fname for name, fname in FILES.items()}
    p = paths.__getitem__

    with _locked(d):
        ca_cert, ca_key = _ensure_ca(p("ca_cert"), p("ca_key"), "kubernetes", byo=byo)
        _ensure_ca(p("front_proxy_ca_cert"), p("front_proxy_ca_key"), "front-proxy-ca")
        _ensure_ca(p("etcd_ca_cert"), p("etcd_ca_key"), "etcd-ca")
        _ensure_sa_keys(p("sa_key"), p("sa_pub"))
        admin_cert, admin_key = _ensure_leaf(
            p("admin_cert"), p("admin_key"), ca_cert, ca_key, p("ca_cert"),
            common_name=ADMIN_USER, organization="system:masters")
        _ensure_leaf(p("tunnel_anp_client_cert"), p("tunnel_anp_client_key"), ca_cert, ca_key,
                     p("ca_cert"), common_name="tunnel-anp-client", organization=None)
        # lite-apiserver serves kubelet on every edge node at the virtual address.
        _ensure_leaf(p("lite_apiserver_cert"), p("lite_apiserver_key"), ca_cert, ca_key,
                     p("ca_cert"), common_name="lite-apiserver", organization=None,
                     server_ips=("127.0.0.1", virtual_address) + ((service_ip,) if service_ip else ()),
                     server_names=("localhost",))
        _write_if_changed(p("admin_kubeconfig"), _render_kubeconfig(
            endpoint=endpoint, cluster_name=cluster_name, ca_pem=_pem(ca_cert),
            cert_pem=_pem(admin_cert), key_pem=_key_pem(admin_key)))
        _ensure_token(p("bootstrap_token"), BOOTSTRAP_TOKEN_RE, generate_bootstrap_token,
                      "<6 [a-z0-9]>.<16 [a-z0-9]>")
        _ensure_token(p("tunnel_token"), TUNNEL_TOKEN_RE, generate_tunnel_token,
                      "32 characters [a-z0-9]")
        for path in paths.values():
            _tighten(path, 0o600)

    return ClusterCredentials(directory=d, ca_cert_hash=ca_cert_hash(_pem(ca_cert)), **paths)


# ---------------------------------------------------------------- directory and files

def _ensure_directory(d: Path) -> Path:
    if d.exists() and not d.is_dir():
        raise CredentialsError(
            f"credentials directory {d} exists but is not a directory: "
            "point the credentials directory elsewhere or move that file away")
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise CredentialsError(f"cannot create credentials directory {d}: {e.strerror}; "
                               "choose a writable path") from e
    _tighten(d, 0o700)
    return d


def _tighten(path: Path, mode: int) -> None:
    """Remove any permission bit beyond `mode` (only owner bits are ever kept)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if stat.S_IMODE(st.st_mode) & ~mode:
        try:
            os.chmod(path, stat.S_IMODE(st.st_mode) & mode)
        except OSError as e:
            raise CredentialsError(
                f"{path} is readable by others and cannot be restricted to {mode:o} ({e.strerror}); "
                f"run: chmod {mode:o} {path}") from e


@contextmanager
def _locked(d: Path) -> Iterator[None]:
    """Serialize concurrent synths on one directory, so two never create two different CAs."""
    fd = os.open(d / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    log.info("wrote %s", path)


def _write_if_changed(path: Path, data: bytes) -> None:
    if _read_or_none(path) != data:
        _write_atomic(path, data)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as e:
        raise CredentialsError(f"{path} is a directory, expected a file: move it away") from e
    except OSError as e:
        raise CredentialsError(f"cannot read {path}: {e.strerror}") from e


# ---------------------------------------------------------------- loading and checking

_Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _load_cert(data: bytes, path: Path) -> x509.Certificate:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise CredentialsError(f"{path} is not a PEM certificate ({e}); give a PEM file "
                               "beginning with -----BEGIN CERTIFICATE-----") from e
    if len(certs) != 1:
        raise CredentialsError(f"{path} holds {len(certs)} certificates; it must hold exactly one "
                               "(the CA certificate itself, no chain)")
    return certs[0]


def _load_key(data: bytes, path: Path) -> _Key:
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


def _check_pair(cert: x509.Certificate, key: _Key, cert_path: Path, key_path: Path) -> None:
    if _pub_der(cert.public_key()) != _pub_der(key.public_key()):
        raise CredentialsError(f"private key {key_path} does not match certificate {cert_path}: "
                               "give the key the certificate was issued for")


def _check_is_ca(cert: x509.Certificate, path: Path) -> None:
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
    if cert.not_valid_after_utc <= _now():
        raise CredentialsError(f"CA certificate {path} expired on "
                               f"{cert.not_valid_after_utc:%Y-%m-%d}; give a valid CA")


def _load_byo_ca(cert_file: Path, key_file: Path) -> tuple[x509.Certificate, _Key]:
    for what, f in (("ca_cert_file", cert_file), ("ca_key_file", key_file)):
        if not f.is_file():
            raise CredentialsError(f"{what}: {f} does not exist or is not a file")
    cert = _load_cert(_read_or_none(cert_file) or b"", cert_file)
    key = _load_key(_read_or_none(key_file) or b"", key_file)
    _check_pair(cert, key, cert_file, key_file)
    _check_is_ca(cert, cert_file)
    return cert, key


# ---------------------------------------------------------------- what is ensured

def _ensure_ca(cert_path: Path, key_path: Path, common_name: str, *,
               byo: tuple[x509.Certificate, _Key] | None = None) -> tuple[x509.Certificate, _Key]:
    cert_data, key_data = _read_or_none(cert_path), _read_or_none(key_path)
    if cert_data is not None and key_data is None and byo is not None and \
            _load_cert(cert_data, cert_path) == byo[0]:
        # The given CA is the one in use and brings the key the directory lost.
        _write_atomic(key_path, _key_pem(byo[1]))
        key_data = _read_or_none(key_path)
    if cert_data is not None and key_data is None:
        raise CredentialsError(
            f"{cert_path} exists but its private key {key_path} is missing: restore {key_path.name} "
            "from your backup; the CA is never regenerated because that would change the "
            "cluster's identity")
    if cert_data is None and key_data is not None:
        raise CredentialsError(
            f"{key_path} exists but its certificate {cert_path} is missing: restore "
            f"{cert_path.name} from your backup, or, if this cluster was never deployed, delete "
            f"{key_path} to have a new CA generated")

    if cert_data is not None:
        cert, key = _load_cert(cert_data, cert_path), _load_key(key_data, key_path)
        _check_pair(cert, key, cert_path, key_path)
        _check_is_ca(cert, cert_path)
        if byo is not None and cert.public_bytes(serialization.Encoding.DER) != \
                byo[0].public_bytes(serialization.Encoding.DER):
            raise CredentialsError(
                f"the credentials directory {cert_path.parent} already holds a different cluster CA "
                f"({cert_path}, {ca_cert_hash(_pem(cert))}) than ca_cert_file "
                f"({ca_cert_hash(_pem(byo[0]))}); a cluster's CA is never replaced: use another "
                "credentials directory for a new cluster, or give the CA already in use")
        return cert, key

    if byo is not None:
        cert, key = byo
        log.info("copying the given CA into %s", cert_path.parent)
    else:
        key = _new_key()
        cert = _new_ca_cert(key, common_name)
        log.info("generated CA %s in %s", common_name, cert_path.parent)
    # Key first: a crash in between leaves a key without a cert, never a cert without a key.
    _write_atomic(key_path, _key_pem(key))
    _write_atomic(cert_path, _pem(cert))
    return cert, key


def _ensure_sa_keys(key_path: Path, pub_path: Path) -> None:
    key_data, pub_data = _read_or_none(key_path), _read_or_none(pub_path)
    if key_data is None:
        if pub_data is not None:
            raise CredentialsError(
                f"{pub_path} exists but the service-account signing key {key_path} is missing: "
                f"restore {key_path.name} from your backup, or, if this cluster was never deployed, "
                f"delete {pub_path} to have a new pair generated")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_atomic(key_path, _key_pem(key))
    else:
        key = _load_key(key_data, key_path)
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if pub_data is None:
        _write_atomic(pub_path, pub_pem)
        return
    try:
        pub = serialization.load_pem_public_key(pub_data)
    except ValueError as e:
        raise CredentialsError(f"{pub_path} is not a PEM public key ({e}); delete it to have it "
                               f"derived again from {key_path.name}") from e
    if _pub_der(pub) != _pub_der(key.public_key()):
        raise CredentialsError(f"{pub_path} does not match {key_path}: delete {pub_path.name} to "
                               f"have it derived again from {key_path.name}")


def _ensure_leaf(cert_path: Path, key_path: Path, ca_cert: x509.Certificate, ca_key: _Key,
                 ca_path: Path, *, common_name: str, organization: str | None,
                 server_ips: tuple[str, ...] = (),
                 server_names: tuple[str, ...] = ()) -> tuple[x509.Certificate, _Key]:
    cert_data, key_data = _read_or_none(cert_path), _read_or_none(key_path)
    if cert_data is not None and key_data is not None:
        cert, key = _load_cert(cert_data, cert_path), _load_key(key_data, key_path)
        _check_pair(cert, key, cert_path, key_path)
        try:
            cert.verify_directly_issued_by(ca_cert)
        except (ValueError, TypeError, InvalidSignature) as e:
            raise CredentialsError(
                f"{cert_path} was not issued by the cluster CA {ca_path}: delete {cert_path.name} and "
                f"{key_path.name} to have them issued again by that CA") from e
        # A leaf never outlives its CA; re-issuing cannot help once the CA is the limit.
        fresh = (cert.not_valid_after_utc - _now() > LEAF_RENEW_BEFORE
                 or cert.not_valid_after_utc >= ca_cert.not_valid_after_utc)
        if fresh and cert.subject == _name(common_name, organization) \
                and _sans(cert) == _wanted_sans(server_ips, server_names):
            return cert, key
        log.info("re-issuing %s (expires %s)", cert_path, cert.not_valid_after_utc)
    # Missing (or half missing, expiring): leaves are derived data, issue a new pair.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _new_leaf_cert(key, ca_cert, ca_key, common_name, organization,
                          server_ips, server_names)
    _write_atomic(key_path, _key_pem(key))
    _write_atomic(cert_path, _pem(cert))
    return cert, key


def _read_token(path: Path, pattern: re.Pattern, shape: str) -> str:
    data = _read_or_none(path)
    if data is None:
        raise CredentialsError(f"token file {path} is missing: run ensure_credentials() again")
    try:
        value = data.decode("ascii").strip()
    except UnicodeDecodeError:
        value = ""
    if not pattern.match(value):
        raise CredentialsError(
            f"token file {path} does not hold a valid token (expected {shape}); if the cluster "
            f"uses it, restore it from your backup, else delete {path} to have a new one generated")
    return value


def _ensure_token(path: Path, pattern: re.Pattern, generate, shape: str) -> None:
    if path.exists():
        _read_token(path, pattern, shape)
        return
    _write_atomic(path, (generate() + "\n").encode("ascii"))


# ---------------------------------------------------------------- making things

def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _random_string(n: int) -> str:
    return "".join(_secrets.choice(_ALPHABET) for _ in range(n))


def _new_key() -> rsa.RSAPrivateKey:
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


def _new_ca_cert(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    now = _now()
    name = _name(common_name)
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _wanted_sans(ips: tuple[str, ...], names: tuple[str, ...]) -> set:
    return ({x509.IPAddress(ipaddress.ip_address(i)) for i in ips}
            | {x509.DNSName(n) for n in names})


def _sans(cert: x509.Certificate) -> set:
    try:
        return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _new_leaf_cert(key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, ca_key: _Key,
                   common_name: str, organization: str | None,
                   server_ips: tuple[str, ...] = (),
                   server_names: tuple[str, ...] = (),
                   validity: _dt.timedelta = LEAF_VALIDITY) -> x509.Certificate:
    now = _now()
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    not_after = min(now + validity, ca_cert.not_valid_after_utc)
    sans = _wanted_sans(server_ips, server_names)
    usage = [ExtendedKeyUsageOID.SERVER_AUTH] if sans else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(aki, critical=False)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(sorted(sans, key=str)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: _Key) -> bytes:
    # PKCS#8 unencrypted: what kubeadm, kubectl and SuperEdge all load.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _render_kubeconfig(*, endpoint: str, cluster_name: str, ca_pem: bytes, cert_pem: bytes,
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
