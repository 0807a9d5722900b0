"""The JSON shape of a message in the web chat API."""

from __future__ import annotations

from typing import Any

from bot.messages import Outbound


def message_json(message: Outbound) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "role": message.role,
        "text": message.text,
        "buttons": [{"label": b.label, "postback": b.postback} for b in message.buttons],
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }
