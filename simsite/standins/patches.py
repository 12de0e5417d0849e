"""PATCH bodies by Content-Type, as the API server applies them.

Sources (kubernetes v1.22): `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go`
(the accepted types; a custom resource takes no strategic merge patch; others are refused
with 415), RFC 7386 (merge patch), RFC 6902 (JSON patch: add, remove, replace, move, copy,
test), `staging/src/k8s.io/apimachinery/pkg/util/strategicpatch` (strategic merge: a list
with a `patchMergeKey` is merged item by item on that key, others replaced as in a merge patch;
the keys are the `patchMergeKey` tags of `staging/src/k8s.io/api/core/v1/types.go`).
"""
import copy
import json

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"

#: list field name -> the patchMergeKey of its items in the built-in types the site uses.
MERGE_KEYS = {"conditions": "type", "addresses": "type", "containers": "name", "initContainers": "name",
              "volumes": "name", "env": "name", "volumeMounts": "mountPath", "ownerReferences": "uid",
              "imagePullSecrets": "name", "tolerations": None, "taints": None}


class UnsupportedMediaType(Exception):
    pass


class PatchError(Exception):
    def __init__(self, message, invalid=False):
        super().__init__(message)
        self.invalid = invalid


def apply(ctype, obj, body, custom):
    accepted = [JSON_PATCH, MERGE] + ([] if custom else [STRATEGIC])
    if ctype not in accepted:
        raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types include: "
                                   + ", ".join(accepted))
    if ctype == JSON_PATCH:
        return json_patch(obj, body)
    if not isinstance(body, dict):
        raise PatchError("the patch of type %s must be a JSON object" % ctype)
    return merge(obj, body, strategic=ctype == STRATEGIC)


def merge(a, b, strategic=False):
    """RFC 7386; with strategic, lists of items with a merge key are merged on it."""
    if not isinstance(b, dict):
        return copy.deepcopy(b)
    # RFC 7386: a patch object applied to a non-object target patches an empty object (its
    # null members remove nothing and are not kept)
    a = a if isinstance(a, dict) else {}
    out = dict(a)
    for k, v in b.items():
        if k.startswith("$") and strategic:
            continue
        if v is None:
            out.pop(k, None)
        elif strategic and MERGE_KEYS.get(k) and isinstance(v, list) and isinstance(a.get(k), list):
            out[k] = _merge_list(a[k], v, MERGE_KEYS[k])
        else:
            out[k] = merge(a.get(k), v, strategic)
    return out


def _merge_list(old, new, key):
    out = [dict(x) for x in old]
    for item in new:
        if not isinstance(item, dict) or key not in item:
            raise PatchError("map: %s does not contain declared merge key: %s" % (json.dumps(item), key))
        at = [i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == item[key]]
        if item.get("$patch") == "delete":
            out = [x for i, x in enumerate(out) if i not in at]
        elif at:
            out[at[0]] = merge(out[at[0]], item, True)
        else:
            out.append({k: v for k, v in item.items() if not k.startswith("$")})
    return out


def json_patch(obj, ops):
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(obj)
    for op in ops:
        doc = _one(doc, op)
    return doc


def _one(doc, op):
    kind, path = op.get("op"), op.get("path")
    if kind not in ("add", "remove", "replace", "move", "copy", "test") or not isinstance(path, str):
        raise PatchError("Unexpected kind: %s" % kind)
    if kind == "test":
        if _get(doc, path) != op.get("value"):
            raise PatchError("testing value %s failed: test failed" % path, invalid=True)
        return doc
    if kind in ("move", "copy"):
        value = copy.deepcopy(_get(doc, op.get("from", "")))
        if kind == "move":
            doc = _set(doc, op["from"], None, remove=True)
        return _set(doc, path, value)
    if kind == "remove":
        return _set(doc, path, None, remove=True)
    if kind == "replace":
        _get(doc, path)  # must exist
    return _set(doc, path, op.get("value"), replace=kind == "replace")


def _parts(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("add operation does not apply: doc is missing path: %s" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _get(doc, path):
    cur = doc
    for p in _parts(path):
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError("doc is missing path: %s: missing value" % path, invalid=True)
    return cur


def _set(doc, path, value, remove=False, replace=False):
    parts = _parts(path)
    if not parts:
        return value
    parent = _get(doc, "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts[:-1])) if len(parts) > 1 else doc
    last = parts[-1]
    if isinstance(parent, dict):
        if remove:
            if last not in parent:
                raise PatchError("doc is missing path: %s: missing value" % path, invalid=True)
            del parent[last]
        else:
            parent[last] = value
    elif isinstance(parent, list):
        i = len(parent) if last == "-" else int(last) if last.isdigit() else -1
        if i < 0 or i > len(parent) or remove and i == len(parent):
            raise PatchError("doc is missing path: %s: missing value" % path, invalid=True)
        if remove:
            del parent[i]
        elif replace:
            parent[i] = value
        else:
            parent.insert(i, value)
    else:
        raise PatchError("doc is missing path: %s: missing value" % path, invalid=True)
    return doc
