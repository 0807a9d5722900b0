"""The one rule that turns ranked matches into answer / suggest / hand off.

Both the conversation engine and the evaluation scripts call :func:`decide`, so what is
measured is what customers get.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from faq.matcher import Match


class Decision(enum.StrEnum):
    """What the bot does with a message."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    HANDOFF = "handoff"


@dataclass(frozen=True)
class Thresholds:
    """Confidence cut-offs; defaults calibrated with ``bench/faq_eval.py``."""

    answer: float = 0.75
    suggest: float = 0.2
    margin: float = 0.2
    max_choices: int = 3


@dataclass(frozen=True)
class Outcome:
    """The decision and the matches to show: ANSWER (best,), SUGGEST 1..max_choices, HANDOFF ()."""

    decision: Decision
    matches: tuple[Match, ...]


def decide(matches: Sequence[Match], thresholds: Thresholds) -> Outcome:
    """Answer when the best match is confident and clearly ahead; offer choices when it is
    plausible; otherwise hand off to a person. ``matches`` must be best first."""
    if not matches or matches[0].score < thresholds.suggest:
        return Outcome(Decision.HANDOFF, ())
    best = matches[0]
    second = matches[1].score if len(matches) > 1 else 0.0
    if (
        best.outright_confidence >= thresholds.answer
        and best.score - second >= thresholds.margin
    ):
        return Outcome(Decision.ANSWER, (best,))
    choices = tuple(m for m in matches[: thresholds.max_choices] if m.score >= thresholds.suggest)
    return Outcome(Decision.SUGGEST, choices)
