"""The provider and its resources: `edge_cluster_identity`, a cluster's identity kept in state."""
from __future__ import annotations

import datetime as _dt
import ipaddress
from typing import Optional

from tf.iface import (CreateContext, DeleteContext, ImportContext, PlanContext, Provider,
                      ReadContext, Resource, UpdateContext, UpgradeContext)
from tf.schema import Attribute, Schema
from tf.types import Bool, List, Map, Number, String, Unknown
from tf.utils import Diagnostics

from provisioners.core.errors import CredentialsError
from provisioners.core.props import DEFAULT_VIRTUAL_ADDRESS
from edge_constructs.credentials import identity as ident
from edge_constructs.terraform.provider import SOURCE, TYPE

#: Version of the resource schemas (a schema without one makes every plan warn).
SCHEMA_VERSION = 1
DEFAULT_LEAF_VALIDITY_DAYS = 365

_DOC = {
    "ca_cert": "cluster CA certificate (PEM)", "ca_key": "cluster CA private key (PEM)",
    "ca_cert_hash": 'kubeadm discovery hash of the cluster CA: "sha256:<hex of its SPKI>"',
    "front_proxy_ca_cert": "front-proxy CA certificate", "front_proxy_ca_key": "front-proxy CA key",
    "etcd_ca_cert": "etcd CA certificate", "etcd_ca_key": "etcd CA key",
    "sa_key": "service-account signing key", "sa_pub": "service-account public key",
    "admin_cert": "admin client certificate (system:masters)", "admin_key": "admin client key",
    "kubeconfig": "admin kubeconfig", "bootstrap_token": 'bootstrap token "<id>.<secret>"',
    "bootstrap_token_id": "public id of the bootstrap token",
    "tunnel_token": "SuperEdge tunnel token",
    "tunnel_anp_client_cert": "tunnel-anp client certificate",
    "tunnel_anp_client_key": "tunnel-anp client key",
    "lite_apiserver_cert": "lite-apiserver serving certificate",
    "lite_apiserver_key": "lite-apiserver serving key",
    "retired_bootstrap_token_ids": "ids of rotated-out bootstrap tokens (their Secrets are deleted)",
}


def _err(diags: Diagnostics, attr: Optional[str], summary: str, detail: str) -> None:
    diags.add_error(summary, detail, path=[attr] if attr else None)


