"""EdgeNode / EdgeNodePool at synth: the node chain as terraform_data resources keyed by host,
removal as one for_each resource with destroy-time provisioners, the join command from one
function, the join script output, and bad props rejected with exact messages. No site."""
from __future__ import annotations

import json
import re
import sys
import shlex

import pytest
from edge_constructs.terraform.cdk import TerraformStack, Testing as CdktfTesting

from tests.shvars import dry_run
from tests.synth_fixtures import assert_valid_terraform, synth_env  # noqa: F401  (fixture)

from edge_constructs import EdgeNode, EdgeNodePool, Host
from provisioners.core.errors import ValidationError
from provisioners.steps import chains as chain, node as node_steps
from provisioners.steps import host as host_steps
from provisioners.steps.context import EDGE, MASTER0, Context

NODE_STEPS = ["EnsureKernelModule", "EnsureSysctl", "EnsureDisableSwap", "EnsurePreflight",
              "EnsureInstallPackage", "EnsureKubelet", "EnsureKubectl", "EnsureLiteAPIServer",
              "EnsureCNIPlugins", "EnsureConntrackTools", "EnsureKubeadm", "EnsureKubeletUnit",
              "EnsureJoinNode"]


def hosts(env, *names):
    return [env.host(f"198.51.100.{20 + i}", name=n) for i, n in enumerate(names)]


def synth_pool(env, names=("cam-1", "cam-2", "cam-3"), **kw):
    cluster = env.cluster()
    kw.setdefault("node_unit", "site-a")
    kw.setdefault("labels", {"zone": "a"})
    kw.setdefault("taints", ["dedicated=camera:NoSchedule"])
    pool = EdgeNodePool(TerraformStack.of(cluster), "site-a", cluster=cluster,
                        hosts=hosts(env, *names), **kw)
    text = CdktfTesting.synth(TerraformStack.of(cluster))
    return cluster, pool, text, json.loads(text)


def nodes_of(doc, name="site-a") -> dict:
    return doc["resource"]["edge_node"][name]


def instances_of(doc, name="site-a") -> dict:
    """The pool's for_each map: a local (evaluated once, not once per instance)."""
    assert nodes_of(doc, name)["for_each"] == "${local.%s_hosts}" % name
    return doc["locals"][f"{name}_hosts"]


def test_each_host_is_one_edge_node_instance_keyed_by_its_name(synth_env):
    cluster, _, _, doc = synth_pool(synth_env)
    nodes = nodes_of(doc)
    assert sorted(instances_of(doc)) == ["cam-1", "cam-2", "cam-3"]
    assert nodes["name"] == "${each.key}" and nodes["host"] == "${each.value.host}"
    host = json.loads(instances_of(doc)["cam-2"]["host"])
    assert (host["address"], host["name"], host["port"]) == ("198.51.100.21", "cam-2", 22)
    # labels, taints and node unit are set by the API, from the resource's own attributes
    assert nodes["labels"] == {"zone": "a"} and nodes["taints"] == ["dedicated=camera:NoSchedule"]
    assert nodes["node_unit"] == "site-a"
    # one resource per node: no per-step resources on nodes, none on master 0 for them
    assert not [k for k in doc["resource"]["terraform_data"] if "site-a" in k]
    # it waits for the cluster
    assert nodes["depends_on"] == [f"edge_master_certificates.{cluster.ready[0].friendly_unique_id}"]


def test_hosts_are_keyed_by_name_not_list_position(synth_env):
    _, _, _, a = synth_pool(synth_env, ("cam-1", "cam-2", "cam-3"))
    _, _, _, b = synth_pool(synth_env, ("cam-3", "cam-1"))
    fb = instances_of(b)
    assert sorted(fb) == ["cam-1", "cam-3"]
    # (the test hosts' addresses follow the list position; the key does not)
    assert json.loads(fb["cam-1"]["host"])["name"] == "cam-1"


