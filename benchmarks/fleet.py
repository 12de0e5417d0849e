"""A fleet from one app: a cluster stack (one master) and S site stacks of N edge nodes each
(an EdgeNodePool per site stack, cluster= the cluster object), synthesized once, then every
site stack planned. No hosts are needed: nothing is applied.

    python3 -m benchmarks.fleet [--sites 10] [--nodes 1000] [--parallel 2]

Each stack has a local backend in a temporary directory. The cluster stack is not applied
(there is no master to run its chain on): its state file is written here as Terraform writes
it after a deploy (format 4, lineage, serial, terraform_version), holding only the outputs a
site stack reads: `<id>_kubeconfig` (an admin kubeconfig whose current context's cluster is
the cluster's name, with certificate and key data of real lengths, sensitive),
`<id>_join_script` (a script of the node bundle's size, about 81 KB, sensitive) and
`<id>_node_bundle_sha256`. That is faithful for what is measured: a site stack reads nothing
else of the cluster's state (its `terraform_remote_state` exposes outputs only; a deployed
cluster's state also holds its identity and master steps, which that data source parses once
per plan and drops), and the plan of new edge nodes contacts no host and no API server (the
provider's plan of a node that is not in state only marks what apply fills in). So the plan
of a site stack costs here what it costs against a deployed cluster.

Each site stack gets `terraform init` and `terraform plan -refresh=false -out=plan.bin`, K
site stacks at a time (`--parallel`, default 2: this machine has 2 cores, and a plan is
mostly one busy process, Terraform or the provider). Printed: the synth's wall time and peak
memory; per site the init and plan seconds and peak memory; the wall time of "plan all"
(first init to last plan); the CPU time (user + sys) of everything the plans ran, from
getrusage(RUSAGE_CHILDREN); the peak memory of one plan, as the largest process
(wait4's ru_maxrss, as benchmarks/plan_scale.py reports) and as the sum of Terraform and
its provider processes (sampled every 0.1 s); whether synth + plan all <= 60 s (issue 20);
and the state an edge node of the first site will hold, measured as benchmarks/plan_scale.py
does (a site's nodes depend on no managed resource: no `dependencies`).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLUSTER_ID, CLUSTER_NAME = "edge", "fleet"
TARGET_S = 60.0

APP = '''
import os
from cdktf import App, LocalBackend, TerraformStack
from edge_constructs import EdgeCluster, EdgeNodePool, Host, InstallPackage
sites, nodes, work = int(os.environ["SITES"]), int(os.environ["NODES"]), os.environ["WORK"]
# a well-formed host key to pin (the plan never connects)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILXchbf1Kc2mj4sbAi2X0es3/XbCgcrXBfyZZhCT22Q9"
key = os.path.join(work, "id_ed25519"); pkg = os.path.join(work, "kube-linux-amd64-v1.22.6.tar.gz")
app = App(outdir=os.path.join(work, "out"))
cluster_stack = TerraformStack(app, "cluster")
LocalBackend(cluster_stack, path="terraform.tfstate")
cluster = EdgeCluster(cluster_stack, os.environ["CLUSTER_ID"], name=os.environ["CLUSTER_NAME"],
                      masters=[Host("198.51.100.10", private_key_file=key, name="master-0",
                                    host_key=HOST_KEY)],
                      install_package=InstallPackage(path=pkg, sha256=os.environ["SHA"]))
for s in range(sites):
    site = TerraformStack(app, f"site{s:02d}")
    LocalBackend(site, path="terraform.tfstate")
    EdgeNodePool(site, "pool", cluster=cluster, hosts=[
        Host(f"10.{s + 1}.{i // 200}.{i % 200 + 1}", private_key_file=key,
             name=f"site{s:02d}-node-{i:04d}", host_key=HOST_KEY)
        for i in range(nodes)])
app.synth()
'''


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and its descendants (0 once gone)."""
    total, todo, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            pass
    return total


