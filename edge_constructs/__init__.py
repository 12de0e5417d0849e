"""CDK for Terraform constructs that create SuperEdge edge Kubernetes clusters on existing hosts."""
from edge_constructs.models import HA, File, Hooks, Host, InstallPackage, Registry, SuperEdge
from edge_constructs.cluster import EdgeCluster
from edge_constructs.errors import (CredentialsError, EdgeConstructsError, SSHError, StepFailed,
                                    ValidationError)

__all__ = ["EdgeCluster", "Host", "InstallPackage", "SuperEdge", "Registry", "HA", "File",
           "Hooks", "ValidationError", "CredentialsError", "SSHError", "StepFailed",
           "EdgeConstructsError"]
