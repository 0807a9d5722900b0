"""What the engine did with one customer message: the `decision` label of
`helpdesk_inbound_messages_total`, a small fixed set."""

from __future__ import annotations

from enum import StrEnum


class TurnOutcome(StrEnum):
    ANSWER = "answer"  # an FAQ answer (typed question or a tapped choice)
    SUGGEST = "suggest"  # choices offered: not sure enough to answer
    HANDOFF = "handoff"  # handed to a person (no match, asked for one, "didn't help")
    RESOLVED = "resolved"  # the customer said it is solved
    SMALL_TALK = "small_talk"  # greeting or thanks
    DURING_HANDOFF = "during_handoff"  # written while waiting for or talking to an agent
    SURVEY = "survey"  # a survey answer or comment
    FOLLOW = "follow"  # a new or returning LINE follower, greeted
    LINK = "link"  # a link code, redeemed or not
    MENU = "menu"  # a category's entries listed
    RETURNING = "returning"  # a returning customer said whether this follows up a case
    UNSUPPORTED = "unsupported"  # an image, sticker, ...: text only, please
    UNKNOWN_BUTTON = "unknown_button"  # a stale or foreign postback
