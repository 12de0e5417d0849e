"""Stand-in systemctl (no systemd on simulated hosts): keeps unit state, runs nothing."""
import fcntl
import json
import os
import sys

from .common import P, fault, run_tool

STATE = "/var/lib/standins/systemd/state.json"
DIRS = ["/etc/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]
VERBS = {"daemon-reload", "enable", "disable", "start", "stop", "restart", "reload", "try-restart", "is-active", "is-enabled",
         "is-failed", "status", "reset-failed", "mask", "unmask", "list-units", "cat", "show"}
OPTS = {"--now", "--quiet", "-q", "--no-pager", "--no-block", "--full", "-l", "--no-legend", "--plain", "--all", "-a"}


def unit_name(u):
    return u if "." in u else u + ".service"


def unit_file(u):
    for d in DIRS:
        if os.path.exists(P(d + "/" + u)):
            return d + "/" + u
    return None


def main(argv, state):
    opts, args = set(), []
    for a in argv:
        if a.startswith("-"):
            name = a.split("=")[0]
            if name not in OPTS and not name.startswith("--property"):
                sys.stderr.write("systemctl: unrecognized option '%s'\n" % a)
                return 1
            opts.add(name)
        else:
            args.append(a)
    if not args:
        args = ["list-units"]
    verb, units = args[0], [unit_name(u) for u in args[1:]]
    state["phase"] = verb
    if verb not in VERBS:
        sys.stderr.write("Unknown command verb %s.\n" % verb)
        return 1
    if fault(["systemctl:" + verb] + ["systemctl:%s:%s" % (verb, u) for u in units] + ["systemctl:%s:%s" % (verb, u.rsplit(".", 1)[0]) for u in units]):
        sys.stderr.write("Job for %s failed because the control process exited with error code.\n" % (units[0] if units else "unit"))
        return 1
    quiet = "-q" in opts or "--quiet" in opts
    path = P(STATE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            st = json.load(open(path))
        except (OSError, ValueError):
            st = {}
        rc = 0
        for u in units or ([] if verb in ("daemon-reload", "list-units", "reset-failed") else [None]):
            if u is None:
                sys.stderr.write("Too few arguments.\n")
                return 1
            s = st.setdefault(u, {"active": False, "enabled": False})
            exists = unit_file(u) is not None
            if verb in ("start", "restart", "reload", "try-restart", "enable", "disable", "status", "cat") and not exists:
                if verb == "status":
                    sys.stderr.write("Unit %s could not be found.\n" % u)
                    rc = 4
                    continue
                if verb in ("enable", "disable"):
                    sys.stderr.write("Failed to %s unit: Unit file %s does not exist.\n" % (verb, u))
                else:
                    sys.stderr.write("Failed to %s %s: Unit %s not found.\n" % (verb, u, u))
                rc = 5 if verb not in ("enable", "disable") else 1
                continue
            if verb in ("start", "restart", "reload") or (verb == "try-restart" and s["active"]):
                s["active"] = True
            elif verb == "stop":
                s["active"] = False
            elif verb == "enable":
                s["enabled"] = True
                if "--now" in opts:
                    s["active"] = True
                if not quiet:
                    sys.stderr.write("Created symlink /etc/systemd/system/multi-user.target.wants/%s → %s.\n" % (u, unit_file(u)))
            elif verb == "disable":
                s["enabled"] = False
                if "--now" in opts:
                    s["active"] = False
            elif verb == "is-active":
                if not quiet:
                    print("active" if s["active"] else "inactive")
                rc = rc or (0 if s["active"] else 3)
            elif verb == "is-enabled":
                if not quiet:
                    print("enabled" if s["enabled"] else ("disabled" if exists else "Failed to get unit file state for %s: No such file or directory" % u))
                rc = rc or (0 if s["enabled"] else 1)
            elif verb == "is-failed":
                if not quiet:
                    print("inactive" if not s["active"] else "active")
                rc = rc or 1
            elif verb == "status":
                print("● %s\n     Loaded: loaded (%s; %s)\n     Active: %s" % (u, unit_file(u), "enabled" if s["enabled"] else "disabled",
                                                                               "active (running)" if s["active"] else "inactive (dead)"))
                rc = rc or (0 if s["active"] else 3)
            elif verb == "cat":
                print("# " + unit_file(u))
                print(open(P(unit_file(u))).read())
        if verb == "list-units":
            for u, s in sorted(st.items()):
                print("%s loaded %s" % (u, "active running" if s["active"] else "inactive dead"))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, sort_keys=True)
        os.replace(tmp, path)
    return rc


def entry():
    run_tool("systemctl", main)
