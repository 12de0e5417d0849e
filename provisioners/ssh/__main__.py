"""`python -m provisioners.ssh check|run ...`: check hosts before a deploy (reach,
authentication, host key), or run one script as a step on one host (a debugging aid)."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from provisioners.core.errors import SSHError, StepFailed
from provisioners.core.props import Host
from provisioners.core.props import load_inventory
from provisioners.ssh.check import CHECK_TIMEOUT, check_hosts
from provisioners.ssh.runner import RunnerSettings, run_step
from provisioners.steps.step import Step

#: Exit code when the host cannot be reached or logged into (as ssh(1)).
SSH_FAILED_EXIT_CODE = 255
#: Terraform's check resource hands the hosts over in this variable (an inventory's JSON).
CHECK_ENV = "EDGE_CHECK"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m provisioners.ssh",
        description="Run edge_constructs steps on hosts over SSH, as Terraform would.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    check = sub.add_parser(
        "check", help="check that each host of an inventory can be reached and logged into",
        description="Connect once to each host of an inventory ({\"hosts\": [{\"address\", "
                    "\"port\", \"user\", \"private_key_file\", \"password_env\", "
                    "\"host_key\" or \"known_hosts_file\" or \"insecure_ignore_host_key\", "
                    "\"name\", \"bastion\"}]}), in parallel, and run `true`: "
                    "one line per host saying which of reach, authentication or host key "
                    f"failed. Exits {SSH_FAILED_EXIT_CODE} when any host failed.")
    check.add_argument("inventory", nargs="?", metavar="INVENTORY",
                       help=f"inventory JSON file (default: the JSON in ${CHECK_ENV})")
    check.add_argument("--timeout", type=float, default=CHECK_TIMEOUT,
                       help="connect and login timeout per host, seconds (default: %(default)g)")
    run = sub.add_parser(
        "run", help="run one script file as a step on one host",
        description="Run one POSIX-sh script file as a step on one host: it is written to "
                    "/var/lib/edge_constructs/steps/<name>.sh after the step prelude and "
                    "run with sh. Prints one line per step and exits with the script's "
                    f"exit code ({SSH_FAILED_EXIT_CODE} when the host cannot be reached).")
    run.add_argument("--host", required=True, metavar="ADDR", help="address of the host")
    run.add_argument("--port", type=int, default=22, help="SSH port (default: 22)")
    run.add_argument("--user", default="root", help="SSH user (default: root)")
    run.add_argument("--key", required=True, metavar="FILE", help="private key file")
    ident = run.add_mutually_exclusive_group(required=True)
    ident.add_argument("--host-key", metavar="LINE",
                       help='pin the host key, an OpenSSH public key line such as '
                            '"ssh-ed25519 AAAA..."')
    ident.add_argument("--known-hosts", metavar="FILE",
                       help="pin the host key held for the host in this OpenSSH known_hosts "
                            "file")
    ident.add_argument("--insecure-ignore-host-key", action="store_true",
                       help="accept any host key (a warning is printed; whoever holds the "
                            "address sees the script)")
    run.add_argument("--script", required=True, metavar="FILE", help="POSIX-sh script")
    run.add_argument("--name", metavar="STEP",
                     help="step name (default: from the script file name, e.g. Script)")
    run.add_argument("--timeout", type=float, default=RunnerSettings.command_timeout,
                     help="limit on the script in seconds (default: %(default)g)")
    run.add_argument("--connect-retries", type=int, default=RunnerSettings.connect_retries,
                     help="connect attempts after a first failed one (default: %(default)d)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="also print the script's output")
    return p


def _default_name(script: Path) -> str:
    words = re.split(r"[^A-Za-z0-9]+", script.stem)
    return "".join(w[:1].upper() + w[1:] for w in words if w) or "Script"


def _check(args) -> int:
    if args.inventory:
        where = args.inventory
        try:
            text = Path(args.inventory).read_text()
        except OSError as e:
            print(f"edge_constructs: cannot read inventory {where}: {e.strerror}", file=sys.stderr)
            return 2
    elif os.environ.get(CHECK_ENV):
        where, text = f"${CHECK_ENV}", os.environ[CHECK_ENV]
    else:
        print(f"edge_constructs: give an inventory file (or the JSON in ${CHECK_ENV})",
              file=sys.stderr)
        return 2
    try:
        hosts = load_inventory(text, where)
    except ValueError as e:
        print(f"edge_constructs: {e}", file=sys.stderr)
        return 2
    results = check_hosts(hosts, args.timeout, log=lambda line: print(line, flush=True))
    return 0 if all(r.ok for r in results) else SSH_FAILED_EXIT_CODE


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args)
    script = Path(args.script)
    try:
        text = script.read_text()
    except OSError as e:
        print(f"edge_constructs: cannot read --script {script}: {e.strerror}", file=sys.stderr)
        return 2
    name = args.name or _default_name(script)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        print(f"edge_constructs: --name {name!r}: use letters, digits, '_', '.' or '-'",
              file=sys.stderr)
        return 2
    host = Host(address=args.host, port=args.port, user=args.user,
                private_key_file=args.key, host_key=args.host_key,
                known_hosts_file=args.known_hosts,
                insecure_ignore_host_key=args.insecure_ignore_host_key)
    settings = RunnerSettings(command_timeout=args.timeout,
                              connect_retries=args.connect_retries)
    try:
        result = run_step(host, Step(name=name, script=text), settings,
                          log=lambda line: print(line, flush=True))
    except StepFailed as e:
        print(f"edge_constructs: {e}", file=sys.stderr)
        return e.exit_code
    except SSHError as e:
        print(f"edge_constructs: {e}", file=sys.stderr)
        return SSH_FAILED_EXIT_CODE
    if args.verbose:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
