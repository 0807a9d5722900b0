"""Text crossing between Slack's mrkdwn and the plain text customers read."""

from __future__ import annotations

import re

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def escape(text: str) -> str:
    """Plain text made safe for Slack: &, < and > are control characters there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_plain(text: str) -> str:
    """What an agent typed in Slack, as the customer should read it: links as their
    label (or address), mentions as @name, Slack's escapes undone."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#", "!")):
            return f"@{label}" if label else ""
        address = target.removeprefix("mailto:")
        if label and label != address and label != target:
            return f"{label} ({address})"
        return address

    plain = _LINK.sub(link, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def thread_link(channel: str, ts: str) -> str:
    """A link to a message that Slack opens in the workspace of whoever clicks it."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def quote(text: str, limit: int) -> str:
    """Customer text for a Slack block: escaped, cut to `limit` characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)
