"""A bring-your-own cluster CA written to files, for the identity tests."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def write_ca(directory: Path, name: str, *, is_ca: bool = True, days: int = 3650, key=None,
             traditional_key: bool = False) -> tuple[Path, Path]:
    """`<name>.crt` and `<name>.key` in `directory`: a self-signed certificate (a CA unless
    `is_ca` is false) valid `days`, its RSA key as PKCS#8, or as the traditional
    "RSA PRIVATE KEY" form that older tools write."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional_key
           else serialization.PrivateFormat.PKCS8)
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt,
                                           serialization.NoEncryption()))
    return cert_file, key_file
