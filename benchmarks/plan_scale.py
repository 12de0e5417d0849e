"""Synth and plan of one master plus N edge nodes, against hand-written Terraform of the same
resources, and the state an edge node will hold. No hosts are needed: nothing is applied. A
node is one `edge_node` instance of a pool's for_each; the master keeps one resource per step.

    python3 -m benchmarks.plan_scale [--sizes 1000,5000]

For each size it prints synth seconds, init + plan seconds, the peak memory of each (the
process and what it waited for), the number of resources, and the ratio of synth + plan to a
plan of hand-written Terraform JSON with as many `terraform_data` resources (file +
remote-exec provisioners, in chains of 20), the shape the chains had before, measured in the
same run. Then the peak memory of the plan per added node between sizes (a constant figure
is linear growth).

State per node: `terraform show -json plan.bin` gives each `edge_node` instance's planned
values; each is written as Terraform writes a resource instance in a state file (format 4:
index_key, schema_version, attributes, sensitive_attributes, dependencies; compact JSON,
with Go's escaping of <, > and &; the file itself is indented, which adds whitespace only).
What the plan leaves unknown is filled at apply: an ALLOWANCE stands in for it, realistic
values (present/ready/joined true, kubelet_version "v1.22.6", cluster_uid a 36-character
UID, id the node's name, bundle_sha256 64 hex digits when the identity is made in the same
run). `dependencies` is what Terraform records: every managed resource the instance depends
on, transitively, through locals, data sources and its provider block's settings (as
Terraform 1.11 does: a resource whose provider block reads a resource lists it), computed
from the synthesized JSON.

Targets of issue 20 (figures, not asserts): synth + plan within 2x the hand-written floor,
memory growing linearly, state under 2 KB per node.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
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


def prepare_app(work: Path, n: int, env: dict) -> dict:
    """Write APP, its SSH key and a stand-in package into `work`; the environment it runs in."""
    from simsite.synth import new_private_key
    new_private_key(work / "id_ed25519")
    pkg = work / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg.write_bytes(b"stand-in\n")
    (work / "app.py").write_text(APP)
    return dict(env, NODES=str(n), WORK=str(work),
                SHA=hashlib.sha256(pkg.read_bytes()).hexdigest())


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


#: What an edge node's state holds once applied in place of what the plan leaves unknown:
#: realistic values (a kube-system namespace UID is 36 characters; the package's version).
def allowance(name: str) -> dict:
    return {"present": True, "ready": True, "joined": True, "kubelet_version": "v1.22.6",
            "cluster_uid": str(uuid.uuid4()), "id": name,
            "bundle_sha256": hashlib.sha256(name.encode()).hexdigest()}


NAME = r"[A-Za-z_][\w-]*"
REFERENCE = re.compile(rf"data\.{NAME}\.{NAME}|{NAME}\.{NAME}")


def state_dependencies(doc: dict, rtype: str, rname: str) -> list[str]:
    """The managed resources Terraform records as an instance's `dependencies`: its graph
    ancestors, i.e. what its block, the locals and data sources they read and its provider
    block's settings refer to, transitively; data sources are walked through, not listed."""
    blocks: dict[str, object] = {}
    for t, named in (doc.get("resource") or {}).items():
        for n, b in named.items():
            blocks[f"{t}.{n}"] = b
    for t, named in (doc.get("data") or {}).items():
        for n, b in named.items():
            blocks[f"data.{t}.{n}"] = b
    for n, v in (doc.get("locals") or {}).items():
        blocks[f"local.{n}"] = v
    providers = {}
    for t, confs in (doc.get("provider") or {}).items():
        for c in confs if isinstance(confs, list) else [confs]:
            providers[f"{t}.{c['alias']}" if c.get("alias") else t] = c

    def refs(block) -> set[str]:
        if isinstance(block, dict):
            block = {k: v for k, v in block.items() if k != "//"}
            p = block.get("provider") if isinstance(block.get("provider"), str) else None
        else:
            p = None
        found = {m for m in REFERENCE.findall(json.dumps(block)) if m in blocks}
        conf = providers.get(p) if p else None
        return found | ({f"provider:{p}"} if conf is not None else set())

    self_addr, deps, seen = f"{rtype}.{rname}", set(), set()
    todo = [self_addr]
    while todo:
        addr = todo.pop()
        if addr in seen:
            continue
        seen.add(addr)
        if addr.startswith("provider:"):
            block = providers[addr[len("provider:"):]]
        else:
            block = blocks[addr]
            if not addr.startswith(("data.", "local.")) and addr != self_addr:
                deps.add(addr)
            if not addr.startswith("local.") and isinstance(block, dict) \
                    and "provider" not in block:
                # the provider's default block of the resource's type prefix
                t = addr.split(".")[-2].split("_")[0]
                if t in providers:
                    todo.append(f"provider:{t}")
        todo.extend(refs(block))
    return sorted(deps)


