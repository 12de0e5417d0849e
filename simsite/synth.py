"""What a synth without a site needs (tests, `benchmarks/plan_scale.py`): an SSH key for the
hosts' `private_key_file`, and a host key line for them to pin. Nothing connects."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

#: A public key line the synthesized hosts pin (any well-formed key: nothing connects).
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILXchbf1Kc2mj4sbAi2X0es3/XbCgcrXBfyZZhCT22Q9"


def new_private_key(path: Path) -> Path:
    """An unencrypted OpenSSH ed25519 private key at `path` (0600)."""
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path
