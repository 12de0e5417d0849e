"""EdgeCluster: a SuperEdge edge cluster on existing hosts, and how edge nodes join it."""
from __future__ import annotations

import dataclasses
import inspect
import os
import shlex
from typing import Optional

from constructs import Construct

from provisioners.core.props import ClusterSpec, Host
from provisioners.steps import bundle, chains, node as node_steps
from provisioners.steps.cluster import kubernetes_service_ip
from provisioners.steps.context import EDGE, MASTER, MASTER0, Context
from edge_constructs.terraform.cdk import (TerraformDataSource, TerraformLocal, TerraformOutput,
                                           TerraformStack, stack_of)
from edge_constructs.terraform.identity import ClusterIdentity
from edge_constructs.terraform.identity_values import IdentityValues, embed, fingerprint_embed
from edge_constructs.terraform.master_certs import certificates_output_value, master_certificates
from edge_constructs.terraform.provider_block import cluster_provider, edge_metadata
from edge_constructs.terraform.reference import cluster_props_text
from edge_constructs.terraform.resources import (chain_resources, check_resource, logical_id,
                                                  teardown_resource, tf_literal)
from provisioners.ssh.check import CHECK_TIMEOUT
from edge_constructs.validation import cluster_spec, validate_host_claims


STATUS_TYPE = "edge_cluster_status"


@dataclasses.dataclass(frozen=True)
class NodesAccess:
    """What the edge nodes of a cluster declared in one stack refer to."""
    provider: object                 # the cluster's aliased `edge` provider block there
    bundle_sha256: str               # the node bundle's fingerprint (no token in it)
    depends_on: tuple                # what they wait for (nothing across stacks)
    same_stack: bool


