"""labelSelector and fieldSelector of list requests, parsed and matched as the API server does.

Sources (kubernetes v1.22): `staging/src/k8s.io/apimachinery/pkg/labels/selector.go` (label
selector grammar: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`),
`staging/src/k8s.io/apimachinery/pkg/fields/selector.go` (field selector: `k=v`, `k==v`, `k!=v`
only), the field label conversion functions of each type (`pkg/apis/core/v1/conversion.go`,
`pkg/apis/apps/v1/conversion.go`, `pkg/registry/core/*/strategy.go` ToSelectableFields): a field
the type does not index is refused with `400 BadRequest` "field label not supported: <field>".
"""
import re


class SelectorError(ValueError):
    """A selector the API server refuses (400 BadRequest)."""


# --- label selectors -----------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\(|\)|,|==|=|!=|!|>|<|[^\s(),=!<>]+)")


def _tokens(text):
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise SelectorError("unable to parse requirement: unexpected character at %d" % pos)
        out.append(m.group(1))
        pos = m.end()
    return out


def parse_labels(text):
    """A list of (key, op, values) requirements; raises SelectorError like labels.Parse."""
    toks, reqs, i = _tokens(text or ""), [], 0
    while i < len(toks):
        req, i = _requirement(toks, i)
        reqs.append(req)
        if i < len(toks):
            if toks[i] != ",":
                raise SelectorError("found '%s', expected: ',' or 'end of string'" % toks[i])
            i += 1
            if i == len(toks):
                raise SelectorError("found '', expected: identifier after ','")
    return reqs


def _requirement(toks, i):
    if toks[i] == "!":
        if i + 1 >= len(toks) or not _ident(toks[i + 1]):
            raise SelectorError("found '%s', expected: identifier after '!'" % (toks[i + 1] if i + 1 < len(toks) else ""))
        return (toks[i + 1], "!", []), i + 2
    key = toks[i]
    if not _ident(key):
        raise SelectorError("found '%s', expected: !, identifier, or 'end of string'" % key)
    if i + 1 >= len(toks) or toks[i + 1] == ",":
        return (key, "exists", []), i + 1
    op = toks[i + 1]
    if op in ("in", "notin"):
        return _set(toks, i + 2, key, op)
    if op in ("=", "==", "!=", ">", "<"):
        value = toks[i + 2] if i + 2 < len(toks) and _ident(toks[i + 2]) else ""
        if op in (">", "<") and not re.fullmatch(r"-?\d+", value):
            raise SelectorError("for 'Gt', 'Lt' operators, the value must be an integer")
        return (key, "=" if op == "==" else op, [value]), i + 2 + (1 if value else 0)
    raise SelectorError("found '%s', expected: in, notin, =, ==, !=, gt, lt" % op)


def _set(toks, i, key, op):
    if i >= len(toks) or toks[i] != "(":
        raise SelectorError("found '%s', expected: '('" % (toks[i] if i < len(toks) else ""))
    values, i = [], i + 1
    while i < len(toks) and toks[i] != ")":
        if toks[i] != ",":
            values.append(toks[i])
        i += 1
    if i >= len(toks):
        raise SelectorError("found '', expected: ')'")
    return (key, op, values), i + 1


def _ident(tok):
    return tok not in ("(", ")", ",", "=", "==", "!=", "!", ">", "<")


def labels_match(reqs, labels):
    labels = labels or {}
    return all(_holds(key, op, values, labels) for key, op, values in reqs)


def _holds(key, op, values, labels):
    have, v = key in labels, labels.get(key)
    if op == "exists":
        return have
    if op == "!":
        return not have
    if op == "=":
        return have and v == values[0]
    if op == "!=":
        return not have or v != values[0]
    if op == "in":
        return have and v in values
    if op == "notin":
        return not have or v not in values
    n = _int(v)
    return have and n is not None and (n > int(values[0]) if op == ">" else n < int(values[0]))


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


# --- field selectors -----------------------------------------------------------------------

def _path(*keys):
    def get(o):
        for k in keys:
            o = (o or {}).get(k) if isinstance(o, dict) else None
        if isinstance(o, bool):
            return "true" if o else "false"
        return "" if o is None else str(o)
    return get


_POD = {"spec.nodeName": _path("spec", "nodeName"), "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"), "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "status.phase": _path("status", "phase"), "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName")}
_EVENT = {"involvedObject.%s" % f: _path("involvedObject", f)
          for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
_EVENT.update({"reason": _path("reason"), "source": _path("source", "component"), "type": _path("type")})
#: (group, plural) -> the fields it indexes beyond metadata.name (and metadata.namespace if namespaced).
FIELDS = {("", "nodes"): {"spec.unschedulable": _path("spec", "unschedulable")},
          ("", "pods"): _POD, ("", "events"): _EVENT,
          ("", "namespaces"): {"status.phase": _path("status", "phase")},
          ("", "secrets"): {"type": _path("type")},
          ("", "replicationcontrollers"): {"status.replicas": _path("status", "replicas")},
          ("apps", "replicasets"): {"status.replicas": _path("status", "replicas")},
          ("certificates.k8s.io", "certificatesigningrequests"): {"spec.signerName": _path("spec", "signerName")}}


def field_getters(group, plural, namespaced):
    out = {"metadata.name": _path("metadata", "name")}
    if namespaced:
        out["metadata.namespace"] = _path("metadata", "namespace")
    out.update(FIELDS.get((group, plural), {}))
    return out


def parse_fields(text, group, plural, namespaced):
    """[(getter, op, value)] for a fieldSelector; unknown fields and set operators are refused."""
    getters = field_getters(group, plural, namespaced)
    out = []
    for part in _split_unescaped(text or ""):
        if not part.strip():
            continue
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)(.*)", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field, op, value = m.group(1), m.group(2), _unescape(m.group(3).strip())
        if field not in getters:
            raise SelectorError("field label not supported: %s" % field)
        out.append((getters[field], "!=" if op == "!=" else "=", value))
    return out


def _split_unescaped(text):
    parts, cur, esc = [], "", False
    for ch in text:
        if esc:
            cur += "\\" + ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ",":
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _unescape(v):
    return re.sub(r"\\(.)", r"\1", v)


def fields_match(reqs, obj):
    return all((get(obj) == value) == (op == "=") for get, op, value in reqs)
