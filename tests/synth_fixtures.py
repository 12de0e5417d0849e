"""Fixtures for synth-level tests: throwaway stacks, a tmp SSH key and package, and helpers
that read the synthesized JSON. No simulated site, no root."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

# The jsii node process reads its environment once, when cdktf is first imported: make it
# quiet and let it find Terraform before that happens.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
from edge_constructs.terraform.binary import prepare_process_env  # noqa: E402

prepare_process_env()

import pytest  # noqa: E402
from edge_constructs.terraform.cdk import TerraformStack, Testing  # noqa: E402

from edge_constructs import EdgeCluster, Host, InstallPackage, SuperEdge  # noqa: E402
from edge_constructs.terraform.binary import embedded_terraform  # noqa: E402
from simsite.synth import HOST_KEY, new_private_key  # noqa: E402

PACKAGE_BYTES = b"stand-in kube-linux-amd64-v1.22.6.tar.gz for synth tests\n"


def pem_body(pem: str) -> str:
    """The base64 lines of a PEM block, joined as they appear in the file."""
    lines = [ln for ln in pem.strip().splitlines() if not ln.startswith("-----")]
    return "\n".join(lines)


@dataclass
class Synthesized:
    """One synth: the construct, its stack, the cdk.tf.json text and its parsed form."""
    cluster: EdgeCluster
    stack: TerraformStack
    text: str
    json: dict

    @property
    def resources(self) -> dict:
        return self.json.get("resource", {}).get("terraform_data", {})

    @property
    def outputs(self) -> dict:
        return self.json.get("output", {})

    def resource(self, host_key: str, step: str) -> tuple[str, dict]:
        """(resource key, resource) of `step` on the host keyed `host_key`."""
        found = [(k, r) for k, r in self.resources.items()
                 if r.get("input", {}).get("step") == step
                 and r["input"].get("host") == host_key]
        assert len(found) == 1, f"{len(found)} resources for ({host_key}, {step})"
        return found[0]

    def chain(self, host_key: str) -> list[str]:
        """The step names of one host in dependency order, followed through depends_on from
        the host's CheckSSH resource (so a break or a fork in the chain shows)."""
        mine = {k: r for k, r in self.resources.items()
                if r.get("input", {}).get("host") == host_key and "step" in r["input"]}
        by_dep = {}
        for k, r in mine.items():
            deps = r.get("depends_on", [])
            assert len(deps) == 1, f"{k} depends on {deps}, not exactly one resource"
            assert deps[0] not in by_dep, f"{deps[0]} has two dependents"
            by_dep[deps[0]] = k
        cur = f"terraform_data.{self.check_key(host_key)}"
        order = []
        while cur in by_dep:
            k = by_dep.pop(cur)
            order.append(mine[k]["input"]["step"])
            cur = f"terraform_data.{k}"
        assert not by_dep, f"resources not on {host_key}'s chain: {sorted(by_dep.values())}"
        return order

    def check_key(self, host_key: str) -> str:
        """The key of the CheckSSH resource the host's first step depends on."""
        mine = {f"terraform_data.{k}" for k, r in self.resources.items()
                if r.get("input", {}).get("host") == host_key and "step" in r["input"]}
        firsts = [r["depends_on"][0] for k, r in self.resources.items()
                  if f"terraform_data.{k}" in mine and r["depends_on"][0] not in mine]
        assert len(firsts) == 1, f"{host_key}: chain starts {len(firsts)} times: {firsts}"
        key = firsts[0].split(".", 1)[1]
        assert "hosts" in self.resources[key]["input"], f"{key} is not a CheckSSH resource"
        return key

    def reset_key(self, host_key: str) -> str:
        """The key of the Reset resource the host's CheckSSH (so its chain) depends on."""
        deps = self.resources[self.check_key(host_key)].get("depends_on", [])
        assert len(deps) == 1, deps
        key = deps[0].split(".", 1)[1]
        assert "teardown" in self.resources[key]["input"], f"{key} is not a Reset resource"
        return key

    def last_key(self, host_key: str) -> str:
        return self.resource(host_key, self.chain(host_key)[-1])[0]


