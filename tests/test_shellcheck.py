"""Every script the steps render passes `shellcheck -s sh` and `sh -n`: the step scripts of
both examples as their synthesized Terraform carries them, their join scripts, and the
chains (create and teardown, every role) of specs that set every optional prop, hostile
text included where validation lets it through.

shellcheck is Debian's package, installed by scripts/bootstrap: missing, this fails. No
check is excluded: the few places that split a list on purpose say so inline
(`# shellcheck disable=SC2086` in the shell files)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Mapping, Optional, Sequence

import pytest

from provisioners.core.props import (HA, ClusterSpec, File, Hooks, Host, InstallPackage, Registry,
                                        SuperEdge)
from provisioners.steps import bundle, chains
from provisioners.steps import node as node_steps
from provisioners.steps.context import EDGE, MASTER, MASTER0, Context, Identity
from provisioners.steps.step import STEP_DIR, full_script
from edge_constructs.validation import validate_cluster
from tests.shvars import assigned
from simsite.synth import HOST_KEY, new_private_key

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "x $(touch /tmp/pwned) `id` ; & | \" ' ${HOME} %{x} \\ é\nEDGE_CONSTRUCTS_STEP_EOF\nEOF"


def shellcheck() -> str:
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.fail("shellcheck is not installed: run scripts/bootstrap (apt-get install shellcheck)",
                    pytrace=False)
    return exe


def check(scripts: dict[str, str], tmp_path: Path) -> None:
    """shellcheck (one run over all of them) and sh -n over every script; one failure lists
    every finding."""
    exe = shellcheck()
    assert scripts
    files = []
    for name, text in scripts.items():
        f = tmp_path / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".sh")
        f.write_text(text)
        files.append(f)
    bad = []
    p = subprocess.run([exe, "-s", "sh", "-f", "gcc", *map(str, files)], capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        bad.append(p.stdout + p.stderr)
    for f in files:
        n = subprocess.run(["sh", "-n", str(f)], capture_output=True, text=True, timeout=60)
        if n.returncode != 0:
            bad.append(f"{f.name} (sh -n): {n.stderr}")
    assert not bad, "\n".join(bad)[:8000]


# --- specs rendered directly ----------------------------------------------------------------

CREDS = SimpleNamespace(**{a: f"identity:edge/{a}"
                           for a in Identity.__annotations__})


@dataclass(frozen=True)
class NodeOptions:
    """What a pool adds to its nodes (validated with them; set by the provider by API)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[str] = ()
    node_unit: Optional[str] = None


