"""Where the plan time of N edge nodes goes: Terraform or the provider, and which shape of
configuration costs what. Nothing is applied; no hosts.

    python3 -m benchmarks.plan_profile [--nodes 1000]

Plans, each after its own `terraform init`:
- synthesized: benchmarks/plan_scale.py's app (one master + a pool of N);
- synthesized, no depends_on: the same JSON without the pool's depends_on on the master;
- hand, for_each: one edge_node block, for_each over a local map of N hosts, an aliased
  provider block with literal settings (cluster, kubeconfig, bundle): no master, no identity;
- hand, for_each by 100: the same in blocks of 100 instances, each over its own local;
- hand, N blocks: N edge_node blocks with literal values, the same provider block;
- terraform_data, for_each: one terraform_data block, for_each over the same local;
- floor: plan_scale's N chained terraform_data with provisioners.
For each: plan wall seconds, CPU seconds of Terraform and of the provider (the provider's
from its own getrusage, written by benchmarks/provider_timing.py, which the provider's
launcher imports in these copies only), and per gRPC call the count and mean milliseconds.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILXchbf1Kc2mj4sbAi2X0es3/XbCgcrXBfyZZhCT22Q9"
LAUNCH = "from edge_constructs.terraform.provider.server import main"


def timed_provider(stack: Path) -> None:
    """The stack's provider launcher imports the timing hook; the lock file goes (its hash
    named the launcher as it was), `terraform init` writes it again."""
    for launcher in stack.glob("terraform.d/plugins/**/terraform-provider-edge_*"):
        text = launcher.read_text()
        if LAUNCH not in text:
            raise SystemExit(f"{launcher}: the launcher changed; update plan_profile.py")
        launcher.write_text(text.replace(LAUNCH, "import benchmarks.provider_timing; " + LAUNCH))
    (stack / ".terraform.lock.hcl").unlink(missing_ok=True)


def hand_doc(n: int, work: Path, for_each: bool, rtype: str = "edge_node",
             chunk: int = 0) -> dict:
    from benchmarks.fleet import join_script, kubeconfig
    key, pkg = work / "id_ed25519", work / "kube-linux-amd64-v1.22.6.tar.gz"

    def values(i: int) -> dict:
        name = f"node-{i:04d}"
        return {"name": name, "host": json.dumps({
            "address": f"{name}.example.com", "host_key": HOST_KEY, "name": name, "port": 22,
            "private_key_file": str(key), "user": "root"}, sort_keys=True),
            "bundle_sha256": hashlib.sha256(b"bundle").hexdigest(),
            "package": json.dumps({"local_path": str(pkg), "remote_path": "/var/lib/"
                                   "edge_constructs/pkg/" + pkg.name, "sha256": "0" * 64}),
            "reset": "ResetNode sha256:6916efeb0f195550"}
    doc: dict = {"terraform": {"required_providers": {"edge": {
        "source": "edge-constructs.local/edge-constructs/edge", "version": "0.2.0"}}}}
    if rtype == "edge_node":
        doc["provider"] = {"edge": [{}, {"alias": "nodes", "cluster": "scale",
                                         "kubeconfig": kubeconfig("scale"),
                                         "node_bundle": join_script()}]}
    if for_each:
        chunk = chunk or n
        doc["locals"], doc["resource"] = {}, {rtype: {}}
        for c in range(0, n, chunk):
            doc["locals"][f"hosts{c}"] = {f"node-{i:04d}": values(i)
                                          for i in range(c, min(n, c + chunk))}
            block = {"for_each": "${local.hosts%d}" % c}
            if rtype == "edge_node":
                block.update({k: "${each.value.%s}" % k for k in values(0)},
                             provider="edge.nodes")
            else:
                block["input"] = "${each.value}"
            doc["resource"][rtype][f"pool{c}"] = block
    else:
        doc["resource"] = {rtype: {f"n{i}": dict(values(i), provider="edge.nodes")
                                   for i in range(n)}}
    return doc


def profile(stack: Path, env: dict, tf: str) -> dict:
    from benchmarks.fleet import run
    out = stack / "timing"
    e = dict(env, EDGE_PROVIDER_TIMING=str(out))
    run([tf, "init", "-input=false", "-no-color"], stack, e)
    for f in glob.glob(f"{out}-*.json"):
        os.unlink(f)
    before = os.times()
    took, _, _ = run([tf, "plan", "-input=false", "-no-color", "-refresh=false",
                      "-out=plan.bin"], stack, e)
    after = os.times()
    total = (after.children_user - before.children_user
             + after.children_system - before.children_system)
    docs = [json.loads(Path(f).read_text()) for f in glob.glob(f"{out}-*.json")]
    provider = sum(d["cpu_s"] for d in docs)
    rpcs: dict[str, list] = {}
    for d in docs:
        for k, v in d["rpcs"].items():
            r = rpcs.setdefault(k, [0, 0.0, 0.0])
            r[0] += v["count"]
            r[1] += v["wall_s"]
            r[2] += v["cpu_s"]
    return {"wall": took, "terraform_cpu": total - provider, "provider_cpu": provider,
            "processes": len(docs), "rpcs": rpcs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--only", default="", help="variant names separated by ; (default all)")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(";")))
    sys.path.insert(0, str(REPO))
    from edge_constructs.terraform.binary import terraform_env
    from benchmarks.plan_scale import hand_written, prepare_app
    from benchmarks.fleet import run
    from benchmarks.report import markdown_table
    env = terraform_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    tf = env["TERRAFORM_BINARY_NAME"]
    n = args.nodes
    work = Path(tempfile.mkdtemp(prefix=f"edge-profile-{n}-"))
    results = []
    try:
        e = prepare_app(work, n, env)
        t0 = time.monotonic()
        run([sys.executable, "app.py"], work, e)
        print(f"synth {time.monotonic() - t0:.1f} s", flush=True)
        [synth] = list((work / "out" / "stacks").iterdir())
        doc = json.loads((synth / "cdk.tf.json").read_text())
        variants: list[tuple[str, Path]] = []

        def variant(name: str, document: dict | None) -> None:
            d = work / f"v{len(variants)}"
            shutil.copytree(synth, d, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
            if document is not None:
                (d / "cdk.tf.json").write_text(json.dumps(document))
            timed_provider(d)
            variants.append((name, d))
        variant("synthesized", None)
        no_deps = json.loads(json.dumps(doc))
        for block in no_deps["resource"]["edge_node"].values():
            block.pop("depends_on", None)
        variant("synthesized, no depends_on", no_deps)
        variant("hand, for_each", hand_doc(n, work, True))
        variant("hand, for_each by 100", hand_doc(n, work, True, chunk=100))
        variant("hand, N blocks", hand_doc(n, work, False))
        variant("terraform_data, for_each", hand_doc(n, work, True, "terraform_data"))
        hand_written(n, work / "floor")
        variants.append(("floor (plan_scale)", work / "floor"))
        for name, d in variants:
            if only and name not in only:
                continue
            r = profile(d, e, tf)
            results.append((name, r))
            print(f"{name}: plan {r['wall']:.1f} s, Terraform CPU {r['terraform_cpu']:.1f} s, "
                  f"provider CPU {r['provider_cpu']:.1f} s, "
                  + ", ".join(f"{k} {v[0]}x {1000 * v[1] / v[0]:.2f} ms"
                              for k, v in sorted(r["rpcs"].items())), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    calls = ("ValidateResourceConfig", "PlanResourceChange", "ConfigureProvider")
    markdown_table(
        ["plan of", "wall s", "Terraform CPU s", "provider CPU s", "provider processes"]
        + [f"{c} (count, mean ms)" for c in calls],
        [[name, f"{r['wall']:.1f}", f"{r['terraform_cpu']:.1f}", f"{r['provider_cpu']:.1f}",
          str(r["processes"])]
         + [f"{r['rpcs'][c][0]}, {1000 * r['rpcs'][c][1] / r['rpcs'][c][0]:.2f}"
            if c in r["rpcs"] else "-" for c in calls]
         for name, r in results])
    return 0


if __name__ == "__main__":
    sys.exit(main())
