"""Which host key a `Host` pins: its `host_key`, or its entry in `known_hosts_file`; or none,
with a warning, when `insecure_ignore_host_key` says so. Used by validation (at synth), by
the constructs (Terraform's `connection.host_key`) and by the SSH runner (at connect)."""
from __future__ import annotations

import base64
import binascii
import logging
import os
import struct
from typing import Optional

import paramiko

from provisioners.core.errors import HostKeyError
from provisioners.core.props import Host

__all__ = ["HostKeyError", "known_hosts_name", "key_from_known_hosts", "pinned_key",
           "parse_key_line", "KEY_TYPES", "warn_insecure", "LOGGER"]

#: Warnings about unverified hosts go to this logger (stderr when logging is not configured).
LOGGER = logging.getLogger("edge_constructs.hostkeys")
#: With several keys of one host in a known_hosts file, the first of these types is pinned
#: (Terraform's connection takes one key).
_PREFERRED = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
              "ecdsa-sha2-nistp521", "ssh-rsa")


#: The public key types a host key may have, and what follows the type name in the key's
#: wire form (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4, OpenSSH PROTOCOL.u2f): "mpint" fields,
#: a "curve" name that must match, a "point" (uncompressed, 0x04 || X || Y), a fixed-size
#: "ed25519" key, or an "app" string (security keys).
_ECDSA = {"nistp256": 32, "nistp384": 48, "nistp521": 66}
KEY_TYPES = {
    "ssh-ed25519": ("ed25519",),
    "ssh-rsa": ("mpint", "mpint"),
    "ecdsa-sha2-nistp256": ("curve", "point"),
    "ecdsa-sha2-nistp384": ("curve", "point"),
    "ecdsa-sha2-nistp521": ("curve", "point"),
    "sk-ssh-ed25519@openssh.com": ("ed25519", "app"),
    "sk-ecdsa-sha2-nistp256@openssh.com": ("curve", "point", "app"),
}
_KEY_RULE = ("must be one OpenSSH public key line, '<type> <base64>' (a comment after it is "
             "ignored), e.g. the output of 'ssh-keyscan -t ed25519 <host>' without the host "
             "name; the types are " + ", ".join(KEY_TYPES))


def _strings(blob: bytes) -> list[bytes]:
    """The SSH wire strings (uint32 length, bytes) that make up `blob`, all of it."""
    out, i = [], 0
    while i < len(blob):
        if i + 4 > len(blob):
            raise ValueError("it ends inside a length field (the key is cut short)")
        (n,) = struct.unpack(">I", blob[i:i + 4])
        if i + 4 + n > len(blob):
            raise ValueError(f"a field says {n} bytes but only {len(blob) - i - 4} are left "
                             "(the key is cut short)")
        out.append(blob[i + 4:i + 4 + n])
        i += 4 + n
    return out


