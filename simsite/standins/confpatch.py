"""Stand-in `conf-patch` (edge-install container/docker/util/conf-patch, container/containerd/conf-patch).

The real program is a binary without published source; the install scripts call it as
`conf-patch -o ORIGINAL -p PATCH.json > PATCHED` (edge-install container/docker/install,
container/containerd/install, branch 1.22-AMD64). The stand-in merges a JSON patch into a JSON
original as a JSON merge patch (objects merge key by key, anything else replaces) and prints the
result. A non-JSON original (containerd's config.toml) is refused: our chain never writes a
containerd patch.json, so what the real program does with TOML is never needed here.
"""
import json
import sys

from .common import P, run_tool

USAGE = "Usage: conf-patch -o <origin file> -p <patch file>\n"


def merge(orig, patch):
    if not isinstance(orig, dict) or not isinstance(patch, dict):
        return patch
    out = dict(orig)
    for k, v in patch.items():
        out[k] = merge(orig.get(k), v) if v is not None else None
        if v is None:
            out.pop(k)
    return out


def main(argv, state):
    opts, i = {}, 0
    while i < len(argv):
        if argv[i] in ("-o", "-p") and i + 1 < len(argv):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            sys.stderr.write("flag provided but not defined: %s\n" % argv[i] + USAGE)
            return 2
    if set(opts) != {"-o", "-p"}:
        sys.stderr.write(USAGE)
        return 2
    try:
        with open(P(opts["-o"])) as f:
            orig = json.load(f)
        with open(P(opts["-p"])) as f:
            patch = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write("conf-patch: %s\n" % e)
        return 1
    print(json.dumps(merge(orig, patch), indent=2))
    return 0


def entry():
    run_tool("conf-patch", main)
