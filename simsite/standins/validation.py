"""kubectl 1.22's client-side validation (`--validate=true`, the default) for the kinds the chain
applies with kubectl, and a few more the tests apply.

kubectl validates each document against the server's OpenAPI schema before it sends it
(`staging/src/k8s.io/kubectl/pkg/validation/schema.go`, `.../pkg/util/openapi/validation`,
with kube-openapi's `pkg/util/proto/validation`): a field the type does not have, a required
field that is missing, and a value of the wrong JSON type are errors, reported as
`ValidationError(<Kind>.<path>): unknown field "x" in <type>`, `missing required field "x" in
<type>`, `invalid type for <type>.<field>: got "string", expected "integer"`. Field names
and required fields are transcribed from `staging/src/k8s.io/api/{core,rbac}/v1/types.go` and
`staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go` (v1.22; the OpenAPI type names
are the Go packages').

Validated: v1 Namespace, ConfigMap, Secret, ServiceAccount; rbac.authorization.k8s.io/v1 Role,
RoleBinding, ClusterRole, ClusterRoleBinding. Other kinds (Pods, Nodes, workloads, custom
resources) are sent unvalidated: simplification.
"""

S, I, B = "string", "integer", "boolean"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
RBACT = "io.k8s.api.rbac.v1."


def arr(t):
    return ("array", t)


def smap(t=S):
    return ("map", t)


