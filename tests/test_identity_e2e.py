"""The cluster's identity in Terraform state, end to end: a pipeline's fresh workspace plans no
change (local state file and PostgreSQL), token rotation, certificate renewal, import of a
credentials directory made by the previous release. Simulated site, real cdktf/Terraform."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.credentials_dir import write_credentials_dir
from simsite import tf
from simsite.package import build_package, host_tools_dir, place_package
from simsite.postgres import Postgres
from simsite.site import Site
from tests import plan as judged

pytestmark = pytest.mark.site
REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "apps" / "cluster_app.py"
KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf"
PKG_ON_NODE = "/var/lib/edge_constructs/pkg/kube-linux-amd64-v1.22.6.tar.gz"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(run: tf.Run) -> str:
    """Terraform's output without colour codes."""
    return ANSI.sub("", run.output)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkg")
    pkg, sha = build_package(d)
    return pkg, sha, host_tools_dir(d / "tools")


class Workspace:
    """One checkout of the app: its own directory and output, the shared state elsewhere."""

    def __init__(self, root: Path, site: Site, package, state_dir: Path, **spec):
        self.root = root
        root.mkdir(parents=True)
        shutil.copy(APP, root / "main.py")   # a fresh checkout: nothing but the app
        site.write_inventory(root / "inventory.json")
        self.spec = json.loads((root / "inventory.json").read_text())
        self.spec.update(package={"path": str(package[0]), "sha256": package[1]},
                         workdir=str(state_dir), **spec)
        self.env: dict = {}

    def synth(self, **cluster) -> Path:
        self.spec["cluster"] = cluster
        (self.root / "spec.json").write_text(json.dumps(self.spec))
        return tf.synth(self.root / "main.py", self.root / "cdktf.out",
                        {"EDGE_TEST_SPEC": str(self.root / "spec.json"), **self.env})

    def terraform(self, *args: str) -> tf.Run:
        return tf.terraform(list(args), self.root / "cdktf.out" / "stacks" / "cluster",
                            extra_env=self.env)

    def pipeline_plan(self, **cluster) -> judged.Plan:
        """synth, init, plan (judged by `terraform show -json`): exit 0 = no change."""
        self.synth(**cluster)
        init = self.terraform("init", "-input=false").check()
        assert not re.search(r"warning", init.output, re.I), init.output
        return judged.plan(self.root / "cdktf.out" / "stacks" / "cluster", extra_env=self.env)


def ssh_ok(site: Site, host, cmd: str, timeout: int = 120) -> str:
    rc, out, err = site.ssh(host, cmd, timeout=timeout)
    assert rc == 0, out + err
    return out


def node_names(site: Site, master) -> set[str]:
    return {line.split("/", 1)[1] for line in ssh_ok(site, master, f"{KUBECTL} get nodes -o name").split()}


def pki(site: Site, host) -> str:
    return ssh_ok(site, host, "cd /etc/kubernetes/pki && sha256sum ca.crt ca.key sa.key "
                              "front-proxy-ca.key etcd/ca.key")


def assert_fresh_workspace_changes_nothing(site, a: Workspace, b: Workspace) -> None:
    before = pki(site, site.hosts[0])
    plan = b.pipeline_plan()
    assert plan.returncode == 0, plan.output[-4000:]  # 0 = no changes, 2 = changes
    judged.assert_no_change(plan)
    apply = b.terraform("apply", "-auto-approve", "-input=false").check()
    assert "Resources: 0 added, 0 changed, 0 destroyed." in apply.output
    assert not (b.root / ".edge-credentials").exists() and not (a.root / ".edge-credentials").exists()
    assert pki(site, site.hosts[0]) == before


# --- local state file: deploy from A, then a fresh checkout B --------------------------------

