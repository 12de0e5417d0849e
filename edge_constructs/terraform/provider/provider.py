"""The `edge` provider: no settings of its own; its resources and data source, one module each."""
from __future__ import annotations

from tf.iface import Provider
from tf.schema import Schema
from tf.utils import Diagnostics

from edge_constructs.terraform.provider import SOURCE, TYPE
from edge_constructs.terraform.provider.identity_resource import ClusterIdentity
from edge_constructs.terraform.provider.node_resource import EdgeNode
from edge_constructs.terraform.provider.status_data_source import ClusterStatus

#: Version of the provider's own (empty) schema.
SCHEMA_VERSION = 1


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
        return [ClusterStatus]

    def get_resources(self) -> list:
        return [ClusterIdentity, EdgeNode]
