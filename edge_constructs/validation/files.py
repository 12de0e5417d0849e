"""What the checks read from the operator's disk: SSH private keys (and the public key
beside them), and the install package's SHA-256, remembered per file so one synth hashes
it once."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

from provisioners.core.errors import ValidationError

__all__ = ["local_file", "file_sha256", "validate_private_key_file"]


def local_file(value: str) -> Path:
    return Path(os.path.expanduser(value))


def is_local_file(value: object) -> bool:
    """`value` names an existing regular file here ('~' expanded); a name the system cannot
    even look up (too long, a NUL) is not one, rather than an OSError."""
    if not isinstance(value, str):
        return False
    try:
        return local_file(value).is_file()
    except (OSError, ValueError):
        return False


_SHA256_CACHE: dict[tuple, str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime): one synth hashes it once."""
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _SHA256_CACHE:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            _SHA256_CACHE[key] = h.hexdigest()
    except OSError as e:
        raise ValidationError("install_package.path", str(path), f"cannot be read "
                              f"({e.strerror}); make it readable by the user running cdktf") from None
    return _SHA256_CACHE[key]


#: Key files found good, per (path, size, mtime, mode, owner, the public key's size and mtime): the
#: provider validates every node of a pool, and a pool's nodes share one key.
_GOOD_KEYS: set[tuple] = set()


def _key_file_stamp(path: Path) -> Optional[tuple]:
    try:
        st = path.stat()
        pub = Path(f"{path}.pub")
        pst = pub.stat() if pub.exists() else None
    except OSError:
        return None
    return (str(path), st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid,
            pst and (pst.st_size, pst.st_mtime_ns))


def validate_private_key_file(value: object, field: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(field, value, "must be the path of an SSH private key file")
    path = local_file(value)
    stamp = _key_file_stamp(path) if is_local_file(value) else None
    if stamp is not None and stamp in _GOOD_KEYS:
        return
    _validate_private_key_file(value, field, path)
    if stamp is not None:
        _GOOD_KEYS.add(stamp)


def _validate_private_key_file(value: str, field: str, path: Path) -> None:
    if not is_local_file(value):
        raise ValidationError(field, value, f"no such file ({path}); give the path of an "
                              "existing SSH private key ('~' is expanded)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(200)
    except OSError as e:
        raise ValidationError(field, value, f"cannot be read ({e.strerror}); make it readable "
                              "by the user running cdktf") from None
    if head.startswith(b"ssh-") or head.startswith(b"ecdsa-") or value.endswith(".pub"):
        raise ValidationError(field, value, "is a public key; give the private key file "
                              "(the same path without '.pub')")
    if not (head.startswith(b"-----BEGIN") and b"PRIVATE KEY-----" in head):
        raise ValidationError(field, value, "is not an unencrypted OpenSSH/PEM private key "
                              "(it must start with '-----BEGIN ... PRIVATE KEY-----')")
    _check_public_key_matches(path, value, field)


def _public_key_of(path: Path) -> Optional[str]:
    """The OpenSSH public key ("type base64") of a private key file; None if unreadable here."""
    from cryptography.hazmat.primitives import serialization
    data = path.read_bytes()
    for load in (lambda: serialization.load_ssh_private_key(data, None),
                 lambda: serialization.load_pem_private_key(data, None)):
        try:
            key = load()
            return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                 serialization.PublicFormat.OpenSSH).decode()
        except Exception:  # noqa: BLE001 - another format, or encrypted: not ours to judge
            continue
    return None


def _check_public_key_matches(path: Path, value: str, field: str) -> None:
    """When `<key>.pub` lies beside the private key (as ssh-keygen leaves it), it must be
    its public key: a mismatch means the public key installed on the hosts is not this one."""
    pub_path = path.with_name(path.name + ".pub")
    try:
        pub = pub_path.read_text().split()
    except (OSError, UnicodeDecodeError):
        return
    mine = _public_key_of(path)
    if mine is None or len(pub) < 2:
        return
    if mine.split()[:2] != pub[:2]:
        raise ValidationError(field, value, f"does not match the public key beside it "
                              f"({pub_path}): the hosts' authorized_keys hold that one, so "
                              f"this key would be refused; give the matching private key or "
                              f"fix {pub_path.name}")
