"""LINE's side of a webhook: events shaped like LINE's and signed as LINE signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def line_signature(secret: str, body: bytes) -> str:
    """Exactly what LINE sends in X-Line-Signature: HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class LineSender:
    secret: str
    counter: int = 0

    def text(self, text: str, user: str, at: datetime) -> dict[str, Any]:
        """A text message event with a fresh webhookEventId and reply token."""
        self.counter += 1
        return {
            "type": "message",
            "mode": "active",
            "timestamp": int(at.timestamp() * 1000),
            "source": {"type": "user", "userId": user},
            "webhookEventId": f"01HMETRICS{self.counter:06d}",
            "deliveryContext": {"isRedelivery": False},
            "replyToken": f"reply-token-{self.counter}",
            "message": {"id": str(self.counter), "type": "text", "text": text, "quoteToken": "q"},
        }

    def request(self, *events: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one signed webhook delivery."""
        body = json.dumps({"destination": "Ubot", "events": list(events)}).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Line-Signature": line_signature(self.secret, body),
        }
        return body, headers
