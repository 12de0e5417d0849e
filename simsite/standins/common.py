"""Shared machinery: paths under STANDIN_ROOT, the ledger, fault injection, pflag-style parsing."""
import fcntl
import json
import os
import socket
import sys
import time

ROOT = os.environ.get("STANDIN_ROOT", "/")


def P(path):
    """Map an absolute host path under STANDIN_ROOT (tests only)."""
    if ROOT in ("", "/"):
        return path
    return os.path.join(ROOT, path.lstrip("/"))


LEDGER = "/var/log/standins/ledger.jsonl"
FAIL_AT = "/etc/standins/fail-at"


class Exit(Exception):
    def __init__(self, code, phase=None):
        super().__init__(code)
        self.code = code
        self.phase = phase


def record(tool, argv, code, phase=None):
    entry = {"tool": tool, "argv": list(argv), "time": round(time.time(), 3), "exit": code,
             "cwd": os.getcwd() if os.path.isdir(os.getcwd()) else None}
    if phase:
        entry["phase"] = phase
    path = P(LEDGER)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(json.dumps(entry, sort_keys=True) + "\n")
    except OSError:
        pass


def fault(spec_prefixes):
    """Return the matching fail-at spec (and consume it if marked `once`), else None."""
    path = P(FAIL_AT)
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] in spec_prefixes:
            if "once" in words[1:]:
                rest = lines[:i] + lines[i + 1:]
                try:
                    with open(path, "w") as f:
                        f.write("\n".join(rest) + ("\n" if rest else ""))
                except OSError:
                    pass
            return words[0]
    return None


def run_tool(tool, main):
    argv = sys.argv[1:]
    state = {"phase": None}
    code = 0
    try:
        code = main(argv, state) or 0
    except Exit as e:
        code = e.code
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except KeyboardInterrupt:
        code = 130
    record(tool, argv, code, state.get("phase"))
    sys.stdout.flush()
    os._exit(code)


# ---------------------------------------------------------------- pflag-style parsing
class FlagError(Exception):
    pass


def parse_flags(args, spec, shorts=None, normalize=True, interspersed=True):
    """spec: name -> 'bool'|'str'|'list'|'int'|'multi'. Returns (values, positionals).

    Raises FlagError('unknown flag: --x') / ('unknown shorthand flag: 'x' in -x') /
    ('flag needs an argument: --x') like pflag."""
    shorts = shorts or {}
    vals, pos = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1:])
            break
        if a.startswith("--") and len(a) > 2:
            name, eq, value = a[2:].partition("=")
            if normalize:
                name = name.replace("_", "-")
            if name not in spec:
                raise FlagError("unknown flag: --%s" % name)
            kind = spec[name]
            if kind == "bool":
                if eq:
                    if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                        raise FlagError('invalid argument "%s" for "--%s" flag: strconv.ParseBool: parsing "%s": invalid syntax' % (value, name, value))
                    vals[name] = value.lower() in ("true", "1", "t")
                else:
                    vals[name] = True
            else:
                if not eq:
                    if i + 1 >= len(args):
                        raise FlagError("flag needs an argument: --%s" % name)
                    i += 1
                    value = args[i]
                _store(vals, name, kind, value)
        elif a.startswith("-") and len(a) > 1:
            ch = a[1]
            if ch not in shorts:
                raise FlagError("unknown shorthand flag: '%s' in %s" % (ch, a))
            name = shorts[ch]
            kind = spec[name]
            rest = a[2:]
            if kind == "bool":
                vals[name] = True if not rest.startswith("=") else rest[1:].lower() in ("true", "1")
            else:
                if rest.startswith("="):
                    rest = rest[1:]
                if not rest:
                    if i + 1 >= len(args):
                        raise FlagError("flag needs an argument: '%s' in -%s" % (ch, ch))
                    i += 1
                    rest = args[i]
                _store(vals, name, kind, rest)
        else:
            pos.append(a)
            if not interspersed:
                pos.extend(args[i + 1:])
                break
        i += 1
    return vals, pos


def _store(vals, name, kind, value):
    if kind == "list":
        vals.setdefault(name, []).extend([v for v in value.split(",") if v])
    elif kind == "multi":
        vals.setdefault(name, []).append(value)
    elif kind == "int":
        try:
            vals[name] = int(value)
        except ValueError:
            raise FlagError('invalid argument "%s" for "--%s" flag: strconv.ParseInt: parsing "%s": invalid syntax' % (value, name, value))
    else:
        vals[name] = value


def err(msg):
    sys.stderr.write(msg if msg.endswith("\n") else msg + "\n")


def read(path, default=None):
    try:
        with open(P(path)) as f:
            return f.read()
    except OSError:
        return default


def write(path, data, mode=0o644):
    p = P(path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    tmp = p + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, mode)
    os.replace(tmp, p)


def exists(path):
    return os.path.exists(P(path))


def default_ip():
    """This host's address on the simulated site's bridge."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("198.18.0.1", 9))
        ip = s.getsockname()[0]
        s.close()
        return ip
    except OSError:
        return "127.0.0.1"


def ready():
    """Tell the stand-in systemctl that the daemon is up (sd_notify's READY=1)."""
    fd = os.environ.get("STANDIN_READY_FD")
    if fd:
        try:
            os.write(int(fd), b"READY=1\n")
            os.close(int(fd))
        except OSError:
            pass


def loopback(root=None):
    """The address a component told to listen on 127.0.0.1 uses. On a simulated host (its own
    network namespace) that is 127.0.0.1; a STANDIN_ROOT sandbox shares the machine's loopback
    with other sandboxes, so it takes its own 127.x.y.z (any 127/8 address is local on Linux),
    derived from the sandbox's root so every process of the sandbox finds the same one."""
    import hashlib
    root = ROOT if root is None else str(root)
    if root in ("", "/"):
        return "127.0.0.1"
    h = hashlib.sha256(os.path.realpath(root).encode()).digest()
    return "127.%d.%d.%d" % (h[0], h[1], 1 + h[2] % 253)


def local_host(host):
    """`host` of a listen or probe address, with 127.0.0.1/localhost mapped by loopback()."""
    return loopback() if host in ("127.0.0.1", "localhost") else host


def alive(pid):
    """True when process `pid` runs (a zombie, left by a parent that does not reap, does not)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def go_flags(argv):
    """A component's `--name=value` / `--name value` / `--flag` arguments as {name: value}."""
    out, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if not eq and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                i += 1
                value = argv[i]
            elif not eq:
                value = "true"
            out[name] = value
        i += 1
    return out