def run(argv: list[str], cwd: Path, env: dict) -> tuple[float, float, float]:
    """(seconds, peak MiB of the largest process (wait4), peak MiB of the process tree)."""
    t0 = time.monotonic()
    with open(cwd / f".{Path(argv[0]).name}-{argv[1]}.log", "w") as log:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak, done = [0], threading.Event()

        def sample():
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss(p.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(p.pid, 0)
        done.set()
        sampler.join()
    took = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        out = (cwd / log.name).read_text()
        raise SystemExit(f"{' '.join(argv)} in {cwd} failed:\n{out[-3000:]}")
    return took, usage.ru_maxrss / 1024, peak[0] / 2 ** 20


def kubeconfig(cluster: str) -> str:
    """An admin kubeconfig as kubeadm writes it, with data of real lengths (random bytes:
    nothing reads them at plan but the provider's check of the context's cluster)."""
    def data(n: int) -> str:
        return base64.b64encode(os.urandom(n)).decode()
    user = "kubernetes-admin"
    return (f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {data(1100)}\n"
            f"    server: https://198.51.100.10:6443\n  name: {cluster}\ncontexts:\n"
            f"- context:\n    cluster: {cluster}\n    user: {user}\n  name: {user}@{cluster}\n"
            f"current-context: {user}@{cluster}\nkind: Config\npreferences: {{}}\nusers:\n"
            f"- name: {user}\n  user:\n    client-certificate-data: {data(1150)}\n"
            f"    client-key-data: {data(1700)}\n")


def join_script(size: int = 81_000) -> str:
    lines, n = ["#!/bin/sh", "set -eu"], 0
    while sum(len(x) + 1 for x in lines) < size:
        lines.append(f"step_{n}() {{ printf '%s\\n' 'stand-in step {n}' >/dev/null; }}")
        n += 1
    return "\n".join(lines) + "\n"


def write_cluster_state(path: Path, terraform_version: str, site_json: dict) -> None:
    """The cluster stack's state after a deploy, outputs only; the output names are the
    ones the site stacks read (checked against a site's synthesized JSON)."""
    outputs = {
        f"{CLUSTER_ID}_kubeconfig": {"value": kubeconfig(CLUSTER_NAME), "type": "string",
                                     "sensitive": True},
        f"{CLUSTER_ID}_join_script": {"value": join_script(), "type": "string",
                                      "sensitive": True},
        f"{CLUSTER_ID}_node_bundle_sha256": {
            "value": hashlib.sha256(b"fleet bundle fingerprint").hexdigest(), "type": "string"},
    }
    text = json.dumps(site_json)
    for name in outputs:
        if f".outputs.{name}," not in text:
            raise SystemExit(f"the site stacks do not read the output {name!r}: "
                             "the cluster's outputs changed; update benchmarks/fleet.py")
    state = {"version": 4, "terraform_version": terraform_version, "serial": 3,
             "lineage": str(uuid.uuid4()), "outputs": outputs, "resources": [],
             "check_results": None}
    # the file exists (0600) since the synth: rewrite it in place, keeping its mode
    with open(path, "w") as f:
        json.dump(state, f, indent=2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=1000, help="edge nodes per site")
    ap.add_argument("--parallel", type=int, default=2,
                    help="site stacks planned at a time (default 2: a 2-core machine)")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from edge_constructs.terraform.binary import terraform_env
    from simsite.synth import new_private_key
    from benchmarks.report import markdown_table
    env = terraform_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    tf = env["TERRAFORM_BINARY_NAME"]
    version = json.loads(subprocess.run([tf, "version", "-json"], env=env, check=True,
                                        capture_output=True, text=True).stdout)
    work = Path(tempfile.mkdtemp(prefix="edge-fleet-"))
    try:
        new_private_key(work / "id_ed25519")
        pkg = work / "kube-linux-amd64-v1.22.6.tar.gz"
        pkg.write_bytes(b"stand-in\n")
        e = dict(env, SITES=str(args.sites), NODES=str(args.nodes), WORK=str(work),
                 CLUSTER_ID=CLUSTER_ID, CLUSTER_NAME=CLUSTER_NAME,
                 SHA=hashlib.sha256(pkg.read_bytes()).hexdigest())
        (work / "app.py").write_text(APP)
        t_synth, m_synth, mt_synth = run([sys.executable, "app.py"], work, e)
        stacks = work / "out" / "stacks"
        sites = sorted(p for p in stacks.iterdir() if p.name.startswith("site"))
        if len(sites) != args.sites:
            raise SystemExit(f"the synth made {len(sites)} site stacks, not {args.sites}")
        write_cluster_state(stacks / "cluster" / "terraform.tfstate",
                            version["terraform_version"],
                            json.loads((sites[0] / "cdk.tf.json").read_text()))
        print(f"synth of 1 cluster stack + {args.sites} site stacks of {args.nodes} nodes: "
              f"{t_synth:.1f} s, {m_synth:.0f} MiB", flush=True)

        def plan_site(site: Path) -> tuple:
            t_init, m_init, mt_init = run([tf, "init", "-input=false", "-no-color"], site, e)
            t_plan, m_plan, mt_plan = run([tf, "plan", "-input=false", "-no-color",
                                           "-refresh=false", "-out=plan.bin"], site, e)
            log = (site / f".{Path(tf).name}-plan.log").read_text()
            if f"Plan: {args.nodes} to add, 0 to change, 0 to destroy." not in log:
                raise SystemExit(f"{site.name}: the plan does not add {args.nodes} nodes:\n"
                                 f"{log[-2000:]}")
            print(f"{site.name}: init {t_init:.1f} s, plan {t_plan:.1f} s, "
                  f"{max(m_init, m_plan):.0f} MiB largest process, "
                  f"{max(mt_init, mt_plan):.0f} MiB all", flush=True)
            return site.name, t_init, t_plan, max(m_init, m_plan), max(mt_init, mt_plan)

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            results = list(pool.map(plan_site, sites))
        t_all = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        from benchmarks.plan_scale import node_state_sizes
        shown = subprocess.run([tf, "show", "-json", "plan.bin"], cwd=sites[0], env=e,
                               check=True, capture_output=True, text=True).stdout
        sizes, _, _ = node_state_sizes(json.loads(shown),
                                       json.loads((sites[0] / "cdk.tf.json").read_text()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    markdown_table(["site", "init s", "plan s", "largest process MiB", "Terraform + provider MiB"],
                   [[name, f"{ti:.1f}", f"{tp:.1f}", f"{m:.0f}", f"{mt:.0f}"]
                    for name, ti, tp, m, mt in results])
    cores = os.cpu_count() or 1
    total = t_synth + t_all
    markdown_table(
        ["sites x nodes", "at a time", "synth s", "synth MiB", "plan all wall s",
         "plan all CPU s", "CPU / (cores x wall)", "one plan peak MiB (largest / all)",
         "synth + plan all s", f"target <= {TARGET_S:.0f} s", "state B/node mean / max"],
        [[f"{args.sites} x {args.nodes}", str(args.parallel), f"{t_synth:.1f}",
          f"{m_synth:.0f}", f"{t_all:.1f}", f"{cpu:.1f}", f"{cpu / (cores * t_all):.0%}",
          f"{max(r[3] for r in results):.0f} / {max(r[4] for r in results):.0f}",
          f"{total:.1f}", "met" if total <= TARGET_S else "NOT met",
          f"{sum(sizes) / len(sizes):.0f} / {max(sizes)}"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
