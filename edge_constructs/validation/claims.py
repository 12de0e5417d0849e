"""Bookkeeping across constructs: a host joins a cluster once, and each host's resources
have a name of their own."""
from __future__ import annotations

from typing import Mapping, Sequence

from provisioners.core.errors import ValidationError
from provisioners.core.props import ClusterSpec, Host, logical_id

__all__ = ["host_fields", "unique_resource_names", "validate_host_claims"]


def unique_resource_names(hosts: Sequence[Host], fields: Sequence[str]) -> None:
    """Each host's resources are named after its key with Terraform's characters only
    ('cam.1' and 'cam-1' both become 'cam-1'): two such keys would collide."""
    seen: dict[str, str] = {}
    for field, host in zip(fields, hosts):
        rid = logical_id(host.key)
        if rid in seen:
            where = f"{field}.name" if host.name is not None else f"{field}.address"
            raise ValidationError(where, host.key, f"names the same Terraform resources "
                                  f"({rid!r}) as {seen[rid]}; give the hosts names that differ "
                                  "in more than '.' and '-'")
        seen[rid] = field


def host_fields(hosts: Sequence[Host], field: str) -> list[str]:
    """The field path of each host: "host" for an EdgeNode, "hosts[i]" for a pool."""
    return [field] if field == "host" else [f"hosts[{i}]" for i in range(len(hosts))]


def validate_host_claims(spec: ClusterSpec, hosts: Sequence[Host], field: str,
                         claims: Mapping[str, str], owner: str) -> None:
    """A host joins a cluster once: `claims` maps each host already joining (by key and by
    address:port) to the construct path that holds it."""
    for name, host in zip(host_fields(hosts, field), hosts):
        address = f"{host.address}:{host.port}"
        for key in (host.key, address):
            if key in claims and claims[key] != owner:
                what = "" if key == host.key else f"its address {address} "
                raise ValidationError(name, host.key, f"{what}already joins cluster "
                                      f"{spec.name!r} through {claims[key]}, and {owner} "
                                      "claims it again; a host belongs to one EdgeNode or "
                                      "EdgeNodePool")
