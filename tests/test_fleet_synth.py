"""examples/fleet without a site: one cluster stack and a stack per site, synthesized from an
inventory, and a site stack's plan against cluster states written as Terraform writes them
(outputs only). Issue 20.

What a site stack reads of the cluster comes through the cluster stack's backend (remote
state) into the cluster's aliased `edge` provider block: a cluster stack never deployed, one
whose outputs hold no kubeconfig, or one that is another cluster stop the plan there, before
any host is touched. Nothing here connects anywhere: the hosts are documentation addresses.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from simsite import tf
from simsite.synth import HOST_KEY, new_private_key
from tests import plan as judged
from tests.synth_fixtures import ensure_terraform_for_synth, synth_env  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]
MAIN = REPO / "examples" / "fleet" / "main.py"
#: The example's cluster: its name, its construct id, its stack.
CLUSTER, ID, STACK = "fleet", "edge", "cluster"
STATE_SOURCE = f"data.terraform_remote_state.{ID}_cluster_state_of_stack_{STACK}"
SITES = {"site-a": ["cam-a1", "cam-a2"], "site-b": ["cam-b1"], "site-c": ["cam-c1", "cam-c2", "cam-c3"]}
#: What a plan prints of a node's run or a host: none of it may show in a plan that stops early.
TOUCHED = re.compile(r"edge-logs|Creating\.\.\.|Still creating|CheckSSH")


@dataclass
class Fleet:
    """The example synthesized once: its output directory and where its state files go."""
    work: Path
    out: Path
    run: tf.Run

    def stack(self, name: str) -> Path:
        return self.out / "stacks" / name

    def doc(self, name: str) -> dict:
        return json.loads((self.stack(name) / "cdk.tf.json").read_text())

    def state_file(self, name: str) -> Path:
        return self.work / f"terraform.{name}.tfstate"


def write_inventory(work: Path, sites: dict, moved: dict | None = None) -> Path:
    """An inventory of master-0 and each site's hosts, documentation addresses; `moved`
    gives some hosts another host's address."""
    work.mkdir(parents=True, exist_ok=True)
    key = work / "id_ed25519"
    if not key.exists():
        new_private_key(key)
    pkg = work / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg.write_bytes(b"a stand-in package for synth only\n")
    names = ["master-0"] + sorted({n for hosts in sites.values() for n in hosts})
    hosts = [{"name": n, "address": f"198.51.100.{10 + i}", "port": 22, "user": "root",
              "private_key_file": str(key), "host_key": HOST_KEY} for i, n in enumerate(names)]
    by_name = {h["name"]: h for h in hosts}
    for name, other in (moved or {}).items():
        by_name[name]["address"] = by_name[other]["address"]
    path = work / "inventory.json"
    path.write_text(json.dumps({"hosts": hosts, "masters": ["master-0"], "sites": sites,
                                "install_package": {"path": str(pkg), "sha256": hashlib.sha256(
                                    pkg.read_bytes()).hexdigest()}}))
    return path


def synth(work: Path, sites: dict, backend: str = "pg", **kw) -> Fleet:
    """`python examples/fleet/main.py` as a pipeline runs it, with this inventory."""
    inventory = write_inventory(work, sites, **kw)
    out = work / "cdktf.out"
    run = tf.run([sys.executable, str(MAIN)], work, {
        "EDGE_INVENTORY": str(inventory), "EDGE_WORKDIR": str(work), "CDKTF_OUTDIR": str(out),
        "EDGE_STATE_BACKEND": backend})
    return Fleet(work, out, run)


# --- (a) the app: one cluster stack, a stack per site --------------------------------------

@pytest.fixture(scope="module")
def pg_fleet(tmp_path_factory) -> Fleet:
    fleet = synth(tmp_path_factory.mktemp("fleet-pg"), SITES)
    fleet.run.check()
    return fleet


