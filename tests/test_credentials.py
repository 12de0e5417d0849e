"""The cluster identity's values (edge_constructs/credentials/identity.py, what the provider's
`edge_cluster_identity` makes and keeps in state), in memory; the import of a credentials
directory written by the earlier release (`load_directory`, `terraform import`), from such a
directory (tests/credentials_dir.py). The provider's plan/update of the identity, unit-level:
tests/test_identity_resource.py."""
from __future__ import annotations

import base64
import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioners.core.errors import CredentialsError
from provisioners.core.masking import mask
from edge_constructs.credentials import identity as ident
from edge_constructs.credentials.pki import ca_cert_hash, generate_bootstrap_token
from tests.credentials_dir import write_credentials_dir
from tests.ca_files import write_ca

TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
ENDPOINT = "198.18.0.10:6443"


@pytest.fixture(scope="module")
def values() -> dict:
    """A new identity's values, as the provider keeps them in state (read only: shared)."""
    return _new()


@pytest.fixture
def made(tmp_path, values):
    """That identity as the files of a credentials directory (what the import reads)."""
    return write_credentials_dir(tmp_path / "creds", endpoint=ENDPOINT, cluster_name="demo",
                                 values=values)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _pem(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode())


def _make_ca(tmp_path: Path, name: str, *, is_ca: bool = True, key=None) -> tuple[Path, Path]:
    return write_ca(tmp_path, name, is_ca=is_ca, days=365, key=key, traditional_key=True)


def _new(**kw) -> dict:
    return ident.new_identity(cluster_name="demo", endpoint=ENDPOINT,
                              virtual_address=kw.pop("virtual_address", "169.254.20.11"),
                              leaf_validity=dt.timedelta(days=365), **kw)


# ------------------------------------------------------------------ the CA hash

def test_ca_hash_matches_the_openssl_pipeline_kubeadm_documents(values):
    out = subprocess.run(
        "openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum", shell=True,
        check=True, capture_output=True, text=True, input=values["ca_cert"]).stdout
    assert values["ca_cert_hash"] == "sha256:" + out.split()[0]
    assert ca_cert_hash(values["ca_cert"].encode()) == values["ca_cert_hash"]


# ------------------------------------------------------------------ what is created

def test_cas_look_like_kubeadms(values):
    for name, cn in (("ca_cert", "kubernetes"), ("front_proxy_ca_cert", "front-proxy-ca"),
                     ("etcd_ca_cert", "etcd-ca")):
        cert = _pem(values[name])
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and ku.value.digital_signature
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
        life = cert.not_valid_after_utc - cert.not_valid_before_utc
        assert dt.timedelta(days=3649) < life < dt.timedelta(days=3651)
        cert.verify_directly_issued_by(cert)


