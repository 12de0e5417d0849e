"""CDK for Terraform constructs that create SuperEdge edge Kubernetes clusters on existing hosts.

The props and errors are imported eagerly (they are plain dataclasses); the constructs only
when first used, so that the SSH runner, the teardown and the provider start without
loading cdktf and its Node.js runtime.
"""
import os as _os

# jsii prints an end-of-life banner for Node 20 on every start unless told not to.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from provisioners.core.errors import (CredentialsError, EdgeConstructsError, FrameworkMismatch,
                                      FrameworkNotFound, HostKeyError, InventoryError, KubeError,
                                      ScriptError, SSHError, SSHFailure, StepFailed,
                                      TerraformNotFound, ValidationError)
from provisioners.core.props import (HA, File, Hooks, Host, InstallPackage, Registry, SuperEdge,
                                     load_inventory)

from edge_constructs import app_errors as _app_errors

# An uncaught error of this package: one line, said once (edge_constructs.app_errors).
_app_errors.install()

_CONSTRUCTS = {"EdgeCluster": "edge_constructs.terraform.cluster",
               "EdgeNode": "edge_constructs.terraform.nodes",
               "EdgeNodePool": "edge_constructs.terraform.nodes",
               "EdgeSiteStack": "edge_constructs.terraform.site"}

__all__ = ["EdgeCluster", "EdgeNode", "EdgeNodePool", "EdgeSiteStack", "Host", "InstallPackage", "SuperEdge",
           "Registry", "HA", "File", "Hooks", "load_inventory", "EdgeConstructsError",
           "ValidationError", "InventoryError", "HostKeyError", "CredentialsError", "SSHError",
           "SSHFailure", "StepFailed", "KubeError", "TerraformNotFound", "FrameworkNotFound",
           "FrameworkMismatch", "ScriptError"]


def __getattr__(name: str):
    if name in _CONSTRUCTS:
        import importlib
        return getattr(importlib.import_module(_CONSTRUCTS[name]), name)
    raise AttributeError(f"module 'edge_constructs' has no attribute {name!r}")