def test_the_fleet_is_one_cluster_stack_and_a_stack_per_site(pg_fleet):
    manifest = json.loads((pg_fleet.out / "manifest.json").read_text())
    stacks = manifest["stacks"]
    assert sorted(stacks) == [STACK, *sorted(SITES)]
    # cdktf deploys a site after the cluster (`cdktf deploy cluster site-a`)
    assert stacks[STACK]["dependencies"] == []
    for site in SITES:
        assert stacks[site]["dependencies"] == [STACK], stacks[site]
    cluster = pg_fleet.doc(STACK)
    # the cluster stack: the identity, the masters, the outputs a site reads; no node
    assert list(cluster["resource"]["edge_cluster_identity"]) == [f"{ID}_identity"]
    assert "edge_node" not in cluster["resource"]
    for out in ("kubeconfig", "join_script", "node_bundle_sha256"):
        assert f"{ID}_{out}" in cluster["output"], out
    assert cluster["output"][f"{ID}_kubeconfig"]["sensitive"] is True
    assert cluster["output"][f"{ID}_join_script"]["sensitive"] is True
    # each stack its own schema; Terraform takes the connection from $PG_CONN_STR
    for name in (STACK, *SITES):
        pg = pg_fleet.doc(name)["terraform"]["backend"]["pg"]
        assert pg == {"schema_name": "edge_fleet_" + name.replace("-", "_")}, (name, pg)


@pytest.mark.parametrize("site", sorted(SITES))
def test_a_site_stack_holds_its_nodes_and_reads_the_cluster_through_remote_state(pg_fleet, site):
    doc = pg_fleet.doc(site)
    # only this site's nodes, through the cluster's aliased provider block in this stack
    assert set(doc["resource"]) == {"edge_node"}, sorted(doc["resource"])
    (nodes,) = doc["resource"]["edge_node"].values()
    assert nodes["provider"] == f"edge.{ID}_nodes"
    assert sorted(doc["locals"]["pool_hosts"]) == sorted(SITES[site])
    assert nodes["node_unit"] == site
    # the cluster's outputs, read through its stack's backend; null (try) when absent, so
    # that the provider block, not an expression error, says what is missing
    (remote,) = doc["data"]["terraform_remote_state"].items()
    assert f"data.terraform_remote_state.{remote[0]}" == STATE_SOURCE
    assert remote[1]["backend"] == "pg"
    assert remote[1]["config"]["schema_name"] == "edge_fleet_cluster"
    read = "${try(%s.outputs.%s_%%s, null)}" % (STATE_SOURCE, ID)
    (block,) = [p for p in doc["provider"]["edge"] if p.get("alias") == f"{ID}_nodes"]
    assert block == {"alias": f"{ID}_nodes", "cluster": CLUSTER,
                     "kubeconfig": read % "kubeconfig", "node_bundle": read % "join_script"}
    assert nodes["bundle_sha256"] == read % "node_bundle_sha256"
    # a node's state holds neither the kubeconfig nor the bundle
    assert "kubeconfig" not in nodes and "bundle" not in nodes


