"""Whether and which survey to send: named predicates over facts gathered from the DB.

Each predicate is a small function an admin would recognise from the settings; `plan`
applies them in order and names the first rule that says no, which is stored on the
skipped survey row so "why did this customer get no survey?" has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.models import SurveyKind
from surveys.kind_rules import choose_kind
from surveys.policy import SurveyPolicy


class SkipReason(StrEnum):
    BLOCKED = "blocked_identity"
    THROTTLED = "surveyed_recently"
    SMALL_TALK = "small_talk_only"
    UNANSWERED_HANDOFF = "unanswered_handoff"
    NO_KIND = "no_kind_rule"  # none of the survey kind rules held


@dataclass(frozen=True)
class SurveyFacts:
    """What the rules need to know about one resolved conversation and its customer."""

    due_at: datetime
    asked_faq: bool  # a customer message went to the FAQ matcher
    handed_off: bool
    agent_replied: bool
    identity_blocked: bool
    last_survey_due: datetime | None  # any earlier survey of the customer, any channel
    # kind -> the latest due time of the customer's earlier surveys of that kind
    last_due_by_kind: Mapping[str, datetime]
    # the customer confirmed an FAQ answer helped (resolution "self")
    self_resolved: bool = False


def identity_is_blocked(facts: SurveyFacts) -> bool:
    """The customer blocked us on this channel (LINE unfollow): send nothing."""
    return facts.identity_blocked


def surveyed_recently(facts: SurveyFacts, policy: SurveyPolicy) -> bool:
    """At most one survey per customer per throttle period, across linked channels."""
    last = facts.last_survey_due
    return last is not None and facts.due_at - last < policy.throttle


def small_talk_only(facts: SurveyFacts, policy: SurveyPolicy) -> bool:
    """Nothing was asked of the FAQ and nobody was handed the case: nothing to rate."""
    return policy.skip_small_talk and not facts.asked_faq and not facts.handed_off


def unanswered_handoff(facts: SurveyFacts, policy: SurveyPolicy) -> bool:
    """The case went to people but no agent ever replied before it was resolved."""
    return policy.skip_unanswered_handoff and facts.handed_off and not facts.agent_replied


@dataclass(frozen=True)
class Plan:
    kind: SurveyKind
    skip: SkipReason | None = None


def plan(facts: SurveyFacts, policy: SurveyPolicy) -> Plan:
    """The survey to plan for a resolved conversation, or the rule that skips it."""
    chosen = choose_kind(
        policy.kinds,
        handed_off=facts.handed_off,
        self_resolved=facts.self_resolved,
        due_at=facts.due_at,
        last_due=facts.last_due_by_kind,
    )
    # A skipped row still needs a kind: the first rule's, when no rule held.
    kind = chosen if chosen is not None else policy.kinds[0].kind
    if identity_is_blocked(facts):
        return Plan(kind, SkipReason.BLOCKED)
    if small_talk_only(facts, policy):
        return Plan(kind, SkipReason.SMALL_TALK)
    if unanswered_handoff(facts, policy):
        return Plan(kind, SkipReason.UNANSWERED_HANDOFF)
    if surveyed_recently(facts, policy):
        return Plan(kind, SkipReason.THROTTLED)
    if chosen is None:
        return Plan(kind, SkipReason.NO_KIND)
    return Plan(kind)


class Segment(StrEnum):
    PROMOTERS = "promoters"
    PASSIVES = "passives"
    DETRACTORS = "detractors"


@dataclass(frozen=True)
class _Scale:
    low: int
    high: int
    passive: int  # the lowest passive score; below it, detractors
    promoter: int  # the lowest promoter score


# Each kind's scale, the one place its numbers live: the buttons, the checks of an
# answer, the alerts and the comment segments all read it.
_SCALES = {
    SurveyKind.NPS: _Scale(0, 10, passive=7, promoter=9),
    SurveyKind.CSAT: _Scale(1, 5, passive=3, promoter=4),
    SurveyKind.CES: _Scale(1, 7, passive=4, promoter=5),
}


def _scale(kind: str) -> _Scale:
    try:
        return _SCALES[SurveyKind(kind)]
    except ValueError:
        raise ValueError(f"unknown survey kind {kind!r}") from None


def score_range(kind: str) -> range:
    """The scores a survey of `kind` accepts: 1-5 CSAT, 0-10 NPS, 1-7 CES."""
    scale = _scale(kind)
    return range(scale.low, scale.high + 1)


def segment_of(kind: str, score: int) -> Segment:
    """NPS 9-10 / 7-8 / 0-6, CSAT 4-5 / 3 / 1-2, CES 5-7 / 4 / 1-3 (7 = very easy);
    ValueError for an unknown kind or a score off its scale."""
    scale = _scale(kind)
    if not scale.low <= score <= scale.high:
        raise ValueError(f"{SurveyKind(kind).value} score {score} is not in "
                         f"{scale.low}..{scale.high}")  # fmt: skip
    if score >= scale.promoter:
        return Segment.PROMOTERS
    if score >= scale.passive:
        return Segment.PASSIVES
    return Segment.DETRACTORS


def is_low_score(kind: str, score: int) -> bool:
    """A detractor (NPS 0-6), an unhappy CSAT (1-2) or a hard CES (1-3): agents should
    hear about it."""
    return score < _scale(kind).passive


def is_promoter(kind: str, score: int) -> bool:
    """NPS 9-10: worth inviting to leave a public review."""
    return kind == SurveyKind.NPS and score >= _SCALES[SurveyKind.NPS].promoter
