"""Stand-in systemctl (no systemd on simulated hosts): keeps unit state and runs each unit's
ExecStart, built from the unit file and its drop-ins as systemd builds it.

What it copies from systemd (systemd.service(5), systemd.exec(5), systemd.unit(5)):
* the unit file is the first of DIRS that has it; drop-ins are `<unit>.d/*.conf` of every
  dir, applied in file-name order; an empty `ExecStart=` clears the list before it;
* `Environment="A=b c"` and `EnvironmentFile=[-]path` (KEY=value lines, `#` comments, quotes
  removed; `-` means a missing file is fine), later assignments win;
* in ExecStart, `$VAR` expands to the variable's words (split at whitespace) and `${VAR}` to
  one word; a `-` prefix on ExecStartPre ignores its failure;
* the process runs in its own session, its output goes to the unit's journal
  (`/var/log/standins/units/<unit>.log`, what `journalctl -u` shows); stop sends SIGTERM
  (then SIGKILL after 5 s, `TimeoutStopSec`).

Where it differs: `start` waits until the program reports it is up (it writes to the fd
named by STANDIN_READY_FD, as sd_notify's READY=1) or exits, so the unit's state is settled
when systemctl returns (systemd's Type=simple returns at once and the state is racy). A
program that exits is left `failed` (no `Restart=`): `systemctl start` again restarts it.
"""
import fcntl
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time

from .common import P, fault, run_tool

STATE = "/var/lib/standins/systemd/state.json"
JOURNAL = "/var/log/standins/units"
DIRS = ["/etc/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]
VERBS = {"daemon-reload", "enable", "disable", "start", "stop", "restart", "reload", "try-restart", "is-active", "is-enabled",
         "is-failed", "status", "reset-failed", "mask", "unmask", "list-units", "cat", "show"}
OPTS = {"--now", "--quiet", "-q", "--no-pager", "--no-block", "--full", "-l", "--no-legend", "--plain", "--all", "-a"}
READY_TIMEOUT = 10.0


def unit_name(u):
    return u if "." in u else u + ".service"


def unit_file(u):
    for d in DIRS:
        if os.path.exists(P(d + "/" + u)):
            return d + "/" + u
    return None


def drop_ins(u):
    by_name = {}
    for d in reversed(DIRS):  # an earlier dir overrides a drop-in of the same name
        dd = P(d + "/" + u + ".d")
        if os.path.isdir(dd):
            for f in os.listdir(dd):
                if f.endswith(".conf"):
                    by_name[f] = d + "/" + u + ".d/" + f
    return [by_name[f] for f in sorted(by_name)]


def parse_unit(paths):
    """[(section, key, value)] of the unit file and its drop-ins, continuation lines joined."""
    out = []
    for path in paths:
        section = None
        text = open(P(path)).read().replace("\\\n", " ")
        for line in text.splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            out.append((section, k.strip(), v.strip()))
    return out


def env_assignments(value):
    """`Environment=` value: space-separated KEY=value words, each may be double-quoted."""
    out = {}
    for word in shlex.split(value):
        k, eq, v = word.partition("=")
        if eq:
            out[k] = v
    return out


def env_file(path):
    optional = path.startswith("-")
    path = path.lstrip("-")
    try:
        text = open(P(path)).read()
    except OSError:
        if optional:
            return {}
        raise RuntimeError("Failed to load environment files: No such file or directory")
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        k, eq, v = line.partition("=")
        if not eq:
            continue
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        out[k.strip()] = v
    return out


def expand(cmdline, env):
    """systemd's ExecStart expansion: $VAR -> its words, ${VAR} -> one word."""
    argv = []
    for word in shlex.split(cmdline):
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv.extend(env.get(m.group(1), "").split())
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda mm: env.get(mm.group(1), ""), word))
    return argv


def service_of(u):
    """(env, [ExecStartPre], ExecStart) of the unit with its drop-ins."""
    env, pre, start = {}, [], []
    for section, k, v in parse_unit([unit_file(u)] + drop_ins(u)):
        if section != "Service":
            continue
        if k == "Environment":
            env.update(env_assignments(v))
        elif k == "EnvironmentFile":
            env.update(env_file(v))
        elif k == "ExecStartPre":
            pre = [] if not v else pre + [v]
        elif k == "ExecStart":
            start = [] if not v else start + [v]
    return env, pre, start


