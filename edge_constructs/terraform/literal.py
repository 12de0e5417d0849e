"""How a value of ours reaches Terraform's JSON as data, never as a template: the one place
user text is escaped on its way into the synthesized configuration (docs/DESIGN_NOTES.md,
"Values in Terraform JSON").

In Terraform's JSON syntax every string is a template: `${…}` is evaluated and `%{…}` is a
directive, in values and in object keys alike; inside an expression (`${file("…")}`) a quoted
string is a template again, with `\\` and `"` escapes besides. So:
- `tf_literal(text)`: a whole JSON string that is data (`${` -> `$${`, `%{` -> `%%{`);
- `literal_tree(value)`: the same for every string, key and value, of a dict/list tree;
- `hcl_string(text)`: a quoted string literal to put inside `${…}` (a path given to file()).
A value that is a real reference (the identity's attributes, `each.value`) is written by the
constructs themselves as `${…}` and never passes through here.
"""
from __future__ import annotations

from typing import Any

__all__ = ["tf_literal", "literal_tree", "hcl_string"]


def tf_literal(text: str) -> str:
    """Text Terraform must not read as a template: `${` and `%{` escaped."""
    return text.replace("${", "$${").replace("%{", "%%{")


def literal_tree(value: Any) -> Any:
    """`value` with every string in it (mapping keys too) made a literal; other scalars kept."""
    if isinstance(value, str):
        return tf_literal(value)
    if isinstance(value, dict):
        return {tf_literal(k) if isinstance(k, str) else k: literal_tree(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [literal_tree(v) for v in value]
    return value


_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl_string(text: str) -> str:
    """`text` as an HCL quoted string literal, for use inside `${…}`: backslash, quote and
    control characters escaped, `${`/`%{` doubled, so it is the text itself."""
    out = []
    for c in text:
        if c in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7f:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + tf_literal("".join(out)) + '"'
