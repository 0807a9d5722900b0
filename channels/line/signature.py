"""LINE's webhook signature: base64(HMAC-SHA256(channel secret, raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(channel_secret: str, body: bytes, signature: str) -> bool:
    """True when `signature` is LINE's signature of exactly these bytes."""
    # A base64 digest is ASCII, and compare_digest refuses str with anything else.
    if not signature or not signature.isascii():
        return False
    return hmac.compare_digest(sign(channel_secret, body), signature)
