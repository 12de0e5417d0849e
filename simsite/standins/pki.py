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


def make_ca(cn):
    key = new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, True, False, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


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
        try:
            ca_cert.public_key().verify(c.signature, c.tbs_certificate_bytes,
                                        __import__("cryptography.hazmat.primitives.asymmetric.padding", fromlist=["PKCS1v15"]).PKCS1v15(),
                                        c.signature_hash_algorithm)
        except Exception:
            raise RuntimeError("[certs] certificate %s not signed by CA certificate %s: crypto/rsa: verification error"
                               % (os.path.basename(base), "ca"))
        return "[certs] Using existing %s certificate and key on disk" % base
    if ca_key is None:
        raise RuntimeError("couldn't load CA private key for %s: open %s: no such file or directory" % (base, P(pki + "/ca.key")))
    c, k = sign(ca_cert, ca_key, cn, orgs, dns, ips, server, client)
    write(crt, cert_pem(c))
    write(keyp, key_pem(k), 0o600)
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
