"""One customer across channels: one-time link codes and merging identities.

A customer on one channel asks for a code (the web widget's "continue on LINE"); typing
it on another channel joins that channel's identity to the same customer, so agents see
one history and per-customer rules (FCR, survey throttling) count once.

Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as
`ABCD-EFGH`: about 10^12 values, so guessing one of the few live codes is hopeless
without any rate limit. Only a hash is stored; a code works once, for a few minutes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Conversation, Identity, LinkCode

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
_CODE_PATTERN = re.compile(rf"^\s*([{ALPHABET}]{{4}})[\s-]?([{ALPHABET}]{{4}})\s*$")


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def parse_code(text: str) -> str | None:
    """The code in a message that consists of a code alone (any width, case, or dash)."""
    folded = unicodedata.normalize("NFKC", text).upper().replace("ー", "-")
    match = _CODE_PATTERN.match(folded)
    return match.group(1) + match.group(2) if match else None


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


async def issue_code(
    session: AsyncSession, identity: Identity, now: datetime, ttl: timedelta
) -> tuple[str, datetime]:
    """A new code for the identity's customer; returns it (formatted) and its expiry."""
    assert identity.id is not None
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + ttl
    session.add(
        LinkCode(
            code_hash=_hash(code),
            customer_id=identity.customer_id,
            identity_id=identity.id,
            expires_at=expires_at,
            created_at=now,
        )
    )
    await session.flush()
    return format_code(code), expires_at


async def redeem_code(
    session: AsyncSession, code: str, identity: Identity, now: datetime
) -> int | None:
    """Join `identity` (and everything of its customer) to the code's customer.

    Returns the customer id, or None for an unknown, used or expired code, or one the
    same identity issued. Marking the code used is a conditional update, so two
    redemptions racing for one code cannot both win.
    """
    row = (await session.exec(select(LinkCode).where(LinkCode.code_hash == _hash(code)))).first()
    if row is None or row.identity_id == identity.id:
        return None
    claimed = await session.exec(
        update(LinkCode)
        .where(
            col(LinkCode.id) == row.id,
            col(LinkCode.used_at).is_(None),
            col(LinkCode.expires_at) > now,
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        return None
    await merge_customers(session, keep=row.customer_id, merge=identity.customer_id)
    await session.refresh(identity)
    return row.customer_id


async def merge_customers(session: AsyncSession, keep: int, merge: int) -> None:
    """Move every identity, conversation and code of customer `merge` to `keep`."""
    if keep == merge:
        return
    for table in (Identity, Conversation, LinkCode):
        await session.exec(
            update(table).where(col(table.customer_id) == merge).values(customer_id=keep)
        )
