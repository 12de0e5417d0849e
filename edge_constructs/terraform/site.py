"""EdgeSiteStack: a stack of its own for one site's edge nodes of a cluster declared in another
stack of the same app (a fleet: the cluster in one stack, a stack per site)."""
from __future__ import annotations

from constructs import Construct

from edge_constructs.terraform.cdk import TerraformStack


class EdgeSiteStack(TerraformStack):
    """A stack for the edge node pools of one site of `cluster` (an EdgeCluster of another
    stack of this app). Give it a backend of its own; its pools read what they need of the
    cluster (admin kubeconfig, node bundle, the bundle's fingerprint) from the cluster stack's
    outputs through that stack's backend, and `cdktf deploy` deploys the cluster stack first.

    It plans and applies without locking or reading the other sites' state; `cdktf destroy
    <site>` drains, resets and deletes its nodes only. The cluster's provider block is declared
    here with the stack, so removing the site's last pool from the code still removes its
    nodes.
    """

    def __init__(self, scope: Construct, id: str, *, cluster):
        super().__init__(scope, id)
        self._cluster = cluster
        cluster.nodes_in(self)

    @property
    def cluster(self):
        return self._cluster
