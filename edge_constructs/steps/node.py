"""Steps only edge nodes have: join, labels/taints/node unit (from master 0), and removal
(drain and delete from master 0, reset on the node).

Host preparation reuses `edge_constructs.steps.host` (the same functions the masters run);
this module adds what happens after: `edgeadm join`, then what master 0 records about the
node; and what happens when the node leaves (`NODE_TEARDOWN` in `chains`, run by
`edge_constructs.ssh.teardown`).
"""
from __future__ import annotations

import dataclasses
import shlex
from typing import Callable

from edge_constructs.core.paths import ADMIN_CONF, CA_HASH_FILE, STATE_DIR, TOKEN_FILE, package_path
from edge_constructs.steps.context import Context
from edge_constructs.steps.host import uninstall_script
from edge_constructs.steps.step import STAGE_DIR, STEP_DIR, On, Step, Upload, full_script, staged_path, step

q = shlex.quote

KUBECTL = f"kubectl --kubeconfig {ADMIN_CONF}"
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
    """The `edgeadm join` command of a cluster. The ONE place it is built: the cluster's
    output passes the token as a Terraform expression, node scripts pass `"$TOKEN"`."""
    return (f"edgeadm join {spec.endpoint} --token {token} "
            f"--discovery-token-ca-cert-hash {ca_cert_hash} "
            f"--install-pkg-path {install_pkg_path(spec)} --enable-edge=true")


# --- join ---------------------------------------------------------------------------------

def _join_body(ctx: Context, node_name_sh: str) -> str:
    cmd = join_command(ctx.spec, '"$CA_HASH"', '"$TOKEN"')
    return f"""\
if [ -f /etc/kubernetes/kubelet.conf ]; then say "already joined (/etc/kubernetes/kubelet.conf present)"; else
  TOKEN=$(cat {TOKEN_FILE}); secret "$TOKEN"
  CA_HASH=$(cat {CA_HASH_FILE})
  run {cmd} --node-name {node_name_sh} --skip-phases=init-node
  say "joined the cluster as {node_name_sh}"
fi
rm -f {TOKEN_FILE}"""


@step(JOIN_STEP, on=On.EDGE_NODE)
def ensure_join_node(ctx: Context):
    """Edge nodes: joined the cluster with exactly its join command, plus the node name and
    `--skip-phases=init-node` (edgeadm's init-node is apt-based and fails offline, SuperEdge
    issue 521; our host-preparation steps did its work). The token is uploaded, read by the
    script, and removed from the node once it has joined."""
    return (_join_body(ctx, q(ctx.node_name)),
            (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),
             Upload(str(ctx.creds.ca_cert_hash_file), CA_HASH_FILE, "0644")))


# --- what master 0 records about the node -----------------------------------------------

def _wait_node(name: str) -> str:
    return f"""\
N={q(name)}
i=0
until {KUBECTL} get node "$N" -o name >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 30 ] || run {KUBECTL} get node "$N"; sleep 2
done
mkdir -p {NODE_STATE_DIR}/"$N\""""


def _forget_dropped(kind: str, want: list[str], remove: str) -> str:
    """Remove from the Node what an earlier apply set and the props no longer hold."""
    words = " ".join(q(w) for w in want) or "''"
    return f"""\
for old in $(cat {NODE_STATE_DIR}/"$N"/{kind} 2>/dev/null); do
  case " {' '.join(want)} " in *" $old "*) ;; *) {remove} && say "removed $old" || true ;; esac
done
printf '%s\\n' {words} | put {NODE_STATE_DIR}/"$N"/{kind} 0644 || true"""


@step("EnsureNodeLabels", on=On.MASTER0_FOR_NODE)
def ensure_node_labels(ctx: Context):
    """Master 0, for one edge node: the node carries the props' labels (and no longer the
    ones an earlier apply set that the props dropped)."""
    labels = dict(ctx.node.labels)
    if not labels:
        return None
    kvs = " ".join(q(f"{k}={v}") for k, v in sorted(labels.items()))
    return f"""\
{_wait_node(ctx.node_name)}
{_forget_dropped("labels", sorted(labels), f'{KUBECTL} label node "$N" "$old-" >/dev/null')}
run {KUBECTL} label node "$N" {kvs} --overwrite"""


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
    return f"""\
{_wait_node(ctx.node_name)}
{_forget_dropped("taints", taint_keys(taints), f'{KUBECTL} taint node "$N" "$old-" >/dev/null')}
run {KUBECTL} taint node "$N" {" ".join(q(t) for t in taints)} --overwrite"""


def node_unit_manifest(unit: str) -> str:
    return f"""\
apiVersion: site.superedge.io/v1alpha2
kind: NodeUnit
metadata:
  name: {unit}
spec:
  type: edge
  selector:
    matchLabels:
      {unit}: {NODE_UNIT_LABEL_VALUE}"""


@step("EnsureNodeUnit", on=On.MASTER0_FOR_NODE)
def ensure_node_unit(ctx: Context):
    """Master 0, for one edge node: the NodeUnit `site.superedge.io/v1alpha2` exists and the
    node is in it: labelled `<unit>: nodeunits.superedge.io`, the label site-manager reads
    (and sets itself from the NodeUnit's selector)."""
    unit = ctx.node.node_unit
    if not unit:
        return None
    marker = "EDGE_CONSTRUCTS_NODEUNIT_EOF"
    return f"""\
{_wait_node(ctx.node_name)}
f=$(mktemp /tmp/edge-nodeunit.XXXXXX)
cat <<'{marker}' > "$f"
{node_unit_manifest(unit)}
{marker}
# Nodes of one pool apply the same NodeUnit at once: a create may lose the race; retry.
i=0
until {KUBECTL} apply -f "$f"; do
  i=$((i + 1)); [ "$i" -lt 5 ] || run {KUBECTL} apply -f "$f"; sleep 1
done
rm -f "$f"
{_forget_dropped("units", [unit], f'{KUBECTL} label node "$N" "$old-" >/dev/null')}
run {KUBECTL} label node "$N" {q(f"{unit}={NODE_UNIT_LABEL_VALUE}")} --overwrite"""


