"""Certificate renewal, unit-level (no Terraform, no host): kubeadm's renewal from the CAs in
state (edge_constructs/credentials/renewal.py), the renewal window prop, the plan of
`edge_master_certificates` (warnings naming what is due, an update only then), the identity's
window and `certificates`, and the renewal step's script. On a site, through Terraform:
tests/test_renewal_e2e.py."""
from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tf.iface import PlanContext
from tf.types import Unknown
from tf.utils import Diagnostics

from provisioners.core.certificates import SHORTEST_LIFE, renewal_window
from provisioners.core.errors import CredentialsError, ValidationError
from provisioners.steps import certs
from provisioners.steps.step import full_script
from edge_constructs.credentials import identity as ident, pki, renewal
from edge_constructs.terraform.provider import master_certs_resource as mcr
from edge_constructs.terraform.provider.identity_resource import ClusterIdentity
from edge_constructs.validation import validate_renewal_window


def _ca(cn: str):
    key = pki.new_key()
    return pki.cert_pem(pki.new_ca_cert(key, cn)).decode(), pki.key_pem(key).decode(), key


@pytest.fixture(scope="module")
def ca():
    return _ca("kubernetes")


def _kubeadm_leaf(ca, cn, org=None, ips=(), names=(), days=365):
    """A leaf as kubeadm's certs phase makes it (server: serverAuth, else clientAuth)."""
    ca_cert = x509.load_pem_x509_certificate(ca[0].encode())
    key = pki.new_key()
    cert = pki.new_leaf_cert(key, ca_cert, ca[2], cn, org, ips, names,
                             validity=dt.timedelta(days=days))
    return pki.cert_pem(cert).decode()