def go_json(value) -> str:
    """Compact JSON as Go's encoding/json writes it (Terraform's state writer): UTF-8, with
    <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def node_state_sizes(show: dict, doc: dict) -> tuple[list[int], list[int], list[int]]:
    """Bytes of each edge_node instance as its state will hold it (planned values plus the
    allowance), of the allowance alone, and of its `dependencies`."""
    unknown = {c["address"]: c["change"].get("after_unknown") or {}
               for c in show.get("resource_changes", [])}
    deps_of: dict[str, list[str]] = {}
    sizes, allowed, deps = [], [], []
    for r in show["planned_values"]["root_module"].get("resources", []):
        if r["type"] != "edge_node":
            continue
        values = dict(r["values"])
        filled = allowance(values["name"])
        missing = [k for k, v in unknown.get(r["address"], {}).items() if v is True]
        if set(missing) - set(filled):
            raise SystemExit(f"{r['address']}: no allowance for the unknown "
                             f"{sorted(set(missing) - set(filled))}")
        extra = {k: filled[k] for k in missing}
        for k in filled:                      # known at plan or not, the state has them
            if k not in values and k not in extra:
                extra[k] = filled[k]
        if r["name"] not in deps_of:
            deps_of[r["name"]] = state_dependencies(doc, r["type"], r["name"])
        instance = {"index_key": r["index"], "schema_version": r["schema_version"],
                    "attributes": dict(sorted({**values, **extra}.items())),
                    "sensitive_attributes": []}
        if deps_of[r["name"]]:
            instance["dependencies"] = deps_of[r["name"]]
        size = len(go_json(instance).encode())
        without = dict(instance, attributes=dict(sorted(values.items())))
        sizes.append(size)
        allowed.append(size - len(go_json(without).encode()))
        deps.append(size - len(go_json({k: v for k, v in instance.items()
                                        if k != "dependencies"}).encode()))
    return sizes, allowed, deps


def plan(stack: Path, env: dict, tf: str) -> tuple[float, float]:
    t_init, m_init, _ = measured([tf, "init", "-input=false", "-no-color"], stack, env)
    t_plan, m_plan, _ = measured([tf, "plan", "-input=false", "-no-color", "-refresh=false",
                                  "-out=plan.bin"], stack, env)
    return t_init + t_plan, max(m_init, m_plan)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from edge_constructs.terraform.binary import terraform_env
    from benchmarks.report import markdown_table
    env = terraform_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    tf = env["TERRAFORM_BINARY_NAME"]
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"edge-scale-{n}-"))
        try:
            e = prepare_app(work, n, env)
            t_synth, m_synth, _ = measured([sys.executable, "app.py"], work, e)
            [stack] = list((work / "out" / "stacks").iterdir())
            doc = json.loads((stack / "cdk.tf.json").read_text())
            count = resource_instances(doc)
            t_plan, m_plan = plan(stack, e, tf)
            shown = subprocess.run([tf, "show", "-json", "plan.bin"], cwd=stack, env=e,
                                   check=True, capture_output=True, text=True).stdout
            sizes, allowed, deps = node_state_sizes(json.loads(shown), doc)
            del shown
            if len(sizes) != n:
                raise SystemExit(f"{n} nodes: the plan holds {len(sizes)} edge_node instances")
            hand = work / "hand"
            hand_written(count, hand)
            t_hand, _ = plan(hand, e, tf)
            row = dict(n=n, count=count, ts=t_synth, ms=m_synth, tp=t_plan, mp=m_plan,
                       th=t_hand, mean=sum(sizes) / n, max=max(sizes),
                       allow=sum(allowed) / n, deps=sum(deps) / n)
            rows.append(row)
            print(f"{n} nodes: {count} resources, synth {t_synth:.1f}s {m_synth:.0f} MiB, "
                  f"init+plan {t_plan:.1f}s {m_plan:.0f} MiB, hand-written {t_hand:.1f}s, "
                  f"state per node {row['mean']:.0f} B (max {row['max']})", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    markdown_table(
        ["nodes", "resources", "synth s", "synth MiB", "init+plan s", "plan MiB",
         "hand-written plan s", "(synth+plan) / hand", "(synth+plan) / node ms",
         "state B/node mean", "state B/node max", "of which allowance B",
         "of which dependencies B"],
        [[str(r["n"]), str(r["count"]), f"{r['ts']:.1f}", f"{r['ms']:.0f}", f"{r['tp']:.1f}",
          f"{r['mp']:.0f}", f"{r['th']:.1f}", f"{(r['ts'] + r['tp']) / r['th']:.2f}",
          f"{1000 * (r['ts'] + r['tp']) / r['n']:.1f}", f"{r['mean']:.0f}", str(r["max"]),
          f"{r['allow']:.0f}", f"{r['deps']:.0f}"] for r in rows])
    print()
    for a, b in zip(rows, rows[1:]):
        per = (b["mp"] - a["mp"]) * 1024 / (b["n"] - a["n"])
        print(f"- plan peak memory {a['mp']:.0f} MiB at {a['n']} nodes, {b['mp']:.0f} MiB at "
              f"{b['n']}: {per:.1f} KiB per added node ({a['mp'] * 1024 / a['n']:.1f} KiB per "
              f"node at {a['n']}, {b['mp'] * 1024 / b['n']:.1f} at {b['n']}, fixed part "
              "included)")
    for r in rows:
        ratio = (r["ts"] + r["tp"]) / r["th"]
        print(f"- {r['n']} nodes: synth + plan {r['ts'] + r['tp']:.1f} s = {ratio:.2f}x the "
              f"floor {r['th']:.1f} s: target (<= 2x) {'met' if ratio <= 2 else 'NOT met'}; "
              f"state {r['mean']:.0f} B per node (max {r['max']}): target (< 2048 B) "
              f"{'met' if r['max'] < 2048 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