#: type name -> ({field: type}, required fields). A type is a primitive name, a type name, or
#: ("array"|"map", element type).
TYPES = {
    META + "ObjectMeta": ({
        "annotations": smap(), "clusterName": S, "creationTimestamp": S, "deletionGracePeriodSeconds": I,
        "deletionTimestamp": S, "finalizers": arr(S), "generateName": S, "generation": I, "labels": smap(),
        "managedFields": arr(META + "ManagedFieldsEntry"), "name": S, "namespace": S,
        "ownerReferences": arr(META + "OwnerReference"), "resourceVersion": S, "selfLink": S, "uid": S}, ()),
    META + "OwnerReference": ({"apiVersion": S, "blockOwnerDeletion": B, "controller": B, "kind": S, "name": S, "uid": S},
                              ("apiVersion", "kind", "name", "uid")),
    META + "ManagedFieldsEntry": ({"apiVersion": S, "fieldsType": S, "fieldsV1": "object", "manager": S, "operation": S,
                                   "subresource": S, "time": S}, ()),
    META + "LabelSelector": ({"matchExpressions": arr(META + "LabelSelectorRequirement"), "matchLabels": smap()}, ()),
    META + "LabelSelectorRequirement": ({"key": S, "operator": S, "values": arr(S)}, ("key", "operator")),
    CORE + "Namespace": ({"apiVersion": S, "kind": S, "metadata": META + "ObjectMeta", "spec": CORE + "NamespaceSpec",
                          "status": CORE + "NamespaceStatus"}, ()),
    CORE + "NamespaceSpec": ({"finalizers": arr(S)}, ()),
    CORE + "NamespaceStatus": ({"conditions": arr(CORE + "NamespaceCondition"), "phase": S}, ()),
    CORE + "NamespaceCondition": ({"lastTransitionTime": S, "message": S, "reason": S, "status": S, "type": S},
                                  ("status", "type")),
    CORE + "ConfigMap": ({"apiVersion": S, "binaryData": smap(), "data": smap(), "immutable": B, "kind": S,
                          "metadata": META + "ObjectMeta"}, ()),
    CORE + "Secret": ({"apiVersion": S, "data": smap(), "immutable": B, "kind": S, "metadata": META + "ObjectMeta",
                       "stringData": smap(), "type": S}, ()),
    CORE + "ServiceAccount": ({"apiVersion": S, "automountServiceAccountToken": B,
                               "imagePullSecrets": arr(CORE + "LocalObjectReference"), "kind": S,
                               "metadata": META + "ObjectMeta", "secrets": arr(CORE + "ObjectReference")}, ()),
    CORE + "LocalObjectReference": ({"name": S}, ()),
    CORE + "ObjectReference": ({"apiVersion": S, "fieldPath": S, "kind": S, "name": S, "namespace": S,
                                "resourceVersion": S, "uid": S}, ()),
    RBACT + "Role": ({"apiVersion": S, "kind": S, "metadata": META + "ObjectMeta", "rules": arr(RBACT + "PolicyRule")}, ()),
    RBACT + "ClusterRole": ({"aggregationRule": RBACT + "AggregationRule", "apiVersion": S, "kind": S,
                             "metadata": META + "ObjectMeta", "rules": arr(RBACT + "PolicyRule")}, ()),
    RBACT + "AggregationRule": ({"clusterRoleSelectors": arr(META + "LabelSelector")}, ()),
    RBACT + "PolicyRule": ({"apiGroups": arr(S), "nonResourceURLs": arr(S), "resourceNames": arr(S), "resources": arr(S),
                            "verbs": arr(S)}, ("verbs",)),
    RBACT + "RoleBinding": ({"apiVersion": S, "kind": S, "metadata": META + "ObjectMeta", "roleRef": RBACT + "RoleRef",
                             "subjects": arr(RBACT + "Subject")}, ("roleRef",)),
    RBACT + "ClusterRoleBinding": ({"apiVersion": S, "kind": S, "metadata": META + "ObjectMeta",
                                    "roleRef": RBACT + "RoleRef", "subjects": arr(RBACT + "Subject")}, ("roleRef",)),
    RBACT + "RoleRef": ({"apiGroup": S, "kind": S, "name": S}, ("apiGroup", "kind", "name")),
    RBACT + "Subject": ({"apiGroup": S, "kind": S, "name": S, "namespace": S}, ("kind", "name")),
}
#: (apiVersion, kind) -> the type kubectl validates it as.
KINDS = {("v1", k): CORE + k for k in ("Namespace", "ConfigMap", "Secret", "ServiceAccount")}
KINDS.update({("rbac.authorization.k8s.io/v1", k): RBACT + k for k in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")})


def _json_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "map"
    return "null"


def _check(value, typ, path, where, errs):
    """Validate `value` against `typ` at document path `path`; `where` names the field in the
    schema (`<type>.<field>`) for type errors."""
    if value is None:
        return  # null is accepted for every optional field
    if isinstance(typ, tuple):
        kind, elem = typ
        got = _json_type(value)
        if got != kind:
            errs.append('ValidationError(%s): invalid type for %s: got "%s", expected "%s"' % (path, where, got, kind))
            return
        items = enumerate(value) if kind == "array" else value.items()
        for k, v in items:
            sub = "%s[%d]" % (path, k) if kind == "array" else "%s.%s" % (path, k)
            _check(v, elem, sub, where, errs)
        return
    if typ in (S, I, B):
        got = _json_type(value)
        if got != typ:
            errs.append('ValidationError(%s): invalid type for %s: got "%s", expected "%s"' % (path, where, got, typ))
        return
    if typ == "object":
        return
    fields, required = TYPES[typ]
    if not isinstance(value, dict):
        errs.append('ValidationError(%s): invalid type for %s: got "%s", expected "map"' % (path, typ, _json_type(value)))
        return
    for k in sorted(value):
        if k not in fields:
            errs.append('ValidationError(%s): unknown field "%s" in %s' % (path, k, typ))
            continue
        _check(value[k], fields[k], "%s.%s" % (path, k), "%s.%s" % (typ, k), errs)
    for k in required:
        if k not in value:
            errs.append('ValidationError(%s): missing required field "%s" in %s' % (path, k, typ))


def errors(doc):
    """kubectl's validation errors for one document, [] when it validates (or is not a kind
    validated here)."""
    if not isinstance(doc, dict):
        return ["invalid object to validate"]
    missing = [m for m, k in (("apiVersion not set", "apiVersion"), ("kind not set", "kind")) if not doc.get(k)]
    if missing:
        return missing
    typ = KINDS.get((doc["apiVersion"], doc["kind"]))
    if typ is None:
        return []
    errs = []
    _check(doc, typ, doc["kind"], typ, errs)
    return errs


def message(source, errs):
    """kubectl's error line: one error as it is, several as a Go aggregate `[a, b]`."""
    body = errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"
    return ('error: error validating "%s": error validating data: %s; if you choose to ignore these errors, '
            "turn validation off with --validate=false" % (source, body))