def test_the_nodes_run_the_clusters_one_bundle_of_the_node_chain(synth_env):
    cluster, _, _, doc = synth_pool(synth_env)
    # the bundle reaches the nodes through their cluster's provider block, not their state:
    # a node holds its fingerprint only
    nodes = nodes_of(doc)
    assert "bundle" not in nodes and "kubeconfig" not in nodes
    assert nodes["bundle_sha256"] == "${local.edge_node_bundle_sha256}"
    assert nodes["provider"] == "edge.edge_nodes"
    (block,) = [p for p in doc["provider"]["edge"] if p.get("alias") == "edge_nodes"]
    assert block["node_bundle"] == "${local.edge_node_bundle}"
    assert block["cluster"] == cluster.spec.name
    bundle = doc["locals"]["edge_node_bundle"]
    names = re.findall(r"^# --- (\S+)$", bundle, re.M)
    assert names == NODE_STEPS
    assert "EnsureNodeLabels" not in chain.step_names()
    assert doc["output"]["edge_join_script"]["value"] == "${local.edge_node_bundle}"


def test_node_chain_reuses_the_masters_host_steps(synth_env):
    for fn in (host_steps.ensure_sysctl, host_steps.ensure_kernel_module,
               host_steps.ensure_install_package, host_steps.ensure_kubeadm):
        assert fn in chain.MASTER_CHAIN and fn in chain.NODE_CHAIN
    cluster = synth_env.cluster()
    node = Context(cluster.spec, hosts(synth_env, "cam-1")[0], EDGE, cluster.credentials)
    master = Context(cluster.spec, cluster.spec.masters[0], MASTER0, cluster.credentials)
    assert host_steps.ensure_sysctl(node) == host_steps.ensure_sysctl(master)
    assert "EnsureJoinNode" in chain.step_names()


def test_join_step_runs_the_clusters_join_command_plus_name_and_skip(synth_env, tmp_path):
    cluster, _, _, doc = synth_pool(synth_env)
    step = node_steps.ensure_join_node(Context(cluster.spec, hosts(synth_env, "cam-1")[0], EDGE,
                                               cluster.credentials))
    token, ca_hash = "abcdef.0123456789abcdef", "sha256:" + "b" * 64
    (tmp_path / "token").write_text(token + "\n")
    (tmp_path / "hash").write_text(ca_hash + "\n")
    expected = (shlex.split(node_steps.join_command(cluster.spec, ca_hash, token))
                + ["--node-name", "cam-1", "--skip-phases=init-node"])
    # the step's body run by sh, `run` printing the command it was handed
    assert dry_run(step.script, "token", TOKEN_FILE=tmp_path / "token",
                   CA_HASH_FILE=tmp_path / "hash") == [expected]
    # the token and the CA pin come from the identity in state
    assert [u.source for u in step.uploads] == [cluster.credentials.bootstrap_token,
                                                cluster.credentials.ca_cert_hash_file]
    assert doc["output"]["edge_join_command"]["value"] == \
        node_steps.join_command(cluster.spec, cluster.ca_cert_hash, cluster.token)


def test_no_token_in_the_synthesized_json(synth_env):
    cluster, _, text, doc = synth_pool(synth_env)
    # the token exists only in state: the bundle refers to it there
    bundle = doc["locals"]["edge_node_bundle"]
    assert "${base64encode(edge_cluster_identity.edge_identity.bootstrap_token)}" in bundle
    assert "${base64encode(edge_cluster_identity.edge_identity.ca_cert_hash)}" in bundle
    assert "filebase64" not in bundle.split("EnsureInstallPackage")[0]
    assert doc["output"]["edge_join_script"]["sensitive"] is True
    (block,) = [p for p in doc["provider"]["edge"] if p.get("alias") == "edge_nodes"]
    assert block["kubeconfig"] == "${edge_cluster_identity.edge_identity.kubeconfig}"
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text


def test_the_bundles_fingerprint_leaves_the_token_out_and_takes_every_other_upload(synth_env):
    """A rotated token changes no joined node: the fingerprint the nodes hold is the bundle
    with each upload's digest in place of its bytes, and nothing for the token."""
    _, _, _, doc = synth_pool(synth_env)
    src = doc["locals"]["edge_node_bundle_fingerprint_source"]
    bundle = doc["locals"]["edge_node_bundle"]
    assert "bootstrap_token" not in src and "bootstrap_token" in bundle
    assert 'edge_cluster_identity.edge_identity.digests["ca_cert_hash"]' in src
    assert doc["locals"]["edge_node_bundle_sha256"] == \
        "${sha256(local.edge_node_bundle_fingerprint_source)}"
    # the same script otherwise: every step, in order
    assert re.findall(r"^# --- (\S+)$", src, re.M) == re.findall(r"^# --- (\S+)$", bundle, re.M)
    assert doc["output"]["edge_node_bundle_sha256"]["value"] == "${local.edge_node_bundle_sha256}"


