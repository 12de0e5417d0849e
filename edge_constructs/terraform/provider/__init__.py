"""The `edge` Terraform provider, written in Python and shipped in this package.

Terraform finds it beside each synthesized stack (`install.install_into`), starts it through
a launcher that runs this package's interpreter (`python -m edge_constructs.terraform.provider`),
and talks plugin protocol 6 to it (`server`). One module per resource or data source, each
declaring its name, schema version and description at its top (`common.Meta`):
`edge_cluster_identity` (`identity_resource`), `edge_node` (`node_resource`),
`edge_cluster_status` (`status_data_source`); the provider itself is `provider`.
Importing this package loads nothing heavy: the server imports grpc and the framework itself.
"""
#: Where Terraform looks the provider up: `<hostname>/<namespace>/<type>`. The hostname is
#: never contacted: the provider always comes from the stack's own `terraform.d/plugins`.
HOSTNAME = "edge-constructs.local"
NAMESPACE = "edge-constructs"
TYPE = "edge"
SOURCE = f"{HOSTNAME}/{NAMESPACE}/{TYPE}"
#: The provider's version (each resource's schema has its own version: its `META`).
VERSION = "0.2.0"
