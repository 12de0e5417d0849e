"""`edge_cluster_identity`: a cluster's identity (CAs, keys, client certificates, tokens),
made at the first apply, kept in state, renewed in place, never regenerated. Its value
attributes, their secrecy and docs come from `provisioners.core.identity_table`."""
from __future__ import annotations

import datetime as _dt
import json
from typing import Optional

from tf.iface import (CreateContext, DeleteContext, ImportContext, PlanContext, ReadContext,
                      Resource, UpdateContext, UpgradeContext)
from tf.schema import Attribute
from tf.types import Bool, List, Map, Number, String, Unknown
from tf.utils import Diagnostics

from provisioners.core import identity_table as table
from provisioners.core.certificates import DEFAULT_WINDOW, renewal_window
from provisioners.core.errors import CredentialsError
from provisioners.core.props import DEFAULT_VIRTUAL_ADDRESS
from edge_constructs.credentials import identity as ident, pki
from edge_constructs.terraform.provider.common import Meta, Named, add_error, check_rules
from edge_constructs.validation import validate_identity_resource

DEFAULT_LEAF_VALIDITY_DAYS = 365


class ClusterIdentity(Named, Resource):
    #: Schema 2: `tunnel_token` left the identity (nothing used it).
    META = Meta("cluster_identity", 2, "A SuperEdge cluster's identity, kept in Terraform state",
                id="the cluster name")

    @classmethod
    def attributes(cls) -> list[Attribute]:
        attrs = [
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
            Attribute("admin_credential_rotation", String(), optional=True,
                      description="any string; changing it re-issues the admin certificate "
                                  "(system:masters, at most 90 days) and kubeconfig"),
            Attribute("ca_cert_file", String(), optional=True,
                      description="bring your own cluster CA: its certificate (read at create)"),
            Attribute("ca_key_file", String(), optional=True,
                      description="bring your own cluster CA: its private key (read at create)"),
            Attribute("allow_replace", Bool(), optional=True,
                      description="let a changed cluster_name replace the identity"),
            Attribute("renew_before", String(), optional=True,
                      description='renewal window of the leaf certificates: a Go duration, or '
                                  '"renew-now" (left out: 720h)'),
            Attribute("renewal_due", List(String()), computed=True,
                      description="leaf certificates inside the renewal window (seen by read)"),
            Attribute("certificates", String(), computed=True,
                      description="JSON: each leaf's and CA's not_after, days_left and who "
                                  "renews it (refreshed by read)"),
            Attribute("digests", Map(String()), computed=True,
                      description="sha256 of each value steps upload: their replace triggers"),
        ]
        attrs += [Attribute(a.name, String(), computed=True, sensitive=a.secret,
                            description=a.doc) for a in table.ATTRS]
        return attrs

    # --- validation ------------------------------------------------------------------------

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        """The constructs' own rules (`validate_identity_resource`), on what is known."""
        super().validate(diags, type_name, config)
        check_rules(diags, validate_identity_resource, config)

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
            add_error(ctx.diagnostics, "the given cluster CA cannot be used", str(e),
                      "ca_cert_file")
            return None
        return self._finish({**planned, **values})

    def read(self, ctx: ReadContext, current: dict) -> Optional[dict]:
        state = dict(current)
        if isinstance(state.get("admin_cert"), str):
            state["renewal_due"] = ident.expiring(state, before=_window(state))
            state["certificates"] = json.dumps(ident.expiry(state), sort_keys=True)
        return state

    def plan(self, ctx: PlanContext, current: Optional[dict], planned: dict) -> Optional[dict]:
        changed = ctx.changed_fields
        if current is None:
            return planned
        if "cluster_name" in changed and not planned.get("allow_replace"):
            add_error(ctx.diagnostics,
                      f"changing cluster_name from {current['cluster_name']!r} to "
                      f"{planned['cluster_name']!r} would replace the cluster's identity",
                      "A new identity means new CAs, keys and tokens: the running cluster's hosts "
                      "would refuse them. Restore the old name, or, to start a new cluster "
                      "deliberately, set replace_identity=True on the EdgeCluster (allow_replace "
                      "= true on this resource).", "cluster_name")
            return planned
        if changed & {"ca_cert_file", "ca_key_file"}:
            self._check_same_ca(ctx.diagnostics, current, planned)
        due = ident.expiring(current, before=_window(planned))
        shown = ident.expiry(current)
        for name in due:
            ctx.diagnostics.add_warning(
                f"cluster {current['cluster_name']}: certificate {name} expires "
                f"{shown[name]['not_after']}",
                f"{shown[name]['days_left']} days left, inside the renewal window "
                f"({planned.get('renew_before') or DEFAULT_WINDOW}): this apply issues a new one "
                "from the CA in state; the steps that carry it run again.")
        renew: set[str] = set(due)
        # A rotation asked for, or an admin certificate longer-lived than one issued now.
        if "admin_credential_rotation" in changed or ident.admin_outlives(current):
            renew.add("admin")
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
            planned["renewal_due"] = planned["certificates"] = Unknown
            planned["digests"] = ident.digests(planned)
        else:
            planned["renewal_due"] = due      # by the window planned (nothing is renewed)
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
            add_error(ctx.diagnostics, f"cannot import the cluster identity from {id!r}", str(e))
            return None
        except OSError as e:
            add_error(ctx.diagnostics, f"cannot import the cluster identity from {id!r}",
                      f"{e.filename}: {e.strerror}")
            return None
        state = {a.name: None for a in self.get_schema().attributes}
        state.update(values, cluster_name=name, endpoint=endpoint,
                     virtual_address=ident.virtual_address_of(values),
                     leaf_validity_days=DEFAULT_LEAF_VALIDITY_DAYS)
        return self._finish(state)

    def upgrade(self, ctx: UpgradeContext, version: int, old: dict) -> Optional[dict]:
        if version is not None and version < 2:
            old.pop("tunnel_token", None)
        return old

    # --- helpers -----------------------------------------------------------------------

    def _finish(self, state: dict) -> dict:
        state["id"] = state["cluster_name"]
        state["digests"] = ident.digests(state)
        state["renewal_due"] = ident.expiring(state, before=_window(state))
        state["certificates"] = json.dumps(ident.expiry(state), sort_keys=True)
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
            add_error(diags, "the given cluster CA cannot be used", str(e), "ca_cert_file")
            return
        if pki.cert_pem(byo[0]).decode() != current.get("ca_cert"):
            add_error(diags,
                      f"ca_cert_file {cf!r} is not the CA of cluster {current['cluster_name']!r}",
                      f"The identity in state has CA {current.get('ca_cert_hash')}; a cluster's CA "
                      "is never replaced. Give the CA already in use, or remove ca_cert_file and "
                      "ca_key_file (state keeps the CA).", "ca_cert_file")


def _window(attrs: dict):
    """The renewal window the configuration asks for (left out, or unknown: 720h)."""
    w = attrs.get("renew_before")
    return renewal_window(w if isinstance(w, str) else DEFAULT_WINDOW)
