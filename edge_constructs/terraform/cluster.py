"""EdgeCluster: a SuperEdge edge cluster on existing hosts, and how edge nodes join it."""
from __future__ import annotations

from typing import Optional, Sequence

from cdktf import TerraformOutput
from constructs import Construct

from edge_constructs.core.errors import ValidationError
from edge_constructs.core.props import (HA, ClusterSpec, File, Hooks, Host, InstallPackage, Registry,
                                    SuperEdge)
from edge_constructs.terraform.identity import ClusterIdentity, IdentityValues
from edge_constructs.terraform.resources import chain_resources, logical_id
from edge_constructs.validation import validate_cluster
from edge_constructs.steps import chains as chain, node as node_steps
from edge_constructs.steps.context import MASTER, MASTER0, Context


class EdgeCluster(Construct):
    """A SuperEdge edge cluster: TKE's bare-metal step chain on the masters, SuperEdge's
    add-ons, and the preparation for edge nodes to join with `edgeadm join`.

    The cluster's identity (CAs, service-account keys, admin certificate, tokens) is an
    `edge_cluster_identity` resource named `<id>_identity`: made on the first apply, kept in
    Terraform state, so a pipeline's fresh checkout plans no change. Steps upload its values
    from state; no secret and no local credential path enters the JSON.

    `token_rotation` (any string): changing it makes a new bootstrap token; the next apply
    deletes the old one on the cluster. `leaf_validity_days` (default 365): validity of the
    client/serving certificates the identity issues (renewed 30 days before expiry).
    `replace_identity` (default False): a plan that would replace the identity (a changed
    `name`) fails unless this is True.
    """

    def __init__(self, scope: Construct, id: str, *, name: str, masters: Sequence[Host],
                 install_package: InstallPackage,
                 api_server_address: Optional[str] = None, api_server_port: int = 6443,
                 kubernetes_version: str = "1.22.6", superedge: Optional[SuperEdge] = None,
                 pod_cidr: str = "10.244.0.0/16", service_cidr: str = "10.96.0.0/12",
                 dns_domain: str = "cluster.local", cert_sans: Sequence[str] = (),
                 container_runtime: str = "containerd", registry: Optional[Registry] = None,
                 ha: Optional[HA] = None, files: Sequence[File] = (),
                 hooks: Optional[Hooks] = None, skip_steps: Sequence[str] = (),
                 credentials_dir: Optional[str] = None, join_token_ttl: str = "0",
                 ca_cert_file: Optional[str] = None, ca_key_file: Optional[str] = None,
                 token_rotation: Optional[str] = None,
                 leaf_validity_days: Optional[int] = None, replace_identity: bool = False):
        super().__init__(scope, id)
        spec = ClusterSpec(
            name=name, masters=tuple(masters), install_package=install_package,
            api_server_address=api_server_address, api_server_port=api_server_port,
            kubernetes_version=kubernetes_version, superedge=superedge or SuperEdge(),
            pod_cidr=pod_cidr, service_cidr=service_cidr, dns_domain=dns_domain,
            cert_sans=tuple(cert_sans), container_runtime=container_runtime, registry=registry,
            ha=ha, files=tuple(files), hooks=hooks or Hooks(), skip_steps=tuple(skip_steps),
            credentials_dir=credentials_dir, join_token_ttl=join_token_ttl,
            ca_cert_file=ca_cert_file, ca_key_file=ca_key_file)
        validate_cluster(spec, step_names=chain.step_names())
        _validate_identity_props(token_rotation, leaf_validity_days, replace_identity)
        self._spec = spec
        self._id = id
        self._identity = ClusterIdentity(
            self, "identity", resource_name=f"{logical_id(id)}_identity", cluster_name=name,
            endpoint=spec.endpoint, virtual_address=spec.superedge.virtual_address,
            token_rotation=token_rotation, leaf_validity_days=leaf_validity_days,
            ca_cert_file=ca_cert_file, ca_key_file=ca_key_file, allow_replace=replace_identity)
        self._creds = self._identity.values

        # Master 0 forms the cluster; the others join it one after another (etcd grows by one).
        self._master_resources: dict[str, list] = {}
        prev: list = []
        for i, host in enumerate(spec.masters):
            ctx = Context(spec=spec, host=host, role=MASTER0 if i == 0 else MASTER,
                          creds=self._creds)
            host_scope = Construct(self, logical_id(f"master-{host.key}"))
            made = chain_resources(host_scope, host, chain.master_chain(ctx),
                                   after=prev or [self._identity],
                                   destroy_kind="reset-master")
            self._master_resources[host.key] = made
            prev = [made[-1]]
        self._ready = prev

        self._outputs()

    # --- attributes ---------------------------------------------------------------------

    @property
    def spec(self) -> ClusterSpec:
        return self._spec

    @property
    def credentials(self) -> IdentityValues:
        """The identity's values as steps and outputs read them (references to state)."""
        return self._creds

    @property
    def identity(self) -> ClusterIdentity:
        """The `edge_cluster_identity` resource (`identity.values.address` to import into)."""
        return self._identity

    @property
    def ready(self) -> list:
        """Resources that, once applied, mean the cluster is up and nodes may join."""
        return list(self._ready)

    @property
    def api_server_endpoint(self) -> str:
        return self._spec.endpoint

    @property
    def ca_cert_hash(self) -> str:
        return self._creds.ca_cert_hash

    @property
    def token(self) -> str:
        """The bootstrap token, as a Terraform reference to the identity in state."""
        return self._creds.expr("bootstrap_token")

    @property
    def install_pkg_path(self) -> str:
        """What `--install-pkg-path` names: the package URL, or its path on the node."""
        return node_steps.install_pkg_path(self._spec)

    def join_command_for(self, node_name: Optional[str] = None) -> str:
        """The `edgeadm join` command (a Terraform expression: it holds the token)."""
        cmd = node_steps.join_command(self._spec, self.ca_cert_hash, self.token)
        return cmd + (f" --node-name {node_name}" if node_name else "")

    @property
    def join_command(self) -> str:
        return self.join_command_for()

    @property
    def join_script(self) -> str:
        """A self-contained sh script (cloud-init user-data) that prepares a host and joins
        it: a Terraform expression, since it holds the token."""
        from edge_constructs.terraform.nodes import join_script_for
        return join_script_for(self)

    @property
    def kubeconfig(self) -> str:
        return self._creds.expr("kubeconfig")

    def _outputs(self) -> None:
        i = self._id
        TerraformOutput(self, f"{i}_join_command", value=self.join_command, sensitive=True,
                        static_id=True,
                        description="edgeadm join command for edge nodes (holds a token)")
        TerraformOutput(self, f"{i}_join_script", value=self.join_script, sensitive=True,
                        static_id=True, description="sh script that prepares a host and "
                        "joins it as an edge node (holds a token; usable as user-data)")
        TerraformOutput(self, f"{i}_kubeconfig", value=self.kubeconfig, sensitive=True,
                        static_id=True, description="admin kubeconfig of the cluster")
        TerraformOutput(self, f"{i}_api_server_endpoint", value=self.api_server_endpoint,
                        static_id=True)
        TerraformOutput(self, f"{i}_ca_cert_hash", value=self.ca_cert_hash, static_id=True)


def _validate_identity_props(token_rotation, leaf_validity_days, replace_identity) -> None:
    if token_rotation is not None and (not isinstance(token_rotation, str) or not token_rotation):
        raise ValidationError("token_rotation", token_rotation, "a non-empty string (any: change "
                              "it to rotate the bootstrap token, e.g. \"2026-12\"), or None")
    if leaf_validity_days is not None and (isinstance(leaf_validity_days, bool) or
                                           not isinstance(leaf_validity_days, int) or
                                           not 1 <= leaf_validity_days <= 3650):
        raise ValidationError("leaf_validity_days", leaf_validity_days,
                              "a whole number of days from 1 to 3650, or None for 365")
    if not isinstance(replace_identity, bool):
        raise ValidationError("replace_identity", replace_identity, "True or False")
