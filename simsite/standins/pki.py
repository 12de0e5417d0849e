"""Certificates and kubeconfigs, kubeadm-style."""
import base64
import datetime
import hashlib
import ipaddress
import os

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .common import P, read, write, exists

PKI = "/etc/kubernetes/pki"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_cert(pem):
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def load_key(pem):
    return serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, None)


def _name(cn, orgs=()):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


#: kubeadm 1.22 (`cmd/kubeadm/app/constants/constants.go` CertificateValidity): leaves are valid
#: for a year; client-go's NewSelfSignedCACert (`staging/src/k8s.io/client-go/util/cert/cert.go`)
#: makes CAs valid for duration365d * 10.
LEAF_VALIDITY = datetime.timedelta(days=365)
CA_VALIDITY = datetime.timedelta(days=3650)
SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def make_ca(cn):
    """client-go's NewSelfSignedCACert as kubeadm 1.22 calls it (pkiutil.NewCertificateAuthority):
    NotBefore now (no backdate), NotAfter now + 10 years, KeyUsage DigitalSignature,
    KeyEncipherment, CertSign (critical), CA:TRUE (critical), a SubjectKeyIdentifier (Go's
    CreateCertificate adds one to a CA). client-go uses serial 0, which the cryptography
    library refuses: the stand-in's CA serial is random (STANDINS.md)."""
    key = new_key()
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.KeyUsage(True, False, True, False, False, True, False, False, False), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def not_before(cert):
    """The certificate's NotBefore, timezone-aware (UTC)."""
    t = getattr(cert, "not_valid_before_utc", None)
    return t if t is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def not_after(cert):
    t = getattr(cert, "not_valid_after_utc", None)
    return t if t is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _dedupe_alt_names(dns, ips):
    """pkiutil.RemoveDuplicateAltNames (kubeadm 1.22): DNS names through sets.NewString(...).List()
    (unique and sorted), IPs unique in their order."""
    out_ips, seen = [], set()
    for i in ips:
        if not i:
            continue
        a = ipaddress.ip_address(i)
        if str(a) not in seen:
            seen.add(str(a))
            out_ips.append(a)
    return sorted(set(d for d in dns if d)), out_ips


def new_signed_cert(ca_cert, ca_key, cn, orgs=(), dns=(), ips=(), usages=(CLIENT,), pub=None):
    """kubeadm 1.22's pkiutil.NewSignedCert (`cmd/kubeadm/app/util/pkiutil/pki_helpers.go`):
    a random serial below 2^63-1, Subject O then CN, NotBefore the CA's NotBefore, NotAfter
    now + 365 days, KeyUsage DigitalSignature + KeyEncipherment (critical), the certificate's
    ExtKeyUsages, CA:FALSE (BasicConstraintsValid, critical), SANs deduplicated; Go's
    CreateCertificate adds the CA's SubjectKeyIdentifier as AuthorityKeyIdentifier.
    Returns (cert, key); key is None when `pub` is given."""
    import secrets
    key = None
    if pub is None:
        key = new_key()
        pub = key.public_key()
    dns, ips = _dedupe_alt_names(dns, ips)
    b = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(ca_cert.subject)
         .public_key(pub).serial_number(secrets.randbelow(2 ** 63 - 1) or 1)
         .not_valid_before(not_before(ca_cert))
         .not_valid_after(_now() + LEAF_VALIDITY)
         .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    except x509.ExtensionNotFound:
        pass
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(i) for i in ips]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(ca_key, hashes.SHA256()), key


def verify_signed_by(cert, ca_cert):
    """True when `cert` carries a valid signature of `ca_cert`'s key."""
    from cryptography.hazmat.primitives.asymmetric import padding
    try:
        ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        return True
    except Exception:  # noqa: BLE001 - any failure is "not signed by"
        return False