@pytest.mark.parametrize("site", sorted(SITES))
def test_a_site_stacks_json_holds_no_secret_and_no_token(pg_fleet, site):
    text = (pg_fleet.stack(site) / "cdk.tf.json").read_text()
    for secret in ("PRIVATE KEY", "BEGIN CERTIFICATE", "client-key-data", "bootstrap_token",
                   "edge_cluster_identity", "edgeadm join", "--token", "password"):
        assert secret not in text, secret
    # a bootstrap token's shape ([a-z0-9]{6}.[a-z0-9]{16}) nowhere
    assert not re.search(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", text)
    # nor the bundle itself, the cluster's locals or the identity's values: the site's JSON
    # does not grow with the bundle (about 80 KB)
    assert "base64" not in text and "# --- " not in text
    assert set(json.loads(text)["locals"]) == {"pool_hosts"}
    assert len(text) < 8000, len(text)


# --- (b) a host belongs to one site --------------------------------------------------------

@pytest.mark.parametrize("case", ["same node name", "same address"])
def test_two_sites_claiming_one_host_are_refused_at_synth(tmp_path, case):
    if case == "same node name":
        fleet = synth(tmp_path, {"site-a": ["cam-1", "cam-2"], "site-b": ["cam-2", "cam-3"]})
        value = "cam-2"
    else:
        fleet = synth(tmp_path, {"site-a": ["cam-1", "cam-2"], "site-b": ["cam-3"]},
                      moved={"cam-3": "cam-2"})
        value = "cam-3"
    run = fleet.run
    assert run.returncode != 0, run.output[-2000:]
    what = "" if case == "same node name" else "its address 198.51.100.12:22 "  # cam-2's
    line = f"edge_constructs: hosts[0]: got {value!r}; {what}already joins cluster {CLUSTER!r} " \
           "through site-a/pool, and site-b/pool claims it again; a host belongs to one " \
           "EdgeNode or EdgeNodePool"
    assert line in run.output, run.output[-2000:]
    assert "Traceback" not in run.output
    assert not (fleet.out / "manifest.json").exists()


# --- (c)-(e) a site stack's plan, local state files ----------------------------------------

@pytest.fixture(scope="module")
def local_fleet(tmp_path_factory) -> Fleet:
    ensure_terraform_for_synth()
    fleet = synth(tmp_path_factory.mktemp("fleet-local"), SITES, backend="local")
    fleet.run.check()
    for name in ("site-a", "site-b"):
        tf.terraform(["init", "-input=false"], fleet.stack(name)).check()
    return fleet


def kubeconfig(cluster: str) -> str:
    """An admin kubeconfig as the identity writes it (the shape only: nothing connects)."""
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": f"kubernetes-admin@{cluster}",
        "clusters": [{"name": cluster, "cluster": {"server": "https://198.51.100.10:6443",
                                                    "certificate-authority-data": "Zm9v"}}],
        "contexts": [{"name": f"kubernetes-admin@{cluster}",
                      "context": {"cluster": cluster, "user": "kubernetes-admin"}}],
        "users": [{"name": "kubernetes-admin", "user": {"client-certificate-data": "Zm9v",
                                                         "client-key-data": "Zm9v"}}]})


SHA = "5" * 64


def write_cluster_state(fleet: Fleet, outputs: dict) -> None:
    """The cluster stack's state as Terraform writes it after an apply: only the outputs
    matter to a site (`terraform_remote_state` reads nothing else)."""
    fleet.state_file(STACK).write_text(json.dumps({
        "version": 4, "terraform_version": "1.5.7", "serial": 3, "lineage": str(uuid.uuid4()),
        "outputs": {k: {"value": v, "type": "string", "sensitive": k != f"{ID}_node_bundle_sha256"}
                    for k, v in outputs.items()},
        "resources": [], "check_results": None}))


def deployed_outputs(cluster: str = CLUSTER) -> dict:
    return {f"{ID}_kubeconfig": kubeconfig(cluster), f"{ID}_join_script": "#!/bin/sh\ntrue\n",
            f"{ID}_node_bundle_sha256": SHA}


def assert_touched_nothing(fleet: Fleet, site: str, p: judged.Plan) -> None:
    assert p.returncode == 1, p.output[-3000:]
    assert not TOUCHED.search(p.output), p.output[-3000:]
    assert fleet.state_file(site).read_bytes() == b""          # no state written
    assert not (fleet.stack(site) / "edge-logs").exists()      # no node ran


def test_a_site_planned_before_its_cluster_was_deployed_names_the_clusters_state(local_fleet):
    # the cluster stack never deployed: its state file is there (0600, made at synth), empty
    local_fleet.state_file(STACK).write_bytes(b"")
    p = judged.plan(local_fleet.stack("site-a"))
    assert "Unable to find remote state" in p.output, p.output[-3000:]
    assert f"with {STATE_SOURCE}," in p.output, p.output[-3000:]
    assert_touched_nothing(local_fleet, "site-a", p)


