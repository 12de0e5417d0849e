"""The stand-in API server's workload controllers: Deployments and DaemonSets get pods whose
images come from their pod template, and a status, as kube-controller-manager and the
kubelets would give them, computed when workloads or pods are read or written
(`reconcile`, called by apiserver.py under the store's write lock).

What a pod becomes depends on the images of its template: an image the registry holds
(`pullable`) runs and is Ready; one it lacks stays Pending with its container waiting,
reason ImagePullBackOff, message `Back-off pulling image "<image>"` (kubernetes v1.22
pkg/kubelet/images/image_manager.go). A rolling update whose new pods never become ready
stops where the real controllers stop (new pods surge/replace within maxSurge and
maxUnavailable, the old pods that keep the workload available stay), so `kubectl rollout
status` waits until its timeout. Sources (kubernetes v1.22): pkg/controller/deployment
(rolling.go, sync.go: status fields, conditions), pkg/controller/daemon (update.go:
maxUnavailable), pkg/registry/apps/*/strategy.go (metadata.generation bumped on a spec
change), staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go (what
`rollout status` reads). Node readiness and taints are not modelled: a DaemonSet's pods go to
every node its nodeSelector/required node affinity selects, a Deployment's to a schedulable
one (cloud nodes first).
"""
import hashlib
import json
import math
import time

from . import store
from .common import read

#: The images the simulated registry holds when REGISTRY does not exist: SuperEdge's
#: components at the tags edgeadm releases (v0.8.0, v0.8.1, v0.8.2, v0.9.0) in edgeadm's
#: default repository (pkg/edgeadm/constant/const.go ImageRepository), edge-coredns'
#: coredns:1.6.9, edge kube-proxy and flannel, and kubeadm 1.22.6's own add-on images.
SUPEREDGE_REPOSITORY = "superedge.tencentcloudcr.com/superedge"
SUPEREDGE_IMAGES = ("tunnel", "edge-health", "edge-health-admission", "site-manager",
                    "application-grid-controller", "application-grid-wrapper", "lite-apiserver")
SUPEREDGE_TAGS = ("v0.8.0", "v0.8.1", "v0.8.2", "v0.9.0")
DEFAULT_IMAGES = tuple(
    ["%s/%s:%s" % (SUPEREDGE_REPOSITORY, n, t) for n in SUPEREDGE_IMAGES for t in SUPEREDGE_TAGS]
    + ["%s/coredns:1.6.9" % SUPEREDGE_REPOSITORY, "%s/kube-proxy:v1.22.6" % SUPEREDGE_REPOSITORY,
       "%s/flannel:v0.12.0-edge-2.0" % SUPEREDGE_REPOSITORY,
       "k8s.gcr.io/kube-proxy:v1.22.6", "k8s.gcr.io/coredns/coredns:v1.8.4", "k8s.gcr.io/pause:3.5"])
#: The registry's images, one `repository:tag` a line (# comments); tests edit it.
REGISTRY = "/etc/standins/registry"

KINDS = {"deployments": "Deployment", "daemonsets": "DaemonSet"}
#: Requests whose answer depends on the controllers' work.
SYNCED = {"deployments", "daemonsets", "pods", "replicasets"}
SIDE = "rollout"     # the store's table of what each workload's controller last saw


def images_in_registry():
    text = read(REGISTRY)
    if text is None:
        return set(DEFAULT_IMAGES)
    return {l.split("#", 1)[0].strip() for l in text.splitlines()} - {""}


def pullable(image, registry):
    """Whether the kubelet could pull `image` (no tag: `latest`)."""
    last = image.rsplit("/", 1)[-1]
    if "@" not in last and ":" not in last:
        image += ":latest"
    return image in registry


def _hash(obj, n=10):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:n]


def _scaled(value, total, up):
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        x = float(value[:-1]) * total / 100
        return int(math.ceil(x) if up else math.floor(x))
    return int(value)


def _selected(pod_spec, node):
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []

    def term_ok(term):
        for e in term.get("matchExpressions") or []:
            k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
            if op == "Exists" and k not in labels or op == "DoesNotExist" and k in labels:
                return False
            if op == "In" and labels.get(k) not in vals or op == "NotIn" and labels.get(k) in vals:
                return False
        return True
    return not terms or any(term_ok(t) for t in terms)


