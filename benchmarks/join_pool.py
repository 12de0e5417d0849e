"""Join 1, 10 and 50 simulated edge nodes with EdgeNodePool (`terraform apply`), and compare:

* baseline: the same node bundle run one node after another over SSH
  (`provisioners.ssh.node.run_bundle`, what an operator does by hand with the join script);
* floor: opening SSH to every node and running nothing, all in parallel.

For each size it also prints the SSH connections each joining node accepted (its sshd's
log) and the CPU seconds the joining hosts spent (their processes and reaped children), so the
wall time can be held against what two cores allow.

    python -m benchmarks.join_pool [--sizes 1,10,50] [--parallelism N]

Needs root (simulated site). One site and one cluster (examples/edge_pool, master h0);
each size joins fresh hosts, the baseline uses other fresh hosts.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.report import markdown_table
from simsite import tf
from simsite.package import build_package, host_tools_dir
from simsite.site import Site

REPO = Path(__file__).resolve().parents[1]
MAIN = REPO / "examples" / "edge_pool" / "main.py"


def apply(work: Path, inventory: dict, pool: list[str], parallelism: int) -> float:
    (work / "inventory.json").write_text(json.dumps(dict(inventory, pool=pool)))
    extra = {"EDGE_WORKDIR": str(work), "EDGE_INVENTORY": str(work / "inventory.json")}
    stack = tf.synth(MAIN, work / "out", extra)
    if not (stack / ".terraform").exists():
        tf.terraform(["init", "-input=false"], stack).check()
    t0 = time.monotonic()
    tf.terraform(["apply", "-auto-approve", "-input=false", f"-parallelism={parallelism}"],
                 stack).check()
    return time.monotonic() - t0


def bundle_for(work: Path, inventory: dict) -> tuple[str, object]:
    """The cluster's node bundle with the deployed identity's values in it (what Terraform
    renders from state), and the package to place."""
    stack = work / "out" / "stacks" / "edge_pool"
    shown = json.loads(tf.terraform(["show", "-json"], stack).check().output)
    (values,) = [r["values"] for r in shown["values"]["root_module"]["resources"]
                 if r["type"] == "edge_cluster_identity"]
    from edge_constructs import EdgeCluster, Host, InstallPackage, SuperEdge
    from provisioners.ssh.node import Package
    from provisioners.steps import bundle, chains
    from provisioners.steps.context import EDGE
    from provisioners.steps.step import parse_identity_source
    from edge_constructs.terraform.cdk import App, TerraformStack
    m = inventory["hosts"][0]
    cluster = EdgeCluster(TerraformStack(App(outdir=tempfile.mkdtemp()), "b"), "edge",
                          name="edge-pool", masters=[Host(m["address"], name=m["name"],
                                                          private_key_file=m["private_key_file"],
                                                          host_key=m["host_key"])],
                          install_package=InstallPackage(**inventory["install_package"]),
                          superedge=SuperEdge(version="v0.9.0"))
    ctx = cluster.context(Host("127.0.0.1", name="bench"), EDGE)

    def embed(source: str) -> str:
        ref = parse_identity_source(source)
        raw = values[ref[1]] if ref else Path(source).read_text()
        return base64.b64encode(raw.encode()).decode()
    script = bundle.node_bundle(ctx, [p.step for p in chains.node_chain(ctx)], embed=embed)
    pkg = inventory["install_package"]
    return script, Package(pkg["path"], ctx.package_path, pkg["sha256"])


def baseline(inventory: dict, script: str, package, hosts) -> float:
    """Node after node: the node bundle over one connection each."""
    from provisioners.core.props import Host
    from provisioners.ssh.node import run_bundle
    by_name = {h["name"]: h for h in inventory["hosts"]}
    t0 = time.monotonic()
    for sh in hosts:
        h = by_name[sh.name]
        run_bundle(Host(h["address"], name=h["name"], private_key_file=h["private_key_file"],
                        host_key=h["host_key"]), h["name"], script, package=package,
                   log=lambda m: None)
    return time.monotonic() - t0


def floor(site: Site, hosts) -> float:
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(hosts)) as ex:
        rcs = list(ex.map(lambda h: site.ssh(h, "true")[0], hosts))
    assert set(rcs) == {0}, rcs
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--parallelism", type=int, default=0,
                    help="terraform -parallelism (default: the pool size, at least 10)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    site = Site(n=1 + 2 * sum(sizes), host_tools=host_tools_dir(work / "tools"))
    rows = []
    try:
        site.start()
        pkg, sha = build_package(work / "pkg")
        site.write_inventory(work / "hosts.json")
        inventory = json.loads((work / "hosts.json").read_text())
        inventory["install_package"] = {"path": str(pkg), "sha256": sha}
        print("deploying the cluster (not timed)...", flush=True)
        apply(work, inventory, [], 10)
        free = list(site.hosts[1:])
        pool: list[str] = []
        for n in sizes:
            tf_hosts, free = free[:n], free[n:]
            base_hosts, free = free[:n], free[n:]
            p = args.parallelism or max(10, n)
            pool += [h.name for h in tf_hosts]
            logins0 = sum(site.ssh_logins(h) for h in tf_hosts)
            cpu0 = site.cpu_seconds(tf_hosts)
            wall = apply(work, inventory, pool, p)
            cpu = site.cpu_seconds(tf_hosts) - cpu0
            conns = (sum(site.ssh_logins(h) for h in tf_hosts) - logins0) / n
            fl = floor(site, tf_hosts)
            script, package = bundle_for(work, inventory)
            base = baseline(inventory, script, package, base_hosts)
            rows.append((n, p, wall, base, fl, conns, cpu))
            print(f"n={n}: terraform {wall:.1f}s, baseline {base:.1f}s, floor {fl:.2f}s, "
                  f"{conns:.1f} SSH connections per node, hosts' CPU {cpu:.1f}s", flush=True)
    finally:
        site.close()
    markdown_table(
        ["nodes", "-parallelism", "wall time (s)", "sequential baseline (s)", "baseline / wall",
         "floor (s)", "SSH connections per node", "hosts' CPU (s)", "CPU / (2 cores x wall)"],
        [[str(n), str(p), f"{wall:.1f}", f"{base:.1f}", f"{base / wall:.2f}x", f"{fl:.2f}",
          f"{conns:.1f}", f"{cpu:.1f}", f"{cpu / (2 * wall):.0%}"]
         for n, p, wall, base, fl, conns, cpu in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