def test_a_cluster_state_of_another_cluster_stops_the_site_plan_naming_both(local_fleet):
    write_cluster_state(local_fleet, deployed_outputs("other-fleet"))
    p = judged.plan(local_fleet.stack("site-a"))
    text = " ".join(p.output.split())
    assert f"edge cluster {CLUSTER!r}: the state read holds another cluster" in text, text[-3000:]
    assert f"for cluster 'other-fleet', not {CLUSTER!r}" in text, text[-3000:]
    assert_touched_nothing(local_fleet, "site-a", p)


def test_a_cluster_state_without_the_kubeconfig_stops_the_site_plan(local_fleet):
    # e.g. the cluster stack destroyed (its outputs gone) or an app without those outputs
    outputs = deployed_outputs()
    del outputs[f"{ID}_kubeconfig"]
    write_cluster_state(local_fleet, outputs)
    p = judged.plan(local_fleet.stack("site-b"))
    text = " ".join(p.output.split())
    assert f"edge cluster {CLUSTER!r} is not deployed" in text, text[-3000:]
    assert "holds no kubeconfig" in text and "cdktf deploy <cluster stack>" in text, text[-3000:]
    assert_touched_nothing(local_fleet, "site-b", p)


@pytest.mark.parametrize("site", ["site-a", "site-b"])
def test_with_the_clusters_outputs_a_site_plans_its_own_nodes_and_nothing_else(local_fleet, site):
    write_cluster_state(local_fleet, deployed_outputs())
    p = judged.plan(local_fleet.stack(site)).check()
    assert p.returncode == 2
    want = sorted((f'edge_node.pool["{n}"]', "create") for n in SITES[site])
    assert sorted(judged.changed(p)) == want, p.output[-3000:]
    # each node holds the cluster's fingerprint, read from its state; nothing secret
    for rc in p.resource_changes:
        if rc["mode"] == "managed":
            after = rc["change"]["after"]
            assert after["bundle_sha256"] == SHA
            assert "kubeconfig" not in after and "bundle" not in after
    assert not TOUCHED.search(p.output)
    assert local_fleet.state_file(site).read_bytes() == b""


def node_state(name: str) -> dict:
    """A joined edge_node's attributes as its state holds them (schema version 3)."""
    return {"id": name, "name": name, "host": json.dumps({"address": "198.51.100.99",
                                                          "name": name, "host_key": HOST_KEY}),
            "bundle_sha256": SHA, "package": None, "reset": "ResetNode sha256:0", "labels": None,
            "taints": None, "node_unit": None, "ready_timeout": 600, "drain_timeout": 120,
            "force_drain": None, "present": True, "ready": True, "kubelet_version": "v1.22.6",
            "joined": True, "cluster_uid": str(uuid.uuid4())}


def test_a_site_with_no_host_left_plans_the_removal_of_its_nodes(tmp_path):
    """Emptied in the inventory, a site keeps its stack and the cluster's provider block in
    it, through which its nodes are deleted (drained, reset): without the block Terraform
    stops with "Provider configuration not present"."""
    fleet = synth(tmp_path, {"site-a": [], "site-b": ["cam-b1"]}, backend="local")
    fleet.run.check()
    doc = fleet.doc("site-a")
    assert "resource" not in doc
    assert [p.get("alias") for p in doc["provider"]["edge"]] == [None, f"{ID}_nodes"]
    write_cluster_state(fleet, deployed_outputs())
    # the site's state: the two nodes joined when the site had them
    fleet.state_file("site-a").write_text(json.dumps({
        "version": 4, "terraform_version": "1.5.7", "serial": 5, "lineage": str(uuid.uuid4()),
        "outputs": {}, "check_results": None, "resources": [{
            "mode": "managed", "type": "edge_node", "name": "pool",
            "provider": 'provider["edge-constructs.local/edge-constructs/edge"].edge_nodes',
            "instances": [{"index_key": n, "schema_version": 3, "sensitive_attributes": [],
                           "attributes": node_state(n)}
                          for n in ("cam-a1", "cam-a2")]}]}))
    tf.terraform(["init", "-input=false"], fleet.stack("site-a")).check()
    # (-refresh=false: a refresh would ask the documentation address's API server)
    p = judged.plan(fleet.stack("site-a"), "-refresh=false").check()
    assert sorted(judged.changed(p)) == [('edge_node.pool["cam-a1"]', "delete"),
                                         ('edge_node.pool["cam-a2"]', "delete")], p.output[-3000:]