def _pod(w, kind, slot, node, template, thash, registry):
    md = w["metadata"]
    spec = json.loads(json.dumps(template.get("spec") or {}))
    if node:
        spec["nodeName"] = node
    if kind == "Deployment":
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "%s-%s" % (md["name"], thash)}
        name = "%s-%s-%s" % (md["name"], thash, _hash([slot], 5))
    else:
        owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": md["name"], "uid": md.get("uid")}
        name = "%s-%s" % (md["name"], _hash([thash, slot], 5))
    owner.update(controller=True, blockOwnerDeletion=True)
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels["controller-revision-hash" if kind == "DaemonSet" else "pod-template-hash"] = thash
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": md.get("namespace"), "labels": labels,
                        "ownerReferences": [owner],
                        "annotations": {"standins.simsite/slot": slot}},
           "spec": spec}
    pod["status"] = _pod_status(spec, registry)
    return pod


def _pod_status(spec, registry):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    statuses, ready = [], True
    for c in spec.get("containers") or []:
        image = c.get("image", "")
        if pullable(image, registry):
            statuses.append({"name": c.get("name"), "image": image, "ready": True, "restartCount": 0,
                             "started": True, "state": {"running": {"startedAt": now}}})
        else:
            ready = False
            statuses.append({"name": c.get("name"), "image": image, "imageID": "", "ready": False,
                             "restartCount": 0, "started": False,
                             "state": {"waiting": {"reason": "ImagePullBackOff",
                                                   "message": 'Back-off pulling image "%s"' % image}}})
    cond = "True" if ready else "False"
    return {"phase": "Running" if ready else "Pending", "containerStatuses": statuses,
            "conditions": [{"type": "PodScheduled", "status": "True"},
                           {"type": "Initialized", "status": "True"},
                           {"type": "ContainersReady", "status": cond},
                           {"type": "Ready", "status": cond}]}


def _is_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def reconcile(data):
    """One pass of the controllers over the store `data`; True when it changed anything."""
    objs = data["objects"]
    registry = images_in_registry()
    side = data.setdefault(SIDE, {})
    changed = False
    nodes = sorted((o for kk, o in objs.items() if kk.startswith("|nodes||")),
                   key=lambda n: n["metadata"]["name"])
    live = set()
    for kk in sorted(kk for kk in objs if kk.split("|")[1] in KINDS and kk.startswith("apps|")):
        live.add(kk)
        changed |= _workload(data, objs, side, kk, KINDS[kk.split("|")[1]], nodes, registry)
    for kk in [kk for kk in side if kk not in live]:
        del side[kk]   # the workload is gone: so are its pods (garbage collection)
        for pk in _owned_pods(objs, kk):
            del objs[pk]
        changed = True
    return changed


def _owned_pods(objs, wkey):
    _, _, ns, name = wkey.split("|")
    kind = KINDS[wkey.split("|")[1]]
    out = []
    for pk, p in objs.items():
        if not pk.startswith("|pods|%s|" % ns):
            continue
        for r in (p.get("metadata") or {}).get("ownerReferences") or []:
            if kind == "DaemonSet" and r.get("kind") == "DaemonSet" and r.get("name") == name:
                out.append(pk)
            elif (kind == "Deployment" and r.get("kind") == "ReplicaSet" and r.get("name", "").startswith(name + "-")
                  and "-" not in r["name"][len(name) + 1:]):
                out.append(pk)
    return out


