"""Web chat sessions: an unguessable bearer token that speaks for one web identity."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import ChatSession, Customer, Identity
from channels.web.expiry import SessionLifetime

WEB = "web"
# Identities of users a site vouches for with an identity hash: one per site user id,
# shared by all their browser sessions.
WEB_USER = "web_user"


@dataclass(frozen=True)
class WebSession:
    session_id: str
    identity_id: int
    customer_id: int
    locale: str | None


def _hash(token: str) -> str:
    # Only a hash is stored: a leaked database does not hand out working tokens.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_session(
    session: AsyncSession,
    now: datetime,
    locale: str | None,
    customer_id: int | None = None,
    *,
    lifetime: SessionLifetime,
) -> tuple[WebSession, str]:
    """A web identity and session for `customer_id`, or for a new customer; returns the
    session and its token."""
    session_id = secrets.token_urlsafe(12)
    token = secrets.token_urlsafe(32)
    if customer_id is None:
        customer = Customer(created_at=now)
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        customer_id = customer.id
    identity = Identity(
        customer_id=customer_id, channel=WEB, external_id=session_id, created_at=now
    )
    session.add(identity)
    await session.flush()
    assert identity.id is not None
    session.add(
        ChatSession(
            id=session_id,
            identity_id=identity.id,
            token_hash=_hash(token),
            locale=locale,
            created_at=now,
            expires_at=lifetime.expires_at(now),
        )
    )
    return WebSession(session_id, identity.id, customer_id, locale), token


def identity_hash(secret: str, external_id: str) -> str:
    """What a site's backend computes to vouch for its user id (hex HMAC-SHA256)."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def verify_identity_hash(secret: str, external_id: str, given: str) -> bool:
    # A hex digest is ASCII, and compare_digest refuses str with anything else.
    if not given.isascii():
        return False
    try:
        expected = identity_hash(secret, external_id)
    except UnicodeEncodeError:
        return False  # a lone surrogate: not an id any site could have signed
    return hmac.compare_digest(expected, given.lower())


class Refusal(StrEnum):
    """Why a token was refused, as the 401 (and the WebSocket close) names it for clients."""

    INVALID = "invalid_token"  # never issued, or its session is gone
    EXPIRED = "session_expired"  # unused for longer than the session lifetime


async def authenticate(
    session: AsyncSession, token: str, now: datetime, lifetime: SessionLifetime
) -> WebSession | Refusal:
    """The session a token belongs to, or why it is refused. A session in use has its
    expiry moved forward (channels.web.expiry), in the caller's transaction."""
    # Tokens are URL-safe base64; anything else (such as header bytes that were not
    # UTF-8, which arrive as surrogate escapes) cannot even be hashed.
    if not token or not token.isascii():
        return Refusal.INVALID
    query = (
        select(ChatSession, Identity).join(Identity).where(ChatSession.token_hash == _hash(token))
    )
    row = (await session.exec(query)).first()
    if row is None:
        return Refusal.INVALID
    chat, identity = row
    stored = chat.expires_at
    if now >= (stored if stored is not None else lifetime.expires_at(chat.created_at)):
        return Refusal.EXPIRED
    renewed = lifetime.expires_at(now) if stored is None else lifetime.renewal(stored, now)
    if renewed is not None:
        await session.exec(
            update(ChatSession).where(col(ChatSession.id) == chat.id).values(expires_at=renewed)
        )
    assert identity.id is not None
    return WebSession(chat.id, identity.id, identity.customer_id, chat.locale)
