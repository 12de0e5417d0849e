"""Steps only edge nodes have: the join, and the reset when the node leaves.

Host preparation reuses `provisioners.steps.host` (the same functions the masters run).
What the centre records about a node (labels, taints, node unit) and its drain and delete
are Kubernetes API calls of the `edge_node` resource (`terraform.provider.node_resource`), not steps.
"""
from __future__ import annotations

import shlex
from typing import Callable

from provisioners.core.paths import CA_HASH_FILE, STATE_DIR, TOKEN_FILE, package_path
from provisioners.steps.cluster import TOKEN_PLACEHOLDER
from provisioners.steps.context import Context
from provisioners.steps.host import uninstall_script
from provisioners.steps.step import On, Upload, sh_script, step

#: site-manager reads NodeUnit membership from node labels `<unit>: nodeunits.superedge.io`
#: (superedge pkg/site-manager constant.NodeUnitSuperedge, utils.GetUnitsByNode).
NODE_UNIT_LABEL_VALUE = "nodeunits.superedge.io"
JOIN_STEP = "EnsureJoinNode"


def install_pkg_path(spec) -> str:
    """What `--install-pkg-path` names: the package URL, or where the package lies on a node."""
    return spec.install_package.url or package_path(spec)


def join_command(spec, ca_cert_hash: str, token: str,
                 literal: Callable[[str], str] = lambda s: s) -> str:
    """The `edgeadm join` command of a cluster, as its output shows it (the token a Terraform
    expression). Each value of ours is quoted for the POSIX shell it is pasted into
    (`shlex.quote`: a URL with spaces, `;` or `$()` stays one argument), then passed through
    `literal` (for Terraform: its template syntax escaped); the token and CA hash are
    references whose values are shell-safe ([a-z0-9.], "sha256:<hex>").
    sh/EnsureJoinNode.sh runs the same command with the token read from its file, plus the
    node name and `--skip-phases=init-node` (tests/test_nodes_synth.py runs that script and
    checks the two agree)."""
    q = lambda text: literal(shlex.quote(text))  # noqa: E731
    return (literal("edgeadm join ") + q(spec.endpoint) + literal(" --token ") + token
            + literal(" --discovery-token-ca-cert-hash ") + ca_cert_hash
            + literal(" --install-pkg-path ") + q(install_pkg_path(spec))
            + literal(" --enable-edge=true"))


# --- join ---------------------------------------------------------------------------------

def join_body(ctx: Context, node_name: str) -> str:
    """The join step's body; `node_name` empty: $EDGE_NODE_NAME (the node bundle sets it)."""
    return sh_script("token", "joined_as", "EnsureJoinNode", TOKEN_FILE=TOKEN_FILE,
                     TOKEN_PLACEHOLDER=TOKEN_PLACEHOLDER, CA_HASH_FILE=CA_HASH_FILE,
                     ENDPOINT=ctx.spec.endpoint, INSTALL_PKG_PATH=install_pkg_path(ctx.spec),
                     NODE_NAME=node_name)


def _join_uploads(ctx: Context) -> tuple[Upload, ...]:
    return (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),
            Upload(str(ctx.creds.ca_cert_hash_file), CA_HASH_FILE, "0644"))


@step(JOIN_STEP, on=On.EDGE_NODE)
def ensure_join_node(ctx: Context):
    """Edge nodes: joined the cluster with exactly its join command, plus the node name and
    `--skip-phases=init-node` (edgeadm's init-node is apt-based and fails offline, SuperEdge
    issue 521; our host-preparation steps did its work). The token is uploaded, read by the
    script, and removed from the node once it has joined."""
    return (join_body(ctx, ctx.node_name), _join_uploads(ctx))


# --- removal: the host leaves (the edge_node resource drains and deletes the Node by API) ---

@step("ResetNode", on=On.EDGE_NODE)
def reset_node(ctx: Context):
    """The edge node: no part of the cluster is left on the host (edgeadm reset, the
    lite-apiserver unit, the /etc/hosts blocks, our state), nor what the chain installed
    (`host.uninstall_script`). Each part tolerates what is already gone."""
    return (sh_script("ResetNode") + uninstall_script(ctx)
            + sh_script("reset_node_end", STATE_DIR=STATE_DIR))
