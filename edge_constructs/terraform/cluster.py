"""EdgeCluster: a SuperEdge edge cluster on existing hosts, and how edge nodes join it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from cdktf import TerraformOutput
from constructs import Construct

from edge_constructs.credentials import ClusterCredentials, ensure_credentials
from edge_constructs.core.props import (HA, ClusterSpec, File, Hooks, Host, InstallPackage, Registry,
                                    SuperEdge)
from edge_constructs.terraform.resources import chain_resources, logical_id
from edge_constructs.validation import validate_cluster
from edge_constructs.steps import chains as chain, node as node_steps
from edge_constructs.steps.context import MASTER, MASTER0, Context


class EdgeCluster(Construct):
    """A SuperEdge edge cluster: TKE's bare-metal step chain on the masters, SuperEdge's
    add-ons, and the preparation for edge nodes to join with `edgeadm join`.

    Credentials (CA, admin certificate, bootstrap token) are made at synth in
    `credentials_dir` (default `./.edge-credentials/<name>`), so the join command, the
    kubeconfig and the CA hash are known at plan time; none of them enters the JSON.
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
                 ca_cert_file: Optional[str] = None, ca_key_file: Optional[str] = None):
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
        self._spec = spec
        self._id = id
        creds_dir = credentials_dir or os.path.join(os.getcwd(), ".edge-credentials", name)
        self._creds = ensure_credentials(Path(creds_dir).expanduser().resolve(),
                                         endpoint=spec.endpoint, cluster_name=name,
                                         virtual_address=spec.superedge.virtual_address,
                                         ca_cert_file=ca_cert_file, ca_key_file=ca_key_file)

        # Master 0 forms the cluster; the others join it one after another (etcd grows by one).
        self._master_resources: dict[str, list] = {}
        prev: list = []
        for i, host in enumerate(spec.masters):
            ctx = Context(spec=spec, host=host, role=MASTER0 if i == 0 else MASTER,
                          creds=self._creds)
            host_scope = Construct(self, logical_id(f"master-{host.key}"))
            made = chain_resources(host_scope, host, chain.master_chain(ctx), after=prev,
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
    def credentials(self) -> ClusterCredentials:
        return self._creds

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
        """The bootstrap token, as a Terraform expression read from the credentials
        directory at plan time (the JSON holds only the file's path)."""
        return '${trimspace(file("%s"))}' % self._creds.bootstrap_token

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
        return '${file("%s")}' % self._creds.admin_kubeconfig

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
