"""Steps only edge nodes have: join, labels/taints/node unit (from master 0), and removal
(drain and delete from master 0, reset on the node).

Host preparation reuses `edge_constructs.steps.host` (the same functions the masters run);
this module adds what happens after: `edgeadm join`, then what master 0 records about the
node; and what happens when the node leaves (`NODE_TEARDOWN` in `chains`, run by
`edge_constructs.ssh.teardown`).
"""
from __future__ import annotations

import base64
import dataclasses
from typing import Callable

import yaml

from edge_constructs.core.paths import ADMIN_CONF, CA_HASH_FILE, STATE_DIR, TOKEN_FILE, package_path
from edge_constructs.steps.cluster import TOKEN_PLACEHOLDER
from edge_constructs.steps.context import Context
from edge_constructs.steps.host import uninstall_script
from edge_constructs.steps.step import (STAGE_DIR, STEP_DIR, On, Step, Upload, full_script, sh_quote,
                                        sh_script, staged_path, step)

#: site-manager reads NodeUnit membership from node labels `<unit>: nodeunits.superedge.io`
#: (superedge pkg/site-manager constant.NodeUnitSuperedge, utils.GetUnitsByNode).
NODE_UNIT_LABEL_VALUE = "nodeunits.superedge.io"
#: Where master 0 remembers what it set on each node, so that a label dropped from the props
#: is removed from the Node on the next apply.
NODE_STATE_DIR = f"{STATE_DIR}/nodes"
#: How long removal waits for `kubectl drain` before it goes on regardless.
DRAIN_TIMEOUT = "120s"
JOIN_STEP = "EnsureJoinNode"


def install_pkg_path(spec) -> str:
    """What `--install-pkg-path` names: the package URL, or where the package lies on a node."""
    return spec.install_package.url or package_path(spec)


def join_command(spec, ca_cert_hash: str, token: str) -> str:
    """The `edgeadm join` command of a cluster, as its output shows it (the token a Terraform
    expression). sh/EnsureJoinNode.sh runs the same command with the token read from its
    file, plus the node name and `--skip-phases=init-node` (tests/test_nodes_synth.py runs
    that script and checks the two agree)."""
    return (f"edgeadm join {spec.endpoint} --token {token} "
            f"--discovery-token-ca-cert-hash {ca_cert_hash} "
            f"--install-pkg-path {install_pkg_path(spec)} --enable-edge=true")


# --- join ---------------------------------------------------------------------------------

def _join_body(ctx: Context, node_name: str) -> str:
    """The join step's body; `node_name` empty: the join script's $EDGE_NODE_NAME."""
    return sh_script("token", "EnsureJoinNode", TOKEN_FILE=TOKEN_FILE,
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
    return (_join_body(ctx, ctx.node_name), _join_uploads(ctx))


# --- what master 0 records about the node -----------------------------------------------

def _for_node(ctx: Context, name: str, **values) -> str:
    """A MASTER0_FOR_NODE body: node_lib.sh (wait_node, forget_dropped), then `name`."""
    return sh_script("node_lib", name, ADMIN_CONF=ADMIN_CONF, NODE_STATE_DIR=NODE_STATE_DIR,
                     NODE_NAME=ctx.node_name, **values)


@step("EnsureNodeLabels", on=On.MASTER0_FOR_NODE)
def ensure_node_labels(ctx: Context):
    """Master 0, for one edge node: the node carries the props' labels (and no longer the
    ones an earlier apply set that the props dropped)."""
    labels = dict(ctx.node.labels)
    if not labels:
        return None
    return _for_node(ctx, "EnsureNodeLabels", KEYS=sorted(labels),
                     LABELS=[f"{k}={v}" for k, v in sorted(labels.items())])


def taint_keys(taints) -> list[str]:
    """`key:Effect` of each taint: what `kubectl taint node N key:Effect-` removes."""
    return sorted({f"{t.rpartition(':')[0].partition('=')[0]}:{t.rpartition(':')[2]}"
                   for t in taints})


@step("EnsureNodeTaints", on=On.MASTER0_FOR_NODE)
def ensure_node_taints(ctx: Context):
    """Master 0, for one edge node: the node carries the props' taints (and no longer the
    ones an earlier apply set that the props dropped)."""
    taints = list(ctx.node.taints)
    if not taints:
        return None
    return _for_node(ctx, "EnsureNodeTaints", KEYS=taint_keys(taints), TAINTS=taints)


def node_unit_manifest(unit: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "site.superedge.io/v1alpha2", "kind": "NodeUnit",
        "metadata": {"name": unit},
        "spec": {"type": "edge", "selector": {"matchLabels": {unit: NODE_UNIT_LABEL_VALUE}}},
    }, sort_keys=False).rstrip("\n")