def parse_key_line(text: object, field: str = "host_key") -> str:
    """The key of an OpenSSH public key line, as "<type> <base64>", after checking its form:
    a known type, base64 that decodes, and the key's wire form whole (the type name inside it
    the same, each field of its type there and of its size, nothing left over), so a key cut
    short or pasted from another host's line is refused at synth, not at the first connect.
    HostKeyError(field, text, allowed) otherwise."""
    def bad(why: str) -> HostKeyError:
        return HostKeyError(field, text, f"{_KEY_RULE} ({why})")
    if not isinstance(text, str):
        raise bad("not a string")
    parts = text.split()
    if len(parts) < 2:
        raise bad("it needs a type and a base64 key")
    kind, b64 = parts[0], parts[1]
    if kind not in KEY_TYPES:
        raise bad(f"unknown key type {kind!r}")
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise bad(f"the key is not base64: {e}") from None
    try:
        fields = _strings(blob)
    except ValueError as e:
        raise bad(str(e)) from None
    spec = KEY_TYPES[kind]
    if not fields or fields[0] != kind.encode():
        raise bad(f"the key inside is not a {kind} key")
    if len(fields) != 1 + len(spec):
        raise bad(f"a {kind} key has {len(spec)} fields after its type, this one "
                  f"{len(fields) - 1} (cut short, or not one key)")
    curve = kind.split("-")[2].split("@")[0] if "nistp" in kind else None
    for what, value in zip(spec, fields[1:]):
        if what == "ed25519" and len(value) != 32:
            raise bad(f"an Ed25519 key is 32 bytes, this one {len(value)}")
        if what == "curve" and value != curve.encode():
            raise bad(f"the curve inside is {value[:20]!r}, not {curve}")
        if what == "point" and (len(value) != 1 + 2 * _ECDSA[curve] or value[:1] != b"\x04"):
            raise bad(f"the {curve} point is {len(value)} bytes, not {1 + 2 * _ECDSA[curve]} "
                      "starting with 0x04")
        if what == "mpint" and (not value or value[0] & 0x80):
            raise bad("an RSA number is empty or negative")
    if kind == "ssh-rsa" and (len(fields[2]) - (fields[2][0] == 0)) * 8 < 1024:
        raise bad("an RSA modulus under 1024 bits")
    return f"{kind} {b64}"


def known_hosts_name(address: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: `addr` on port 22, else `[addr]:port`."""
    return address if port == 22 else f"[{address}]:{port}"


def key_from_known_hosts(path: str, address: str, port: int) -> str:
    """The host's key in the known_hosts file `path` ("<type> <base64>"); plain and hashed
    (`|1|`) entries are read. Raises HostKeyError (field "known_hosts_file") when the file
    cannot be read or does not hold the host."""
    full = os.path.abspath(os.path.expanduser(path))
    name = known_hosts_name(address, port)
    keyscan = f"ssh-keyscan -p {port} {address}" if port != 22 else f"ssh-keyscan {address}"
    if not os.path.isfile(full):
        raise HostKeyError("known_hosts_file", path, f"must be an OpenSSH known_hosts file; "
                           f"{full} does not exist (make one with `{keyscan} > {path}`, then "
                           f"check the fingerprints it prints with `ssh-keygen -lf {path}` "
                           f"against the host's own, out of band)")
    try:
        keys = paramiko.HostKeys(full)
    except (OSError, UnicodeDecodeError, paramiko.SSHException) as e:
        raise HostKeyError("known_hosts_file", path, f"must be a readable OpenSSH "
                           f"known_hosts file: {e}") from None
    found = keys.lookup(name)
    if not found:
        raise HostKeyError("known_hosts_file", path, f"must hold an entry for {name} (the "
                           f"host's address{'' if port == 22 else ' and port'}, plain or "
                           f"hashed); it has none: add it with `{keyscan} >> {path}` and "
                           f"check its fingerprint out of band")
    kind = next((t for t in _PREFERRED if t in found), sorted(found)[0])
    return f"{kind} {found[kind].get_base64()}"


def pinned_key(host: Host) -> Optional[str]:
    """The key `host` pins ("<type> <base64>"), from `host_key` or `known_hosts_file`;
    None when neither is given (then only `insecure_ignore_host_key` makes it acceptable)."""
    if host.host_key:
        return parse_key_line(host.host_key)
    if host.known_hosts_file:
        return key_from_known_hosts(host.known_hosts_file, host.address, host.port)
    return None


def insecure_text(host: Host, when: str) -> str:
    return (f"host {host.key} ({host.address}:{host.port}): insecure_ignore_host_key=True, so "
            f"{when} accepts whatever host key answers there: whoever holds that address gets "
            f"the cluster's secrets. Pin it with host_key or known_hosts_file.")


def warn_insecure(host: Host, when: str) -> None:
    """Warn (logger `edge_constructs.hostkeys`, stderr by default) that `host` is not verified."""
    LOGGER.warning("WARNING: %s", insecure_text(host, when))
