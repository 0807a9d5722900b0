"""How long a web chat session lives: a sliding expiry, written down sparingly.

Every authenticated use (an API call, a WebSocket connect) moves the expiry to a full
lifetime from now. Written on every message that would cost an UPDATE each time, so the
stored expiry is only moved once it lags the ideal one by `renew_every`: a session then
lives between `lifetime - renew_every` and `lifetime` past its last use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Days-long lifetimes do not need minute precision; an hour keeps writes to a handful a
# day for even the busiest chat.
RENEW_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class SessionLifetime:
    lifetime: timedelta = timedelta(days=30)
    renew_every: timedelta = RENEW_EVERY

    def expires_at(self, now: datetime) -> datetime:
        """The expiry of a session used at `now`."""
        return now + self.lifetime

    def renewal(self, stored: datetime, now: datetime) -> datetime | None:
        """The expiry to write for a session used at `now` whose row says `stored`, or
        None when the row is close enough. Moving it back counts too: when the lifetime
        setting is lowered, each session takes the new one on its next use."""
        wanted = self.expires_at(now)
        return wanted if abs(wanted - stored) >= self.renew_every else None
