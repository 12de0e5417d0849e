"""The `edge` Terraform provider, written in Python and shipped in this package.

Terraform finds it beside each synthesized stack (`install.install_into`), starts it through
a launcher that runs this package's interpreter (`python -m edge_constructs.terraform.provider`),
and talks plugin protocol 6 to it (`server`). Resources: `edge_cluster_identity` (`identity`).
Importing this package loads nothing heavy: the server imports grpc and the framework itself.
"""
#: Where Terraform looks the provider up: `<hostname>/<namespace>/<type>`. The hostname is
#: never contacted: the provider always comes from the stack's own `terraform.d/plugins`.
HOSTNAME = "edge-constructs.local"
NAMESPACE = "edge-constructs"
TYPE = "edge"
SOURCE = f"{HOSTNAME}/{NAMESPACE}/{TYPE}"
#: The provider's version (its schema is version `SCHEMA_VERSION`).
VERSION = "0.2.0"
