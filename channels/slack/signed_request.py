"""Reading a request to `/slack/events`: the signature over the raw bytes first, then
a body Bolt can work with, or a 4xx JSON `{"error": reason}`.

Bolt parses the body in `AsyncBoltRequest`'s constructor, before it checks the
signature, and lets a body that is not JSON (or not UTF-8, or nested past Python's
recursion limit) escape as an exception; so the check comes first here, and whatever
the parse raises is a 400.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.clock import Clock
from bot.header_values import HeaderNotAscii, ascii_header
from bot.storable import unstorable

# What Bolt's own verification answers, so a refusal reads the same either way.
INVALID_SIGNATURE = "invalid request"
# Slack's replay window for the request timestamp.
MAX_AGE_SECONDS = 5 * 60
NOT_SLACK = "body is not a Slack payload"
EXPECTED = "expected a JSON object or a form"
# What Bolt's context extraction raises on a parsed body that is not an object.
_MISSHAPEN = (TypeError, KeyError, IndexError, AttributeError)
# Fields that Bolt's context extraction and built-in middleware read without checking
# their type (`body.get("event", {}).get("bot_id")` and the like), with the JSON types
# they cope with. Slack always sends these types; a body with others is refused.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "type": (str,),
    "challenge": (str,),
    # looked up in processed_event on a retry
    "event_id": (str,),
    "event": (dict,),
    "authorizations": (list,),
    "actions": (list,),
    "response_urls": (list,),
    "enterprise": (dict, str),
    "team": (dict, str),
    "user": (dict, str),
    "channel": (dict, str),
    "view": (dict,),
    "container": (dict,),
    "message": (dict,),
    "previous_message": (dict,),
    "item": (dict,),
    "assistant_thread": (dict,),
    "function_data": (dict,),
}
_LISTS_OF_OBJECTS = ("authorizations", "actions", "response_urls")
# Bolt takes the first action of a click without looking (`body["actions"][0]`), and
# its listener matchers read that action's `action_id` as a string.
_NEVER_EMPTY = ("actions",)
_FIRST_ITEM_STRINGS = {"actions": "action_id"}
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")
# Bolt reads at most body.event.message.<field>; a deeper nesting is left alone.
_MAX_DEPTH = 3
_TYPE_NAMES: dict[type, str] = {dict: "an object", str: "a string", list: "an array"}


class SlackRequestRefused(Exception):
    """The request is not one to hand to Bolt; `response` says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.response = web.json_response({"error": reason}, status=status)


async def read_signed_request(
    request: web.Request, signing_secret: str, clock: Clock
) -> AsyncBoltRequest:
    """The request as Bolt takes it, once its signature and timestamp are right."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise SlackRequestRefused(413, "request body is too large") from None
    try:
        timestamp = ascii_header(request, "X-Slack-Request-Timestamp")
        signature = ascii_header(request, "X-Slack-Signature")
    except HeaderNotAscii as exc:
        raise SlackRequestRefused(401, f"{INVALID_SIGNATURE}: {exc}") from None
    if not signed_by_slack(signing_secret, raw, timestamp, signature, clock().timestamp()):
        raise SlackRequestRefused(401, INVALID_SIGNATURE)
    try:
        # Slack sends UTF-8 whatever charset the Content-Type names.
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SlackRequestRefused(400, "body is not UTF-8") from None
    try:
        bolt_request = AsyncBoltRequest(
            body=body,
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
    except RecursionError:
        raise SlackRequestRefused(400, f"{NOT_SLACK}: body is nested too deeply") from None
    except ValueError as exc:  # JSON that does not parse, in the body or its payload field
        raise SlackRequestRefused(400, f"{NOT_SLACK}: {exc}"[:300]) from None
    except _MISSHAPEN:  # parsed, but not an object: Bolt reads it as one
        raise SlackRequestRefused(400, f"{NOT_SLACK}: {EXPECTED}") from None
    if not isinstance(bolt_request.body, dict):
        raise SlackRequestRefused(400, f"{NOT_SLACK}: {EXPECTED}")
    problem = shape_problem(bolt_request.body, "body") or unstorable(bolt_request.body)
    if problem is not None:
        raise SlackRequestRefused(400, f"{NOT_SLACK}: {problem}")
    return bolt_request


def signed_by_slack(
    signing_secret: str, body: bytes, timestamp: str, signature: str, now: float
) -> bool:
    """Slack's check: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`, and a
    timestamp (Unix seconds, Slack's clock) at most five minutes from now.

    Over the raw bytes: slack_sdk's verifier decodes the body as UTF-8 first and raises
    on bytes that are not."""
    # Ten digits until the year 2286; int() of thousands of digits raises.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if not signature.isascii():
        return False
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(b"v0=" + digest.encode(), signature.encode("ascii"))


def shape_problem(payload: dict[str, object], where: str, depth: int = 0) -> str | None:
    """What makes this payload unsafe to hand to Bolt, or None."""
    if depth > _MAX_DEPTH:
        return None  # deeper than Bolt ever looks
    for key, types in _FIELD_TYPES.items():
        value = payload.get(key)
        if key in payload and not isinstance(value, types):
            expected = " or ".join(_TYPE_NAMES[t] for t in types)
            return f"{where}.{key} must be {expected}"
        if key in _LISTS_OF_OBJECTS and isinstance(value, list):
            if not all(isinstance(item, dict) for item in value):
                return f"{where}.{key} must hold objects"
            if key in _NEVER_EMPTY and not value:
                return f"{where}.{key} must hold at least one"
            if value:
                problem = shape_problem(value[0], f"{where}.{key}[0]", depth + 1)
                if problem is not None:
                    return problem
                field = _FIRST_ITEM_STRINGS.get(key)
                if field is not None and not isinstance(value[0].get(field), str):
                    return f"{where}.{key}[0].{field} must be a string"
        if key in _NESTED and isinstance(value, dict):
            problem = shape_problem(value, f"{where}.{key}", depth + 1)
            if problem is not None:
                return problem
    return None