class EdgeCluster(Construct):
    """A SuperEdge edge cluster: TKE's bare-metal step chain on the masters, SuperEdge's
    add-ons, and the preparation for edge nodes to join with `edgeadm join`.

    Props (keyword arguments) are the fields of `ClusterSpec`, with its defaults; `name`,
    `masters` and `install_package` are required.

    The cluster's identity (CAs, service-account keys, admin certificate, tokens) is an
    `edge_cluster_identity` resource named `<id>_identity`: made on the first apply, kept in
    Terraform state, so a pipeline's fresh checkout plans no change. Steps upload its values
    from state; no secret and no local credential path enters the JSON. `token_rotation`,
    `admin_credential_rotation`, `leaf_validity_days` and `replace_identity` steer it (see `ClusterSpec`).
    """

    def __init__(self, scope: Construct, id: str, **props):
        spec = cluster_spec(props, step_names=chains.step_names())
        self._stack = stack_of(scope, f"EdgeCluster {id!r}")
        super().__init__(scope, id)
        self._spec = spec
        self._id = id
        self._edge_host_claims: dict[str, str] = {}
        self._nodes_access: dict[str, NodesAccess] = {}
        self._identity = ClusterIdentity(
            self, "identity", resource_name=f"{logical_id(id)}_identity", cluster_name=spec.name,
            endpoint=spec.endpoint, virtual_address=spec.superedge.virtual_address,
            kubernetes_service_ip=kubernetes_service_ip(spec.service_cidr),
            token_rotation=spec.token_rotation, leaf_validity_days=spec.leaf_validity_days,
            ca_cert_file=spec.ca_cert_file, ca_key_file=spec.ca_key_file,
            allow_replace=spec.replace_identity,
            admin_credential_rotation=spec.admin_credential_rotation,
            renew_before=spec.certificate_renewal_before)
        self._creds = self._identity.values

        # Master 0 forms the cluster; the others join it one after another (etcd grows by one).
        # Each master's Reset comes first, so on destroy it goes last.
        self._master_resources: dict[str, list] = {}
        prev: list = []
        for i, host in enumerate(spec.masters):
            ctx = self.context(host, MASTER0 if i == 0 else MASTER)
            host_scope = Construct(self, logical_id(f"master-{host.key}"))
            # The first master's chain waits for the identity its steps upload. The Reset
            # stores how to reach the host at destroy (its key): a new address or key is
            # checked first (CheckHostKey, re-run when they change), so a key that does not
            # match is never stored untried, to surface only at teardown.
            key_check = check_resource(host_scope, [host], prev or [self._identity],
                                       min(CHECK_TIMEOUT, float(spec.ssh_timeout)),
                                       name="CheckHostKey")
            reset = teardown_resource(host_scope, chains.render(chains.MASTER_TEARDOWN, ctx),
                                      [key_check])
            made = [reset, *chain_resources(host_scope, chains.master_chain(ctx), after=[reset],
                                            ssh_timeout=spec.ssh_timeout)]
            self._master_resources[host.key] = made
            prev = [made[-1]]
        self._bundle = self._node_bundle()
        # Each master's certificates, after the whole chain, one master after the other;
        # the cluster is ready for nodes and its status once they are.
        self._certificates = master_certificates(self, self._id, spec, self._own_provider(), prev)
        self._ready = [list(self._certificates.values())[-1]]
        self._status = self._status_source()
        self._outputs()
        # The nodes' provider block is declared with the cluster, not with its first pool:
        # a pool removed from the code is then deleted with the block still there.
        self.nodes_in(self)

    def context(self, host: Host, role: str) -> Context:
        """What the steps of `host` in `role` see of this cluster."""
        return Context(spec=self._spec, host=host, role=role, creds=self._creds)

    def claim_edge_hosts(self, hosts, field: str, owner: str) -> None:
        """Record that `owner` (a construct path) joins `hosts`; a host joins once."""
        validate_host_claims(self._spec, hosts, field, self._edge_host_claims, owner)
        for host in hosts:
            self._edge_host_claims[host.key] = owner
            self._edge_host_claims[f"{host.address}:{host.port}"] = owner

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
        cmd = node_steps.join_command(self._spec, self.ca_cert_hash, self.token,
                                      literal=tf_literal)
        return cmd + (tf_literal(f" --node-name {shlex.quote(node_name)}") if node_name else "")

    @property
    def join_command(self) -> str:
        return self.join_command_for()

    @property
    def node_bundle(self) -> str:
        """The node chain as one sh script (`steps.bundle`): what each `edge_node` runs on
        its host, and the `<id>_join_script` output (cloud-init user-data). A Terraform
        expression: it holds the token."""
        return self._bundle.as_string

    @property
    def join_script(self) -> str:
        return self.node_bundle

    def _node_bundle(self) -> TerraformLocal:
        # The node-side steps, the very scripts the runner would run one by one; uploads
        # embedded with filebase64() (local files) or base64encode() of the identity's values
        # in state (token, CA hash), so the JSON holds no secret. One per cluster: it reaches
        # the nodes through their provider block, never their state.
        ctx = self.context(Host("127.0.0.1", name="join-script"), EDGE)
        steps = [p.step for p in chains.node_chain(ctx)]
        i = logical_id(self._id)
        local = TerraformLocal(self, "node_bundle",
                               bundle.node_bundle(ctx, steps, embed=embed, literal=tf_literal))
        local.override_logical_id(f"{i}_node_bundle")
        # Its fingerprint: the same script with each upload's digest in place of its bytes
        # and none for the token, so a rotated token changes no joined node while a changed
        # step, CA or file does.
        src = TerraformLocal(self, "node_bundle_fingerprint_source", bundle.node_bundle(
            ctx, steps, embed=fingerprint_embed, literal=tf_literal))
        src.override_logical_id(f"{i}_node_bundle_fingerprint_source")
        digest = TerraformLocal(self, "node_bundle_sha256",
                                "${sha256(local.%s_node_bundle_fingerprint_source)}" % i)
        digest.override_logical_id(f"{i}_node_bundle_sha256")
        self._bundle_sha256 = digest.as_string
        return local

    def nodes_in(self, scope: Construct) -> NodesAccess:
        """What edge nodes declared under `scope` refer to. In the cluster's own stack: the
        identity and the bundle's locals. In another stack (a site's): the cluster stack's
        outputs, read through that stack's backend (remote state; null when it was never
        deployed, which the provider block reports naming the cluster), and the site stack
        depends on the cluster's for `cdktf deploy`."""
        stack = TerraformStack.of(scope)
        key = stack.node.path
        if key in self._nodes_access:
            return self._nodes_access[key]
        i = logical_id(self._id)
        if stack is self._stack:
            provider, sha = self._own_provider(), self._bundle_sha256
            after: tuple = tuple(self._ready)
        else:
            stack.add_dependency(self._stack)
            backend = self._stack.ensure_backend_exists()
            # named so that Terraform's "Unable to find remote state" (the cluster stack
            # never deployed) names the cluster and its stack
            state = logical_id(f"{i}_cluster_state_of_stack_{self._stack.node.id}")
            remote = backend.get_remote_state_data_source(stack, state, self._stack.node.id)
            remote.override_logical_id(state)
            _remote_config_from(remote, backend, self._stack.node.id)
            out = "${try(data.terraform_remote_state.%s.outputs.%s, null)}"
            sha = out % (state, f"{self._id}_node_bundle_sha256")
            provider = cluster_provider(
                stack, f"{i}_nodes", owner=self.node.path, cluster=tf_literal(self._spec.name),
                kubeconfig=out % (state, f"{self._id}_kubeconfig"),
                node_bundle=out % (state, f"{self._id}_join_script"))
            after = ()
        access = NodesAccess(provider, sha, after, stack is self._stack)
        self._nodes_access[key] = access
        return access

    def _own_provider(self):
        """The cluster's aliased provider block in its own stack: the identity's kubeconfig
        and CAs, the bundle's local."""
        return cluster_provider(self._stack, f"{logical_id(self._id)}_nodes", owner=self.node.path,
                                cluster=tf_literal(self._spec.name), kubeconfig=self.kubeconfig,
                                node_bundle=self.node_bundle, cas=self._creds.cas_json())

    def status_after(self, address: str) -> None:
        """The status is read once the resource at `address` (an edge node pool's) is
        applied too."""
        self._status_after.append(address)
        self._status.add_override("depends_on", list(self._status_after))

    def _status_source(self) -> TerraformDataSource:
        data = TerraformDataSource(
            self, "status", terraform_resource_type=STATUS_TYPE,
            terraform_generator_metadata=edge_metadata())
        self._status_after = [f"{r.terraform_resource_type}.{r.friendly_unique_id}"
                              for r in self._ready]
        data.override_logical_id(f"{logical_id(self._id)}_status")
        data.add_override("kubeconfig", self.kubeconfig)
        data.add_override("depends_on", list(self._status_after))
        return data

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
        TerraformOutput(self, f"{i}_node_bundle_sha256", value=self._bundle_sha256,
                        static_id=True, description="fingerprint of the node bundle without "
                        "its token (site stacks read it: a change re-runs it on their nodes)")
        status = f"data.{STATUS_TYPE}.{logical_id(i)}_status"
        TerraformOutput(self, f"{i}_nodes", value="${jsondecode(%s.nodes)}" % status,
                        static_id=True, description="each node as the API server reports it: "
                        "ready, kubelet_version, node_units, unschedulable")
        TerraformOutput(self, f"{i}_edge_components",
                        value="${jsondecode(%s.edge_components)}" % status, static_id=True,
                        description="SuperEdge's components: workloads found, ready, desired")
        TerraformOutput(self, f"{i}_certificates", static_id=True,
                        value=certificates_output_value(self._creds.address,
                                                        self._certificates, status),
                        description="each certificate's not_after and days_left: per master "
                        "its kubeadm certificates, the kubelet's and the CAs; the cluster's "
                        "own (admin, lite-apiserver, tunnel client); kubelet rotation")
        TerraformOutput(self, f"{i}_api_server_endpoint", value=tf_literal(self.api_server_endpoint),
                        static_id=True)
        TerraformOutput(self, f"{i}_ca_cert_hash", value=self.ca_cert_hash, static_id=True)


