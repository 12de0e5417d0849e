"""The stand-in API server's object store: one JSON file, fcntl-locked.

etcd is replicated: every master's member holds the same data. The stand-in models the
replicated data as one store file that all masters of a cluster open, in CLUSTER_DIR, which
the simulated site bind-mounts from one directory of its own into every host (so the same file
and its lock are seen by all of them: flock works across mount namespaces). A cluster's
store is named by its etcd CA (the members of one etcd cluster trust one CA), so two clusters
on one site keep apart. A host without an etcd CA (or a unit-test sandbox before its
certificates) uses its own store under LOCAL_STORE. See STANDINS.md, "etcd".
"""
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid

from .common import P, read

LOCAL_STORE = "/var/lib/standins/apiserver/store.json"
STORE = LOCAL_STORE  # the name older callers know
CLUSTER_DIR = "/var/lib/standins/etcd-cluster"
ETCD_CA = "/etc/kubernetes/pki/etcd/ca.crt"


def cluster_dir(etcd_ca_pem=None):
    """The shared directory of the etcd cluster whose CA is `etcd_ca_pem` (this host's by
    default), or None without an etcd CA."""
    pem = etcd_ca_pem if etcd_ca_pem is not None else read(ETCD_CA)
    if not pem:
        return None
    return "%s/%s" % (CLUSTER_DIR, hashlib.sha256(pem.encode() if isinstance(pem, str) else pem).hexdigest()[:16])


def path():
    d = cluster_dir()
    return P(d + "/store.json") if d else P(LOCAL_STORE)


@contextlib.contextmanager
def locked(write=False):
    p = path()
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        try:
            with open(p) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {"rv": 1, "objects": {}}
        yield data
        if write:
            tmp = p + ".tmp%d" % os.getpid()
            with open(tmp, "w") as f:
                json.dump(data, f, sort_keys=True)
            os.replace(tmp, p)


@contextlib.contextmanager
def _members(d):
    os.makedirs(P(d), exist_ok=True)
    with open(P(d + "/members.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(P(d + "/members.json")) as f:
                members = json.load(f)
        except (OSError, ValueError):
            members = {}
        yield members
        tmp = P(d + "/members.json.tmp%d" % os.getpid())
        with open(tmp, "w") as f:
            json.dump(members, f, sort_keys=True)
        os.replace(tmp, P(d + "/members.json"))


def add_member(name, peer_url):
    """An etcd member joins the cluster (its process does at start; kubeadm's etcd phases add it)."""
    d = cluster_dir()
    if d:
        with _members(d) as m:
            m[name] = peer_url


def members():
    d = cluster_dir()
    if not d:
        return {}
    try:
        with open(P(d + "/members.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def remove_member(name):
    """`kubeadm reset`'s remove-etcd-member: this member leaves; the last one to leave takes the
    cluster's data with it (as deleting /var/lib/etcd on every master does). Call before the
    etcd CA is deleted. Returns the members left."""
    d = cluster_dir()
    if not d:
        return {}
    with _members(d) as m:
        m.pop(name, None)
        left = dict(m)
    if not left:
        shutil.rmtree(P(d), ignore_errors=True)
    return left


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