def alive(pid):
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def journal(u, text):
    path = P(JOURNAL + "/" + u + ".log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write(time.strftime("%b %d %H:%M:%S ") + os.uname().nodename + " systemd[1]: " + text + "\n")


def start(u, s):
    """Run the unit's ExecStart; returns (ok, message)."""
    if alive(s.get("pid")):
        return True, None
    try:
        env, pre, cmds = service_of(u)
    except RuntimeError as e:
        journal(u, "%s: %s" % (u, e))
        s.update(active=False, result="resources", pid=None)
        return False, str(e)
    if not cmds:
        s.update(active=True, pid=None)  # a unit without a process (oneshot/target)
        return True, None
    full_env = dict(os.environ, **env)
    for line in pre:
        ignore = line.startswith("-")
        argv = expand(line.lstrip("-@+!"), full_env)
        try:
            rc = subprocess.call(argv, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            rc = 203
        if rc and not ignore:
            journal(u, "%s: Control process exited, code=exited, status=%d/FAILURE" % (u, rc))
            s.update(active=False, result="exit-code", pid=None)
            return False, None
    argv = expand(cmds[-1].lstrip("-@+!"), full_env)
    log = P(JOURNAL + "/" + u + ".log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    r, w = os.pipe()
    full_env["STANDIN_READY_FD"] = str(w)
    out = open(log, "ab")
    try:
        proc = subprocess.Popen([P(argv[0]) if os.path.exists(P(argv[0])) else argv[0]] + argv[1:], env=full_env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                                pass_fds=(w,), close_fds=True)
    except OSError as e:
        os.close(r)
        os.close(w)
        out.close()
        journal(u, "%s: Failed to execute %s: %s" % (u, argv[0], e.strerror))
        journal(u, "%s: Main process exited, code=exited, status=203/EXEC" % u)
        s.update(active=False, result="exit-code", pid=None, status=203)
        return False, None
    os.close(w)
    out.close()
    s.update(pid=proc.pid, active=True, result="success")
    got = b""
    deadline = time.time() + READY_TIMEOUT
    while time.time() < deadline:
        ready, _, _ = select.select([r], [], [], 0.1)
        if ready:
            chunk = os.read(r, 64)
            got += chunk
            if not chunk or b"READY=1" in got:
                break
        if proc.poll() is not None:
            break
    os.close(r)
    if b"READY=1" in got:
        return True, None
    try:
        rc = proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        return True, None  # still running, never said ready: like Type=simple
    journal(u, "%s: Main process exited, code=exited, status=%d/FAILURE" % (u, rc))
    journal(u, "%s: Failed with result 'exit-code'." % u)
    s.update(active=False, result="exit-code", pid=None, status=rc)
    return False, None


def stop(u, s):
    pid = s.get("pid")
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
        deadline = time.time() + 5
        while alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        journal(u, "Stopped %s." % u)
    s.update(active=False, pid=None, result="success")


def state_of(s):
    if s.get("pid") and not alive(s["pid"]):
        s.update(active=False, pid=None, result="exit-code")
    if s.get("active"):
        return "active"
    return "failed" if s.get("result") not in (None, "success") else "inactive"


def tail(u, n=10):
    try:
        with open(P(JOURNAL + "/" + u + ".log"), errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


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
            failed = False
            if verb in ("restart", "try-restart") and (verb == "restart" or state_of(s) == "active"):
                stop(u, s)
                failed = not start(u, s)[0]
            elif verb in ("start", "reload"):
                failed = not start(u, s)[0]
            elif verb == "stop":
                stop(u, s)
            elif verb == "enable":
                s["enabled"] = True
                if "--now" in opts:
                    failed = not start(u, s)[0]
                if not quiet:
                    sys.stderr.write("Created symlink /etc/systemd/system/multi-user.target.wants/%s → %s.\n" % (u, unit_file(u)))
            elif verb == "disable":
                s["enabled"] = False
                if "--now" in opts:
                    stop(u, s)
            elif verb == "is-active":
                now = state_of(s)
                if not quiet:
                    print(now)
                rc = rc or (0 if now == "active" else 3)
            elif verb == "is-enabled":
                if not quiet:
                    print("enabled" if s["enabled"] else ("disabled" if exists else "Failed to get unit file state for %s: No such file or directory" % u))
                rc = rc or (0 if s["enabled"] else 1)
            elif verb == "is-failed":
                now = state_of(s)
                if not quiet:
                    print(now)
                rc = rc or (0 if now == "failed" else 1)
            elif verb == "reset-failed":
                if state_of(s) == "failed":
                    s["result"] = "success"
            elif verb == "status":
                now = state_of(s)
                shown = {"active": "active (running)%s" % (" main PID: %s" % s["pid"] if s.get("pid") else ""),
                         "failed": "failed (Result: %s)" % s.get("result"), "inactive": "inactive (dead)"}[now]
                print("● %s\n     Loaded: loaded (%s; %s)\n     Active: %s\n" % (u, unit_file(u), "enabled" if s["enabled"] else "disabled", shown))
                print("\n".join(tail(u)))
                rc = rc or (0 if now == "active" else 3)
            elif verb == "cat":
                for f in [unit_file(u)] + drop_ins(u):
                    print("# " + f)
                    print(open(P(f)).read())
            if failed:
                sys.stderr.write('Job for %s failed because the control process exited with error code.\n'
                                 'See "systemctl status %s" and "journalctl -xe" for details.\n' % (u, u))
                rc = 1
        if verb == "list-units":
            for u, s in sorted(st.items()):
                print("%s loaded %s" % (u, {"active": "active running", "failed": "failed failed"}.get(state_of(s), "inactive dead")))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, sort_keys=True)
        os.replace(tmp, path)
    return rc


def journalctl(argv, state):
    """`journalctl -u UNIT [-n N] [--no-pager] [-x] [-e] [-l]`: the unit's output."""
    units, n, i = [], None, 0
    while i < len(argv):
        a = argv[i]
        if a in ("-u", "--unit"):
            units.append(unit_name(argv[i + 1]))
            i += 1
        elif a.startswith("--unit="):
            units.append(unit_name(a.split("=", 1)[1]))
        elif a in ("-n", "--lines"):
            n = int(argv[i + 1])
            i += 1
        elif a.startswith("--lines="):
            n = int(a.split("=", 1)[1])
        elif a in ("--no-pager", "-x", "-e", "-l", "--full", "-q", "--quiet", "-xe", "-xeu"):
            pass
        else:
            sys.stderr.write("journalctl: unrecognized option '%s'\n" % a)
            return 1
        i += 1
    if not units:
        sys.stderr.write("journalctl (stand-in): give -u UNIT\n")
        return 1
    for u in units:
        lines = tail(u, n or 10 ** 6)
        if not lines:
            print("-- No entries --")
        for line in lines:
            print(line)
    return 0


def entry():
    run_tool("systemctl", main)


def journalctl_entry():
    run_tool("journalctl", journalctl)