@step("EnsureNodeUnit", on=On.MASTER0_FOR_NODE)
def ensure_node_unit(ctx: Context):
    """Master 0, for one edge node: the NodeUnit `site.superedge.io/v1alpha2` exists and the
    node is in it: labelled `<unit>: nodeunits.superedge.io`, the label site-manager reads
    (and sets itself from the NodeUnit's selector)."""
    unit = ctx.node.node_unit
    if not unit:
        return None
    return _for_node(ctx, "EnsureNodeUnit", UNIT=unit, MANIFEST=node_unit_manifest(unit),
                     LABEL=f"{unit}={NODE_UNIT_LABEL_VALUE}")


# --- removal (NODE_TEARDOWN in chains: drain, reset, delete, in kubeadm's order) ------------

@step("DrainNode", on=On.MASTER0_FOR_NODE)
def drain_node(ctx: Context):
    """Master 0, for one edge node: the node is cordoned and drained, or DRAIN_TIMEOUT passed
    (removal goes on either way, and says so)."""
    return sh_script("DrainNode", ADMIN_CONF=ADMIN_CONF, NODE_NAME=ctx.node_name,
                     DRAIN_TIMEOUT=DRAIN_TIMEOUT)


@step("ResetNode", on=On.EDGE_NODE)
def reset_node(ctx: Context):
    """The edge node: no part of the cluster is left on the host (edgeadm reset, the
    lite-apiserver unit, the /etc/hosts blocks, our state), nor what the chain installed
    (`host.uninstall_script`). Each part tolerates what is already gone."""
    return (sh_script("ResetNode") + uninstall_script(ctx)
            + sh_script("ResetNode-end", STATE_DIR=STATE_DIR))


@step("DeleteNode", on=On.MASTER0_FOR_NODE)
def delete_node(ctx: Context):
    """Master 0, for one edge node: the Node object is gone, and so is what master 0
    remembered about it. Runs after the reset: deleted earlier, the node's kubelet would
    register it again the next time it (re)starts (a 1.22 kubelet does not re-register a
    Node deleted under it while it runs, kubernetes issue 71398)."""
    return sh_script("DeleteNode", ADMIN_CONF=ADMIN_CONF, NODE_NAME=ctx.node_name,
                     NODE_STATE_DIR=NODE_STATE_DIR)


# --- the join script (nodes the operator cannot reach) -----------------------------------

def join_script(ctx: Context, steps: list[Step], embed: Callable[[str], str],
                literal: Callable[[str], str] = lambda s: s) -> str:
    """One self-contained POSIX sh script that runs the node-side `steps` (the very scripts
    Terraform runs) and joins the cluster. `embed(path)` is how the script spells the base64
    of a local file (for Terraform: a `filebase64()` interpolation, so no secret is copied
    into the configuration); `literal(text)` escapes the rest. The install package is not
    embedded: in the path case it must already lie at the join command's
    --install-pkg-path; in the URL case the script downloads and verifies it."""
    pkg = ctx.spec.install_package
    path = ctx.package_path
    out = [literal("#!/bin/sh\n"
                   "# edge_constructs join script: prepares this host and joins it as an edge node\n"
                   "# (usable as cloud-init user-data). It holds a bootstrap token: keep it secret.\n"
                   + sh_script("join_script_head", CLUSTER=ctx.spec.name, PKG_PATH=path,
                               PKG_NAME=ctx.package_name, SHA256=pkg.sha256,
                               NEED_PKG=bool(pkg.path), STAGE_DIR=STAGE_DIR,
                               STEP_DIR=STEP_DIR).rstrip("\n"))]
    for s in steps:
        if s.name == JOIN_STEP:
            s = dataclasses.replace(s, script=_join_body(ctx, ""))
        ups = tuple(u for u in s.uploads
                    if not (pkg.path and u.destination == f"{path}.upload"))
        s = dataclasses.replace(s, uploads=ups)
        out.append(literal(f"# --- {s.name}\nmkdir -p {sh_quote(s.stage_dir)}"))
        for i, up in enumerate(ups):
            out.append(literal("printf '%s' '") + embed(up.source)
                       + literal(f"' | base64 -d > {sh_quote(staged_path(s, i))}"))
        # base64: no text of the step (a hook's lines) can end or break what carries it
        encoded = base64.b64encode(full_script(s).encode()).decode()
        out.append(literal(f"printf '%s' {sh_quote(encoded)} | base64 -d > {sh_quote(s.remote_path)}\n"
                           f"sh {sh_quote(s.remote_path)}"))
    out.append(literal('echo "edge join script: $EDGE_NODE_NAME joined cluster $CLUSTER"'))
    return "\n".join(out) + "\n"
