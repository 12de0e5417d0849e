"""Credentials: created once at synth time, reused byte for byte, private, and the cluster's CA guarded."""
from __future__ import annotations

import base64
import datetime as dt
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge_constructs.credentials import pki as creds
from provisioners.core.masking import mask
from edge_constructs.credentials.pki import (FILES, ClusterCredentials, ca_cert_hash,
                                             ensure_credentials, generate_bootstrap_token,
                                             verify_ca_hash)
from provisioners.core.errors import CredentialsError, ValidationError

TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
ENDPOINT = "198.18.0.10:6443"


@pytest.fixture
def made(tmp_path) -> ClusterCredentials:
    return ensure_credentials(tmp_path / "creds", endpoint=ENDPOINT, cluster_name="demo")


def _snapshot(c: ClusterCredentials) -> dict[str, bytes]:
    return {name: (c.directory / f).read_bytes() for name, f in FILES.items()}


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _make_ca(tmp_path: Path, name: str, *, is_ca: bool = True, key=None) -> tuple[Path, Path]:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_file, key_file


# ------------------------------------------------------------------ the CA hash

def test_ca_hash_matches_the_openssl_pipeline_kubeadm_documents(made):
    out = subprocess.run(
        f"openssl x509 -pubkey -noout -in {made.ca_cert} | openssl pkey -pubin -outform der"
        " | sha256sum", shell=True, check=True, capture_output=True, text=True).stdout
    assert made.ca_cert_hash == "sha256:" + out.split()[0]
    assert ca_cert_hash(made.ca_cert.read_bytes()) == made.ca_cert_hash


def test_verify_ca_hash_accepts_the_right_hash_only(made):
    pem = made.ca_cert.read_bytes()
    assert verify_ca_hash(pem, made.ca_cert_hash)
    assert verify_ca_hash(pem, made.ca_cert_hash.upper().replace("SHA256:", "sha256:"))
    assert not verify_ca_hash(pem, "sha256:" + "0" * 64)
    assert not verify_ca_hash(pem, made.ca_cert_hash[len("sha256:"):])   # no prefix
    assert not verify_ca_hash(b"not a cert", made.ca_cert_hash)


# ------------------------------------------------------------------ what is created

def test_creates_every_file_private_in_a_private_directory(made):
    assert stat.S_IMODE(made.directory.stat().st_mode) == 0o700
    for name, fname in FILES.items():
        path = getattr(made, name)
        assert path == made.directory / fname
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_cas_look_like_kubeadms(made):
    for path, cn in ((made.ca_cert, "kubernetes"), (made.front_proxy_ca_cert, "front-proxy-ca"),
                     (made.etcd_ca_cert, "etcd-ca")):
        cert = _cert(path)
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
def test_client_certs_are_issued_by_the_cluster_ca(made, cert_attr, key_attr, cn, org):
    cert = _cert(getattr(made, cert_attr))
    cert.verify_directly_issued_by(_cert(made.ca_cert))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ([org] if org else [])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = _cert(made.ca_cert).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=364) < life < dt.timedelta(days=366)
    key = serialization.load_pem_private_key(getattr(made, key_attr).read_bytes(), None)
    assert key.public_key() == cert.public_key()


def test_service_account_public_key_matches_its_private_key(made):
    key = serialization.load_pem_private_key(made.sa_key.read_bytes(), None)
    assert serialization.load_pem_public_key(made.sa_pub.read_bytes()) == key.public_key()


def test_tokens_have_kubeadms_and_superedges_shapes(made):
    raw = made.bootstrap_token.read_text()
    assert raw.endswith("\n") and TOKEN_RE.match(raw.strip())
    assert made.read_bootstrap_token() == raw.strip()
    assert made.token_id() == raw[:6]
    assert re.fullmatch(r"[a-z0-9]{32}", made.read_tunnel_token())
    tokens = {generate_bootstrap_token() for _ in range(50)}
    assert len(tokens) == 50 and all(TOKEN_RE.match(t) for t in tokens)


def test_kubeconfig_reaches_the_endpoint_as_kubernetes_admin(made):
    cfg = yaml.safe_load(made.admin_kubeconfig.read_text())
    assert cfg["current-context"] == "kubernetes-admin@demo"
    (cluster,) = cfg["clusters"]
    assert cluster["name"] == "demo"
    assert cluster["cluster"]["server"] == f"https://{ENDPOINT}"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == made.ca_cert.read_bytes()
    (ctx,) = cfg["contexts"]
    assert ctx == {"name": "kubernetes-admin@demo",
                   "context": {"cluster": "demo", "user": "kubernetes-admin"}}
    (user,) = cfg["users"]
    assert user["name"] == "kubernetes-admin"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == made.admin_cert.read_bytes()
    assert base64.b64decode(user["user"]["client-key-data"]) == made.admin_key.read_bytes()