def _workload(data, objs, side, wkey, kind, nodes, registry):
    w = objs[wkey]
    spec = w.get("spec") or {}
    template = spec.get("template") or {}
    if not (template.get("spec") or {}).get("containers"):
        return False
    md = w.setdefault("metadata", {})
    seen = side.get(wkey) or {}
    spec_hash, thash = _hash(spec), _hash(template)
    gen = seen.get("generation") or md.get("generation") or 1
    if seen and seen.get("spec") != spec_hash:
        gen = seen.get("generation", 0) + 1      # PrepareForUpdate: a new spec, a new generation
    side[wkey] = {"spec": spec_hash, "generation": gen}
    ns = md.get("namespace")
    pods = {pk: objs[pk] for pk in _owned_pods(objs, wkey)}
    names = {n["metadata"]["name"] for n in nodes}
    for pk in [pk for pk, p in pods.items() if (p.get("spec") or {}).get("nodeName") not in names | {"", None}]:
        del objs[pk], pods[pk]          # the pod garbage collector: its node is gone
    new = {pk: p for pk, p in pods.items()
           if ((p["metadata"].get("labels") or {}).get("pod-template-hash" if kind == "Deployment"
                                                         else "controller-revision-hash")) == thash}
    old = {pk: p for pk, p in pods.items() if pk not in new}
    if kind == "Deployment":
        replicas = int(spec.get("replicas", 1))
        ru = ((spec.get("strategy") or {}).get("rollingUpdate") or {})
        surge = _scaled(ru.get("maxSurge", "25%"), replicas, True)
        unavailable = _scaled(ru.get("maxUnavailable", "25%"), replicas, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1                          # deploymentutil.ResolveFenceposts
        # the scheduler's choice, simplified: a schedulable node the pod may go to, cloud
        # nodes (no superedge.io/node-edge label) first
        fits = [n for n in nodes if not (n.get("spec") or {}).get("unschedulable")
                and _selected(template.get("spec") or {}, n)]
        fits.sort(key=lambda n: ("superedge.io/node-edge" in ((n["metadata"].get("labels")) or {}),
                                 n["metadata"]["name"]))
        node = fits[0]["metadata"]["name"] if fits else ""
        slots = [(str(i), node) for i in range(replicas)]
    else:
        eligible = [n["metadata"]["name"] for n in nodes if _selected(template.get("spec") or {}, n)]
        ru = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {})
        unavailable = max(1, _scaled(ru.get("maxUnavailable", 1), len(eligible), True))
        slots = [(n, n) for n in eligible]
    ok = all(pullable(c.get("image", ""), registry) for c in template["spec"]["containers"])
    want_new, keep_old = _plan(kind, slots, old, ok, unavailable, surge if kind == "Deployment" else 0,
                               len(new))
    desired = {}
    for slot, node in want_new:
        p = _pod(w, kind, slot, node, template, thash, registry)
        desired[store.key("", "pods", ns, p["metadata"]["name"])] = p
    for pk in keep_old:
        desired[pk] = old[pk]
    changed = False
    for pk in list(pods):
        if pk not in desired:
            del objs[pk]
            changed = True
    for pk, p in desired.items():
        cur = objs.get(pk)
        if cur is None:
            objs[pk] = store.stamp(data, p)
            changed = True
        elif pk in new and cur.get("status", {}).get("containerStatuses") and \
                _is_ready(cur) != _is_ready(p):          # an image pulled since, or gone
            cur["status"] = p["status"]
            store.stamp(data, cur, cur)
            changed = True
    present = [objs[pk] for pk in desired]
    n_new = sum(1 for pk in desired if pk not in old)
    n_ready = sum(1 for p in present if _is_ready(p))
    if kind == "Deployment":
        done = n_new == replicas and not keep_old and n_ready >= replicas
        status = {"observedGeneration": gen, "replicas": len(present), "updatedReplicas": n_new,
                  "readyReplicas": n_ready, "availableReplicas": n_ready,
                  "unavailableReplicas": max(0, replicas - n_ready),
                  "conditions": [
                      {"type": "Available", "status": "True" if n_ready >= replicas - unavailable else "False",
                       "reason": "MinimumReplicasAvailable" if n_ready >= replicas - unavailable
                       else "MinimumReplicasUnavailable"},
                      {"type": "Progressing", "status": "True",
                       "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                       "message": 'ReplicaSet "%s-%s" %s.' % (md["name"], thash,
                                                               "has successfully progressed" if done else "is progressing")}]}
        for k in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[k]:
                del status[k]                      # omitempty
    else:
        status = {"observedGeneration": gen, "desiredNumberScheduled": len(slots),
                  "currentNumberScheduled": len(present), "numberMisscheduled": 0,
                  "updatedNumberScheduled": n_new, "numberReady": n_ready, "numberAvailable": n_ready,
                  "numberUnavailable": max(0, len(slots) - n_ready)}
        for k in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not status[k]:
                del status[k]
    if md.get("generation") != gen or w.get("status") != status:
        md["generation"] = gen
        w["status"] = status
        store.stamp(data, w, w)
        changed = True
    return changed


def _plan(kind, slots, old, ok, unavailable, surge, n_new):
    """(new pods to have: [(slot, node)], old pods to keep: [key]) once the controller has done
    what it can: all new when the new pods come up; else the first new ones within the
    rolling update's bounds, the old ones that keep the workload available."""
    if ok or not old:
        return slots, []
    old_keys = sorted(old)
    if kind == "Deployment":
        n = len(slots)
        n_new = min(n, surge + unavailable)
        return slots[:n_new], old_keys[:max(0, n - unavailable)]
    # DaemonSet: at most maxUnavailable nodes run an unavailable pod (the new ones that do not
    # come up count); a node without any pod gets a new one.
    by_node = {}
    for pk in old_keys:
        by_node.setdefault((old[pk].get("spec") or {}).get("nodeName"), pk)
    new, keep, budget = [], [], unavailable - n_new
    for slot, node in slots:
        if node in by_node and budget <= 0:
            keep.append(by_node[node])
        else:
            if node in by_node:
                budget -= 1
            new.append((slot, node))
    return new, keep
