"""Whether and which survey to send: named predicates over facts gathered from the DB.

Each predicate is a small function an admin would recognise from the settings; `plan`
applies them in order and names the first rule that says no, which is stored on the
skipped survey row so "why did this customer get no survey?" has an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.models import SurveyKind
from surveys.policy import SurveyPolicy


class SkipReason(StrEnum):
    BLOCKED = "blocked_identity"
    THROTTLED = "surveyed_recently"
    SMALL_TALK = "small_talk_only"
    UNANSWERED_HANDOFF = "unanswered_handoff"


@dataclass(frozen=True)
class SurveyFacts:
    """What the rules need to know about one resolved conversation and its customer."""

    due_at: datetime
    asked_faq: bool  # a customer message went to the FAQ matcher
    handed_off: bool
    agent_replied: bool
    identity_blocked: bool
    last_survey_due: datetime | None  # any earlier survey of the customer, any channel
    last_nps_due: datetime | None


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


def nps_is_due(facts: SurveyFacts, policy: SurveyPolicy) -> bool:
    """No NPS question to this customer within the NPS interval: ask it instead of CSAT."""
    last = facts.last_nps_due
    return last is None or facts.due_at - last >= policy.nps_interval


@dataclass(frozen=True)
class Plan:
    kind: SurveyKind
    skip: SkipReason | None = None


def plan(facts: SurveyFacts, policy: SurveyPolicy) -> Plan:
    """The survey to plan for a resolved conversation, or the rule that skips it."""
    kind = SurveyKind.NPS if nps_is_due(facts, policy) else SurveyKind.CSAT
    if identity_is_blocked(facts):
        return Plan(kind, SkipReason.BLOCKED)
    if small_talk_only(facts, policy):
        return Plan(kind, SkipReason.SMALL_TALK)
    if unanswered_handoff(facts, policy):
        return Plan(kind, SkipReason.UNANSWERED_HANDOFF)
    if surveyed_recently(facts, policy):
        return Plan(kind, SkipReason.THROTTLED)
    return Plan(kind)


def score_range(kind: str) -> range:
    """The scores a survey of `kind` accepts: 1-5 for CSAT, 0-10 for NPS."""
    return range(0, 11) if kind == SurveyKind.NPS else range(1, 6)


def is_low_score(kind: str, score: int) -> bool:
    """A detractor (NPS 0-6) or an unhappy CSAT (1-2): agents should hear about it."""
    return score <= 6 if kind == SurveyKind.NPS else score <= 2


def is_promoter(kind: str, score: int) -> bool:
    """NPS 9-10: worth inviting to leave a public review."""
    return kind == SurveyKind.NPS and score >= 9