# ------------------------------------------------------------------ reuse

def test_second_call_reuses_everything_byte_for_byte(made):
    before = _snapshot(made)
    again = ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")
    assert again == made
    assert _snapshot(again) == before


def test_endpoint_change_rewrites_the_kubeconfig_only(made):
    before = _snapshot(made)
    again = ensure_credentials(made.directory, endpoint="198.18.0.100:8443", cluster_name="demo")
    after = _snapshot(again)
    assert yaml.safe_load(after["admin_kubeconfig"])["clusters"][0]["cluster"]["server"] == \
        "https://198.18.0.100:8443"
    assert {k for k in before if before[k] != after[k]} == {"admin_kubeconfig"}
    assert again.ca_cert_hash == made.ca_cert_hash


def test_missing_derived_files_are_recreated_and_nothing_else_changes(made):
    before = _snapshot(made)
    for name in ("admin_cert", "sa_pub", "admin_kubeconfig"):
        getattr(made, name).unlink()
    again = ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")
    after = _snapshot(again)
    assert {k for k in before if before[k] != after[k]} == {"admin_cert", "admin_key", "admin_kubeconfig"}
    assert after["sa_pub"] == before["sa_pub"]
    _cert(again.admin_cert).verify_directly_issued_by(_cert(again.ca_cert))


def test_a_client_cert_near_expiry_is_reissued(made, monkeypatch):
    before = _snapshot(made)
    later = _cert(made.admin_cert).not_valid_after_utc - dt.timedelta(days=10)
    monkeypatch.setattr(creds, "_now", lambda: later)
    again = ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")
    after = _snapshot(again)
    assert {"admin_cert", "admin_key", "admin_kubeconfig", "tunnel_anp_client_cert",
            "tunnel_anp_client_key", "lite_apiserver_cert",
            "lite_apiserver_key"} == {k for k in before if before[k] != after[k]}
    assert _cert(again.admin_cert).not_valid_after_utc > later + dt.timedelta(days=300)


def test_loose_permissions_are_tightened(made):
    os.chmod(made.directory, 0o755)
    os.chmod(made.ca_key, 0o644)
    ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")
    assert stat.S_IMODE(made.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(made.ca_key.stat().st_mode) == 0o600


def test_no_temporary_files_are_left_behind(made):
    ensure_credentials(made.directory, endpoint="198.18.0.11:6443", cluster_name="demo")
    assert sorted(p.name for p in made.directory.iterdir()) == sorted([*FILES.values(), ".lock"])


# ------------------------------------------------------------------ failures on reuse

def test_fails_when_the_ca_key_is_missing(made):
    made.ca_key.unlink()
    with pytest.raises(CredentialsError, match=re.escape(f"{made.ca_cert} exists but its private key "
                                                         f"{made.ca_key} is missing")):
        ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")
    assert not made.ca_key.exists()


def test_fails_when_the_ca_key_does_not_match_the_ca_cert(made):
    made.ca_key.write_bytes(made.etcd_ca_key.read_bytes())
    with pytest.raises(CredentialsError, match=re.escape(
            f"private key {made.ca_key} does not match certificate {made.ca_cert}")):
        ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")


def test_fails_when_the_admin_cert_was_issued_by_another_ca(made):
    other = ensure_credentials(made.directory.parent / "other", endpoint=ENDPOINT, cluster_name="x")
    made.admin_cert.write_bytes(other.admin_cert.read_bytes())
    made.admin_key.write_bytes(other.admin_key.read_bytes())
    with pytest.raises(CredentialsError, match=re.escape(
            f"{made.admin_cert} was not issued by the cluster CA {made.ca_cert}: delete admin.crt")):
        ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")


@pytest.mark.parametrize("content", ["abcdef.0123456789abcdeF\n", "abc.def\n", ""])
def test_fails_when_the_bootstrap_token_is_malformed(made, content):
    made.bootstrap_token.write_text(content)
    with pytest.raises(CredentialsError, match=re.escape(
            f"token file {made.bootstrap_token} does not hold a valid token")):
        ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo")


def test_fails_when_the_directory_is_a_file(tmp_path):
    f = tmp_path / "creds"
    f.write_text("")
    with pytest.raises(CredentialsError, match=re.escape(f"credentials directory {f} exists but is not "
                                                         "a directory")):
        ensure_credentials(f, endpoint=ENDPOINT, cluster_name="demo")


@pytest.mark.parametrize("endpoint", ["", "https://198.18.0.10:6443", "a b:6443"])
def test_fails_when_the_endpoint_is_not_host_port(tmp_path, endpoint):
    with pytest.raises(ValidationError, match="endpoint"):
        ensure_credentials(tmp_path / "c", endpoint=endpoint, cluster_name="demo")


# ------------------------------------------------------------------ bring your own CA

def test_own_ca_is_copied_and_signs_the_client_certs(tmp_path):
    cert_file, key_file = _make_ca(tmp_path, "my-ca")
    c = ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                           ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    assert _cert(c.ca_cert) == _cert(cert_file)
    assert serialization.load_pem_private_key(c.ca_key.read_bytes(), None).public_key() == \
        _cert(cert_file).public_key()
    assert c.ca_cert_hash == ca_cert_hash(cert_file.read_bytes())
    _cert(c.admin_cert).verify_directly_issued_by(_cert(cert_file))
    _cert(c.tunnel_anp_client_cert).verify_directly_issued_by(_cert(cert_file))
    assert stat.S_IMODE(c.ca_key.stat().st_mode) == 0o600
    # Given again on the next synth: accepted, nothing changes.
    before = _snapshot(c)
    ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                       ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    assert _snapshot(c) == before


def test_own_ecdsa_ca_works(tmp_path):
    cert_file, key_file = _make_ca(tmp_path, "ec-ca", key=ec.generate_private_key(ec.SECP256R1()))
    c = ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                           ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    _cert(c.admin_cert).verify_directly_issued_by(_cert(cert_file))


def test_fails_when_only_one_of_the_ca_files_is_given(tmp_path):
    cert_file, _ = _make_ca(tmp_path, "my-ca")
    with pytest.raises(CredentialsError, match="ca_cert_file and ca_key_file go together"):
        ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                           ca_cert_file=str(cert_file))


