"""Go durations, read and written as Go does: the one parser behind both the validation of a
duration prop (`join_token_ttl`) and what the chain renders for kubeadm.

kubeadm reads `BootstrapToken.ttl` as a `metav1.Duration`, whose JSON/YAML decoding is Go's
`time.ParseDuration`; it prints durations with `time.Duration.String`. `parse` follows
ParseDuration (golang/go, src/time/format.go: `[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+` or "0";
units ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h; a fraction scaled through float64 and
truncated; overflow past int64 nanoseconds refused), `render` follows Duration.String
(src/time/time.go), so `parse(render(d)) == d` for every duration.
"""
from __future__ import annotations

__all__ = ["DurationError", "parse", "render", "UNITS", "MAX_NS"]

NS, US, MS, S = 1, 1_000, 1_000_000, 1_000_000_000
M, H = 60 * S, 3600 * S
UNITS = {"ns": NS, "us": US, "\u00b5s": US, "\u03bcs": US, "ms": MS, "s": S, "m": M, "h": H}
MAX_NS = (1 << 63) - 1


class DurationError(ValueError):
    """Not a Go duration; the message says why, as Go's would."""


def _leading_int(s: str) -> tuple[int, str]:
    i, x = 0, 0
    while i < len(s) and "0" <= s[i] <= "9":
        if x > (1 << 63) // 10:
            raise DurationError("overflow")
        x = x * 10 + ord(s[i]) - 48
        if x > 1 << 63:
            raise DurationError("overflow")
        i += 1
    return x, s[i:]


def _leading_fraction(s: str) -> tuple[int, float, str]:
    """The digits after '.', as (value, scale): past int64 precision, digits are consumed but
    no longer accumulated (Go does the same)."""
    i, x, scale, overflow = 0, 0, 1.0, False
    while i < len(s) and "0" <= s[i] <= "9":
        if not overflow:
            if x > MAX_NS // 10:
                overflow = True
            else:
                y = x * 10 + ord(s[i]) - 48
                if y > 1 << 63:
                    overflow = True
                else:
                    x, scale = y, scale * 10
        i += 1
    return x, scale, s[i:]


def parse(text: str) -> int:
    """Nanoseconds of the Go duration `text`; DurationError when Go would refuse it."""
    if not isinstance(text, str):
        raise DurationError(f"not a string: {text!r}")
    orig, s, neg = text, text, False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if s == "":
        raise DurationError(f"invalid duration {orig!r}")
    d = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise DurationError(f"invalid duration {orig!r}")
        pl = len(s)
        v, s = _leading_int(s)
        pre = pl != len(s)
        f, scale, post = 0, 1.0, False
        if s[:1] == ".":
            s = s[1:]
            pl = len(s)
            f, scale, s = _leading_fraction(s)
            post = pl != len(s)
        if not (pre or post):
            raise DurationError(f"invalid duration {orig!r}")
        i = 0
        while i < len(s) and s[i] != "." and not ("0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise DurationError(f"missing unit in duration {orig!r}")
        unit_name, s = s[:i], s[i:]
        if unit_name not in UNITS:
            raise DurationError(f"unknown unit {unit_name!r} in duration {orig!r}")
        unit = UNITS[unit_name]
        if v > (1 << 63) // unit:
            raise DurationError(f"invalid duration {orig!r}")
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > 1 << 63:
                raise DurationError(f"invalid duration {orig!r}")
        d += v
        if d > 1 << 63:
            raise DurationError(f"invalid duration {orig!r}")
    if neg:
        return -d
    if d > MAX_NS:
        raise DurationError(f"invalid duration {orig!r}")
    return d


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of v/10**prec without trailing zeros, and v // 10**prec."""
    digits, printed = "", False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def render(ns: int) -> str:
    """`ns` as Go's Duration.String prints it: "0s", "1.5µs", "90ms", "1m30s", "24h0m0s"."""
    if ns == 0:
        return "0s"
    sign, u = ("-", -ns) if ns < 0 else ("", ns)
    if u < S:
        if u < US:
            return f"{sign}{u}ns"
        prec, unit = (3, "\u00b5s") if u < MS else (6, "ms")
        frac, whole = _frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _frac(u, 9)
    out = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins > 0:
        out = f"{mins % 60}m" + out
        hours = mins // 60
        if hours > 0:
            out = f"{hours}h" + out
    return sign + out
