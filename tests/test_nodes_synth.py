"""EdgeNode / EdgeNodePool at synth: the node chain as terraform_data resources keyed by host,
removal as one for_each resource with destroy-time provisioners, the join command from one
function, the join script output, and bad props rejected with exact messages. No site."""
from __future__ import annotations

import json
import re
import shlex

import pytest
from edge_constructs.terraform.cdk import TerraformStack, Testing as CdktfTesting

from tests.shvars import dry_run
from tests.synth_fixtures import assert_valid_terraform, synth_env  # noqa: F401  (fixture)

from edge_constructs import EdgeNode, EdgeNodePool, Host
from edge_constructs.core.errors import ValidationError
from edge_constructs.steps import chains as chain, node as node_steps
from edge_constructs.steps import host as host_steps
from edge_constructs.steps.context import EDGE, MASTER0, Context, NodeOptions

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


def path_of(key: str) -> str:
    """'site-a_cam-1_EnsureJoinNode_1A2B3C4D' -> 't/site-a/cam-1/EnsureJoinNode'."""
    return "t/" + re.sub(r"_[0-9A-F]{8}$", "", key).replace("_", "/")


def by_path(doc) -> dict:
    return {path_of(k): r for k, r in doc["resource"]["terraform_data"].items()}


def test_each_host_gets_the_node_chain_keyed_by_its_name(synth_env):
    _, _, _, doc = synth_pool(synth_env)
    res = doc["resource"]["terraform_data"]
    removal = "terraform_data." + next(k for k in res if path_of(k) == "t/site-a/Removal")
    for name in ("cam-1", "cam-2", "cam-3"):
        mine, cur = [], removal
        while True:      # follow the chain: each step depends on the one before, only
            nxt = [k for k, r in res.items() if r.get("depends_on") == [cur]
                   and path_of(k).startswith(f"t/site-a/{name}/")]
            if not nxt:
                break
            assert len(nxt) == 1, nxt
            mine.append(path_of(nxt[0]).split("/")[-1])
            cur = "terraform_data." + nxt[0]
        assert mine == ["CheckSSH"] + NODE_STEPS + ["EnsureNodeLabels", "EnsureNodeTaints",
                                                    "EnsureNodeUnit"]


def test_hosts_are_keyed_by_name_not_list_position(synth_env):
    _, _, _, a = synth_pool(synth_env, ("cam-1", "cam-2", "cam-3"))
    _, _, _, b = synth_pool(synth_env, ("cam-3", "cam-1"))
    pa, pb = by_path(a), by_path(b)
    for p in pb:
        # (a CheckSSH carries the address, which here follows the list position)
        if ("/cam-1/" in p or "/cam-3/" in p) and not p.endswith("/CheckSSH"):
            assert pa[p]["triggers_replace"] == pb[p]["triggers_replace"], p
    ka = {k for k in a["resource"]["terraform_data"] if "cam-1" in k}
    kb = {k for k in b["resource"]["terraform_data"] if "cam-1" in k}
    assert ka == kb
    (removal,) = [r for p, r in pb.items() if p.endswith("/Removal")]
    assert sorted(removal["for_each"]) == ["cam-1", "cam-3"]


def test_node_chain_reuses_the_masters_host_steps(synth_env):
    for fn in (host_steps.ensure_sysctl, host_steps.ensure_kernel_module,
               host_steps.ensure_install_package, host_steps.ensure_kubeadm):
        assert fn in chain.MASTER_CHAIN and fn in chain.NODE_CHAIN
    cluster = synth_env.cluster()
    node = Context(cluster.spec, hosts(synth_env, "cam-1")[0], EDGE, cluster.credentials)
    master = Context(cluster.spec, cluster.spec.masters[0], MASTER0, cluster.credentials)
    assert host_steps.ensure_sysctl(node) == host_steps.ensure_sysctl(master)
    assert "EnsureNodeLabels" in chain.step_names() and "EnsureJoinNode" in chain.step_names()