def test_removal_needs_only_state_and_the_clusters_provider_block(synth_env):
    _, _, _, doc = synth_pool(synth_env)
    nodes = nodes_of(doc)
    # the reset runs over the provider's own SSH runner: no local-exec, no interpreter path
    assert "provisioner" not in nodes
    # the reset by reference (a plan shows one line), rendered by the provider at delete
    assert re.fullmatch(r"ResetNode sha256:[0-9a-f]{16}", nodes["reset"]), nodes["reset"]
    from provisioners.steps import resets
    assert "edgeadm reset --force" in resets.resolve("ResetNode", nodes["reset"]).script
    assert sys.executable not in json.dumps(nodes)
    assert "PRIVATE KEY" not in json.dumps(instances_of(doc))


def test_an_edge_node_is_a_pool_of_one(synth_env):
    cluster = synth_env.cluster()
    EdgeNode(TerraformStack.of(cluster), "camera-01", cluster=cluster,
             host=synth_env.host("198.51.100.20", name="camera-01"), labels={"zone": "a"})
    doc = json.loads(CdktfTesting.synth(TerraformStack.of(cluster)))
    node = nodes_of(doc, "camera-01")
    assert sorted(instances_of(doc, "camera-01")) == ["camera-01"]
    assert node["labels"] == {"zone": "a"}
    assert "taints" not in node and "node_unit" not in node


def test_the_status_is_read_after_the_cluster_and_every_pool(synth_env):
    cluster, _, _, doc = synth_pool(synth_env)
    status = doc["data"]["edge_cluster_status"]["edge_status"]
    assert status["kubeconfig"] == "${edge_cluster_identity.edge_identity.kubeconfig}"
    assert status["depends_on"] == [f"edge_master_certificates.{cluster.ready[0].friendly_unique_id}",
                                    "edge_node.site-a"]
    assert doc["output"]["edge_nodes"]["value"] == \
        "${jsondecode(data.edge_cluster_status.edge_status.nodes)}"
    assert doc["output"]["edge_edge_components"]["value"] == \
        "${jsondecode(data.edge_cluster_status.edge_status.edge_components)}"


def test_synthesized_pool_is_valid_terraform(synth_env):
    cluster, _, _, _ = synth_pool(synth_env)
    assert_valid_terraform(synth_env.full_synth(TerraformStack.of(cluster)))


# --- bad props ---------------------------------------------------------------------------

def fails(env, **kw) -> str:
    with pytest.raises(ValidationError) as e:
        synth_pool(env, **kw)
    return str(e.value)


def test_fails_when_a_pool_has_no_hosts(synth_env):
    assert fails(synth_env, names=()) == (
        "hosts: got []; a pool needs at least one Host; remove the EdgeNodePool to remove "
        "all its nodes")


def test_fails_when_the_node_unit_is_not_dns1123(synth_env):
    assert fails(synth_env, node_unit="Site_A") == (
        "node_unit: got 'Site_A'; must be lowercase letters, digits and '-', starting and "
        "ending with a letter or digit, at most 63 characters (RFC 1123 label), "
        "e.g. 'shenzhen-edge'")


def test_fails_when_a_label_is_malformed(synth_env):
    assert fails(synth_env, labels={"zone": "a b"}) == (
        "labels['zone']: got 'a b'; a label value is empty or at most 63 characters of "
        "[A-Za-z0-9._-], starting and ending with a letter or digit")


def test_fails_when_a_taint_is_malformed(synth_env):
    assert fails(synth_env, taints=["dedicated=camera:Sometimes"]) == (
        "taints[0]: got 'dedicated=camera:Sometimes'; unknown effect 'Sometimes'; a taint is "
        "'key[=value]:Effect' with Effect one of NoSchedule, PreferNoSchedule, NoExecute, "
        "e.g. 'dedicated=edge:NoSchedule'")


