"""The identity code the provider runs, unit-level (no Terraform, no gRPC): `edge_cluster_identity`'s
create/plan/update (edge_constructs/terraform/provider/identity_resource.py) over
edge_constructs/credentials/identity.py. Bring your own CA (with and without its key, a
certificate that is not a CA, a key of another CA), the renewal window's edges, re-issue of
lite-apiserver's certificate when its SANs change (virtual address, the `kubernetes` Service IP)."""
from __future__ import annotations

import datetime as dt
import ipaddress
import re

import pytest
from cryptography import x509
from tf.iface import CreateContext, PlanContext, UpdateContext
from tf.types import Unknown
from tf.utils import Diagnostics

from provisioners.core.errors import CredentialsError
from edge_constructs.credentials import identity as ident, pki
from edge_constructs.terraform.provider.identity_resource import ClusterIdentity
from tests.ca_files import write_ca

TYPE = "edge_cluster_identity"
VA, OTHER_VA, SERVICE_IP = "169.254.20.11", "169.254.30.1", "10.96.0.1"


def _ca(tmp_path, name: str, *, is_ca: bool = True, days: int = 3650, key=None):
    """A CA certificate and key written to files (a bring-your-own CA)."""
    return write_ca(tmp_path, name, is_ca=is_ca, days=days, key=key)


def _config(**kw) -> dict:
    """A planned configuration as Terraform hands it to create (defaults filled in)."""
    cfg = {a.name: None for a in ClusterIdentity.get_schema().attributes}
    cfg.update(cluster_name="demo", endpoint="192.0.2.10:6443", virtual_address=VA,
               leaf_validity_days=365, **kw)
    return cfg


def _create(**kw) -> tuple[dict | None, Diagnostics]:
    diags = Diagnostics()
    state = ClusterIdentity(None).create(CreateContext(diags, TYPE), _config(**kw))
    return state, diags


def _plan(current: dict, **changes) -> tuple[dict, Diagnostics]:
    """Plan `current` with `changes` to its configuration (computed values carried over, as
    Terraform proposes them)."""
    planned = {**current, **changes}
    changed = {k for k, v in changes.items() if current.get(k) != v}
    diags = Diagnostics()
    out = ClusterIdentity(None).plan(PlanContext(diags, TYPE, changed), current, planned)
    return out, diags


def _update(current: dict, planned: dict) -> dict:
    diags = Diagnostics()
    state = ClusterIdentity(None).update(UpdateContext(diags, TYPE), current, planned)
    assert not diags.has_errors(), diags
    return state


def _errors(diags: Diagnostics) -> list[str]:
    return [f"{d.summary}: {d.detail}" for d in diags.diagnostics]


def _lite_ips(state: dict) -> set[str]:
    cert = x509.load_pem_x509_certificate(state["lite_apiserver_cert"].encode())
    return {str(i) for i in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)}


@pytest.fixture(scope="module")
def created() -> dict:
    """One identity made by the resource's create (read only: tests copy it)."""
    state, diags = _create()
    assert state and not diags.has_errors(), _errors(diags)
    return state


# --- bring your own CA -----------------------------------------------------------------------

