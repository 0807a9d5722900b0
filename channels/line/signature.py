"""LINE's webhook signature: base64(HMAC-SHA256(channel secret, raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(channel_secret: str, body: bytes, signature: bytes) -> bool:
    """True when `signature` (the header's bytes) is LINE's signature of exactly these
    bytes."""
    if not signature:
        return False
    return hmac.compare_digest(sign(channel_secret, body).encode(), signature)