# --- through the cdktf CLI, as the README runs it -----------------------------------------

def cdktf(fleet_dir: Path, *args: str) -> tf.Run:
    """`cdktf <args>` in a copy of examples/fleet (its cdktf.json and main.py)."""
    app = fleet_dir / "app"
    app.mkdir(exist_ok=True)
    for name in ("cdktf.json", "main.py"):
        (app / name).write_text((MAIN.parent / name).read_text())
    return tf.cdktf(list(args), cwd=app, extra_env={
        "EDGE_INVENTORY": str(fleet_dir / "inventory.json"), "EDGE_WORKDIR": str(fleet_dir),
        "EDGE_STATE_BACKEND": "local"})


def test_under_cdktf_a_host_claimed_by_two_sites_names_both_pools(tmp_path):
    write_inventory(tmp_path, {"site-a": ["cam-1", "cam-2"], "site-b": ["cam-2"]})
    run = cdktf(tmp_path, "synth")
    assert run.returncode != 0
    assert f"ERROR [site-b/pool]: hosts[0]: got 'cam-2'; already joins cluster {CLUSTER!r} " \
           "through site-a/pool, and site-b/pool claims it again" in run.output, run.output[-3000:]


def test_cdktf_deploys_a_site_alone_only_when_told_to(tmp_path):
    write_inventory(tmp_path, {"site-a": ["cam-1"]})
    run = cdktf(tmp_path, "deploy", "site-a", "--auto-approve")
    assert run.returncode != 0
    assert "The following dependencies are not included in the stacks to run: cluster" \
        in run.output, run.output[-3000:]
    # nothing ran: no Terraform in either stack
    for stack in ("cluster", "site-a"):
        assert not (tmp_path / "app" / "cdktf.out" / "stacks" / stack / ".terraform").exists()
        assert (tmp_path / f"terraform.{stack}.tfstate").read_bytes() == b""


# --- a relative local backend path ----------------------------------------------------------

def test_a_relative_local_state_path_of_the_cluster_is_read_from_the_site_stacks_directory(
        synth_env):
    """cdktf runs Terraform in cdktf.out/stacks/<stack>: the cluster stack's relative state
    path is the site's `../<cluster stack>/<path>`."""
    from cdktf import App, LocalBackend, TerraformStack

    from edge_constructs import EdgeCluster, EdgeNodePool
    out = synth_env.tmp_path / "out"
    app = App(outdir=str(out))
    cluster_stack = TerraformStack(app, STACK)
    LocalBackend(cluster_stack, path="state/cluster.tfstate")
    cluster = EdgeCluster(cluster_stack, ID, **synth_env.props(name=CLUSTER))
    site = TerraformStack(app, "site-a")
    LocalBackend(site)                          # cdktf's default: terraform.site-a.tfstate
    EdgeNodePool(site, "pool", cluster=cluster, hosts=[
        synth_env.host("198.51.100.21", name="cam-a1")])
    app.synth()
    doc = json.loads((out / "stacks" / "site-a" / "cdk.tf.json").read_text())
    (remote,) = doc["data"]["terraform_remote_state"].values()
    assert remote["config"]["path"] == f"../{STACK}/state/cluster.tfstate"
    state = out / "stacks" / STACK / "state" / "cluster.tfstate"     # made 0600 at synth
    fleet = Fleet(synth_env.tmp_path, out, tf.Run([], 0, ""))
    write_cluster_state(fleet, deployed_outputs())
    fleet.state_file(STACK).rename(state)
    tf.terraform(["init", "-input=false"], out / "stacks" / "site-a").check()
    p = judged.plan(out / "stacks" / "site-a").check()
    assert judged.changed(p) == [('edge_node.pool["cam-a1"]', "create")], p.output[-3000:]


