"""docs/GUIDE.md, followed on the simulated site: the demo kept running (`--keep`), the
guide's cdktf.json and main.py (taken from the page) in a new directory, deploy, the
kubeconfig output used, a node added and one removed, destroy, and the site taken down
(`--down`).

Substituted: the guide's installs (a venv, pip, npm) are this test run's own Python and the
repository's cdktf-cli. The whole test holds the machine-wide site lock (an empty site of
its own), so no other process replaces the kept site between the steps.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from simsite import demo, tf
from simsite.fixtures import require_site_prerequisites
from simsite.site import Site, _netns_list

pytestmark = pytest.mark.site
REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "GUIDE.md"


def guide_block(lang: str, containing: str) -> str:
    """The one code block of the guide in `lang` that contains `containing`."""
    blocks = re.findall(rf"```{lang}\n(.*?)```", GUIDE.read_text(), re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_guide_reference_is_made_from_the_code():
    from edge_constructs.terraform.reference import BEGIN, END, markdown
    text = GUIDE.read_text()
    assert text[text.index(BEGIN):text.index(END) + len(END) + 1] == markdown(), (
        "docs/GUIDE.md's reference is stale: replace it with the output of "
        "python -m edge_constructs.terraform.reference")


def test_help_lists_every_prop_with_its_default_and_doc():
    import dataclasses
    import pydoc

    from edge_constructs import EdgeCluster
    from provisioners.core.props import ClusterSpec, prop_doc
    shown = " ".join(pydoc.render_doc(EdgeCluster, renderer=pydoc.plaintext).split())
    for f in dataclasses.fields(ClusterSpec):
        assert prop_doc(f), f"ClusterSpec.{f.name} has no doc"
        assert " ".join(prop_doc(f).split()) in shown, f.name


#: What the demo prints without -v (simsite/demo.py): its own lines, one line per step and
#: host, Terraform's summary, the join command and `kubectl get nodes`.
DEMO_LINE = re.compile(
    r"^$|^==> |^    h\d+  198\.18\.0\.\d+:\d+$|^    \[[^\]\s]+\] [\w.-]+: \S|"
    r"^\S+  (Apply complete!|Destroy complete!|No changes\.)|^edgeadm join |^<join command> |"
    r"^NAME +STATUS|^h\d+ +(Ready|NotReady) |"
    r"^    (the demo's cluster|free for your own app|inventory|write your own app|tear it down with):")


def assert_readable(output: str) -> None:
    """A raw `cdktf deploy`/`destroy`: every line is Terraform's own (init, plan, progress,
    its connection block per remote-exec, outputs) or a step's one line; a remote step says
    only `done (Ns)`; no script body in a plan."""
    from simsite.demo import DeployOutput
    out = DeployOutput()
    kinds = [out.kind(line) for line in output.splitlines()]
    assert not out.unknown, "lines of no known kind:\n" + "\n".join(out.unknown[:40])
    assert "failure" not in kinds, output[-4000:]
    remote = re.findall(r"\(remote-exec\): (\[.*)$", output, re.M)
    assert all(re.fullmatch(r"\[\S+\] \w+: done \(\d+s\)", r) for r in remote), remote
    # no script body in a plan (a removal's reset, a master's teardown)
    plan = output.split("Outputs:")[0]
    assert not re.search(r"^\s*[-+~]?\s*(set -eu$|STEP=|if command -v edgeadm|edgeadm reset --force)",
                         plan, re.M), plan
    print(f"cdktf output: {len(output.splitlines())} lines, {kinds.count('step')} step lines")


def test_the_guide_end_to_end(tmp_path, monkeypatch, capsys):
    require_site_prerequisites()
    monkeypatch.setattr(demo, "KEPT", tmp_path / "edge-demo")
    holder = Site(n=0).start()
    try:
        # 1. the demo, kept running: 5 hosts, h2..h4 free, in an inventory it prints
        assert demo.main(["--keep"]) == 0
        said = capsys.readouterr().out
        inventory = tmp_path / "edge-demo" / "inventory.json"
        assert f"inventory: {inventory}" in said
        assert "tear it down with: sh scripts/demo --down" in said
        # quiet by default: each step one line with its duration; no connection chatter,
        # and no line the demo does not know (a line of shell once showed among the steps)
        assert re.search(r"^    \[h0\] EnsureSysctl: done \(\d+s\)$", said, re.M), said
        assert "Still creating" not in said and "Connecting to remote host" not in said
        strange = [line for line in said.splitlines() if not DEMO_LINE.match(line)]
        assert not strange, "\n".join(strange)
        inv = json.loads(inventory.read_text())
        assert [h["name"] for h in inv["hosts"]] == ["h2", "h3", "h4"]

        # the hosts pass the check the guide shows
        check = subprocess.run([sys.executable, "-m", "edge_constructs", "check", str(inventory)],
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.count("CheckSSH: ok") == 3

        # 2. a new directory with the guide's cdktf.json and main.py
        app = tmp_path / "my-edge"
        app.mkdir()
        (app / "cdktf.json").write_text(guide_block("json", '"language": "python"'))
        (app / "main.py").write_text(guide_block("python", "EdgeNodePool(stack"))
        bindir = tmp_path / "bin"
        bindir.mkdir()
        # `python` is the test run's interpreter as the guide's activated venv would give it: a
        # wrapper, not a symlink (a symlink elsewhere loses the venv: Python finds pyvenv.cfg
        # beside the path it was started by, and a fresh machine's base Python has no cdktf)
        wrapper = bindir / "python"
        wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
        wrapper.chmod(0o755)
        env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}

        def deploy(pool: list[str]) -> tf.Run:
            (app / "inventory.json").write_text(json.dumps({**inv, "pool": pool}))
            run = tf.cdktf(["deploy", "--auto-approve"], cwd=app, extra_env=env).check()
            assert_readable(run.output)
            return run

        def nodes() -> set[str]:
            tf.cdktf(["output", "--outputs-file", "outputs.json",
                      "--outputs-file-include-sensitive-outputs"], cwd=app, extra_env=env).check()
            out = json.loads((app / "outputs.json").read_text())["edge"]
            kubeconfig = app / "kubeconfig"
            kubeconfig.write_text(out["edge_kubeconfig"])
            kubeconfig.chmod(0o600)
            from kubernetes import client, config
            api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
            raw = json.loads(api.list_node(_preload_content=False).data)
            return {n["metadata"]["name"] for n in raw["items"]}

        # 3. deploy a master and one node; use the kubeconfig output
        first = deploy(["h3"])
        assert "CheckSSH" in first.output
        assert nodes() == {"h2", "h3"}
        # add a node: only it joins
        deploy(["h3", "h4"])
        assert nodes() == {"h2", "h3", "h4"}
        # remove one: it is drained, reset and deleted
        deploy(["h4"])
        assert nodes() == {"h2", "h4"}
        # destroy
        gone = tf.cdktf(["destroy", "--auto-approve"], cwd=app, extra_env=env).check()
        assert_readable(gone.output)
    finally:
        # and the kept site comes down with the command the demo printed
        assert demo.main(["--down"]) == 0
        holder.close()
    assert "removed the kept site: 5 host(s)" in capsys.readouterr().out
    assert not [ns for ns in _netns_list() if ns.startswith("ecsim-")]
    assert not (tmp_path / "edge-demo").exists()
    # and the addresses the kept site held are free again in this process
    with Site(n=1) as again:
        assert again.hosts[0].address == "198.18.0.10"
