"""The survey rules' knobs, built from Settings by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from surveys.kind_rules import KindRule, default_rules


@dataclass(frozen=True)
class SurveyPolicy:
    """When to ask, how often, and how long an answer is accepted."""

    delay: timedelta = timedelta(minutes=10)
    throttle: timedelta = timedelta(hours=24)
    # Which kind of survey to send (surveys.kind_rules); the first rule that holds wins.
    kinds: tuple[KindRule, ...] = default_rules(timedelta(days=90))
    expiry: timedelta = timedelta(days=7)
    skip_small_talk: bool = True
    skip_unanswered_handoff: bool = True
    # How long after the follow-up question the customer's next text is the comment.
    comment_window: timedelta = timedelta(minutes=30)
    # A promoter is invited to leave a review here; None turns the invitation off.
    review_url: str | None = None