# --- found while writing the fleet: each failed before its fix --------------------------------

def test_a_site_on_pg_reads_the_cluster_state_with_the_connection_from_the_environment(pg_fleet):
    """pg_backend() leaves conn_str to $PG_CONN_STR; cdktf copied its placeholder ("unset")
    into the site's remote state, which Terraform then failed to parse."""
    (remote,) = pg_fleet.doc("site-a")["data"]["terraform_remote_state"].values()
    assert "conn_str" not in remote["config"], remote


def test_a_site_on_pg_plans_its_nodes_from_the_cluster_state_in_postgresql(pg_fleet):
    from simsite.postgres import Postgres
    with Postgres() as pg:
        env = {"PG_CONN_STR": pg.conn_str}
        cluster = pg_fleet.stack(STACK)
        tf.terraform(["init", "-input=false"], cluster, extra_env=env).check()
        write_cluster_state(pg_fleet, deployed_outputs())      # as Terraform writes it
        tf.terraform(["state", "push", str(pg_fleet.state_file(STACK))], cluster,
                     extra_env=env).check()
        site = pg_fleet.stack("site-a")
        tf.terraform(["init", "-input=false"], site, extra_env=env).check()
        p = judged.plan(site, extra_env=env).check()
        assert sorted(judged.changed(p)) == sorted(
            (f'edge_node.pool["{n}"]', "create") for n in SITES["site-a"])


def test_removing_a_whole_pool_from_the_code_plans_the_removal_of_its_nodes(tmp_path):
    """The cluster declares its nodes' provider block itself: a pool removed from the code
    (examples/edge_pool with an empty "pool") is deleted through it."""
    inv = json.loads(write_inventory(tmp_path, {"site-a": ["cam-1"]}).read_text())
    inv["pool"] = []
    (tmp_path / "inventory.json").write_text(json.dumps(inv))
    stack = tf.synth(tf.REPO / "examples" / "edge_pool" / "main.py", tmp_path / "out",
                     {"EDGE_WORKDIR": str(tmp_path)})
    provider = 'provider["edge-constructs.local/edge-constructs/edge"]'
    (tmp_path / "terraform.edge_pool.tfstate").write_text(json.dumps({
        "version": 4, "terraform_version": "1.5.7", "serial": 9, "lineage": str(uuid.uuid4()),
        "outputs": {}, "check_results": None, "resources": [{
            "mode": "managed", "type": "edge_node", "name": "site-a",
            "provider": f"{provider}.edge_nodes", "instances": [{
                "index_key": "cam-1", "schema_version": 3, "sensitive_attributes": [],
                "attributes": node_state("cam-1")}]}]}))
    tf.terraform(["init", "-input=false"], stack).check()
    p = judged.plan(stack, "-refresh=false")
    assert "Provider configuration not present" not in p.output, p.output[-2000:]
    assert ('edge_node.site-a["cam-1"]', "delete") in judged.changed(p.check())


def test_two_clusters_whose_nodes_would_share_a_provider_block_are_refused(synth_env):
    """Two clusters of one construct id in two stacks, with pools in one site stack: one
    alias would carry the first cluster's kubeconfig to the second's nodes."""
    from cdktf import App, TerraformStack
    from edge_constructs import EdgeCluster, EdgeNodePool, ValidationError
    app = App(outdir=str(synth_env.tmp_path / "out"))
    east = EdgeCluster(TerraformStack(app, "east"), "edge", **synth_env.props(name="east"))
    west = EdgeCluster(TerraformStack(app, "west"), "edge", **synth_env.props(
        name="west", masters=[synth_env.host("203.0.113.11")]))
    site = TerraformStack(app, "site")
    EdgeNodePool(site, "to-east", cluster=east, hosts=[synth_env.host("198.51.100.1", name="e1")])
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(site, "to-west", cluster=west,
                     hosts=[synth_env.host("198.51.100.2", name="w1")])
    assert "west/edge" in str(e.value) and "east/edge" in str(e.value)
    assert "give the two EdgeClusters different ids" in str(e.value)
