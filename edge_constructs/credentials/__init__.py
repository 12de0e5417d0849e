"""The cluster's identity: its values (`identity`, made at apply by the provider) and the
X.509 and token building blocks they are made of (`pki`)."""
from edge_constructs.credentials.pki import ca_cert_hash, generate_bootstrap_token

__all__ = ["ca_cert_hash", "generate_bootstrap_token"]
