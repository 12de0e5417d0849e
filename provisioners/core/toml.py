"""TOML text for values, escaped per the TOML spec (v1.0.0, "Basic strings"): what the steps
append to containerd's config.toml. A value can never end its string or its table header,
so no value can add a setting (docs/DESIGN_NOTES.md says why this and not a library)."""
from __future__ import annotations

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """`value` as a TOML basic string: quote and backslash escaped, and every control
    character (U+0000..U+001F, U+007F), which a basic string may not hold raw."""
    out = []
    for ch in value:
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(value: str) -> str:
    """`value` as one key of a dotted key or table header (a quoted key: a basic string)."""
    return toml_string(value)
