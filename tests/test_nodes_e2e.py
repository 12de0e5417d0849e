"""Edge nodes end to end: examples/edge_pool on a simulated site with real Terraform.

One cluster (master h0) for the whole module; the tests run in order and each changes the
pool or its hosts the way an operator (or an accident) would: join 10, add an 11th, move one
to a new address, reset one by hand (and delete its Node), delete a Node by hand (host
untouched), reset a host by hand (Node kept), remove a label by hand, stop a kubelet, fail a
join half-way and resume it, drop one, drop one whose sshd is down, join a host Terraform
does not know with the join script, rename a host, remove the whole pool from the code (from
a fresh checkout), then destroy it all.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from simsite import tf
from simsite.fixtures import require_site_prerequisites
from simsite.package import build_package, host_tools_dir
from simsite.site import Site
from tests import plan as judged
from tests.real_kubectl import real_kubectl

pytestmark = pytest.mark.site

MAIN = Path(__file__).resolve().parents[1] / "examples" / "edge_pool" / "main.py"
POOL = [f"h{i}" for i in range(1, 11)]
ELEVENTH, DOWN_AT_DESTROY, REMOVED, STRANGER, HALFWAY = "h11", "h4", "h3", "h12", "h13"
MOVED, RESET_BY_HAND, RELABELLED, STOPPED = "h5", "h6", "h7", "h8"
NODE_DELETED, HOST_RESET = "h9", "h10"
#: A host given a new name (same address): one apply, one joined Node under the new name.
RENAME_FROM, RENAME_TO = "h1", "h1-renamed"
#: The second address MOVED answers on (simulated hosts: 198.18.0.10 and up, one site at a time).
NEW_ADDRESS = "198.18.0.200"
KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf"
#: Pool members whose host name is not their inventory name (the Node is named after the inventory).
HOSTNAMES = {"h2": "edge-box-2"}


@dataclass
class Env:
    site: Site
    work: Path
    inventory: dict
    stack: Path | None = None

    out: str = "out"

    def synth(self, pool: list[str]) -> Path:
        inv = dict(self.inventory, pool=pool)
        (self.work / "inventory.json").write_text(json.dumps(inv))
        self.stack = tf.synth(MAIN, self.work / self.out, self.extra)
        if not (self.stack / ".terraform").exists():
            tf.terraform(["init", "-input=false"], self.stack).check()
        return self.stack

    def apply(self, pool: list[str]) -> tf.Run:
        return tf.terraform(["apply", "-auto-approve", "-input=false", "-no-color",
                             "-parallelism=20"], self.synth(pool))

    def plan(self, pool: list[str]) -> judged.Plan:
        return judged.plan(self.synth(pool))

    def planned(self, pool: list[str]) -> tuple[dict[str, list[str]], str]:
        """({address: actions} of the managed resources a saved plan changes, from
        `terraform show -json`; the plan's text, for its warnings)."""
        run = tf.terraform(["plan", "-input=false", "-no-color", "-out=lifecycle.tfplan"],
                           self.synth(pool)).check()
        out = tf.terraform(["show", "-json", "lifecycle.tfplan"], self.stack).check().output
        doc = json.loads(out[out.index("{"):])
        return ({rc["address"]: rc["change"]["actions"] for rc in doc.get("resource_changes", [])
                 if rc["mode"] == "managed" and rc["change"]["actions"] != ["no-op"]},
                run.output)

    @property
    def extra(self) -> dict:
        return {"EDGE_WORKDIR": str(self.work),
                "EDGE_INVENTORY": str(self.work / "inventory.json")}

    def nodes(self) -> dict[str, dict]:
        rc, out, err = self.site.ssh("h0", f"{KUBECTL} get nodes -o json")
        assert rc == 0, err
        return {n["metadata"]["name"]: n for n in json.loads(out)["items"]}

    def ledger(self, host: str) -> list[dict]:
        rc, out, _ = self.site.ssh(host, "cat /var/log/standins/ledger.jsonl 2>/dev/null || true")
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    require_site_prerequisites()
    work = tmp_path_factory.mktemp("edge-nodes")
    site = Site(n=14, host_tools=host_tools_dir(work / "tools"), hostnames=HOSTNAMES)
    site.start()
    try:
        pkg, sha = build_package(work / "pkg")
        site.write_inventory(work / "hosts.json")
        inv = json.loads((work / "hosts.json").read_text())
        inv["install_package"] = {"path": str(pkg), "sha256": sha}
        yield Env(site, work, inv)
    finally:
        site.close()


def _calls(ledger: list[dict], tool: str, *words: str) -> list[list[str]]:
    return [e["argv"] for e in ledger
            if e["tool"] == tool and all(w in e["argv"] for w in words)]


def _node(name: str) -> str:
    return f'edge_node.site-a["{name}"]'


#: Samples every process's command line on a host until told to stop: the lines that could
#: hold a bootstrap token, or name edgeadm (the sampler's own grep is left out).
PS_SAMPLER = r"""d=$1; mkdir -p "$d"; n=0
while [ ! -f "$d/stop" ]; do
  ps -eo args | grep -E 'edgeadm|[a-z0-9]{6}[.][a-z0-9]{16}' | grep -v '^grep' >> "$d/hits" || true
  n=$((n + 1)); echo "$n" > "$d/count"; sleep 0.02
done
"""


def start_ps_sampler(site: Site, host: str) -> str:
    d = f"/tmp/edge-ps-{host}"
    site.ssh(host, f"rm -rf {d}; mkdir -p {d}; cat > {d}.sh", input=PS_SAMPLER)
    rc, _, err = site.ssh(host, f"setsid sh {d}.sh {d} >/dev/null 2>&1 </dev/null &")
    assert rc == 0, err
    return d


def stop_ps_sampler(site: Site, host: str, d: str) -> tuple[int, list[str]]:
    """(how many samples were taken, the lines recorded)."""
    site.ssh(host, f"touch {d}/stop; sleep 0.5")
    rc, out, _ = site.ssh(host, f"cat {d}/count; cat {d}/hits 2>/dev/null || true")
    count, *hits = out.splitlines()
    return int(count), hits


def test_pool_of_10_joins_in_one_deploy(env):
    # `ps` sampled on master 0 and on one joining node for the whole deploy
    samplers = {h: start_ps_sampler(env.site, h) for h in ("h0", "h1")}
    run = env.apply(POOL)
    seen = {h: stop_ps_sampler(env.site, h, d) for h, d in samplers.items()}
    run.check()
    token = re.search(r"--token (\S+)", tf.outputs(env.stack)["edge_join_command"]).group(1)
    # master 0 never has the token on a command line: `edgeadm token create` reads it from a
    # 0600 --config file, kubeadm's config holds it, masking reads it from the environment
    count, hits = seen["h0"]
    assert count > 100 and any("edgeadm token list" in h or "edgeadm init" in h for h in hits)
    assert not [h for h in hits if token in h]
    # on the node, only `edgeadm join` itself carries it, for the join's few seconds (edgeadm
    # join refuses --config next to --install-pkg-path: docs/DESIGN_NOTES.md)
    count, hits = seen["h1"]
    assert count > 100 and any(" join " in h and token in h for h in hits), hits[:20]
    assert not [h for h in hits if token in h and not re.search(r"edgeadm join ", h)]
    nodes = env.nodes()
    assert set(POOL) <= set(nodes), sorted(nodes)
    assert env.site.ssh("h2", "hostname")[1].strip() == "edge-box-2" and "edge-box-2" not in nodes
    assert nodes["h2"]["metadata"]["labels"]["kubernetes.io/hostname"] == "h2"
    for name in POOL:
        n = nodes[name]
        labels = n["metadata"]["labels"]
        assert labels["zone"] == "a" and labels["topology.superedge.io/site"] == "site-a"
        assert labels["site-a"] == "nodeunits.superedge.io"        # site-manager's membership
        assert labels["superedge.io/node-edge"] == "enable"
        assert {"key": "dedicated", "value": "camera", "effect": "NoSchedule"} in n["spec"]["taints"]
    # every node joined with exactly the cluster's join command + name + skipped init-node
    out = tf.outputs(env.stack)
    join = out["edge_join_command"].split()
    for name in POOL:
        calls = _calls(env.ledger(name), "edgeadm", "join")
        assert join[1:] + ["--node-name", name, "--skip-phases=init-node"] in calls, calls
        log = (env.stack / "edge-logs" / f"{name}.log").read_text()
        assert f"[{name}] EnsureJoinNode: joined the cluster as {name}" in log
    rc, unit, err = env.site.ssh("h0", f"{KUBECTL} get nodeunits site-a -o json")
    assert rc == 0, err
    unit = json.loads(unit)
    assert unit["apiVersion"] == "site.superedge.io/v1alpha2" and unit["kind"] == "NodeUnit"
    assert unit["spec"]["selector"]["matchLabels"] == {"site-a": "nodeunits.superedge.io"}
    # what the centre sees, as outputs
    for name in POOL:
        assert out["edge_nodes"][name]["ready"] is True
        assert out["edge_nodes"][name]["kubelet_version"] == "v1.22.6"
        assert out["edge_nodes"][name]["node_units"] == ["site-a"]
    assert set(out["edge_edge_components"]) == {"tunnel-cloud", "tunnel-edge", "edge-health",
                                                "application-grid", "lite-apiserver"}
    assert out["edge_edge_components"]["tunnel-cloud"]["workloads"] == "Deployment/tunnel-cloud"
    assert out["edge_edge_components"]["tunnel-edge"]["workloads"] == "DaemonSet/tunnel-edge"


def test_real_clients_list_the_nodes_with_the_kubeconfig_output(env, tmp_path):
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(tf.outputs(env.stack)["edge_kubeconfig"])
    kubeconfig.chmod(0o600)
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    listed = k8s.CoreV1Api(k8s.ApiClient(cfg)).list_node(label_selector="zone=a").items
    assert sorted(n.metadata.name for n in listed) == sorted(POOL)
    assert all(n.status.node_info.kubelet_version == "v1.22.6" for n in listed)
    p = subprocess.run([real_kubectl(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
                        "get", "nodes", "-l", "site-a=nodeunits.superedge.io", "-o", "name"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == sorted(f"node/{h}" for h in POOL)


def test_a_fresh_checkout_plans_no_change(env):
    run = judged.plan(env.synth(POOL))
    assert run.returncode == 0, run.output
    judged.assert_no_change(run)


def test_adding_an_11th_host_changes_only_it(env):
    plan = env.plan(POOL + [ELEVENTH]).check()
    changed = judged.changed(plan)
    assert changed == [(_node(ELEVENTH), "create")], changed
    env.apply(POOL + [ELEVENTH]).check()
    assert ELEVENTH in env.nodes()


def test_a_rotated_token_changes_no_joined_node(env):
    """The nodes hold the bundle's fingerprint without the token (the bundle itself is in
    the cluster's provider block): a new token re-runs what carries it on the master and
    touches none of the 11 nodes."""
    env.inventory["token_rotation"] = "2026-12"
    plan = env.plan(POOL + [ELEVENTH]).check()
    changed = judged.changed(plan)
    assert not [a for a, _ in changed if a.startswith("edge_node.")], changed
    assert ("edge_cluster_identity.edge_identity", "update") in changed, changed
    env.apply(POOL + [ELEVENTH]).check()
    judged.assert_no_change(env.plan(POOL + [ELEVENTH]), outputs=("edge_nodes", "edge_edge_components"))


def test_a_new_address_for_the_same_name_updates_in_place(env):
    env.site.add_address(MOVED, NEW_ADDRESS)
    for h in env.inventory["hosts"]:
        if h["name"] == MOVED:
            h["address"] = NEW_ADDRESS
    before = len(env.ledger(MOVED))
    plan = env.plan(POOL + [ELEVENTH]).check()
    assert judged.changed(plan) == [(_node(MOVED), "update")], plan.output
    env.apply(POOL + [ELEVENTH]).check()
    assert len(env.ledger(MOVED)) == before      # no step, no reset, no re-join on the host
    out = tf.terraform(["show", "-json"], env.stack).check().output
    state = json.loads(out[out.index("{"):])
    node = [r for r in state["values"]["root_module"]["resources"]
            if r["address"] == _node(MOVED)][0]
    assert json.loads(node["values"]["host"])["address"] == NEW_ADDRESS


def test_a_node_reset_by_hand_is_joined_again(env):
    rc, _, err = env.site.ssh(RESET_BY_HAND, "edgeadm reset --force")
    assert rc == 0, err
    rc, _, err = env.site.ssh("h0", f"{KUBECTL} delete node {RESET_BY_HAND}")
    assert rc == 0, err
    plan = env.plan(POOL + [ELEVENTH]).check()
    assert (_node(RESET_BY_HAND), "create") in judged.changed(plan), plan.output
    env.apply(POOL + [ELEVENTH]).check()
    node = env.nodes()[RESET_BY_HAND]
    assert node["metadata"]["labels"]["zone"] == "a"
    assert len(_calls(env.ledger(RESET_BY_HAND), "edgeadm", "join")) == 2


def test_a_node_deleted_by_hand_comes_back_without_a_new_join(env):
    # kubelet 1.22 registers its Node once per start: nothing brings it back by itself
    rc, _, err = env.site.ssh("h0", f"{KUBECTL} delete node {NODE_DELETED}")
    assert rc == 0, err
    changes, _ = env.planned(POOL + [ELEVENTH])
    assert changes == {_node(NODE_DELETED): ["create"]}, changes
    env.apply(POOL + [ELEVENTH]).check()
    node = env.nodes()[NODE_DELETED]
    assert node["metadata"]["labels"]["zone"] == "a"
    assert node["status"]["conditions"][-1]["status"] == "True"
    # the host stayed joined: no second join, its kubelet restarted to register again
    assert len(_calls(env.ledger(NODE_DELETED), "edgeadm", "join")) == 1
    log = (env.stack / "edge-logs" / f"{NODE_DELETED}.log").read_text()
    assert f"[{NODE_DELETED}] EnsureJoinNode: already joined as {NODE_DELETED}" in log
    assert "restarting the kubelet so that it registers the Node again" in log
    changes, _ = env.planned(POOL + [ELEVENTH])
    assert changes == {}, changes


def test_a_host_reset_by_hand_with_its_node_kept_is_joined_again(env):
    # the node lifecycle controller's grace (40 s) shortened: the Node goes NotReady sooner
    rc, _, err = env.site.ssh("h0", "mkdir -p /etc/standins && "
                              "echo 15s > /etc/standins/node-monitor-grace-period")
    assert rc == 0, err
    try:
        rc, _, err = env.site.ssh(HOST_RESET, "edgeadm reset --force")
        assert rc == 0, err
        deadline = time.monotonic() + 60
        while env.nodes()[HOST_RESET]["status"]["conditions"][-1]["status"] == "True":
            assert time.monotonic() < deadline, "the node stayed Ready"
            time.sleep(2)
        changes, text = env.planned(POOL + [ELEVENTH])
        assert changes == {_node(HOST_RESET): ["update"]}, changes
        assert f"edge node {HOST_RESET}: its host is not joined" in text, text
        env.apply(POOL + [ELEVENTH]).check()
    finally:
        env.site.ssh("h0", "rm -f /etc/standins/node-monitor-grace-period")
    assert env.nodes()[HOST_RESET]["status"]["conditions"][-1]["status"] == "True"
    assert len(_calls(env.ledger(HOST_RESET), "edgeadm", "join")) == 2
    changes, _ = env.planned(POOL + [ELEVENTH])
    assert changes == {}, changes


def test_a_label_removed_by_hand_is_put_back(env):
    rc, _, err = env.site.ssh("h0", f"{KUBECTL} label node {RELABELLED} zone-")
    assert rc == 0, err
    plan = env.plan(POOL + [ELEVENTH]).check()
    assert judged.changed(plan) == [(_node(RELABELLED), "update")], plan.output
    env.apply(POOL + [ELEVENTH]).check()
    assert env.nodes()[RELABELLED]["metadata"]["labels"]["zone"] == "a"


def test_a_stopped_node_shows_as_not_ready_in_the_plan(env):
    # kube-controller-manager's --node-monitor-grace-period (40s), shortened for the test
    rc, _, err = env.site.ssh("h0", "mkdir -p /etc/standins && "
                             "echo 8s > /etc/standins/node-monitor-grace-period")
    assert rc == 0, err
    rc, _, err = env.site.ssh(STOPPED, "systemctl stop kubelet")
    assert rc == 0, err
    try:
        deadline = time.monotonic() + 60
        while env.nodes()[STOPPED]["status"]["conditions"][-1]["status"] == "True":
            assert time.monotonic() < deadline, "the node stayed Ready"
            time.sleep(2)
        plan = env.plan(POOL + [ELEVENTH]).check()
        assert f"Warning: edge node {STOPPED} is NotReady" in plan.output, plan.output
        refresh = tf.terraform(["apply", "-refresh-only", "-auto-approve", "-input=false",
                                "-no-color"], env.stack).check()
        assert tf.outputs(env.stack)["edge_nodes"][STOPPED]["ready"] is False, refresh.output
    finally:
        env.site.ssh(STOPPED, "systemctl start kubelet")
        env.site.ssh("h0", "rm -f /etc/standins/node-monitor-grace-period")


def test_a_join_that_fails_half_way_resumes_after_the_finished_steps(env):
    # the kubelet drop-in directory is a file: EnsureKubeletUnit cannot write into it
    rc, _, err = env.site.ssh(HALFWAY, "mkdir -p /usr/lib/systemd/system && "
                              ": > /usr/lib/systemd/system/kubelet.service.d")
    assert rc == 0, err
    run = env.apply(POOL + [ELEVENTH, HALFWAY])
    assert run.returncode != 0
    assert f"edge node {HALFWAY}: the join failed" in run.output
    assert re.search(rf"step EnsureKubeletUnit failed on host {HALFWAY}: command '.+' exited \d+",
                     run.output), run.output
    rc, _, err = env.site.ssh(HALFWAY, "rm -f /usr/lib/systemd/system/kubelet.service.d")
    assert rc == 0, err
    env.apply(POOL + [ELEVENTH, HALFWAY]).check()
    log = (env.stack / "edge-logs" / f"{HALFWAY}.log").read_text().split("node bundle: start")[-1]
    assert f"[{HALFWAY}] EnsureSysctl: done in an earlier run (ledger)" in log
    assert f"[{HALFWAY}] EnsureKubeletUnit: done (" in log
    assert HALFWAY in env.nodes()


def test_removing_one_drains_deletes_and_resets_only_it(env):
    others = [h for h in POOL + [ELEVENTH, HALFWAY] if h != REMOVED]
    before = {h: len(env.ledger(h)) for h in others}
    run = env.apply(others)
    run.check()
    assert re.search(r"Resources: 0 added, 0 changed, 1 destroyed", run.output), run.output
    assert re.findall(r"(edge_node\.\S+): Destroying", run.output) == [_node(REMOVED)]
    assert _calls(env.ledger(REMOVED), "edgeadm", "reset", "--force")
    rc, _, _ = env.site.ssh(REMOVED, "test -e /etc/systemd/system/lite-apiserver.service")
    assert rc == 1  # the lite-apiserver unit is gone
    rc, count, _ = env.site.ssh(REMOVED, "grep -c 'generated by SuperEdge' /etc/hosts")
    assert (rc, count.strip()) == (1, "0")  # and so is SuperEdge's /etc/hosts block
    # nothing the node chain installed is left on it
    rc, out, _ = env.site.ssh(REMOVED, "for f in /usr/local/bin/edgeadm /usr/bin/edgeadm /usr/bin/kubelet "
                              "/etc/bash_completion.d/kubectl "
                              "/usr/bin/lite-apiserver /opt/cni/bin/bridge "
                              "/etc/sysctl.d/99-edge_constructs.conf "
                              "/etc/modules-load.d/edge_constructs.conf /var/lib/edge_constructs; "
                              "do [ -e $f ] && echo $f; done; true")
    assert out.split() == []
    nodes = env.nodes()
    assert REMOVED not in nodes and set(others) <= set(nodes)
    for h in others:    # the others saw nothing
        assert len(env.ledger(h)) == before[h], h
        assert not nodes[h]["spec"].get("unschedulable"), h
    log = (env.stack / "edge-logs" / f"{REMOVED}.log").read_text()
    assert log.index("cordoned") < log.index("drained") < log.index("ResetNode: done") \
        < log.index("Node deleted")


def test_node_whose_sshd_is_down_at_removal_is_reported_and_left_cordoned(env):
    env.site.stop_sshd(DOWN_AT_DESTROY)
    keep = [h for h in POOL + [ELEVENTH, HALFWAY] if h not in (REMOVED, DOWN_AT_DESTROY)]
    run = env.apply(keep)   # returns at all: the unreachable host did not hang the run
    run.check()
    # the exact reset to run by hand, and the Node left in the cluster, cordoned: deleted,
    # it would come back as soon as the host's kubelet reached the API server again
    assert f"edge node {DOWN_AT_DESTROY}: the host was not reset; its Node stays cordoned" in run.output
    assert f"run ResetNode on {DOWN_AT_DESTROY} by hand:" in run.output
    node = env.nodes()[DOWN_AT_DESTROY]
    assert node["spec"].get("unschedulable") is True
    env.site.start_sshd(DOWN_AT_DESTROY)


def test_join_script_joins_a_host_terraform_does_not_know(env):
    script = tf.outputs(env.stack)["edge_join_script"]
    assert script.startswith("#!/bin/sh\n")
    stranger = env.site.host(STRANGER)
    # path case: the package must already lie at the join command's --install-pkg-path
    rc, out, err = env.site.ssh(stranger, "sh -s", input=script, timeout=120)
    assert rc == 1 and "the install package is missing" in err
    pkg_path = re.search(r"--install-pkg-path (\S+)", tf.outputs(env.stack)["edge_join_command"]).group(1)
    with env.site.connect(stranger) as conn:
        conn.run(f"mkdir -p {Path(pkg_path).parent}")
        conn.put(env.inventory["install_package"]["path"], pkg_path, "0644")
    rc, out, err = env.site.ssh(stranger, f"EDGE_NODE_NAME={STRANGER} sh -s", input=script,
                                timeout=300)
    assert rc == 0, out + err
    assert STRANGER in env.nodes()
    token = re.search(r"--token (\S+)", tf.outputs(env.stack)["edge_join_command"]).group(1)
    assert token not in out + err


def test_a_renamed_host_leaves_under_its_old_name_and_joins_under_the_new_one(env):
    keep = [h for h in POOL + [ELEVENTH, HALFWAY] if h not in (REMOVED, DOWN_AT_DESTROY)]
    for h in env.inventory["hosts"]:
        if h["name"] == RENAME_FROM:
            h["name"] = RENAME_TO                      # same address, port, key
    pool = [RENAME_TO if h == RENAME_FROM else h for h in keep]
    changes, _ = env.planned(pool)
    assert changes == {_node(RENAME_FROM): ["delete"], _node(RENAME_TO): ["create"]}, changes
    before = len(env.ledger(RENAME_FROM))
    env.apply(pool).check()                           # ONE apply
    nodes = env.nodes()
    assert RENAME_FROM not in nodes and RENAME_TO in nodes, sorted(nodes)
    assert nodes[RENAME_TO]["status"]["conditions"][-1]["status"] == "True"
    assert nodes[RENAME_TO]["metadata"]["labels"]["zone"] == "a"
    # on the host: the old membership reset, then the join under the new name, in that order
    since = env.ledger(RENAME_FROM)[before:]
    kinds = [("reset" if "reset" in e["argv"] else "join") for e in since
             if e["tool"] == "edgeadm" and e["argv"][:1] in (["reset"], ["join"])]
    assert kinds == ["reset", "join"], since
    assert _calls(since, "edgeadm", "join")[0][-3:] == ["--node-name", RENAME_TO,
                                                         "--skip-phases=init-node"]
    changes, _ = env.planned(pool)
    assert changes == {}, changes


def test_removing_the_whole_pool_from_a_fresh_checkout_removes_every_node(env):
    left = [RENAME_TO if h == RENAME_FROM else h for h in POOL + [ELEVENTH, HALFWAY]
            if h not in (REMOVED, DOWN_AT_DESTROY)]
    env.out = "fresh-checkout"      # a new runner: new synth dir, the same state
    run = env.apply([])             # the example leaves the EdgeNodePool out: no block at all
    run.check()
    # (the node whose host was down left state at its removal, its Node cordoned)
    assert sorted(re.findall(r'edge_node\.site-a\["(\S+)"\]: Destruction complete', run.output)) \
        == sorted(left)
    nodes = env.nodes()
    assert not set(left) & set(nodes), sorted(nodes)
    for h in left:
        assert _calls(env.ledger(RENAME_FROM if h == RENAME_TO else h), "edgeadm", "reset",
                      "--force"), h
    state = (env.work / "terraform.edge_pool.tfstate").read_text()
    assert sys.executable not in state      # nothing in state names the synth-time interpreter


def test_destroy_resets_the_master(env):
    run = tf.terraform(["destroy", "-auto-approve", "-input=false", "-no-color",
                        "-parallelism=20"], env.stack)
    run.check()
    master = env.ledger("h0")
    assert any(e["tool"] == "edgeadm" and e["argv"][:1] == ["reset"] for e in master)
    rc, out, _ = env.site.ssh("h0", "ls /etc/kubernetes 2>&1")
    assert "No such file" in out
