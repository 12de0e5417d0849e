"""The `edge` provider: its resources and data source, one module each.

The provider block the identity and the status use has no settings. The `edge_node`
resources of a cluster use an aliased block per cluster and stack (`cluster_access`) that
carries what every node of that cluster shares: the cluster's name, its admin kubeconfig and
the node bundle (it holds the join token). Provider settings are not stored in state, so a
node's state holds only what is its own, and a new token changes no joined node.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Optional

import yaml
from tf.iface import Provider
from tf.schema import Attribute, Schema
from tf.types import String, Unknown
from tf.utils import Diagnostics

from provisioners.core.errors import KubeError
from edge_constructs.terraform.provider import SOURCE, TYPE
from edge_constructs.terraform.provider.common import add_error
from edge_constructs.terraform.provider.identity_resource import ClusterIdentity
from edge_constructs.terraform.provider.master_certs_resource import MasterCertificates
from edge_constructs.terraform.provider.node_resource import EdgeNode
from edge_constructs.terraform.provider.status_data_source import ClusterStatus

#: Version of the provider's own schema: 2 added the cluster settings of the nodes' block.
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class ClusterAccess:
    """What the `edge_node` resources of one provider block share (its settings)."""
    cluster: str
    kubeconfig: Optional[str]       # None: not known yet (the identity is made in this apply)
    node_bundle: Optional[str]
    #: the CAs (certificate and key of ca, etcd_ca, front_proxy_ca, as the identity names
    #: them), for the masters' certificate renewal; None in a site stack
    cas: Optional[dict] = None

    def require(self, what: str) -> str:
        """The kubeconfig or node bundle, or KubeError when the plan could not know it."""
        value = getattr(self, what)
        if value is None:
            raise KubeError(f"the {what.replace('_', ' ')} of cluster {self.cluster!r} is not "
                            "known yet (its identity changes in this run)")
        return value


def kubeconfig_cluster(kubeconfig: str) -> Optional[str]:
    """The name of the cluster the kubeconfig's current context uses."""
    try:
        doc = yaml.safe_load(kubeconfig) or {}
        ctx = {c["name"]: c["context"] for c in doc.get("contexts") or []}
        return ctx[doc["current-context"]]["cluster"]
    except (yaml.YAMLError, KeyError, TypeError):
        return None


class EdgeProvider(Provider):
    def __init__(self):
        self.access: Optional[ClusterAccess] = None
        # what the edge_node reads of one plan share (node_resource._read_snapshot)
        self.snapshot: Optional[tuple] = None
        self.snapshot_lock = threading.Lock()

    def get_model_prefix(self) -> str:
        return f"{TYPE}_"

    def full_name(self) -> str:
        return SOURCE

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(version=SCHEMA_VERSION, attributes=[
            Attribute("cluster", String(), optional=True,
                      description="the cluster the edge_node resources of this block join"),
            Attribute("kubeconfig", String(), optional=True, sensitive=True,
                      description="that cluster's admin kubeconfig (from its identity)"),
            Attribute("node_bundle", String(), optional=True, sensitive=True,
                      description="that cluster's node bundle (holds the join token)"),
            Attribute("cas", String(), optional=True, sensitive=True,
                      description="JSON of that cluster's CAs (certificates and keys, from "
                                  "its identity): what edge_master_certificates renews with"),
        ])

    def validate_config(self, diags: Diagnostics, config: dict):
        pass

    def configure_provider(self, diags: Diagnostics, config: dict):
        """A block naming a cluster must carry its kubeconfig and bundle: null means the
        cluster's state holds none (its stack was never deployed), a kubeconfig of another
        cluster means the block reads the wrong state. Unknown (the identity is made or
        changes in this run) is fine at plan."""
        cluster = config.get("cluster")
        if not cluster or cluster is Unknown:
            return
        kubeconfig, bundle = config.get("kubeconfig"), config.get("node_bundle")
        if kubeconfig is None or bundle is None:
            add_error(diags, f"edge cluster {cluster!r} is not deployed",
                      f"The state this configuration reads cluster {cluster!r} from holds no "
                      f"{'kubeconfig' if kubeconfig is None else 'node bundle'}: deploy the "
                      "cluster's stack first (cdktf deploy <cluster stack>), then this one. "
                      "No host was touched.",
                      "kubeconfig" if kubeconfig is None else "node_bundle")
            return
        if kubeconfig is not Unknown:
            found = kubeconfig_cluster(kubeconfig)
            if found != cluster:
                add_error(diags, f"edge cluster {cluster!r}: the state read holds another cluster",
                          f"The kubeconfig this configuration read is for cluster {found!r}, "
                          f"not {cluster!r}: the backend settings point at another cluster's "
                          "state. No host was touched.", "kubeconfig")
                return
        cas = config.get("cas")
        self.access = ClusterAccess(
            cluster, None if kubeconfig is Unknown else kubeconfig,
            None if bundle is Unknown else bundle,
            json.loads(cas) if isinstance(cas, str) else None)

    def get_data_sources(self) -> list:
        return [ClusterStatus]

    def get_resources(self) -> list:
        return [ClusterIdentity, EdgeNode, MasterCertificates]
