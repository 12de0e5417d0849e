"""Synth and plan of one master plus N edge nodes, against hand-written Terraform of the same
resources. No hosts are needed: nothing is applied. A node is one `edge_node` instance of a
pool's for_each; the master keeps one resource per step.

    python3 -m benchmarks.plan_scale [--sizes 50,200,1000]

For each size it prints synth seconds, init + plan seconds, the peak memory of each (the
process and what it waited for), the number of resources, and the ratio of the plan to a
plan of hand-written Terraform JSON with as many `terraform_data` resources (file +
remote-exec provisioners, in chains of 20), the shape the chains had before.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

APP = '''
import os, sys
from cdktf import App, LocalBackend, TerraformStack
from edge_constructs import EdgeCluster, EdgeNodePool, Host, InstallPackage
n = int(os.environ["NODES"]); work = os.environ["WORK"]
# a well-formed host key to pin (the plan never connects)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILXchbf1Kc2mj4sbAi2X0es3/XbCgcrXBfyZZhCT22Q9"
key = os.path.join(work, "id_ed25519"); pkg = os.path.join(work, "kube-linux-amd64-v1.22.6.tar.gz")
app = App(outdir=os.path.join(work, "out"))
stack = TerraformStack(app, "scale")
LocalBackend(stack, path=os.path.join(work, "terraform.tfstate"))
cluster = EdgeCluster(stack, "edge", name="scale",
                      masters=[Host("master-0.example.com", private_key_file=key,
                                    name="master-0", host_key=HOST_KEY)],
                      install_package=InstallPackage(path=pkg, sha256=os.environ["SHA"]))
EdgeNodePool(stack, "pool", cluster=cluster, hosts=[
    Host(f"node-{i:04d}.example.com", private_key_file=key, name=f"node-{i:04d}",
         host_key=HOST_KEY)
    for i in range(n)])
app.synth()
'''


def measured(argv: list[str], cwd: Path, env: dict) -> tuple[float, float, str]:
    """(seconds, peak MiB of the process and the children it waited for, output)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    took = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{out[-3000:]}")
    return took, usage.ru_maxrss / 1024, out


def hand_written(resources: int, out: Path) -> None:
    """As many chained terraform_data resources with file + remote-exec provisioners."""
    res, prev = {}, None
    for i in range(resources):
        r = {"input": {"host": f"node-{i:04d}", "step": f"S{i}"},
             "triggers_replace": {"fingerprint": f"{i:064x}"},
             "connection": {"type": "ssh", "host": f"node-{i:04d}.example.com",
                            "user": "root", "private_key": "k"},
             "provisioner": [{"remote-exec": {"inline": ["mkdir -p /tmp/x"]}},
                             {"file": {"content": "echo step\n" * 40,
                                       "destination": f"/tmp/x/S{i}.sh"}},
                             {"remote-exec": {"inline": ["set -e", f"sh /tmp/x/S{i}.sh"]}}]}
        if prev:
            r["depends_on"] = [f"terraform_data.{prev}"]
        name = f"r{i}"
        res[name] = r
        prev = name if i % 20 else None      # chains of 20, like a node's
    out.mkdir(parents=True, exist_ok=True)
    (out / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": res}}))


def resource_instances(doc: dict) -> int:
    """Resource instances the plan creates: a block with for_each counts once per key (of
    its map, or of the local it names)."""
    def count(r: dict) -> int:
        each = r.get("for_each")
        if isinstance(each, str) and each.startswith("${local."):
            each = doc["locals"][each[len("${local."):-1]]
        return len(each) if isinstance(each, dict) else 1
    return sum(count(r) for blocks in doc.get("resource", {}).values() for r in blocks.values())


def plan(stack: Path, env: dict, tf: str) -> tuple[float, float]:
    t_init, m_init, _ = measured([tf, "init", "-input=false", "-no-color"], stack, env)
    t_plan, m_plan, _ = measured([tf, "plan", "-input=false", "-no-color", "-refresh=false",
                                  "-out=plan.bin"], stack, env)
    return t_init + t_plan, max(m_init, m_plan)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50,200,1000")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from edge_constructs.terraform.binary import terraform_env
    from simsite.synth import new_private_key
    from benchmarks.report import markdown_table
    env = terraform_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    tf = env["TERRAFORM_BINARY_NAME"]
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"edge-scale-{n}-"))
        try:
            new_private_key(work / "id_ed25519")
            pkg = work / "kube-linux-amd64-v1.22.6.tar.gz"
            pkg.write_bytes(b"stand-in\n")
            import hashlib
            e = dict(env, NODES=str(n), WORK=str(work),
                     SHA=hashlib.sha256(pkg.read_bytes()).hexdigest())
            (work / "app.py").write_text(APP)
            t_synth, m_synth, _ = measured([sys.executable, "app.py"], work, e)
            [stack] = list((work / "out" / "stacks").iterdir())
            doc = json.loads((stack / "cdk.tf.json").read_text())
            count = resource_instances(doc)
            t_plan, m_plan = plan(stack, e, tf)
            hand = work / "hand"
            hand_written(count, hand)
            t_hand, _ = plan(hand, e, tf)
            rows.append((n, count, t_synth, m_synth, t_plan, m_plan, t_hand))
            print(f"{n} nodes: {count} resources, synth {t_synth:.1f}s {m_synth:.0f} MiB, "
                  f"init+plan {t_plan:.1f}s {m_plan:.0f} MiB, hand-written {t_hand:.1f}s",
                  flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    markdown_table(
        ["nodes", "resources", "synth s", "synth MiB", "init+plan s", "plan MiB",
         "hand-written plan s", "plan / hand", "(synth+plan) / node ms"],
        [[str(n), str(count), f"{ts:.1f}", f"{ms:.0f}", f"{tp:.1f}", f"{mp:.0f}", f"{th:.1f}",
          f"{tp / th:.2f}", f"{1000 * (ts + tp) / n:.0f}"]
         for n, count, ts, ms, tp, mp, th in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