def specs(tmp_path: Path) -> dict[str, tuple[ClusterSpec, list[Host], NodeOptions]]:
    key = new_private_key(tmp_path / "id")
    src = tmp_path / "file.conf"
    src.write_text("x")
    (tmp_path / "kube-linux-amd64-v1.22.6.tar.gz").write_bytes(b"x")
    h = lambda a, n: Host(a, private_key_file=str(key), name=n, host_key=HOST_KEY)  # noqa: E731
    masters = [h("198.18.0.10", "m0"), h("198.18.0.11", "m1"), h("198.18.0.12", "m2")]
    nodes = [h("198.18.0.20", "cam-1")]
    pkg = InstallPackage(path=str(tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"), sha256=hashlib.sha256(b"x").hexdigest())
    url_pkg = InstallPackage(url="https://example.com/p.tgz?X-Sig=a&b=$(id)'", sha256="b" * 64)
    full = dict(
        registry=Registry(domain="reg.example.com", address="198.18.0.200", insecure=True,
                          mirrors=('https://m.example.com/"];x', "https://m2.example.com")),
        files=(File(str(src), "/etc/my app/it's.conf", "0600"),),
        hooks=Hooks(pre_install=HOSTILE, post_install=HOSTILE, pre_cluster_install=HOSTILE,
                    post_cluster_install=HOSTILE),
        ha=HA(vip="198.18.0.100", interface="eth0"), cert_sans=("api.example.com",),
        superedge=SuperEdge(version="v0.9.0"), join_token_ttl="1h30m")
    base = ClusterSpec(name="t", masters=masters[:1], install_package=pkg)
    options = NodeOptions(labels={"zone": "a", "topology.superedge.io/site": "s"},
                          taints=("dedicated=camera:NoSchedule",), node_unit="site-a")
    return {
        "single": (base, nodes, NodeOptions()),
        "full": (ClusterSpec(name="t", masters=masters, install_package=pkg, **full), nodes, options),
        "full-docker-url": (ClusterSpec(name="t", masters=masters, install_package=url_pkg,
                                        container_runtime="docker", **full), nodes, options),
    }


def rendered(spec: ClusterSpec, nodes: list[Host], options: NodeOptions) -> dict[str, str]:
    validate_cluster(spec, step_names=chains.step_names())
    out = {}
    roles = [(m, MASTER0 if i == 0 else MASTER) for i, m in enumerate(spec.masters)]
    for host, role in roles + [(n, EDGE) for n in nodes]:
        ctx = Context(spec, host, role, CREDS)
        create = chains.MASTER_CHAIN if role != EDGE else chains.NODE_CHAIN
        teardown = chains.MASTER_TEARDOWN if role != EDGE else [node_steps.reset_node]
        for p in chains.render(create, ctx) + chains.render(teardown, ctx):
            out[f"{host.key}-{p.step.name}"] = full_script(p.step, host.key)
        if role == EDGE:
            steps = [p.step for p in chains.node_chain(ctx)]
            out[f"{host.key}-node-bundle"] = bundle.node_bundle(
                ctx, steps, embed=lambda source: "QUJD")
    return out


@pytest.mark.parametrize("name", ["single", "full", "full-docker-url"])
def test_every_step_script_of_a_spec_passes_shellcheck(tmp_path, name):
    spec, nodes, options = specs(tmp_path)[name]
    scripts = rendered(spec, nodes, options)
    check(scripts, tmp_path)
    # the hostile hook text is carried whole (a quoted assignment), never run as syntax
    if name == "full":
        assert assigned(scripts["m0-EnsurePreInstallHook"], "HOOK") == HOSTILE


# --- the examples, as their synthesized Terraform carries the scripts ---------------------

def tf_unescape(text: str) -> str:
    return text.replace("$${", "${").replace("%%{", "%{")


def synth_example(example: str, tmp_path: Path, inventory: dict | None) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CDKTF_OUTDIR=str(tmp_path / "out"), EDGE_WORKDIR=str(tmp_path),
               EDGE_INVENTORY="")
    if inventory is not None:
        (tmp_path / "inventory.json").write_text(json.dumps(inventory))
        env["EDGE_INVENTORY"] = str(tmp_path / "inventory.json")
    p = subprocess.run([sys.executable, str(REPO / "examples" / example / "main.py")], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    [stack] = (tmp_path / "out" / "stacks").iterdir()
    return json.loads((stack / "cdk.tf.json").read_text())


def example_scripts(doc: dict) -> dict[str, str]:
    out = {}
    for name, res in doc["resource"].get("terraform_data", {}).items():
        for prov in res.get("provisioner", []):
            f = prov.get("file", {})
            if f.get("destination", "").startswith(STEP_DIR) and "content" in f:
                out[name] = tf_unescape(f["content"])
    for name, value in doc.get("locals", {}).items():
        if name.endswith("node_bundle"):
            # the identity's values are interpolated at apply: base64 stands in for them
            out[name] = tf_unescape(re.sub(r"(?<!\$)\$\{[^}]*\}", "QUJD", value))
    return out


def test_the_examples_scripts_pass_shellcheck(tmp_path):
    quick = example_scripts(synth_example("quickstart", tmp_path / "q", None))
    key = new_private_key(tmp_path / "id")
    hosts = [{"name": n, "address": a, "private_key_file": str(key), "host_key": HOST_KEY}
             for n, a in (("master-0", "192.0.2.10"), ("cam-1", "192.0.2.20"), ("cam-2", "192.0.2.21"))]
    pkg = tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg.write_bytes(b"x")
    pool = example_scripts(synth_example("edge_pool", tmp_path / "p", {
        "hosts": hosts, "install_package": {"path": str(pkg), "sha256": hashlib.sha256(b"x").hexdigest()}}))
    assert len(quick) > 25 and any("node_bundle" in n for n in pool)
    assert any("EnsureJoinNode" in s for s in pool.values())
    check({**{f"quickstart-{k}": v for k, v in quick.items()},
           **{f"edge_pool-{k}": v for k, v in pool.items()}}, tmp_path)
