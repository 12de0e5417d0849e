"""The stand-in apiserver's object store: one JSON file, fcntl-locked."""
import contextlib
import fcntl
import json
import os
import time
import uuid

from .common import P

STORE = "/var/lib/standins/apiserver/store.json"


@contextlib.contextmanager
def locked(write=False):
    path = P(STORE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {"rv": 1, "objects": {}}
        yield data
        if write:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(data, f, sort_keys=True)
            os.replace(tmp, path)


def key(group, plural, ns, name):
    return "%s|%s|%s|%s" % (group, plural, ns or "", name)


def stamp(data, obj, old=None):
    data["rv"] += 1
    md = obj.setdefault("metadata", {})
    md["resourceVersion"] = str(data["rv"])
    if old:
        md["uid"] = old.get("metadata", {}).get("uid")
        md["creationTimestamp"] = old.get("metadata", {}).get("creationTimestamp")
    md.setdefault("uid", str(uuid.uuid4()))
    md.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return obj