def test_fails_when_the_given_ca_key_does_not_match(tmp_path):
    cert_file, _ = _make_ca(tmp_path, "my-ca")
    _, other_key = _make_ca(tmp_path, "other-ca")
    with pytest.raises(CredentialsError, match=re.escape(
            f"private key {other_key} does not match certificate {cert_file}")):
        ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                           ca_cert_file=str(cert_file), ca_key_file=str(other_key))
    assert not (tmp_path / "c").exists()


def test_fails_when_the_given_cert_is_not_a_ca(tmp_path):
    cert_file, key_file = _make_ca(tmp_path, "leaf", is_ca=False)
    with pytest.raises(CredentialsError, match=re.escape(f"certificate {cert_file} is not a CA")):
        ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                           ca_cert_file=str(cert_file), ca_key_file=str(key_file))


def test_fails_when_the_directory_already_holds_a_different_ca(made, tmp_path):
    before = _snapshot(made)
    cert_file, key_file = _make_ca(tmp_path, "my-ca")
    with pytest.raises(CredentialsError) as e:
        ensure_credentials(made.directory, endpoint=ENDPOINT, cluster_name="demo",
                           ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    msg = str(e.value)
    assert f"already holds a different cluster CA ({made.ca_cert}, {made.ca_cert_hash})" in msg
    assert ca_cert_hash(cert_file.read_bytes()) in msg
    assert "never replaced" in msg
    assert _snapshot(made) == before


# ------------------------------------------------------------------ masking

def test_mask_hides_every_secret_and_only_them(made):
    token, tunnel = made.read_bootstrap_token(), made.read_tunnel_token()
    line = f"edgeadm join {ENDPOINT} --token {token} --tunnel {tunnel} id={made.token_id()}"
    masked = mask(line, made.secrets())
    assert token not in masked and token.split(".")[1] not in masked and tunnel not in masked
    assert masked == f"edgeadm join {ENDPOINT} --token *** --tunnel *** id={made.token_id()}"
    assert mask("a secret, the secret", ["secret", ""]) == "a ***, the ***"
    assert mask("abcdef.x abcdef", ["abcdef", "abcdef.x"]) == "*** ***"


def test_lite_apiserver_serves_the_virtual_address(tmp_path):
    made = ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo",
                              virtual_address="169.254.30.1")
    cert = _cert(made.lite_apiserver_cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(i) for i in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "169.254.30.1"}
    cert.verify_directly_issued_by(_cert(made.ca_cert))
    # A new virtual address re-issues the certificate; the CA stays.
    again = ensure_credentials(tmp_path / "c", endpoint=ENDPOINT, cluster_name="demo")
    sans = _cert(again.lite_apiserver_cert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "169.254.20.11" in {str(i) for i in sans.get_values_for_type(x509.IPAddress)}
    assert again.ca_cert.read_bytes() == made.ca_cert.read_bytes()


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