def test_own_ca_with_its_key_is_the_clusters_ca(tmp_path):
    cert_file, key_file = _ca(tmp_path, "my-ca")
    state, diags = _create(ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    assert not diags.has_errors(), _errors(diags)
    assert state["ca_cert"] == cert_file.read_text()
    assert state["ca_cert_hash"] == pki.ca_cert_hash(cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(cert_file.read_bytes())
    for leaf in ident.LEAVES:
        x509.load_pem_x509_certificate(state[f"{leaf}_cert"].encode()).verify_directly_issued_by(ca)
    # the other CAs are the cluster's own, made here
    assert state["front_proxy_ca_cert"] != state["ca_cert"] != state["etcd_ca_cert"]


@pytest.mark.parametrize("given", ["cert", "key"])
def test_own_ca_without_its_pair_is_refused_at_validate_and_create(tmp_path, given):
    cert_file, key_file = _ca(tmp_path, "my-ca")
    files = {"ca_cert_file": str(cert_file)} if given == "cert" else {"ca_key_file": str(key_file)}
    diags = Diagnostics()
    ClusterIdentity(None).validate(diags, TYPE, _config(**files))
    assert _errors(diags) and "ca_cert_file and ca_key_file go together" in _errors(diags)[0]
    missing = "ca_key_file" if given == "cert" else "ca_cert_file"
    assert diags.diagnostics[0].path == [missing]  # Terraform points at the one missing
    with pytest.raises(CredentialsError, match="got ca_cert_file=.*, ca_key_file="):
        ident.byo_ca(files.get("ca_cert_file"), files.get("ca_key_file"))


def test_a_certificate_that_is_not_a_ca_is_refused(tmp_path):
    cert_file, key_file = _ca(tmp_path, "leaf", is_ca=False)
    state, diags = _create(ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    assert state is None
    (err,) = _errors(diags)
    assert err.startswith("the given cluster CA cannot be used") and f"{cert_file} is not a CA" in err


def test_a_key_of_another_ca_is_refused_naming_both_files(tmp_path):
    cert_file, _ = _ca(tmp_path, "my-ca")
    _, other_key = _ca(tmp_path, "other-ca")
    state, diags = _create(ca_cert_file=str(cert_file), ca_key_file=str(other_key))
    assert state is None
    (err,) = _errors(diags)
    assert f"private key {other_key} does not match certificate {cert_file}" in err


def test_a_changed_ca_file_must_hold_the_ca_in_state(tmp_path, created):
    cert_file, key_file = _ca(tmp_path, "new-ca")
    _, diags = _plan(dict(created), ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    (err,) = _errors(diags)
    assert err.startswith(f"ca_cert_file {str(cert_file)!r} is not the CA of cluster 'demo'")
    assert created["ca_cert_hash"] in err


# --- the renewal window -----------------------------------------------------------------------

def test_the_renewal_window_opens_exactly_30_days_before_expiry(created):
    window = ident.RENEW_BEFORE
    assert window == dt.timedelta(days=30)
    for leaf in ident.LEAVES:  # issued a moment apart: each has its own edge
        end = ident.leaf_not_after(created[f"{leaf}_cert"])
        assert leaf not in ident.expiring(created, now=end - window - dt.timedelta(seconds=1))
        assert leaf in ident.expiring(created, now=end - window)
        assert leaf in ident.expiring(created, now=end + dt.timedelta(days=1))  # expired


def test_a_leaf_that_ends_with_its_ca_is_not_due(tmp_path):
    # a bring-your-own CA that ends in 10 days: the leaves end with it (never after), and
    # renewing them would not help: they are not due, the CA is the operator's to renew
    cert_file, key_file = _ca(tmp_path, "short-ca", days=10)
    state, diags = _create(ca_cert_file=str(cert_file), ca_key_file=str(key_file))
    assert not diags.has_errors(), _errors(diags)
    ca_end = ident.leaf_not_after(state["ca_cert"])
    assert ident.leaf_not_after(state["admin_cert"]) == ca_end
    assert state["renewal_due"] == [] and ident.expiring(state) == []


def test_a_leaf_in_its_window_is_planned_and_reissued_the_rest_kept(created):
    current = dict(created)
    ident.issue_leaf(current, "admin", virtual_address=VA, validity=dt.timedelta(days=20))
    current["kubeconfig"] = ident.render_kubeconfig(current, endpoint=current["endpoint"],
                                                    cluster_name="demo")
    planned, diags = _plan(current)
    assert not diags.has_errors()
    unknown = sorted(k for k, v in planned.items() if v is Unknown)
    assert unknown == ["admin_cert", "admin_key", "certificates", "kubeconfig", "renewal_due"], unknown
    after = _update(current, planned)
    assert after["admin_cert"] != current["admin_cert"] and after["renewal_due"] == []
    # issued anew for its full validity (past the window again), whatever that validity is
    assert ident.leaf_not_after(after["admin_cert"]) - pki.now() > ident.RENEW_BEFORE
    for kept in ("ca_cert", "ca_key", "sa_key", "tunnel_anp_client_cert", "lite_apiserver_cert",
                 "bootstrap_token"):
        assert after[kept] == current[kept], kept
    assert after["digests"] == ident.digests(after)


def test_a_plan_with_nothing_due_changes_nothing(created):
    planned, diags = _plan(dict(created))
    assert not diags.has_errors() and not [k for k, v in planned.items() if v is Unknown]


# --- lite-apiserver's SANs ----------------------------------------------------------------------

@pytest.mark.parametrize("change, ips", [
    ({"virtual_address": OTHER_VA}, {"127.0.0.1", OTHER_VA}),
    ({"kubernetes_service_ip": SERVICE_IP}, {"127.0.0.1", VA, SERVICE_IP}),
])
def test_a_san_change_reissues_only_the_lite_apiserver_certificate(created, change, ips):
    current = dict(created)
    assert _lite_ips(current) == {"127.0.0.1", VA}
    planned, diags = _plan(current, **change)
    assert not diags.has_errors()
    unknown = sorted(k for k, v in planned.items() if v is Unknown)
    assert unknown == ["certificates", "lite_apiserver_cert", "lite_apiserver_key", "renewal_due"], unknown
    after = _update(current, planned)
    assert _lite_ips(after) == ips
    x509.load_pem_x509_certificate(after["lite_apiserver_cert"].encode()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(current["ca_cert"].encode()))
    assert after["admin_cert"] == current["admin_cert"] and after["ca_cert"] == current["ca_cert"]
    # and planned again with the same configuration, nothing is due
    again, _ = _plan(after)
    assert not [k for k, v in again.items() if v is Unknown]


def test_a_service_ip_not_yet_known_plans_no_reissue(created):
    planned, _ = _plan(dict(created), kubernetes_service_ip=Unknown)
    assert planned["lite_apiserver_cert"] == created["lite_apiserver_cert"]


def test_the_kubernetes_service_ip_is_in_the_first_certificate():
    state, diags = _create(kubernetes_service_ip=SERVICE_IP)
    assert not diags.has_errors(), _errors(diags)
    assert _lite_ips(state) == {"127.0.0.1", VA, SERVICE_IP}
    assert ident.lite_sans_match(state, VA, SERVICE_IP) and not ident.lite_sans_match(state, VA)
    assert all(ipaddress.ip_address(i) for i in _lite_ips(state))


def test_an_endpoint_change_renders_a_new_kubeconfig_and_keeps_the_certificates(created):
    current = dict(created)
    planned, _ = _plan(current, endpoint="192.0.2.20:6443")
    assert sorted(k for k, v in planned.items() if v is Unknown) == ["certificates", "kubeconfig", "renewal_due"]
    after = _update(current, planned)
    assert "https://192.0.2.20:6443" in after["kubeconfig"]
    assert after["admin_cert"] == current["admin_cert"]
    assert re.search(r"certificate-authority-data: \S+", after["kubeconfig"])
