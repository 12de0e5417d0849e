"""Discovery documents of the stand-in API server, shaped as a v1.22 kube-apiserver serves them.

Sources (kubernetes v1.22): `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go`
(APIVersions, APIGroupList, APIGroup, APIResourceList, APIResource),
`staging/src/k8s.io/apiserver/pkg/endpoints/installer.go` (one entry per resource and per
subresource `<plural>/<sub>`; built-in resources have an empty singularName in 1.22, custom
resources the CRD's `names.singular`), the shortNames and categories of each type's REST storage
(`pkg/registry/*/*/storage/storage.go` ShortNames/Categories). A 1.22 server has no aggregated
discovery (`apidiscovery.k8s.io`, added in 1.26): a client asking for it gets the plain
documents with `Content-Type: application/json`, which clients accept (they fall back).

Verbs list only what the stand-in serves: no `watch` (see STANDINS.md).
"""

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
STATUS = ["get", "patch", "update"]

#: plural -> (shortNames, categories, {subresource: verbs}) of the built-in resources.
META = {
    "nodes": (["no"], [], {"status": STATUS}),
    "namespaces": (["ns"], [], {"status": STATUS}),
    "configmaps": (["cm"], [], {}),
    "secrets": ([], [], {}),
    "pods": (["po"], ["all"], {"status": STATUS}),
    "services": (["svc"], ["all"], {"status": STATUS}),
    "serviceaccounts": (["sa"], [], {}),
    "endpoints": (["ep"], [], {}),
    "endpointslices": ([], [], {}),
    "events": (["ev"], [], {}),
    "deployments": (["deploy"], ["all"], {"status": STATUS}),
    "daemonsets": (["ds"], ["all"], {"status": STATUS}),
    "statefulsets": (["sts"], ["all"], {"status": STATUS}),
    "replicasets": (["rs"], ["all"], {"status": STATUS}),
    "poddisruptionbudgets": (["pdb"], [], {"status": STATUS}),
    "certificatesigningrequests": (["csr"], [], {"status": STATUS}),
    "customresourcedefinitions": (["crd", "crds"], [], {"status": STATUS}),
}


def gv_string(group, version):
    return (group + "/" if group else "") + version


def crd_versions(objs):
    """(spec, names, version) for each version of each installed CRD."""
    for k, o in objs.items():
        if not k.startswith("apiextensions.k8s.io|customresourcedefinitions|"):
            continue
        spec = o.get("spec") or {}
        names = spec.get("names") or {}
        for v in spec.get("versions") or []:
            yield spec, names, v


def crd_meta(objs):
    """(group, version, plural) -> (shortNames, categories, singular, {subresource: verbs}) of installed CRDs."""
    out = {}
    for spec, names, v in crd_versions(objs):
        subs = {"status": STATUS} if "status" in (v.get("subresources") or {}) else {}
        out[(spec.get("group"), v.get("name"), names.get("plural"))] = (
            names.get("shortNames") or [], names.get("categories") or [], names.get("singular") or "", subs)
    return out


def subresources(served, crds, group, version, plural):
    """{subresource: verbs} of a served resource; the eviction one is handled apart."""
    if (group, version, plural) in crds:
        return crds[(group, version, plural)][3]
    return META.get(plural, ([], [], {}))[2] if (group, version, plural) in served else {}


def resource_list(served, crds, group, version):
    """The APIResourceList of one group/version, or None when the server does not serve it."""
    res = []
    for (g, v, plural), (kind, namespaced) in sorted(served.items()):
        if (g, v) != (group, version):
            continue
        if (g, v, plural) in crds:
            short, cats, singular, subs = crds[(g, v, plural)]
        else:
            (short, cats, subs), singular = META.get(plural, ([], [], {})), ""
        entry = {"name": plural, "singularName": singular, "namespaced": namespaced, "kind": kind, "verbs": VERBS}
        if short:
            entry["shortNames"] = short
        if cats:
            entry["categories"] = cats
        res.append(entry)
        for sub, verbs in sorted(subs.items()):
            res.append({"name": "%s/%s" % (plural, sub), "singularName": "", "namespaced": namespaced, "kind": kind,
                        "verbs": verbs})
        if (g, plural) == ("", "pods"):
            res.append({"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy",
                        "version": "v1", "kind": "Eviction", "verbs": ["create"]})
    if not res:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv_string(group, version), "resources": res}


def groups(served):
    """{group: [versions]} of the named groups, each in the order a client should prefer."""
    out = {}
    for g, v, _ in served:
        if g and v not in out.setdefault(g, []):
            out[g].append(v)
    for g in out:
        out[g].sort(key=_priority, reverse=True)
    return out


def _priority(version):
    """Kubernetes version priority: GA > beta > alpha, then the higher number."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (-1, 0, 0)
    return ({None: 2, "beta": 1, "alpha": 0}[m.group(2)], int(m.group(1)), int(m.group(3) or 0))


def api_group(name, versions):
    vs = [{"groupVersion": name + "/" + v, "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def group_list(served):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [api_group(g, vs) for g, vs in sorted(groups(served).items())]}


def one_group(served, name):
    vs = groups(served).get(name)
    if not vs:
        return None
    return dict({"kind": "APIGroup", "apiVersion": "v1"}, **api_group(name, vs))


#: kubernetes v1.22.6's version.Info (`staging/src/k8s.io/component-base/version`).
VERSION = {"major": "1", "minor": "22", "gitVersion": "v1.22.6", "gitCommit": "f59f5c2fda36e4036b49ec027e556a15456108f0",
           "gitTreeState": "clean", "buildDate": "2022-01-19T17:26:47Z", "goVersion": "go1.16.12", "compiler": "gc",
           "platform": "linux/amd64"}
