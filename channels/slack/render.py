"""Slack messages for a case: the root message, its status, thread posts.

Slack limits: a section's text holds 3,000 characters and a message 50 blocks; the root
message keeps to a recent slice of the transcript and "Full transcript" posts the rest
into the thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import ConversationStatus, HandoffReason, Message, Role
from channels.slack.cases import Case
from channels.slack.mrkdwn import quote
from handoff.history import PastCase
from surveys.rules import score_range

Block = dict[str, Any]

CLAIM = "helpdesk_claim"
RESOLVE = "helpdesk_resolve"
TRANSCRIPT = "helpdesk_transcript"
REOPEN = "helpdesk_reopen"
STATUS_BLOCK = "helpdesk_status"
ACTIONS_BLOCK = "helpdesk_actions"

SECTION_LIMIT = 2900  # below Slack's 3,000 to leave room for the heading
MESSAGE_LIMIT = 400  # one message's share of the root's transcript
RECENT_MESSAGES = 12

REASONS: dict[str, str] = {
    HandoffReason.NO_MATCH: "the FAQ had no answer",
    HandoffReason.CUSTOMER_REQUEST: "asked for a person",
    HandoffReason.NOT_HELPFUL: "the answers did not help",
    HandoffReason.SURVEY_FOLLOW_UP: "survey follow-up",
}
CHANNELS = {"line": "LINE", "web": "web chat"}


def customer_label(case: Case) -> str:
    return case.customer_name or f"Customer #{case.customer_id}"


def _when(at: datetime) -> str:
    # Slack shows the date in each reader's own time zone; the fallback is UTC.
    epoch = int(at.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def _role(message: Message, case: Case | None) -> str:
    """Who wrote `message`; the customer by name when it is a case's."""
    if message.role == Role.CUSTOMER:
        return quote(customer_label(case), 80) if case is not None else "Customer"
    return {"bot": "Bot", "agent": "Agent"}.get(message.role, "System")


OUTCOMES = {"self": "solved by the bot", "agent": "solved by an agent",
            "customer": "solved, said the customer"}  # fmt: skip


def earlier_case_line(past: PastCase, follows_up: int | None) -> str:
    """One earlier case: date, channel, topic, outcome, survey score."""
    parts = [
        _when(past.opened_at),
        CHANNELS.get(past.channel, past.channel),
        quote(past.topic, 60) or "(no text)",
        OUTCOMES.get(past.outcome, past.outcome) + (", handed off" if past.handed_off else ""),
    ]
    if past.survey_kind is not None and past.survey_score is not None:
        scale = score_range(past.survey_kind)[-1]
        parts.append(f"{past.survey_kind.upper()} {past.survey_score}/{scale}")
    mark = " *(this case follows up on it)*" if past.conversation_id == follows_up else ""
    return f"• #{past.conversation_id} " + " · ".join(parts) + mark


def transcript_lines(
    messages: Sequence[Message], case: Case | None, limit: int
) -> list[str]:
    return [f"*{_role(m, case)}:* {quote(m.text, limit)}" for m in messages]


def _fit(lines: list[str], budget: int) -> str:
    """The newest lines that fit in `budget` characters, oldest first."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(reversed(kept))


def root_message(case: Case, recent: Sequence[Message], total_messages: int) -> dict[str, Any]:
    """The case's root message: who, why, what was tried, the recent transcript."""
    reason = REASONS.get(case.reason, case.reason)
    who = quote(customer_label(case), 80)
    fields = [
        f"*Customer*\n{who}",
        f"*Channel*\n{CHANNELS.get(case.channel, case.channel)}",
        f"*Also on*\n{', '.join(CHANNELS.get(c, c) for c in case.linked_channels) or 'none'}",
        f"*Previous conversations*\n{case.previous_conversations}",
        f"*Language*\n{case.locale}",
        f"*Handed off*\n{_when(case.requested_at)}",
    ]
    answers = "\n".join(
        f"• `{a.entry_id}` {quote(a.text.splitlines()[0] if a.text else '', 150)}"
        + {True: " (helped)", False: " (*did not help*)", None: ""}[a.helped]
        for a in case.answers
    )
    lines = transcript_lines(recent, case, MESSAGE_LIMIT)
    shown = _fit(lines, SECTION_LIMIT)
    heading = "*Recent messages*" if total_messages > len(recent) else "*Conversation*"
    blocks: list[Block] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f":bell: *Case #{case.conversation_id}*: {reason}"},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        *_earlier_cases_blocks(case),
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*FAQ answers already given*\n" + (answers or "none"),
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{heading}\n{shown}"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Reply in this thread to answer the customer. "
                    "Start with `note:` for an internal note they will not see.",
                }
            ],
        },
        *status_blocks(case),
    ]
    text = f"Case #{case.conversation_id}: {customer_label(case)} ({reason})"
    return {"text": text, "blocks": blocks}