# --- removal (NODE_TEARDOWN in chains: drain, reset, delete, in kubeadm's order) ------------

@step("DrainNode", on=On.MASTER0_FOR_NODE)
def drain_node(ctx: Context):
    """Master 0, for one edge node: the node is cordoned and drained, or DRAIN_TIMEOUT passed
    (removal goes on either way, and says so)."""
    return f"""\
N={q(ctx.node_name)}
if {KUBECTL} get node "$N" -o name >/dev/null 2>&1; then
  if timeout 180 {KUBECTL} drain "$N" --ignore-daemonsets --delete-emptydir-data --force --timeout={DRAIN_TIMEOUT}; then
    say "node $N drained"
  else say "node $N did not drain within {DRAIN_TIMEOUT}: it stays cordoned, removal goes on"; fi
else say "node $N is not in the cluster: nothing to drain"; fi"""


@step("ResetNode", on=On.EDGE_NODE)
def reset_node(ctx: Context):
    """The edge node: no part of the cluster is left on the host (edgeadm reset, the
    lite-apiserver unit, the /etc/hosts blocks, our state), nor what the chain installed
    (`host.uninstall_script`). Each part tolerates what is already gone."""
    return f"""\
if command -v edgeadm >/dev/null 2>&1; then
  edgeadm reset --force || say "edgeadm reset failed: continuing the cleanup"
else say "no edgeadm on this host: nothing for edgeadm to reset"; fi
for u in kubelet lite-apiserver; do systemctl disable --now "$u" >/dev/null 2>&1 || true; done
if [ -f /etc/systemd/system/lite-apiserver.service ]; then
  rm -f /etc/systemd/system/lite-apiserver.service; systemctl daemon-reload >/dev/null 2>&1 || true
  say "removed the lite-apiserver unit"
fi
if grep -q -e '^# begin (generated by SuperEdge)$' -e '^# BEGIN edge_constructs ' /etc/hosts 2>/dev/null; then
  sed -e '/^# begin (generated by SuperEdge)$/,/^# end (generated by SuperEdge)$/d' \\
      -e '/^# BEGIN edge_constructs /,/^# END edge_constructs /d' /etc/hosts > /etc/hosts.edge-tmp
  cat /etc/hosts.edge-tmp > /etc/hosts && rm -f /etc/hosts.edge-tmp
  say "removed the SuperEdge and edge_constructs blocks from /etc/hosts"
fi
{uninstall_script(ctx)}
rm -rf /etc/kubernetes /var/lib/kubelet /etc/edge_constructs {STATE_DIR}
say "the host no longer belongs to the cluster, and holds nothing the chain installed"
"""


@step("DeleteNode", on=On.MASTER0_FOR_NODE)
def delete_node(ctx: Context):
    """Master 0, for one edge node: the Node object is gone, and so is what master 0
    remembered about it. Runs after the reset: deleted earlier, the node's kubelet would
    register it again the next time it (re)starts (a 1.22 kubelet does not re-register a
    Node deleted under it while it runs, kubernetes issue 71398)."""
    return f"""\
N={q(ctx.node_name)}
run {KUBECTL} delete node "$N" --ignore-not-found
rm -rf {NODE_STATE_DIR}/"$N"
say "node $N is not in the cluster"
"""


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
    out = [literal(f"""\
#!/bin/sh
# edge_constructs join script for cluster {ctx.spec.name}: prepares this host and joins it
# as an edge node (usable as cloud-init user-data). It holds a bootstrap token: keep it secret.
set -eu
[ "$(id -u)" = 0 ] || {{ echo "edge join script: run me as root" >&2; exit 1; }}
EDGE_NODE_NAME=${{EDGE_NODE_NAME:-$(hostname | tr 'A-Z' 'a-z')}}
export EDGE_NODE_NAME
echo "edge join script: joining $(hostname) to cluster {ctx.spec.name} as node $EDGE_NODE_NAME"
mkdir -p -m 0700 {STAGE_DIR} {STEP_DIR}""")]
    if pkg.path:
        out.append(literal(f"""\
if [ ! -f {path} ]; then
  echo "edge join script: the install package is missing: copy {ctx.package_name} (sha256 {pkg.sha256}) to {path} on this host (the join command's --install-pkg-path), then run this script again" >&2
  exit 1
fi"""))
    for s in steps:
        if s.name == JOIN_STEP:
            s = dataclasses.replace(s, script=_join_body(ctx, '"$EDGE_NODE_NAME"'))
        ups = tuple(u for u in s.uploads
                    if not (pkg.path and u.destination == f"{path}.upload"))
        s = dataclasses.replace(s, uploads=ups)
        out.append(literal(f"# --- {s.name}\nmkdir -p -m 0700 {s.stage_dir}"))
        for i, up in enumerate(ups):
            out.append(literal("printf '%s' '") + embed(up.source)
                       + literal(f"' | base64 -d > {staged_path(s, i)}"))
        out.append(literal(f"cat > {s.remote_path} <<'EDGE_CONSTRUCTS_STEP_EOF'\n"
                           f"{full_script(s)}EDGE_CONSTRUCTS_STEP_EOF\nsh {s.remote_path}"))
    out.append(literal('echo "edge join script: $EDGE_NODE_NAME joined cluster '
                       f'{ctx.spec.name}"'))
    return "\n".join(out) + "\n"
