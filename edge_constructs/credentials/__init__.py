"""The cluster's identity: CAs, keys, client certificates and tokens (`pki`)."""
from edge_constructs.credentials.pki import (ClusterCredentials, ca_cert_hash,
                                             ensure_credentials, generate_bootstrap_token,
                                             generate_tunnel_token, verify_ca_hash)

__all__ = ["ClusterCredentials", "ca_cert_hash", "ensure_credentials",
           "generate_bootstrap_token", "generate_tunnel_token", "verify_ca_hash"]
