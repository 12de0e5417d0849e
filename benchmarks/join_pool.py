"""Join 1, 10 and 50 simulated edge nodes with EdgeNodePool (`terraform apply`), and compare:

* baseline: the same node step scripts run one node after another over SSH
  (`edge_constructs.ssh.runner.run_chain`, what an operator does by hand with the join command);
* floor: opening SSH to every node and running nothing, all in parallel.

    python -m benchmarks.join_pool [--sizes 1,10,50] [--parallelism N]

Needs root (simulated site). One site and one cluster (examples/edge_pool, master h0);
each size joins fresh hosts, the baseline uses other fresh hosts.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def node_steps_for(work: Path, inventory: dict, sim_hosts):
    """(host, master 0, [Placed(target, step)…]) per host, from the same constructs the
    stack uses."""
    import os
    os.environ["EDGE_WORKDIR"] = str(work)
    from cdktf import App, TerraformStack
    from edge_constructs import EdgeCluster, Host, InstallPackage, SuperEdge
    from edge_constructs.steps import chains as chain
    from edge_constructs.steps.context import EDGE, Context, NodeOptions

    def host(h: dict) -> Host:
        return Host(h["address"], port=h["port"], user=h["user"],
                    private_key_file=h["private_key_file"], host_key=h["host_key"],
                    name=h["name"])
    master = host(inventory["hosts"][0])
    cluster = EdgeCluster(TerraformStack(App(outdir=tempfile.mkdtemp()), "b"), "edge",
                          name="edge-pool", masters=[master],
                          install_package=InstallPackage(**inventory["install_package"]),
                          superedge=SuperEdge(version="v0.9.0"))
    creds = identity_files(work)
    opts = NodeOptions(labels={"topology.superedge.io/site": "site-a", "zone": "a"},
                       taints=("dedicated=camera:NoSchedule",), node_unit="site-a")
    by_name = {h["name"]: host(h) for h in inventory["hosts"]}
    out = []
    for sh in sim_hosts:
        h = by_name[sh.name]
        ctx = Context(cluster.spec, h, EDGE, creds, node=opts)
        out.append((h, master, chain.node_chain(ctx)))
    return out


def identity_files(work: Path):
    """The deployed identity's values (from state) as files: the SSH runner uploads files."""
    from simsite.identity import identity_files as as_files
    stack = work / "out" / "stacks" / "edge_pool"
    shown = json.loads(tf.terraform(["show", "-json"], stack).check().output)
    (values,) = [r["values"] for r in shown["values"]["root_module"]["resources"]
                 if r["type"] == "edge_cluster_identity"]
    return as_files(work / "identity", values)


def baseline(plan) -> float:
    """Node after node: the node's steps over one connection, then master 0's for it."""
    from edge_constructs.ssh.runner import run_chain
    t0 = time.monotonic()
    for h, master, placed in plan:
        run_chain(h, [p.step for p in placed if p.host == h], log=lambda m: None)
        run_chain(master, [p.step for p in placed if p.host == master], log=lambda m: None)
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
            wall = apply(work, inventory, pool, p)
            fl = floor(site, tf_hosts)
            base = baseline(node_steps_for(work, inventory, base_hosts))
            rows.append((n, p, wall, base, fl))
            print(f"n={n}: terraform {wall:.1f}s, baseline {base:.1f}s, floor {fl:.2f}s",
                  flush=True)
    finally:
        site.close()
    print()
    print("| nodes | -parallelism | wall time (s) | sequential baseline (s) | wall / baseline "
          "| floor (s) | wall / floor |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, p, wall, base, fl in rows:
        print(f"| {n} | {p} | {wall:.1f} | {base:.1f} | {wall / base:.2f} | {fl:.2f} "
              f"| {wall / fl:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
