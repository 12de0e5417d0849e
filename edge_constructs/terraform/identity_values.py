"""What step functions and the constructs read of the cluster's identity (`ctx.creds`): an
upload source for each value steps copy to hosts, a Terraform reference for each output.
No value is known at synth: they are made at apply and live in state."""
from __future__ import annotations

import os

from provisioners.core.identity_table import ATTRS
from provisioners.steps.step import identity_source, parse_identity_source
from edge_constructs.terraform.literal import hcl_string
from edge_constructs.terraform.resources import (IDENTITY_TYPE, identity_digest_expr,
                                                 identity_expr)


class IdentityValues:
    """The `Identity` the steps read, for the `edge_cluster_identity` named `resource_name`:
    each uploaded attribute of the identity table, by the name steps read it
    (`Attr.creds_name`), as an upload source in state."""

    def __init__(self, resource_name: str):
        self.resource_name = resource_name
        for a in ATTRS:
            if a.uploaded:
                setattr(self, a.creds_name, identity_source(resource_name, a.name))

    def expr(self, attribute: str) -> str:
        return identity_expr(self.resource_name, attribute)

    def digest(self, attribute: str) -> str:
        return identity_digest_expr(self.resource_name, attribute)

    @property
    def ca_cert_hash(self) -> str:
        return self.expr("ca_cert_hash")

    def cas_json(self) -> str:
        """The CAs' certificates and keys as one JSON string (the provider block's `cas`)."""
        refs = ", ".join(f"{a} = {IDENTITY_TYPE}.{self.resource_name}.{a}"
                         for ca in ("ca", "etcd_ca", "front_proxy_ca") for a in (f"{ca}_cert", f"{ca}_key"))
        return "${jsonencode({%s})}" % refs

    @property
    def address(self) -> str:
        """The resource address, e.g. for `terraform import <address> <credentials dir>`."""
        return f"{IDENTITY_TYPE}.{self.resource_name}"


def embed(source: str) -> str:
    """How a script spells the base64 of an upload: an identity value from state, or a local
    file by path (the JSON never holds the bytes of either)."""
    ref = parse_identity_source(source)
    if ref:
        return "${base64encode(%s)}" % identity_expr(*ref)[2:-1]
    return "${filebase64(%s)}" % hcl_string(os.path.abspath(source))


#: The identity values a node bundle embeds that do not make a node's membership: a new
#: token changes no joined node (it is only read by the join).
NOT_FINGERPRINTED = frozenset({"bootstrap_token"})


def fingerprint_embed(source: str) -> str:
    """How the bundle's fingerprint spells an upload: the provider's digest of an identity
    value (none for the token), or the sha256 of a local file."""
    ref = parse_identity_source(source)
    if ref:
        return "-" if ref[1] in NOT_FINGERPRINTED else identity_digest_expr(*ref)
    return "${filesha256(%s)}" % hcl_string(os.path.abspath(source))
