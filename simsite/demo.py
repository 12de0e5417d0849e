"""The main job: deploy examples/quickstart onto a simulated site with `cdktf deploy`, print
the edgeadm join command, and show that a fresh host joins with it.

    python -m simsite.demo [--keep [--hosts N]] [-v]
    python -m simsite.demo --down

`--keep` leaves the site running for your own app (docs/GUIDE.md): the hosts the demo did
not use are listed in an inventory it prints, with the install package; `--down` (or the
next run of the demo or of the tests) removes the kept site. Needs root (network
namespaces). Everything runs on 198.18.0.0/24 inside namespaces.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from simsite import tf
from simsite.package import build_package, host_tools_dir, place_package
from simsite.site import Site

#: Where a kept demo lives: the inventory, install package, state and credentials.
KEPT = Path(os.environ.get("EDGE_DEMO_DIR", "/var/tmp/edge-demo"))
DOWN_COMMAND = "sh scripts/demo --down"
#: Hosts the demo itself uses: the master, and a node joined by hand with the join command.
DEMO_HOSTS = 2
KEEP_HOSTS = 5
#: How long --down waits for another process's site to end (they share one lock).
LOCK_WAIT = 1800.0

# Terraform's chatter around each step (connection details, twice per step; Still
# creating...; the script's own output): hidden unless -v. The prelude's last line per
# step, `[host] Step: done (Ns)`, is the one kept.
_STEP_LINE = re.compile(r"\(remote-exec\): (\[[^\]]+\] \S+: (?:done \(\d+s\)|.*failed.*))$")
_LOCAL_LINE = re.compile(r"\(local-exec\): (\[[^\]]+\] .*)$")
_KEEP = re.compile(r"Error|error:|edge_constructs:|Apply complete|Destroy complete|"
                   r"No changes|Warning:")


def quiet(line: str) -> Optional[str]:
    """The line as the demo shows it without -v, or None to hide it."""
    text = line.rstrip("\n")
    m = _STEP_LINE.search(text) or _LOCAL_LINE.search(text)
    if m:
        return "    " + m.group(1) + "\n"
    if _KEEP.search(text):
        return text.strip() + "\n"
    return None


def say(msg: str) -> None:
    print(f"\n==> {msg}", flush=True)


def down() -> int:
    """Remove a kept site: its namespaces, processes, links and directories."""
    removed = Site.cleanup_leftovers(wait=LOCK_WAIT)
    had_dir = KEPT.exists()
    shutil.rmtree(KEPT, ignore_errors=True)
    if not removed["netns"] and not had_dir:
        print("no kept site found: nothing to remove")
    else:
        print(f"removed the kept site: {len(removed['netns'])} host(s)"
              + (f", {KEPT}" if had_dir else ""))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true",
                    help=f"leave the site running for your own app (remove it with: {DOWN_COMMAND})")
    ap.add_argument("--hosts", type=int, default=None, metavar="N",
                    help=f"hosts in the site (default: {DEMO_HOSTS}, or {KEEP_HOSTS} with --keep); "
                         f"the demo uses {DEMO_HOSTS}, the others are left free")
    ap.add_argument("--down", action="store_true", help="remove a site left by --keep")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show everything cdktf and Terraform print")
    args = ap.parse_args(argv)
    if args.down:
        return down()
    n = args.hosts if args.hosts is not None else (KEEP_HOSTS if args.keep else DEMO_HOSTS)
    if n < DEMO_HOSTS:
        ap.error(f"--hosts {n}: the demo needs at least {DEMO_HOSTS} hosts (a master and a node)")

    if args.keep:
        # A kept site from before goes: its directory now, its hosts when this site starts
        # (the first site a process starts removes every leftover site).
        shutil.rmtree(KEPT, ignore_errors=True)
        KEPT.mkdir(parents=True, mode=0o700)
        work = KEPT
    else:
        work = Path(tempfile.mkdtemp(prefix="edge-demo-"))
    tools = host_tools_dir(work / "tools")
    site = Site(n=n, host_tools=tools)
    ok = False
    try:
        say(f"starting a simulated site: {n} hosts (master, a spare edge node"
            + (", and hosts for your own app)" if n > DEMO_HOSTS else ")"))
        site.start()
        for h in site.hosts:
            print(f"    {h.name}  {h.address}:{h.port}")
        pkg, sha = build_package(work / "pkg")
        inventory = work / "demo-inventory.json"
        write_inventory(site, site.hosts[:DEMO_HOSTS], inventory, pkg, sha)

        say("cdktf deploy (examples/quickstart)" + ("" if args.verbose else
            ": one line per step and host; -v shows everything"))
        extra = {"EDGE_WORKDIR": str(work), "EDGE_INVENTORY": str(inventory)}
        t0 = time.monotonic()
        run = tf.cdktf(["deploy", "--auto-approve", "--output", str(work / "cdktf.out"),
                        "--outputs-file", str(work / "outputs.json"),
                        "--outputs-file-include-sensitive-outputs"],
                       echo=True if args.verbose else quiet, extra_env=extra)
        took = time.monotonic() - t0
        run.check()
        outputs = json.loads((work / "outputs.json").read_text())["quickstart"]["edge"]
        join = outputs["edge_join_command"]
        say(f"deployed in {took:.0f}s; join command (output edge_join_command):")
        print(join)

        say(f"joining {site.hosts[1].name} with it")
        pkg_path = join.split("--install-pkg-path ")[1].split()[0]
        place_package(site, site.hosts[1], pkg, pkg_path)
        # The site is offline like many edge sites: edgeadm's apt-based init-node phase
        # would fail there, so it is skipped (swap, sysctls and modules are ready on it).
        node_cmd = f"{join} --node-name {site.hosts[1].name} --skip-phases=init-node"
        print(node_cmd.replace(join, "<join command>"))
        rc, out, err = site.ssh(site.hosts[1], node_cmd, timeout=300)
        if args.verbose or rc != 0:
            print(out + err)
        if rc != 0:
            print(f"join failed with exit code {rc}", file=sys.stderr)
            return 1
        rc, out, err = site.ssh(site.hosts[0], "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes")
        print(out + err)
        say("done: the cluster is up and a node joined with the printed command")
        ok = True
        return 0
    finally:
        if args.keep and site._started and not site._closed:
            free = site.hosts[DEMO_HOSTS:]
            mine = work / "inventory.json"
            if ok:
                write_inventory(site, free, mine, pkg, sha)
            site.detach()
            say("left running (--keep)")
            print(f"    the demo's cluster: {site.hosts[0].name if site.hosts else 'h0'} "
                  f"(state and credentials in {work})")
            if ok:
                print(f"    free for your own app: {', '.join(h.name for h in free) or 'none (use --hosts N)'}")
                print(f"    inventory: {mine}")
                print("    write your own app: docs/GUIDE.md")
            print(f"    tear it down with: {DOWN_COMMAND}")
        else:
            site.close()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)


def write_inventory(site: Site, hosts, path: Path, pkg: Path, sha: str) -> None:
    """An inventory of `hosts` in the shape the examples and docs/GUIDE.md read."""
    data = {"hosts": [{"name": h.name, "address": h.address, "port": h.port, "user": h.user,
                       "private_key_file": h.private_key_file, "host_key": h.host_public_key}
                      for h in hosts],
            "install_package": {"path": str(pkg), "sha256": sha}}
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
