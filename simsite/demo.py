"""The main job: deploy examples/quickstart onto a simulated site with `cdktf deploy`, print
the edgeadm join command, and show that a fresh host joins with it.

    python -m simsite.demo [--keep [--hosts N]] [-v]
    python -m simsite.demo --down

`--keep` leaves the site running for your own app (docs/GUIDE.md): besides the demo's own two
hosts (h0, h1), N free hosts (default 3: the guide's master and two edge nodes, h2..h4),
listed in an inventory it prints, with the install package; `--down` (or the
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
#: Free hosts `--keep` leaves for your own app: docs/GUIDE.md's master and two edge nodes.
FREE_HOSTS = 3
#: How long --down waits for another process's site to end (they share one lock).
LOCK_WAIT = 1800.0

# What `cdktf deploy` prints, line by line (simsite.demo.DeployOutput): Terraform's init, its
# plan, each resource's progress and, per remote-exec, its "Connecting to remote host" block
# (Terraform's own, printed whatever the step does), the steps' own lines (`[host] Step: ...`,
# one per step: sh/lib/prelude.sh), a failing step's report, and the outputs. Without -v the
# demo shows the step lines, errors and the summary; a line of none of these kinds is shown
# too, and counted: tests/test_demo_output.py and tests/test_guide.py fail on it.
_PROVISIONER = re.compile(r"\((remote-exec|local-exec)\): ?(.*)$")
_STEP = re.compile(r"^\[[^\]\s]+\] [A-Za-z][\w.-]*: \S")
_CHATTER = re.compile(r"^(Connecting to remote host via SSH\.\.\.|Connected!|"
                      r"  (Host|User|Password|Private key|Certificate|SSH Agent|Checking Host Key|"
                      r"Target Platform|Using configured bastion host\.\.\.|Bastion Host|"
                      r"Bastion User|Bastion Password|Bastion Private key|Bastion Certificate):.*|"
                      r"Executing: \[.*\]|\(output suppressed due to sensitive value in config\))$")
_FAILURE = re.compile(r"^(edge_constructs: |    )")
_STATUS = re.compile(r"^(module\.[^.\s]+\.)*(data\.|terraform_data\.|edge_\w+\.)"
                     r".*: (Creating|Creation complete|Still creating|Provisioning with|Destroying|"
                     r"Destruction complete|Still destroying|Modifying|Modifications complete|"
                     r"Still modifying|Reading|Read complete|Still reading|Refreshing state)")
_PLAN_START = re.compile(r"^(Terraform used the selected providers|Terraform will perform|"
                         r"No changes\.|Terraform planned the following)")
_APPLY_START = re.compile(r"^(Plan: |Changes to Outputs:)")
_SUMMARY = re.compile(r"^(Apply complete!|Destroy complete!|No changes\.)")
_ERROR = re.compile(r"^[│╷╵]|Error|Warning:")


class DeployOutput:
    """Sorts the lines of a `cdktf deploy`/`destroy` into kinds: "step", "failure",
    "status" (Terraform's own: init, plan, progress, connection blocks, outputs),
    "summary", "error", or "unknown". Feed the lines in order (`kind` keeps the section)."""

    def __init__(self):
        self.section = "init"
        self.unknown: list[str] = []
        self.stack: Optional[str] = None

    def kind(self, line: str) -> str:
        text = line.rstrip("\n")
        prefix = re.match(r"^(\S+)  ", text)
        if prefix and self.stack is None:
            self.stack = prefix.group(1)
        if self.stack is not None and text.strip() == self.stack:
            return "status"          # the stack's prefix before an empty line of Terraform's
        body = re.sub(r"^\S+  ", "", text, count=1).strip() if not text.startswith(" ") else text.strip()
        k = self._kind(body)
        if k == "unknown":
            self.unknown.append(text)
        return k

    def _kind(self, body: str) -> str:
        if not body:
            return "status"
        m = _PROVISIONER.search(body)
        if m:
            out = m.group(2)
            if _STEP.match(out):
                return "step"
            if _CHATTER.match(out):
                return "status"
            if _FAILURE.match(out):
                return "failure"
            return "unknown"
        if _ERROR.search(body):
            return "error"
        if _SUMMARY.match(body):
            self.section = "outputs"
            return "summary"
        if self.section == "outputs":
            return "status"
        if _PLAN_START.match(body):
            self.section = "plan"
            return "status"
        if self.section in ("init", "plan"):
            if _APPLY_START.match(body) or _STATUS.match(body):
                self.section = "apply" if _STATUS.match(body) else self.section
            return "status"
        if _STATUS.match(body):
            return "status"
        return "unknown"


def quiet_filter():
    """A filter for `tf.run`'s echo: a line as the demo shows it without -v, or None. The
    filter's `.output` is its DeployOutput (its `unknown` lines)."""
    out = DeployOutput()

    def show(line: str) -> Optional[str]:
        k = out.kind(line)
        text = line.rstrip("\n")
        m = _PROVISIONER.search(text)
        if k == "step":
            return "    " + m.group(2) + "\n"
        if k in ("failure", "error", "summary", "unknown"):
            return text.strip() + "\n"
        return None
    show.output = out
    return show


def quiet(line: str) -> Optional[str]:
    """One line as the demo shows it without -v (out of its context: a line of the plan or
    the outputs is judged as if it came during the apply)."""
    f = quiet_filter()
    f.output.section = "apply"
    return f(line)


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
                    help=f"with --keep: the hosts left free for your own app (default {FREE_HOSTS}: "
                         f"docs/GUIDE.md's master and two edge nodes); the site has N + "
                         f"{DEMO_HOSTS}, the demo's own {DEMO_HOSTS} first")
    ap.add_argument("--down", action="store_true", help="remove a site left by --keep")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show everything cdktf and Terraform print")
    args = ap.parse_args(argv)
    if args.down:
        return down()
    if args.hosts is not None and not args.keep:
        ap.error(f"--hosts {args.hosts}: only with --keep (the hosts left free for your own app)")
    if args.hosts is not None and args.hosts < 0:
        ap.error(f"--hosts {args.hosts}: a number of free hosts, 0 or more")
    n = DEMO_HOSTS + ((FREE_HOSTS if args.hosts is None else args.hosts) if args.keep else 0)

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
        if args.verbose:
            extra["EDGE_VERBOSE"] = "1"     # the steps print their progress and commands too
        shown = quiet_filter()
        t0 = time.monotonic()
        run = tf.cdktf(["deploy", "--auto-approve", "--output", str(work / "cdktf.out"),
                        "--outputs-file", str(work / "outputs.json"),
                        "--outputs-file-include-sensitive-outputs"],
                       echo=True if args.verbose else shown, extra_env=extra)
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
                print(f"    free for your own app: {', '.join(h.name for h in free) or 'none (use --keep --hosts N)'}")
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