@pytest.fixture(scope="module")
def deployed(package, tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    with Site(n=3, host_tools=package[2]) as site:
        a = Workspace(root / "a", site, package, root / "state")
        with tf.umask(0o022):  # a machine's usual: the state file's 0600 is the product's doing
            a.synth()
            a.terraform("init", "-input=false").check()
            a.terraform("apply", "-auto-approve", "-input=false").check()
        yield site, a, Workspace(root / "b", site, package, root / "state")


def test_a_fresh_checkout_with_the_same_state_plans_no_change(deployed):
    site, a, b = deployed
    state = Path(a.spec["workdir"]) / "terraform.tfstate"
    assert state.stat().st_mode & 0o777 == 0o600  # it holds the cluster's keys
    assert_fresh_workspace_changes_nothing(site, a, b)
    # the outputs are the identity's, known at plan now that it exists
    out = tf.outputs(b.root / "cdktf.out" / "stacks" / "cluster")
    hash_on_host = ssh_ok(site, site.hosts[0], "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt "
                          "| openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1").strip()
    assert out["edge_ca_cert_hash"] == "sha256:" + hash_on_host
    assert "client-certificate-data" in out["edge_kubeconfig"]
    assert out["edge_join_command"].startswith(f"edgeadm join {site.hosts[0].address}:6443 --token ")


def test_token_rotation_retires_the_old_token_and_the_new_command_joins(deployed, package):
    site, a, b = deployed
    master, node = site.hosts[0], site.hosts[1]
    old = tf.outputs(a.root / "cdktf.out" / "stacks" / "cluster")["edge_join_command"]
    plan = b.pipeline_plan(token_rotation="2026-12")
    assert plan.returncode == 2, plan.output[-3000:]
    # only what carries the token is re-run (after its chain's CheckSSH); the CA and keys stay
    replaced = {a.split(".", 1)[1] for a, action in judged.changed(plan)
                if action == "replace" and a.startswith("terraform_data.")}
    steps = {r for r in replaced if "CheckSSH" not in r}
    assert steps and all(re.search(r"EnsureKubeadmConfig|EnsureJoinPreparation", r) for r in steps), replaced
    b.terraform("apply", "-auto-approve", "-input=false").check()
    new = tf.outputs(b.root / "cdktf.out" / "stacks" / "cluster")["edge_join_command"]
    assert new != old
    place_package(site, node, package[0], PKG_ON_NODE)
    rc, o, e = site.ssh(node, old + " --node-name h1 --skip-phases=init-node", timeout=120)
    assert rc != 0, o + e
    assert "h1" not in node_names(site, master)
    ssh_ok(site, node, new + " --node-name h1 --skip-phases=init-node")
    assert "h1" in node_names(site, master)
    # and the pipeline is quiet again: no resource changes. The status outputs show the node
    # joined by hand (outside Terraform) and SuperEdge's DaemonSet pods on it, which is all
    # the plan may report (exit code 2).
    plan = b.pipeline_plan(token_rotation="2026-12")
    judged.assert_no_change(plan, outputs=("edge_nodes", "edge_edge_components"))


def test_a_master_holding_another_clusters_key_stops_before_writing(deployed, package, tmp_path):
    site, _, _ = deployed
    # a workspace with another identity (its own state) pointed at the deployed master
    other = Workspace(tmp_path / "other", site, package, tmp_path / "other-state")
    before = pki(site, site.hosts[0])
    other.synth()
    other.terraform("init", "-input=false").check()
    run = other.terraform("apply", "-auto-approve", "-input=false")
    assert run.returncode != 0
    assert "step EnsureCertificates failed on host h0" in run.output
    assert re.search(r"/etc/kubernetes/pki/\S+ on this host belongs to another cluster", run.output)
    assert pki(site, site.hosts[0]) == before


# --- PostgreSQL state (pg backend; its locking: tests/test_provider.py) ------------------------

def test_state_in_postgresql_a_fresh_checkout_plans_no_change(package, tmp_path):
    with Postgres() as pg, Site(n=1, host_tools=package[2]) as site:
        env = {"PG_CONN_STR": pg.conn_str}
        a = Workspace(tmp_path / "a", site, package, tmp_path / "unused", backend="pg",
                      pg_schema="edge_e2e")
        b = Workspace(tmp_path / "b", site, package, tmp_path / "unused", backend="pg",
                      pg_schema="edge_e2e")
        a.env = b.env = env
        a.synth()
        a.terraform("init", "-input=false").check()
        a.terraform("apply", "-auto-approve", "-input=false").check()
        assert "edge_cluster_identity" in pg.psql("select data from edge_e2e.states")
        # no state file anywhere (.terraform/terraform.tfstate only records the backend)
        assert not (tmp_path / "unused").exists()
        assert not [p for p in tmp_path.rglob("*.tfstate") if ".terraform" not in p.parts]
        assert_fresh_workspace_changes_nothing(site, a, b)

        judged.assert_no_change(judged.plan(b.root / "cdktf.out" / "stacks" / "cluster", extra_env=b.env))
        b.terraform("destroy", "-auto-approve", "-input=false").check()


# --- import of a credentials directory made by the previous release --------------------------

def test_import_of_a_credentials_directory_keeps_the_clusters_identity(package, tmp_path):
    with Site(n=1, host_tools=package[2]) as site:
        master = site.hosts[0]
        # the previous release made this directory at synth and put its CAs on the master
        creds = write_credentials_dir(tmp_path / ".edge-credentials" / "e2e",
                                      endpoint=f"{master.address}:6443", cluster_name="e2e")
        for src, dst in [("ca.crt", "ca.crt"), ("ca.key", "ca.key"), ("sa.key", "sa.key"),
                         ("sa.pub", "sa.pub"), ("front-proxy-ca.crt", "front-proxy-ca.crt"),
                         ("front-proxy-ca.key", "front-proxy-ca.key"),
                         ("etcd-ca.crt", "etcd/ca.crt"), ("etcd-ca.key", "etcd/ca.key")]:
            data = (creds.directory / src).read_text()
            ssh_ok(site, master, f"mkdir -p /etc/kubernetes/pki/etcd && cat > /etc/kubernetes/pki/{dst} "
                                 f"<<'EOF'\n{data}EOF")
        w = Workspace(tmp_path / "w", site, package, tmp_path / "state")
        w.synth()
        w.terraform("init", "-input=false").check()
        w.terraform("import", "-input=false", "edge_cluster_identity.edge_identity",
                    str(creds.directory)).check()
        before = pki(site, master)
        w.terraform("apply", "-auto-approve", "-input=false").check()
        assert pki(site, master) == before            # the same identity: nothing replaced
        out = tf.outputs(w.root / "cdktf.out" / "stacks" / "cluster")
        assert out["edge_ca_cert_hash"] == creds.ca_cert_hash
        assert f"--token {creds.values['bootstrap_token']} " in out["edge_join_command"]
        judged.assert_no_change(w.pipeline_plan())


# --- renewal of a leaf certificate near expiry -------------------------------------------------

def test_a_certificate_near_expiry_is_renewed_and_reaches_the_master(package, tmp_path):
    with Site(n=1, host_tools=package[2]) as site:
        master = site.hosts[0]
        w = Workspace(tmp_path / "w", site, package, tmp_path / "state")
        w.synth(leaf_validity_days=20)   # within the 30 days: due at the next plan
        w.terraform("init", "-input=false").check()
        w.terraform("apply", "-auto-approve", "-input=false").check()
        cert = "openssl x509 -noout -serial -in /etc/kubernetes/pki/tunnel-anp-client.crt"
        old = ssh_ok(site, master, cert)
        plan = w.pipeline_plan(leaf_validity_days=20)
        assert plan.returncode == 2 and "tunnel_anp_client_cert" in plain(plan)
        assert any(re.fullmatch(r"terraform_data\.\S*EnsureEgressSelector\S*", a) and action == "replace"
                   for a, action in judged.changed(plan)), judged.changed(plan)
        w.terraform("apply", "-auto-approve", "-input=false").check()
        assert ssh_ok(site, master, cert) != old
