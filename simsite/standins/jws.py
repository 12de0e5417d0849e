"""Detached JWS (HS256) as kubeadm's bootstrap signer makes it: header..signature."""
import base64
import hashlib
import hmac
import json


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(payload, token_id, secret):
    header = b64(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    signing_input = (header + "." + b64(payload.encode())).encode()
    sig = b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())
    return header + ".." + sig


def valid(detached, payload, token_id, secret):
    parts = detached.split(".")
    if len(parts) != 3 or parts[1] != "":
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except Exception:
        return False
    if header.get("kid") != token_id or header.get("alg") != "HS256":
        return False
    return hmac.compare_digest(sign(payload, token_id, secret), detached)