def test_fails_when_a_host_is_also_a_master(synth_env):
    cluster = synth_env.cluster()
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(TerraformStack.of(cluster), "p", cluster=cluster,
                     hosts=[synth_env.host("203.0.113.10", name="cam-1")])
    assert str(e.value) == ("hosts[0].address: got '203.0.113.10'; is master 0 of cluster "
                            "'shenzhen-edge'; a host is either a master or an edge node, not both")


def test_fails_when_a_host_is_in_two_pools(synth_env):
    cluster = synth_env.cluster()
    stack = TerraformStack.of(cluster)
    EdgeNodePool(stack, "a", cluster=cluster, hosts=hosts(synth_env, "cam-1", "cam-2"))
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(stack, "b", cluster=cluster,
                     hosts=[synth_env.host("198.51.100.99", name="cam-9"), hosts(synth_env, "cam-1", "cam-2")[1]])
    assert str(e.value) == ("hosts[1]: got 'cam-2'; already joins cluster 'shenzhen-edge' "
                            "through t/a, and t/b claims it again; a host belongs to one "
                            "EdgeNode or EdgeNodePool")


def test_fails_when_a_pool_lists_a_host_twice(synth_env):
    cluster = synth_env.cluster()
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(TerraformStack.of(cluster), "p", cluster=cluster,
                     hosts=[synth_env.host("198.51.100.20", name="cam-1"),
                            synth_env.host("198.51.100.21", name="cam-1")])
    assert str(e.value) == "hosts[1]: got 'cam-1'; hosts[0] is the same host; list each host once"


def test_fails_when_a_node_name_cannot_be_a_kubernetes_name(synth_env):
    cluster = synth_env.cluster()
    with pytest.raises(ValidationError) as e:
        EdgeNode(TerraformStack.of(cluster), "n", cluster=cluster,
                 host=synth_env.host("2001:db8::20"))
    assert str(e.value).startswith("host.name: got None; the address '2001:db8::20' cannot be")


def test_fails_when_an_edge_node_has_no_name(synth_env):
    cluster = synth_env.cluster()
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(TerraformStack.of(cluster), "p", cluster=cluster,
                     hosts=[synth_env.host("198.51.100.20", name="cam-1"),
                            synth_env.host("cam-2.example.com")])
    assert str(e.value) == (
        "hosts[1].name: got None; an edge node needs a name: it is its Node's name and the "
        "key of its resource, so that a new address for the same name moves the connection "
        "instead of replacing the node; give a DNS-1123 subdomain, e.g. "
        "Host('cam-2.example.com', name='shop-12')")


def test_fails_when_a_node_name_is_not_a_dns1123_subdomain(synth_env):
    cluster = synth_env.cluster()
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(TerraformStack.of(cluster), "p", cluster=cluster,
                     hosts=[synth_env.host("198.51.100.20", name="Cam_1")])
    assert str(e.value).startswith("hosts[0].name: got 'Cam_1'; ")


# --- a large pool is planned in blocks (Terraform re-evaluates a for_each per instance) -------

def _many(env, n: int) -> list[Host]:
    return [env.host(f"198.51.{100 + i // 250}.{1 + i % 250}", name=f"cam-{i:04d}")
            for i in range(n)]