def sign(ca_cert, ca_key, cn, orgs=(), dns=(), ips=(), server=False, client=True, pub=None):
    key = None
    if pub is None:
        key = new_key()
        pub = key.public_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    b = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(ca_cert.subject)
         .public_key(pub).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=365))
         .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
    sans = [x509.DNSName(d) for d in dns if d] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips if i]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(ca_key, hashes.SHA256()), key


def spki_hash(cert):
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def ensure_ca(base, cn, pki=PKI):
    """kubeadm: use an existing CA (cert+key) if present, else create one."""
    crt, key = "%s/%s.crt" % (pki, base), "%s/%s.key" % (pki, base)
    if exists(crt):
        c = load_cert(read(crt))
        k = load_key(read(key)) if exists(key) else None
        return c, k, "[certs] Using existing %s certificate authority" % base
    c, k = make_ca(cn)
    write(crt, cert_pem(c))
    write(key, key_pem(k), 0o600)
    return c, k, "[certs] Generating \"%s\" certificate and key" % base


def ensure_leaf(base, ca, cn, orgs=(), dns=(), ips=(), server=False, client=True, pki=PKI):
    ca_cert, ca_key = ca
    crt, keyp = "%s/%s.crt" % (pki, base), "%s/%s.key" % (pki, base)
    if exists(crt) and exists(keyp):
        c = load_cert(read(crt))
        if not verify_signed_by(c, ca_cert):
            raise RuntimeError("[certs] certificate %s not signed by CA certificate %s: crypto/rsa: verification error"
                               % (os.path.basename(base), "ca"))
        return "[certs] Using existing %s certificate and key on disk" % base
    if ca_key is None:
        raise RuntimeError("couldn't load CA private key for %s: open %s: no such file or directory" % (base, P(pki + "/ca.key")))
    c, k = new_signed_cert(ca_cert, ca_key, cn, orgs, dns, ips, ([SERVER] if server else []) + ([CLIENT] if client else []))
    write(keyp, key_pem(k), 0o600)   # pkiutil.WriteCertAndKey: the key, then the certificate
    write(crt, cert_pem(c))
    if dns or ips:
        return "[certs] %s serving cert is signed for DNS names [%s] and IPs [%s]" % (base, " ".join(dns), " ".join(ips))
    return "[certs] Generating \"%s\" certificate and key" % base


def kubeconfig(server, ca_pem, user, cert_pem_=None, key_pem_=None, token=None, cluster="kubernetes"):
    u = {}
    if cert_pem_:
        u["client-certificate-data"] = base64.b64encode(cert_pem_.encode()).decode()
        u["client-key-data"] = base64.b64encode(key_pem_.encode()).decode()
    if token:
        u["token"] = token
    ctx = "%s@%s" % (user, cluster)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(), "server": server}}],
        "contexts": [{"name": ctx, "context": {"cluster": cluster, "user": user}}],
        "current-context": ctx, "preferences": {},
        "users": [{"name": user, "user": u}],
    }, sort_keys=False)


def parse_kubeconfig(text):
    cfg = yaml.safe_load(text) or {}
    ctxname = cfg.get("current-context")
    ctx = next((c["context"] for c in (cfg.get("contexts") or []) if c.get("name") == ctxname), None)
    if ctx is None and cfg.get("contexts"):
        ctx = cfg["contexts"][0]["context"]
    cl = next((c["cluster"] for c in (cfg.get("clusters") or []) if ctx and c.get("name") == ctx.get("cluster")), None) or (cfg.get("clusters") or [{}])[0].get("cluster", {})
    us = next((u["user"] for u in (cfg.get("users") or []) if ctx and u.get("name") == ctx.get("user")), None) or {}
    out = {"server": cl.get("server"), "ca": None, "cert": None, "key": None, "token": us.get("token")}
    if cl.get("certificate-authority-data"):
        out["ca"] = base64.b64decode(cl["certificate-authority-data"]).decode()
    if us.get("client-certificate-data"):
        out["cert"] = base64.b64decode(us["client-certificate-data"]).decode()
        out["key"] = base64.b64decode(us["client-key-data"]).decode()
    return out