def test_chain_waits_for_the_cluster_and_master0_steps_connect_to_master0(synth_env):
    cluster, _, _, doc = synth_pool(synth_env)
    paths = by_path(doc)
    removal = paths["t/site-a/Removal"]
    ready = [f"terraform_data.{k}" for k in doc["resource"]["terraform_data"]
             if path_of(k) == cluster.ready[0].node.path]
    assert removal["depends_on"] == ready
    removal_key = [k for k in doc["resource"]["terraform_data"]
                   if path_of(k) == "t/site-a/Removal"][0]
    check_key = [k for k in doc["resource"]["terraform_data"]
                 if path_of(k) == "t/site-a/cam-1/CheckSSH"][0]
    assert paths["t/site-a/cam-1/CheckSSH"]["depends_on"] == [f"terraform_data.{removal_key}"]
    assert paths["t/site-a/cam-1/EnsureKernelModule"]["depends_on"] == [f"terraform_data.{check_key}"]
    # the node's check covers the node only (master 0 has its own)
    assert '"address": "198.51.100' in paths["t/site-a/cam-1/CheckSSH"]["input"]["hosts"]
    assert "203.0.113.10" not in paths["t/site-a/cam-1/CheckSSH"]["input"]["hosts"]
    labels = paths["t/site-a/cam-1/EnsureNodeLabels"]
    assert labels["connection"]["host"] == "203.0.113.10"
    # on master 0, each node's steps have their own script path
    assert any("/steps/cam-1/EnsureNodeLabels.sh" in str(p) for p in labels["provisioner"])
    assert paths["t/site-a/cam-1/EnsureJoinNode"]["connection"]["host"] == "198.51.100.20"


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
    # the token exists only in state: every step and the join script refer to it there
    join = by_path(doc)["t/site-a/cam-1/EnsureJoinNode"]
    assert {"file": {"content": "${edge_cluster_identity.edge_identity.bootstrap_token}",
                     "destination": "/var/lib/edge_constructs/stage/EnsureJoinNode/0"}} \
        in join["provisioner"]
    assert join["triggers_replace"]["bootstrap_token"] == \
        '${edge_cluster_identity.edge_identity.digests["bootstrap_token"]}'
    script = doc["output"]["edge_join_script"]
    assert script["sensitive"] is True
    assert "${base64encode(edge_cluster_identity.edge_identity.bootstrap_token)}" in script["value"]
    assert "${base64encode(edge_cluster_identity.edge_identity.ca_cert_hash)}" in script["value"]
    assert "filebase64" not in script["value"].split("EnsureInstallPackage")[0]


def test_removal_is_one_for_each_resource_running_the_node_teardown_chain(synth_env):
    _, _, _, doc = synth_pool(synth_env)
    removal = by_path(doc)["t/site-a/Removal"]
    assert sorted(removal["for_each"]) == ["cam-1", "cam-2", "cam-3"]
    assert removal["input"] == "${each.value}"
    # the teardown chain of each node, in kubeadm's order, each step on its host
    chain_ = json.loads(removal["for_each"]["cam-2"]["teardown"])
    assert [(c["step"]["name"], c["host"]["address"]) for c in chain_] == [
        ("DrainNode", "203.0.113.10"), ("ResetNode", "198.51.100.21"),
        ("DeleteNode", "203.0.113.10")]
    assert all(c["step"]["subject"] == "cam-2" for c in chain_ if c["step"]["name"] != "ResetNode")
    [prov] = removal["provisioner"]
    body = prov["local-exec"]
    assert body["when"] == "destroy"
    assert body["command"] == '"${self.input.python}" -m edge_constructs.ssh.teardown'
    assert body["environment"] == {"EDGE_TEARDOWN": "${self.input.teardown}"}
    for other in ("terraform_data.", "var.", "each.", "local.", "count."):
        assert other not in json.dumps(body), (other, body)
    assert "on_failure" not in body
    assert "PRIVATE KEY" not in json.dumps(removal["for_each"])


def test_an_edge_node_is_a_pool_of_one(synth_env):
    cluster = synth_env.cluster()
    EdgeNode(TerraformStack.of(cluster), "camera-01", cluster=cluster,
             host=synth_env.host("198.51.100.20"), labels={"zone": "a"})
    doc = json.loads(CdktfTesting.synth(TerraformStack.of(cluster)))
    paths = by_path(doc)
    assert sorted(paths["t/camera-01/Removal"]["for_each"]) == ["198.51.100.20"]
    assert "t/camera-01/198-51-100-20/EnsureNodeLabels" in paths
    assert not any("EnsureNodeTaints" in p or "EnsureNodeUnit" in p for p in paths)


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
                            "through t/a; a host belongs to one EdgeNode or EdgeNodePool")


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