def _earlier_cases_blocks(case: Case) -> list[Block]:
    if not case.earlier_cases:
        return []
    lines = "\n".join(earlier_case_line(p, case.follows_up) for p in case.earlier_cases)
    text = "*Earlier cases*\n" + lines
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}]


def status_blocks(case: Case) -> list[Block]:
    """The status line and buttons, which change as the case moves on."""
    if case.status == ConversationStatus.RESOLVED or case.closed_at is not None:
        by = f" by <@{case.closed_by}>" if case.closed_by else ""
        status = f":white_check_mark: *Resolved*{by}"
        buttons = [_button("Full transcript", TRANSCRIPT, case)]
    elif case.agent_ref is not None:
        status = f":raising_hand: *Claimed* by <@{case.agent_ref}>"
        buttons = [
            _button("Resolve", RESOLVE, case, style="danger"),
            _button("Full transcript", TRANSCRIPT, case),
        ]
    else:
        status = ":hourglass_flowing_sand: *Waiting* for an agent"
        buttons = [
            _button("Claim", CLAIM, case, style="primary"),
            _button("Resolve", RESOLVE, case, style="danger"),
            _button("Full transcript", TRANSCRIPT, case),
        ]
    return [
        {"type": "section", "block_id": STATUS_BLOCK, "text": {"type": "mrkdwn", "text": status}},
        {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons},
    ]


def _button(label: str, action_id: str, case: Case, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": str(case.conversation_id),
    }
    if style:
        button["style"] = style
    return button


def updated_root(root: dict[str, Any], case: Case) -> dict[str, Any]:
    """The root message as posted, with the status and buttons of `case` now."""
    kept = [
        b for b in root.get("blocks", []) if b.get("block_id") not in (STATUS_BLOCK, ACTIONS_BLOCK)
    ]
    return {"text": root.get("text", ""), "blocks": kept + status_blocks(case)}


def customer_said(case: Case, text: str) -> dict[str, Any]:
    line = f"*{quote(customer_label(case), 80)}:* {quote(text, SECTION_LIMIT)}"
    return {"text": line}


def transcript_posts(messages: Sequence[Message], case: Case) -> list[dict[str, Any]]:
    """The whole conversation as thread posts of at most one section's length each."""
    posts: list[dict[str, Any]] = []
    current: list[str] = ["*Full transcript*"]
    size = len(current[0])
    for line in transcript_lines(messages, case, SECTION_LIMIT - 100):
        if size + len(line) + 1 > SECTION_LIMIT:
            posts.append({"text": "\n".join(current)})
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        posts.append({"text": "\n".join(current)})
    return posts


def alert_blocks(
    text: str, conversation_id: int, transcript: Sequence[Message] = ()
) -> list[Block]:
    """A survey alert: its text, the conversation's recent messages (for an alert outside
    a case thread, which has them already), and a button to reopen and follow up."""
    conversation: list[Block] = []
    if transcript:
        lines = transcript_lines(transcript, None, MESSAGE_LIMIT)
        shown = "*Conversation*\n" + _fit(lines, SECTION_LIMIT)
        conversation = [{"type": "section", "text": {"type": "mrkdwn", "text": shown}}]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}},
        *conversation,
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": REOPEN,
                    "text": {"type": "plain_text", "text": "Reopen and follow up"},
                    "value": str(conversation_id),
                }
            ],
        },
    ]
