"""The postback strings the bot puts on its buttons, parsed back at the engine's edge.

The format is ours, short enough for LINE's 300-byte postback data: `faq:<entry id>`,
`helpful:yes:<entry id>`, `helpful:no:<entry id>`, `human`, `none`, `cat:<category>`,
`returning:yes:<conversation id>`, `returning:no:<conversation id>`, and
`survey:<survey id>:<score>` for survey answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.row_ids import parse_row_id


class PostbackKind(StrEnum):
    SHOW_ENTRY = "faq"
    HELPFUL = "helpful:yes"
    NOT_HELPFUL = "helpful:no"
    HUMAN = "human"
    NONE_OF_THESE = "none"
    CATEGORY = "cat"
    # a returning customer's answer about an earlier case (bot.returning); the "entry id"
    # is that case's conversation id
    RETURNING_YES = "returning:yes"
    RETURNING_NO = "returning:no"


@dataclass(frozen=True)
class Postback:
    kind: PostbackKind
    entry_id: str | None = None  # the entry id, or the category name for CATEGORY

    def encode(self) -> str:
        return f"{self.kind}:{self.entry_id}" if self.entry_id else str(self.kind)


def parse_postback(data: str) -> Postback | None:
    """The postback, or None for data the bot never issued."""
    if data in (PostbackKind.HUMAN, PostbackKind.NONE_OF_THESE):
        return Postback(PostbackKind(data))
    kinds = (
        PostbackKind.HELPFUL,
        PostbackKind.NOT_HELPFUL,
        PostbackKind.SHOW_ENTRY,
        PostbackKind.CATEGORY,
        PostbackKind.RETURNING_YES,
        PostbackKind.RETURNING_NO,
    )
    for kind in kinds:
        prefix = f"{kind}:"
        if data.startswith(prefix) and len(data) > len(prefix):
            return Postback(kind, data[len(prefix) :])
    return None


# Survey answers: `survey:<survey id>:<score>`. Kept apart from PostbackKind because the
# engine hands them to its survey hook before a conversation is chosen.
SURVEY_PREFIX = "survey:"


def encode_survey_answer(survey_id: int, score: int) -> str:
    return f"{SURVEY_PREFIX}{survey_id}:{score}"


def parse_survey_answer(data: str) -> tuple[int, int] | None:
    """(survey id, score) of a survey button, or None for any other postback."""
    if not data.startswith(SURVEY_PREFIX):
        return None
    survey_id, sep, score = data[len(SURVEY_PREFIX) :].partition(":")
    number = parse_row_id(survey_id)
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if not sep or number is None or not (score.isascii() and score.isdigit() and len(score) <= 2):
        return None
    return number, int(score)