def test_a_renewed_certificate_keeps_subject_sans_and_usages_as_kubeadm_does(ca):
    old_pem = _kubeadm_leaf(ca, "kube-apiserver", None, ("198.18.0.2", "10.96.0.1"),
                            ("m0", "kubernetes", "kubernetes.default"), days=3)
    new = renewal.renew(old_pem, ca[0], ca[1], "apiserver")
    old, cert, ca_cert = (x509.load_pem_x509_certificate(p) for p in
                          (old_pem.encode(), new.cert_pem, ca[0].encode()))
    assert cert.subject == old.subject
    sans = lambda c: set(c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)  # noqa: E731
    assert sans(cert) == sans(old)
    eku = lambda c: list(c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)  # noqa: E731
    assert eku(cert) == eku(old) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # pkiutil.NewSignedCert: NotBefore the CA's, NotAfter now + a year
    assert cert.not_valid_before_utc == ca_cert.not_valid_before_utc
    left = cert.not_valid_after_utc - pki.now()
    assert dt.timedelta(days=364, hours=23) < left <= dt.timedelta(days=365)
    assert cert.serial_number != old.serial_number
    assert renewal.signed_by(cert, ca_cert)
    # a new key, the certificate's
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key(new.key_pem, None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert key.public_key().public_numbers() != old.public_key().public_numbers()


def test_a_certificate_of_another_ca_is_refused_and_nothing_issued(ca):
    other = _ca("kubernetes")
    pem = _kubeadm_leaf(other, "kube-apiserver-kubelet-client", "system:masters")
    with pytest.raises(CredentialsError, match="not signed by the CA in Terraform state"):
        renewal.renew(pem, ca[0], ca[1], "[m0] /etc/kubernetes/pki/apiserver-kubelet-client.crt")


def test_a_kubeconfig_gets_a_new_client_certificate_and_keeps_the_rest(ca):
    leaf = _kubeadm_leaf(ca, "system:kube-controller-manager")
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "kubernetes", "cluster": {
               "certificate-authority-data": base64.b64encode(ca[0].encode()).decode(),
               "server": "https://198.18.0.2:6443"}}],
           "contexts": [{"name": "ctx", "context": {"cluster": "kubernetes",
                                                    "user": "system:kube-controller-manager"}}],
           "current-context": "ctx",
           "users": [{"name": "system:kube-controller-manager", "user": {
               "client-certificate-data": base64.b64encode(leaf.encode()).decode(),
               "client-key-data": base64.b64encode(b"old key").decode()}}]}
    text, end = renewal.renew_kubeconfig(yaml.safe_dump(doc), ca[0], ca[1], "controller-manager.conf")
    new = yaml.safe_load(text)
    assert new["clusters"] == doc["clusters"] and new["contexts"] == doc["contexts"]
    user = new["users"][0]["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
        "system:kube-controller-manager"
    assert cert.not_valid_after_utc == end
    assert base64.b64decode(user["client-key-data"]) != b"old key"


@pytest.mark.parametrize("value", ["720h", "2159h", "1m", "renew-now", "2000h30m"])
def test_a_renewal_window_up_to_a_certificates_life_or_renew_now_is_accepted(value):
    validate_renewal_window(value, "certificate_renewal_before", SHORTEST_LIFE)


@pytest.mark.parametrize("value, why", [
    ("2160h", "shorter than the shortest life of a certificate it renews (2160h)"),
    ("8761h", "renews that certificate at every apply"), ("10000h", "renew-now"),
    ("0", "at least 1m"), ("30s", "at least 1m"), ("30d", "Go duration"), (720, "Go duration"),
    ("-1h", "negative")])
def test_a_renewal_window_longer_than_a_certificates_life_is_refused(value, why):
    with pytest.raises(ValidationError) as e:
        validate_renewal_window(value, "certificate_renewal_before", SHORTEST_LIFE)
    text = str(e.value)
    assert "certificate_renewal_before" in text and repr(value) in text and why in text


def test_renew_now_is_a_window_longer_than_any_certificate():
    assert renewal_window("renew-now") > dt.timedelta(days=3650)
    assert renewal_window("720h") == dt.timedelta(days=30)


def _state(days_left: dict, window="720h") -> dict:
    now = pki.now()
    shown = {n: {"not_after": (now + dt.timedelta(days=d, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "days_left": d, "renewed_by": "x"} for n, d in days_left.items()}
    return {"id": "m0", "master": "m0", "host": "{}", "api_server": "198.18.0.2:6443",
            "renew_before": window, "certificates": json.dumps(shown), "renewal_due": []}


def _plan(current: dict, **changes):
    diags = Diagnostics()
    planned = {**current, **changes}
    out = mcr.MasterCertificates(None).plan(
        PlanContext(diags, "edge_master_certificates", set(changes)), current, planned)
    return out, diags


def test_a_master_with_nothing_due_plans_no_change():
    current = _state({"apiserver": 300, "etcd-peer": 300, "kubelet-client": 2, "ca": 3000})
    planned, diags = _plan(current)
    assert planned["certificates"] == current["certificates"] and planned["renewal_due"] == []
    assert not diags.diagnostics   # the kubelet's own certificate is not ours to renew


def test_a_certificate_inside_the_window_plans_an_update_with_a_warning_naming_it():
    current = _state({"apiserver": 300, "etcd-peer": 20, "scheduler.conf": 29, "ca": 3000})
    planned, diags = _plan(current)
    assert planned["certificates"] is Unknown and planned["renewal_due"] is Unknown
    warned = [d.summary for d in diags.diagnostics]
    assert len(warned) == 2
    assert any(w.startswith("master m0: certificate etcd-peer expires ") for w in warned)
    assert any("scheduler.conf" in w for w in warned)


def test_renew_now_makes_every_kubeadm_certificate_due():
    current = _state({c.name: 364 for c in certs.CERTS} | {"ca": 3600})
    planned, diags = _plan(current, renew_before="renew-now")
    assert planned["certificates"] is Unknown
    assert len(diags.diagnostics) == len(certs.CERTS)


def test_read_sections_and_the_kubelets_rotation_are_shown(ca):
    leaf = _kubeadm_leaf(ca, "kube-apiserver", None, ("198.18.0.2",), ("m0",))
    kubelet = _kubeadm_leaf(ca, "system:node:m0", "system:nodes")
    text = f"== apiserver\n{leaf}== ca\n{ca[0]}== kubelet-client\n{kubelet}== rotateCertificates\ntrue\n"
    state = mcr._observed(_state({}), mcr._sections(text))
    shown = json.loads(state["certificates"])
    assert set(shown) == {"apiserver", "ca", "kubelet-client"}
    assert shown["kubelet-client"]["renewed_by"] == "the kubelet (rotateCertificates)"
    assert shown["apiserver"]["days_left"] in (364, 365) and state["renewal_due"] == []


def _identity(**config):
    """An `edge_cluster_identity` and a new identity's state, as create leaves it."""
    values = ident.new_identity(cluster_name="demo", endpoint="198.18.0.2:6443",
                                virtual_address="169.254.20.11",
                                leaf_validity=dt.timedelta(days=365))
    res = ClusterIdentity(None)
    cfg = {a.name: None for a in res.get_schema().attributes}
    cfg.update(values, cluster_name="demo", endpoint="198.18.0.2:6443",
               virtual_address="169.254.20.11", leaf_validity_days=365, **config)
    return res, res._finish(cfg)


def test_the_identitys_window_and_certificates_follow_renew_before():
    res, state = _identity()
    shown = json.loads(state["certificates"])
    assert {"admin", "lite_apiserver", "tunnel_anp_client", "ca", "etcd_ca",
            "front_proxy_ca"} <= set(shown)
    assert shown["admin"]["days_left"] in (89, 90) and state["renewal_due"] == []
    diags = Diagnostics()
    planned = res.plan(PlanContext(diags, "edge_cluster_identity", {"renew_before"}), state,
                       dict(state, renew_before="renew-now"))
    assert planned["lite_apiserver_cert"] is Unknown and planned["admin_cert"] is Unknown
    assert any("certificate admin expires" in d.summary for d in diags.diagnostics)


def test_the_renewal_script_passes_shellcheck_and_holds_no_pasted_value():
    script = full_script(certs.renew_step("https://198.18.0.2:6443"), "m0")
    assert "PODS='etcd http://127.0.0.1:2381/health" in script
    assert "kube-apiserver https://198.18.0.2:6443/readyz" in script
    exe = shutil.which("shellcheck")
    assert exe, "shellcheck is not installed: run scripts/bootstrap"
    run = subprocess.run([exe, "-s", "sh", "-"], input=script, text=True, capture_output=True)
    assert run.returncode == 0, run.stdout
    for path, _mode in certs.staged_files():
        assert f"{path} " in script


def test_leaving_renew_now_plans_what_the_update_then_returns():
    """Terraform refuses an apply whose result differs from a known planned value: going
    back from "renew-now" to the default window, renewal_due is planned as the update
    leaves it (nothing due), for the identity and for a master."""
    from tf.iface import UpdateContext
    res, state = _identity(renew_before="renew-now")
    assert state["renewal_due"]                        # everything, by renew-now
    planned = res.plan(PlanContext(Diagnostics(), "edge_cluster_identity", {"renew_before"}),
                       state, dict(state, renew_before=None))
    assert planned["renewal_due"] == []
    done = res.update(UpdateContext(Diagnostics(), "edge_cluster_identity"), state, planned)
    assert done["renewal_due"] == planned["renewal_due"]
    assert done["admin_cert"] == state["admin_cert"]   # nothing renewed
    master = dict(_state({"apiserver": 364}, window="renew-now"), renewal_due=["apiserver"])
    planned, _ = _plan(master, renew_before="720h")
    assert planned["renewal_due"] == []
    done = mcr.MasterCertificates(None).update(
        UpdateContext(Diagnostics(), "edge_master_certificates"), master, planned)
    assert done["renewal_due"] == [] and done["certificates"] == master["certificates"]