@pytest.mark.parametrize("cert_attr,key_attr,cn,org", [
    ("admin_cert", "admin_key", "kubernetes-admin", "system:masters"),
    ("tunnel_anp_client_cert", "tunnel_anp_client_key", "tunnel-anp-client", None),
])
def test_client_certs_are_issued_by_the_cluster_ca(values, cert_attr, key_attr, cn, org):
    cert = _pem(values[cert_attr])
    cert.verify_directly_issued_by(_pem(values["ca_cert"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ([org] if org else [])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = _pem(values["ca_cert"]).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    # system:masters cannot be revoked: the admin certificate lives 90 days at most.
    days = 90 if cert_attr == "admin_cert" else 365
    assert dt.timedelta(days=days - 1) < life < dt.timedelta(days=days + 1)
    key = serialization.load_pem_private_key(values[key_attr].encode(), None)
    assert key.public_key() == cert.public_key()


def test_service_account_public_key_matches_its_private_key(values):
    key = serialization.load_pem_private_key(values["sa_key"].encode(), None)
    assert serialization.load_pem_public_key(values["sa_pub"].encode()) == key.public_key()


def test_tokens_have_kubeadms_shape(values):
    token = values["bootstrap_token"]
    assert TOKEN_RE.match(token) and values["bootstrap_token_id"] == token[:6]
    tokens = {generate_bootstrap_token() for _ in range(50)}
    assert len(tokens) == 50 and all(TOKEN_RE.match(t) for t in tokens)


def test_kubeconfig_reaches_the_endpoint_as_kubernetes_admin(values):
    cfg = yaml.safe_load(values["kubeconfig"])
    assert cfg["current-context"] == "kubernetes-admin@demo"
    (cluster,) = cfg["clusters"]
    assert cluster["name"] == "demo"
    assert cluster["cluster"]["server"] == f"https://{ENDPOINT}"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode() == values["ca_cert"]
    (ctx,) = cfg["contexts"]
    assert ctx == {"name": "kubernetes-admin@demo",
                   "context": {"cluster": "demo", "user": "kubernetes-admin"}}
    (user,) = cfg["users"]
    assert user["name"] == "kubernetes-admin"
    assert base64.b64decode(user["user"]["client-certificate-data"]).decode() == values["admin_cert"]
    assert base64.b64decode(user["user"]["client-key-data"]).decode() == values["admin_key"]


# ------------------------------------------------------------------ renewal and rotation

def test_a_client_cert_near_expiry_is_due_and_reissued(values):
    values = dict(values)
    later = max(ident.leaf_not_after(values[f"{n}_cert"]) for n in ident.LEAVES) - dt.timedelta(days=10)
    assert ident.expiring(values) == []
    assert ident.expiring(values, now=later) == ["admin", "tunnel_anp_client", "lite_apiserver"]
    # The admin certificate (90 days) is due first.
    admin_due = ident.leaf_not_after(values["admin_cert"]) - dt.timedelta(days=10)
    assert ident.expiring(values, now=admin_due) == ["admin"]
    old = values["admin_cert"]
    ident.issue_leaf(values, "admin", virtual_address="169.254.20.11",
                     validity=dt.timedelta(days=365))
    assert values["admin_cert"] != old
    _pem(values["admin_cert"]).verify_directly_issued_by(_pem(values["ca_cert"]))


def test_a_rotated_token_retires_the_old_ones_id(values):
    values = dict(values)
    old = values["bootstrap_token_id"]
    ident.rotate_bootstrap_token(values)
    assert values["bootstrap_token_id"] != old and TOKEN_RE.match(values["bootstrap_token"])
    assert values["retired_bootstrap_token_ids"].split() == [old]


# ------------------------------------------------------------------ import of a directory

def test_import_reads_back_every_value(made):
    got = ident.load_directory(str(made.directory))
    assert got == made.values
    assert ident.kubeconfig_facts(got["kubeconfig"]) == ("demo", ENDPOINT)
    assert ident.virtual_address_of(got) == "169.254.20.11"


def test_import_fails_naming_every_missing_file(made):
    made.etcd_ca_key.unlink()
    made.sa_key.unlink()
    with pytest.raises(CredentialsError, match="lacks etcd-ca.key, sa.key"):
        ident.load_directory(str(made.directory))


def test_import_fails_when_the_ca_key_does_not_match_the_ca_cert(made):
    made.ca_key.write_bytes(made.etcd_ca_key.read_bytes())
    with pytest.raises(CredentialsError, match=re.escape(
            f"private key {made.ca_key} does not match certificate {made.ca_cert}")):
        ident.load_directory(str(made.directory))


def test_import_fails_when_the_admin_cert_was_issued_by_another_ca(made):
    other = write_credentials_dir(made.directory.parent / "other", endpoint=ENDPOINT,
                                  cluster_name="x")
    made.admin_cert.write_bytes(other.admin_cert.read_bytes())
    made.admin_key.write_bytes(other.admin_key.read_bytes())
    with pytest.raises(CredentialsError, match=re.escape(
            f"{made.admin_cert} was not issued by the cluster CA {made.ca_cert}")):
        ident.load_directory(str(made.directory))


@pytest.mark.parametrize("content", ["abcdef.0123456789abcdeF\n", "abc.def\n", ""])
def test_import_fails_when_the_bootstrap_token_is_malformed(made, content):
    made.bootstrap_token.write_text(content)
    with pytest.raises(CredentialsError, match=re.escape(
            f"token file {made.bootstrap_token} does not hold a valid token")):
        ident.load_directory(str(made.directory))


# ------------------------------------------------------------------ bring your own CA

def test_own_ca_is_kept_and_signs_the_client_certs(tmp_path):
    cert_file, key_file = _make_ca(tmp_path, "my-ca")
    v = _new(ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    ca = x509.load_pem_x509_certificate(v["ca_cert"].encode())
    assert ca == _cert(cert_file)
    assert serialization.load_pem_private_key(v["ca_key"].encode(), None).public_key() == \
        ca.public_key()
    assert v["ca_cert_hash"] == ca_cert_hash(cert_file.read_bytes())
    for leaf in ("admin_cert", "tunnel_anp_client_cert", "lite_apiserver_cert"):
        x509.load_pem_x509_certificate(v[leaf].encode()).verify_directly_issued_by(ca)


def test_own_ecdsa_ca_works(tmp_path):
    cert_file, key_file = _make_ca(tmp_path, "ec-ca", key=ec.generate_private_key(ec.SECP256R1()))
    v = _new(ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    x509.load_pem_x509_certificate(v["admin_cert"].encode()).verify_directly_issued_by(
        _cert(cert_file))


def test_fails_when_only_one_of_the_ca_files_is_given(tmp_path):
    cert_file, _ = _make_ca(tmp_path, "my-ca")
    with pytest.raises(CredentialsError, match="ca_cert_file and ca_key_file go together"):
        ident.byo_ca(str(cert_file), None)


def test_fails_when_the_given_ca_key_does_not_match(tmp_path):
    cert_file, _ = _make_ca(tmp_path, "my-ca")
    _, other_key = _make_ca(tmp_path, "other-ca")
    with pytest.raises(CredentialsError, match=re.escape(
            f"private key {other_key} does not match certificate {cert_file}")):
        ident.byo_ca(str(cert_file), str(other_key))


def test_fails_when_the_given_cert_is_not_a_ca(tmp_path):
    cert_file, key_file = _make_ca(tmp_path, "leaf", is_ca=False)
    with pytest.raises(CredentialsError, match=re.escape(f"certificate {cert_file} is not a CA")):
        ident.byo_ca(str(cert_file), str(key_file))


# ------------------------------------------------------------------ masking

def test_mask_hides_every_secret_and_only_them(values):
    token, token_id = values["bootstrap_token"], values["bootstrap_token_id"]
    line = f"edgeadm join {ENDPOINT} --token {token} id={token_id}"
    masked = mask(line, (token, token.split(".", 1)[1]))
    assert token not in masked and token.split(".")[1] not in masked
    assert masked == f"edgeadm join {ENDPOINT} --token *** id={token_id}"
    assert mask("a secret, the secret", ["secret", ""]) == "a ***, the ***"
    assert mask("abcdef.x abcdef", ["abcdef", "abcdef.x"]) == "*** ***"


def test_lite_apiserver_serves_the_virtual_address():
    v = _new(virtual_address="169.254.30.1")
    cert = x509.load_pem_x509_certificate(v["lite_apiserver_cert"].encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"127.0.0.1", "169.254.30.1"} <= {str(i) for i in sans.get_values_for_type(x509.IPAddress)}
    assert ident.lite_sans_match(v, "169.254.30.1")
    # A new virtual address is a certificate to re-issue (the plan marks it); the CA stays.
    assert not ident.lite_sans_match(v, "169.254.20.11")
    ca = v["ca_cert"]
    ident.issue_leaf(v, "lite_apiserver", virtual_address="169.254.20.11",
                     validity=dt.timedelta(days=365))
    assert ident.lite_sans_match(v, "169.254.20.11") and v["ca_cert"] == ca


def test_the_lite_apiserver_certificate_carries_the_kubernetes_service_ip():
    # edgeadm v0.9.0 common/prepare_join_node.go: IP SANs = the `kubernetes` ClusterIP and
    # the virtual address (application-grid-wrapper sends that Service to lite-apiserver)
    import datetime as _dt
    import ipaddress
    from cryptography import x509 as _x509
    from edge_constructs.credentials import identity as ident
    values = ident.new_identity(cluster_name="demo", endpoint=ENDPOINT, virtual_address="169.254.20.11",
                                leaf_validity=_dt.timedelta(days=30), service_ip="10.96.0.1")
    cert = _x509.load_pem_x509_certificate(values["lite_apiserver_cert"].encode())
    ips = cert.extensions.get_extension_for_class(_x509.SubjectAlternativeName).value.get_values_for_type(_x509.IPAddress)
    assert ipaddress.ip_address("10.96.0.1") in ips and ipaddress.ip_address("169.254.20.11") in ips
    assert ident.lite_sans_match(values, "169.254.20.11", "10.96.0.1")
    assert not ident.lite_sans_match(values, "169.254.20.11")   # an old certificate is renewed
