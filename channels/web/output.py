"""The web channel's sending side: push to the customer's open WebSockets.

A web message is already in the customer's history when it is queued, so a customer who
is not connected gets it on the next `GET /api/chat/messages`; nothing waits for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import Outbound
from bot.ports import Recipient
from channels.web.hub import LiveHub
from channels.web.serialize import message_json
from channels.web.sessions import WEB


class WebOutput:
    name = WEB
    max_batch = 20

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> None:
        for message in messages:
            await self._hub.publish(
                recipient.external_id, {"type": "message", "message": message_json(message)}
            )
