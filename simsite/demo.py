"""The main job: deploy examples/quickstart onto a simulated site with `cdktf deploy`, print
the edgeadm join command, and show that a fresh host joins with it.

    python -m simsite.demo [--keep]

Needs root (network namespaces). Everything runs on 198.18.0.0/24 inside namespaces.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from simsite import tf
from simsite.package import build_package, host_tools_dir, place_package
from simsite.site import Site


def say(msg: str) -> None:
    print(f"\n==> {msg}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="leave the site and workdir up")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="edge-demo-"))
    tools = host_tools_dir(work / "tools")
    site = Site(n=2, host_tools=tools)
    try:
        say("starting a simulated site: 2 hosts (master, and a spare edge node)")
        site.start()
        for h in site.hosts:
            print(f"    {h.name}  {h.address}:{h.port}")
        pkg, sha = build_package(work / "pkg")
        inventory = work / "inventory.json"
        site.write_inventory(inventory)
        inv = json.loads(inventory.read_text())
        inv["install_package"] = {"path": str(pkg), "sha256": sha}
        inventory.write_text(json.dumps(inv, indent=2))

        say("cdktf deploy (examples/quickstart)")
        extra = {"EDGE_WORKDIR": str(work), "EDGE_INVENTORY": str(inventory)}
        t0 = time.monotonic()
        run = tf.cdktf(["deploy", "--auto-approve", "--output", str(work / "cdktf.out"),
                        "--outputs-file", str(work / "outputs.json"),
                        "--outputs-file-include-sensitive-outputs"], echo=True, extra_env=extra)
        took = time.monotonic() - t0
        run.check()
        outputs = json.loads((work / "outputs.json").read_text())["quickstart"]["edge"]
        join = outputs["edge_join_command"]

        say(f"deployed in {took:.0f}s; steps and their durations:")
        for res, dur in tf.step_durations(run.output):
            print(f"    {dur:>6}  {res}")
        say("join command (output edge_join_command):")
        print(join)

        say(f"joining {site.hosts[1].name} with it")
        pkg_path = join.split("--install-pkg-path ")[1].split()[0]
        place_package(site, site.hosts[1], pkg, pkg_path)
        # The site is offline like many edge sites: edgeadm's apt-based init-node phase
        # would fail there, so it is skipped (swap, sysctls and modules are ready on it).
        node_cmd = f"{join} --node-name {site.hosts[1].name} --skip-phases=init-node"
        print(node_cmd.replace(join, "<join command>"))
        rc, out, err = site.ssh(site.hosts[1], node_cmd, timeout=300)
        print(out + err)
        if rc != 0:
            print(f"join failed with exit code {rc}", file=sys.stderr)
            return 1
        rc, out, err = site.ssh(site.hosts[0], "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes")
        print(out + err)
        say("done: the cluster is up and a node joined with the printed command")
        return 0
    finally:
        if args.keep:
            print(f"\nleft running (--keep): site {[h.address for h in site.hosts]}, workdir {work}")
        else:
            site.close()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