def test_a_pool_of_up_to_100_hosts_is_one_block_and_a_larger_one_is_64(synth_env):
    from edge_constructs.terraform.nodes import BLOCK_LIMIT, BUCKETS, bucket_of
    cluster = synth_env.cluster()
    stack = TerraformStack.of(cluster)
    EdgeNodePool(stack, "small", cluster=cluster, hosts=_many(synth_env, BLOCK_LIMIT)[:BLOCK_LIMIT])
    big = _many(synth_env, 1000)[BLOCK_LIMIT:BLOCK_LIMIT + 500]
    EdgeNodePool(stack, "large", cluster=cluster, hosts=big)
    doc = json.loads(CdktfTesting.synth(stack))
    nodes = doc["resource"]["edge_node"]
    assert "small" in nodes and len(doc["locals"]["small_hosts"]) == BLOCK_LIMIT
    blocks = {k: v for k, v in nodes.items() if k.startswith("large_b")}
    assert "large" not in nodes and len(blocks) == BUCKETS
    # each host once, in the block its name hashes to; blocks of about 500/64 hosts
    placed = {h: b for b in blocks for h in doc["locals"][f"{b}_hosts"]}
    assert placed == {h.key: bucket_of("large", h) for h in big}
    assert max(len(doc["locals"][f"{b}_hosts"]) for b in blocks) < 30
    # every block is the same resource but for its hosts
    configs = {json.dumps({k: v for k, v in c.items() if k not in ("for_each", "//")},
                          sort_keys=True) for c in blocks.values()}
    assert len(configs) == 1
    # the status waits for every block
    (status,) = doc["data"]["edge_cluster_status"].values()
    assert {f"edge_node.{b}" for b in blocks} | {"edge_node.small"} <= set(status["depends_on"])
    # a state from the other layout moves; it is never a removal and a join
    moved = {m["to"]: m["from"] for m in doc["moved"]}
    assert moved['edge_node.small["cam-0000"]'] == \
        f'edge_node.{bucket_of("small", big[0].__class__("x", name="cam-0000"))}["cam-0000"]'
    h = big[0]
    assert moved[f'edge_node.{bucket_of("large", h)}["{h.key}"]'] == f'edge_node.large["{h.key}"]'
    assert len(moved) == BLOCK_LIMIT + 500


def test_a_pool_growing_past_100_hosts_moves_its_nodes_in_state(synth_env, tmp_path):
    """Through Terraform: the state of a pool of 3 (one block), then the same 3 among 101
    hosts (blocks): the 3 are moved, not replaced; only the 98 new ones are created."""
    import uuid
    from simsite import tf
    from tests import plan as judged
    from tests.test_fleet_synth import node_state
    from edge_constructs import EdgeCluster
    from edge_constructs.terraform.cdk import App, LocalBackend
    from edge_constructs.terraform.nodes import bucket_of
    hosts_ = _many(synth_env, 101)
    app = App(outdir=str(tmp_path / "out"))
    stack = TerraformStack(app, "grow")
    LocalBackend(stack, path=str(tmp_path / "grow.tfstate"))
    cluster = EdgeCluster(stack, "edge", **synth_env.props())
    EdgeNodePool(stack, "pool", cluster=cluster, hosts=hosts_)
    app.synth()
    out = tmp_path / "out" / "stacks" / "grow"
    provider = 'provider["edge-constructs.local/edge-constructs/edge"]'
    (tmp_path / "grow.tfstate").write_text(json.dumps({
        "version": 4, "terraform_version": "1.5.7", "serial": 3, "lineage": str(uuid.uuid4()),
        "outputs": {}, "check_results": None, "resources": [{
            "mode": "managed", "type": "edge_node", "name": "pool",
            "provider": f"{provider}.edge_nodes",
            "instances": [{"index_key": h.key, "schema_version": 3, "sensitive_attributes": [],
                           "attributes": node_state(h.key)} for h in hosts_[:3]]}]}))
    tf.terraform(["init", "-input=false"], out).check()
    p = judged.plan(out, "-refresh=false").check()
    address = {h.key: f'edge_node.{bucket_of("pool", h)}["{h.key}"]' for h in hosts_}
    moved = {rc["address"]: rc["previous_address"] for rc in p.resource_changes
             if rc.get("previous_address")}
    assert moved == {address[h.key]: f'edge_node.pool["{h.key}"]' for h in hosts_[:3]}, moved
    changed = dict(judged.changed(p))
    assert sorted(a for a, act in changed.items() if act == "create" and a.startswith("edge_node.")) == \
        sorted(address[h.key] for h in hosts_[3:])
    # the moved ones keep their instance (an in-place update to this configuration: the
    # state here is a stand-in's), never a removal and a join
    assert {changed.get(address[h.key], "no-op") for h in hosts_[:3]} <= {"update", "no-op"}
    assert not [a for a, act in changed.items() if act in ("delete", "replace")], changed  # noqa: E501
