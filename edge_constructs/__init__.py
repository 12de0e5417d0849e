"""CDK for Terraform constructs that create SuperEdge edge Kubernetes clusters on existing hosts."""
import os as _os

# jsii prints an end-of-life banner for Node 20 on every start unless told not to.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from edge_constructs.models import HA, File, Hooks, Host, InstallPackage, Registry, SuperEdge
from edge_constructs.cluster import EdgeCluster
from edge_constructs.nodes import EdgeNode, EdgeNodePool
from edge_constructs.errors import (CredentialsError, EdgeConstructsError, SSHError, StepFailed,
                                    ValidationError)

__all__ = ["EdgeCluster", "EdgeNode", "EdgeNodePool", "Host", "InstallPackage", "SuperEdge", "Registry", "HA", "File",
           "Hooks", "ValidationError", "CredentialsError", "SSHError", "StepFailed",
           "EdgeConstructsError"]
