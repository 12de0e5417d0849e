"""Which host key a `Host` pins: its `host_key`, or its entry in `known_hosts_file`; or none,
with a warning, when `insecure_ignore_host_key` says so. Used by validation (at synth), by
the constructs (Terraform's `connection.host_key`) and by the SSH runner (at connect)."""
from __future__ import annotations

import logging
import os
from typing import Optional

import paramiko

from provisioners.core.errors import HostKeyError
from provisioners.core.props import Host

__all__ = ["HostKeyError", "known_hosts_name", "key_from_known_hosts", "pinned_key",
           "warn_insecure", "LOGGER"]

#: Warnings about unverified hosts go to this logger (stderr when logging is not configured).
LOGGER = logging.getLogger("edge_constructs.hostkeys")
#: With several keys of one host in a known_hosts file, the first of these types is pinned
#: (Terraform's connection takes one key).
_PREFERRED = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
              "ecdsa-sha2-nistp521", "ssh-rsa")


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
        return " ".join(host.host_key.split()[:2])
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
