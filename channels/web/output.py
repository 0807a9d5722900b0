"""The web channel's sending side: push to the customer's open WebSockets.

A web message is already in the customer's history when it is queued, so a customer who
is not connected gets it on the next `GET /api/chat/messages`; nothing waits for them.
The relay finds the customer's sockets, on this replica or another (see `relay`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import Outbound
from bot.ports import Recipient
from channels.web.relay import LiveRelay
from channels.web.sessions import WEB


class WebOutput:
    name = WEB
    max_batch = 20

    def __init__(self, relay: LiveRelay) -> None:
        self._relay = relay

    async def send(self, recipient: Recipient, messages: Sequence[Outbound]) -> None:
        await self._relay.publish(recipient.external_id, messages)