@dataclass
class SynthEnv:
    """What a synth test needs on disk, and a way to synthesize an EdgeCluster."""
    tmp_path: Path
    key_file: Path
    package: Path
    sha256: str
    credentials_dir: Path
    outdirs: list = field(default_factory=list)

    def host(self, address: str = "203.0.113.10", **kw) -> Host:
        kw.setdefault("private_key_file", str(self.key_file))
        if "known_hosts_file" not in kw and "insecure_ignore_host_key" not in kw:
            kw.setdefault("host_key", HOST_KEY)
        return Host(address, **kw)

    def stack(self) -> TerraformStack:
        app = Testing.app()
        self.outdirs.append(app.outdir)
        return TerraformStack(app, "t")

    def props(self, **overrides) -> dict:
        props = dict(name="shenzhen-edge", masters=[self.host()],
                     kubernetes_version="1.22.6",
                     install_package=InstallPackage(path=str(self.package), sha256=self.sha256),
                     superedge=SuperEdge(version="v0.9.0"))
        props.update(overrides)
        return props

    def cluster(self, construct_id: str = "edge", **overrides) -> EdgeCluster:
        """An EdgeCluster in a fresh throwaway stack (raises what the constructor raises)."""
        return EdgeCluster(self.stack(), construct_id, **self.props(**overrides))

    def synth(self, construct_id: str = "edge", **overrides) -> Synthesized:
        cluster = self.cluster(construct_id, **overrides)
        stack = TerraformStack.of(cluster)
        text = Testing.synth(stack)
        return Synthesized(cluster, stack, text, json.loads(text))

    def full_synth(self, stack: TerraformStack) -> str:
        """Testing.full_synth, its temp directory removed at teardown."""
        outdir = Testing.full_synth(stack)
        self.outdirs.append(outdir)
        return outdir


def ensure_terraform_for_synth() -> None:
    """Synth needs no Terraform; `assert_valid_terraform` and cdktf's matchers do: point
    them at the embedded one when there is no terraform on PATH."""
    if not os.environ.get("TERRAFORM_BINARY_NAME") and not shutil.which("terraform"):
        os.environ["TERRAFORM_BINARY_NAME"] = embedded_terraform()


@pytest.fixture
def synth_env(tmp_path, monkeypatch) -> SynthEnv:
    monkeypatch.setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    ensure_terraform_for_synth()
    key = new_private_key(tmp_path / "id_ed25519")
    pkg = tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg.write_bytes(PACKAGE_BYTES)
    env = SynthEnv(tmp_path=tmp_path, key_file=key, package=pkg,
                   sha256=hashlib.sha256(PACKAGE_BYTES).hexdigest(),
                   credentials_dir=tmp_path / "credentials")
    yield env
    # Testing.app() and Testing.full_synth() each leave a cdktf.outdir.* temp directory.
    for d in env.outdirs:
        shutil.rmtree(d, ignore_errors=True)


def assert_valid_terraform(outdir, stack: str = "t") -> None:
    """What cdktf's Testing.to_be_valid_terraform does, with the Terraform this library finds
    (that matcher calls a `terraform` on PATH, which a machine may not have)."""
    import json as _json
    import subprocess as _subprocess
    from pathlib import Path as _Path

    from edge_constructs.terraform.binary import terraform_env
    stack_dir = _Path(outdir) / "stacks" / stack
    env = terraform_env()
    tf = env["TERRAFORM_BINARY_NAME"]
    init = _subprocess.run([tf, "init", "-input=false"], cwd=stack_dir, env=env,
                           capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    out = _subprocess.run([tf, "validate", "-json"], cwd=stack_dir, env=env,
                          capture_output=True, text=True)
    assert _json.loads(out.stdout)["valid"] is True, out.stdout + out.stderr