class ClusterIdentity(Resource):
    """The CAs, keys, client certificates and tokens of one SuperEdge cluster."""

    def __init__(self, provider):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "cluster_identity"

    @classmethod
    def get_schema(cls) -> Schema:
        attrs = [
            Attribute("id", String(), computed=True, description="the cluster name"),
            Attribute("cluster_name", String(), required=True, requires_replace=True,
                      description="cluster name (a new name is a new identity)"),
            Attribute("endpoint", String(), required=True,
                      description='"host:port" the admin kubeconfig points at'),
            Attribute("virtual_address", String(), optional=True, computed=True,
                      default=DEFAULT_VIRTUAL_ADDRESS,
                      description="lite-apiserver address on edge nodes (in its certificate)"),
            Attribute("kubernetes_service_ip", String(), optional=True,
                      description="ClusterIP of the `kubernetes` Service (in the lite-apiserver "
                                  "certificate, as edgeadm issues it)"),
            Attribute("leaf_validity_days", Number(), optional=True, computed=True,
                      default=DEFAULT_LEAF_VALIDITY_DAYS,
                      description="validity of the leaf certificates issued; renewed 30 days "
                                  "before they expire"),
            Attribute("token_rotation", String(), optional=True,
                      description="any string; changing it makes a new bootstrap token"),
            Attribute("ca_cert_file", String(), optional=True,
                      description="bring your own cluster CA: its certificate (read at create)"),
            Attribute("ca_key_file", String(), optional=True,
                      description="bring your own cluster CA: its private key (read at create)"),
            Attribute("allow_replace", Bool(), optional=True,
                      description="let a changed cluster_name replace the identity"),
            Attribute("renewal_due", List(String()), computed=True,
                      description="leaf certificates within 30 days of expiry (seen by read)"),
            Attribute("digests", Map(String()), computed=True,
                      description="sha256 of each value steps upload: their replace triggers"),
        ]
        attrs += [Attribute(name, String(), computed=True, sensitive=name in ident.SECRET,
                            description=_DOC.get(name)) for name in ident.VALUES]
        return Schema(version=SCHEMA_VERSION, attributes=attrs,
                      description="A SuperEdge cluster's identity, kept in Terraform state")

    # --- validation ------------------------------------------------------------------------

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        super().validate(diags, type_name, config)
        name = config.get("cluster_name")
        if isinstance(name, str) and (not name or any(c.isspace() for c in name)):
            _err(diags, "cluster_name", f"cluster_name {name!r} is not a cluster name",
                 "Give a non-empty name without spaces, e.g. \"shenzhen-edge\".")
        ep = config.get("endpoint")
        if isinstance(ep, str) and (not ep or "://" in ep or any(c.isspace() for c in ep)):
            _err(diags, "endpoint", f"endpoint {ep!r} is not a \"host:port\"",
                 'Give the API server as "host:port" without scheme or spaces, '
                 'e.g. "10.0.0.10:6443".')
        va = config.get("virtual_address")
        if isinstance(va, str):
            try:
                ipaddress.ip_address(va)
            except ValueError:
                _err(diags, "virtual_address", f"virtual_address {va!r} is not an IP address",
                     f'Give an IP address, e.g. "{DEFAULT_VIRTUAL_ADDRESS}" (the default).')
        days = config.get("leaf_validity_days")
        if isinstance(days, (int, float)) and not (1 <= days <= 3650):
            _err(diags, "leaf_validity_days", f"leaf_validity_days {days} is out of range",
                 "Give a number of days from 1 to 3650 (default 365).")
        cf, kf = config.get("ca_cert_file"), config.get("ca_key_file")
        if (cf is None) != (kf is None) and Unknown not in (cf, kf):
            _err(diags, "ca_key_file" if kf is None else "ca_cert_file",
                 "ca_cert_file and ca_key_file go together",
                 f"Give both (to bring your own cluster CA) or neither; got ca_cert_file={cf!r}, "
                 f"ca_key_file={kf!r}.")

    # --- lifecycle ---------------------------------------------------------------------

    def create(self, ctx: CreateContext, planned: dict) -> Optional[dict]:
        try:
            values = ident.new_identity(
                cluster_name=planned["cluster_name"], endpoint=planned["endpoint"],
                virtual_address=planned["virtual_address"],
                service_ip=planned.get("kubernetes_service_ip"),
                leaf_validity=_dt.timedelta(days=planned["leaf_validity_days"]),
                ca_cert_file=planned.get("ca_cert_file"), ca_key_file=planned.get("ca_key_file"))
        except CredentialsError as e:
            _err(ctx.diagnostics, "ca_cert_file", "the given cluster CA cannot be used", str(e))
            return None
        return self._finish({**planned, **values})

    def read(self, ctx: ReadContext, current: dict) -> Optional[dict]:
        state = dict(current)
        if isinstance(state.get("admin_cert"), str):
            state["renewal_due"] = ident.expiring(state)
        return state

    def plan(self, ctx: PlanContext, current: Optional[dict], planned: dict) -> Optional[dict]:
        changed = ctx.changed_fields
        if current is None:
            return planned
        if "cluster_name" in changed and not planned.get("allow_replace"):
            _err(ctx.diagnostics, "cluster_name",
                 f"changing cluster_name from {current['cluster_name']!r} to "
                 f"{planned['cluster_name']!r} would replace the cluster's identity",
                 "A new identity means new CAs, keys and tokens: the running cluster's hosts "
                 "would refuse them. Restore the old name, or, to start a new cluster "
                 "deliberately, set replace_identity=True on the EdgeCluster (allow_replace "
                 "= true on this resource).")
            return planned
        if changed & {"ca_cert_file", "ca_key_file"}:
            self._check_same_ca(ctx.diagnostics, current, planned)
        renew: set[str] = set(ident.expiring(current))
        va = planned.get("virtual_address")
        sip = planned.get("kubernetes_service_ip")
        if isinstance(va, str) and sip is not Unknown and not ident.lite_sans_match(current, va, sip):
            renew.add("lite_apiserver")
        for name in renew:
            planned[f"{name}_cert"] = planned[f"{name}_key"] = Unknown
        if "admin" in renew or changed & {"endpoint"}:
            planned["kubeconfig"] = Unknown
        if "token_rotation" in changed:
            for k in ("bootstrap_token", "bootstrap_token_id", "retired_bootstrap_token_ids"):
                planned[k] = Unknown
        if any(planned.get(k) is Unknown for k in ident.VALUES):
            planned["renewal_due"] = Unknown
            planned["digests"] = ident.digests(planned)
        return planned

    def update(self, ctx: UpdateContext, current: dict, planned: dict) -> Optional[dict]:
        state = dict(planned)
        for k in ident.VALUES:
            if state.get(k) is Unknown:
                state[k] = current.get(k)
        validity = _dt.timedelta(days=state["leaf_validity_days"])
        for name in ident.LEAVES:
            if planned.get(f"{name}_cert") is Unknown:
                ident.issue_leaf(state, name, virtual_address=state["virtual_address"],
                                 validity=validity, service_ip=state.get("kubernetes_service_ip"))
        if planned.get("bootstrap_token") is Unknown:
            ident.rotate_bootstrap_token(state)
        if planned.get("kubeconfig") is Unknown:
            state["kubeconfig"] = ident.render_kubeconfig(
                state, endpoint=state["endpoint"], cluster_name=state["cluster_name"])
        return self._finish(state)

    def delete(self, ctx: DeleteContext, current: dict):
        # The identity lives only in state: forgetting it is all there is to delete.
        return None

    def import_(self, ctx: ImportContext, id: str) -> Optional[dict]:
        try:
            values = ident.load_directory(id)
            name, endpoint = ident.kubeconfig_facts(values["kubeconfig"])
        except CredentialsError as e:
            ctx.diagnostics.add_error(f"cannot import the cluster identity from {id!r}", str(e))
            return None
        except OSError as e:
            ctx.diagnostics.add_error(f"cannot import the cluster identity from {id!r}",
                                      f"{e.filename}: {e.strerror}")
            return None
        state = {a.name: None for a in self.get_schema().attributes}
        state.update(values, cluster_name=name, endpoint=endpoint,
                     virtual_address=ident.virtual_address_of(values),
                     leaf_validity_days=DEFAULT_LEAF_VALIDITY_DAYS)
        return self._finish(state)

    def upgrade(self, ctx: UpgradeContext, version: int, old: dict) -> Optional[dict]:
        return old

    # --- helpers -----------------------------------------------------------------------

    def _finish(self, state: dict) -> dict:
        state["id"] = state["cluster_name"]
        state["digests"] = ident.digests(state)
        state["renewal_due"] = ident.expiring(state)
        for a in self.get_schema().attributes:
            state.setdefault(a.name, None)
        return state

    @staticmethod
    def _check_same_ca(diags: Diagnostics, current: dict, planned: dict) -> None:
        cf, kf = planned.get("ca_cert_file"), planned.get("ca_key_file")
        if cf is None or kf is None or Unknown in (cf, kf):
            return
        try:
            byo = ident.byo_ca(cf, kf)
        except CredentialsError as e:
            _err(diags, "ca_cert_file", "the given cluster CA cannot be used", str(e))
            return
        from edge_constructs.credentials import pki
        if pki._pem(byo[0]).decode() != current.get("ca_cert"):
            _err(diags, "ca_cert_file",
                 f"ca_cert_file {cf!r} is not the CA of cluster {current['cluster_name']!r}",
                 f"The identity in state has CA {current.get('ca_cert_hash')}; a cluster's CA "
                 "is never replaced. Give the CA already in use, or remove ca_cert_file and "
                 "ca_key_file (state keeps the CA).")


class EdgeProvider(Provider):
    def get_model_prefix(self) -> str:
        return f"{TYPE}_"

    def full_name(self) -> str:
        return SOURCE

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(version=SCHEMA_VERSION, attributes=[])

    def validate_config(self, diags: Diagnostics, config: dict):
        pass

    def configure_provider(self, diags: Diagnostics, config: dict):
        pass

    def get_data_sources(self) -> list:
        from edge_constructs.terraform.provider.status import ClusterStatus
        return [ClusterStatus]

    def get_resources(self) -> list:
        from edge_constructs.terraform.provider.nodes import EdgeNode
        return [ClusterIdentity, EdgeNode]