def _remote_config_from(remote, backend, stack_name: str) -> None:
    """What cdktf copies of the cluster stack's backend into a site's remote state, made
    right: a local path relative to the cluster stack's directory is made relative to the
    site's (a sibling directory); a `pg` conn_str the backend leaves to $PG_CONN_STR
    (state.pg_backend: cdktf's placeholder overridden away) is left out there too."""
    doc = backend.to_terraform()
    blocks = (doc.get("terraform") or {}).get("backend") or {}
    if "pg" in blocks and not blocks["pg"].get("conn_str"):
        remote.add_override("config.conn_str", None)
    path = (blocks.get("local") or {}).get("path")
    if path is None and type(backend).__name__ == "LocalBackend":
        path = f"terraform.{stack_name}.tfstate"
    if path is not None and not os.path.isabs(path):
        remote.add_override("config.path", f"../{stack_name}/{path}")


def _signature() -> inspect.Signature:
    """EdgeCluster(scope, id, *, <every ClusterSpec field with its default>), for help()."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
              inspect.Parameter("scope", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation="Construct"),
              inspect.Parameter("id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str")]
    for f in dataclasses.fields(ClusterSpec):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = inspect.Parameter.empty
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=default, annotation=f.type))
    return inspect.Signature(params)


EdgeCluster.__init__.__signature__ = _signature()
EdgeCluster.__doc__ = inspect.cleandoc(EdgeCluster.__doc__) + "\n\n" + cluster_props_text()
