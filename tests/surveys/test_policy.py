"""The survey rules as pure predicates, and their settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings, SettingsError
from bot.models import SurveyKind
from bot.postbacks import encode_survey_answer, parse_survey_answer
from surveys.kind_rules import KindRule, default_rules, parse_kind_rules
from surveys.policy import SurveyPolicy
from surveys.rules import (
    Plan,
    SkipReason,
    SurveyFacts,
    is_low_score,
    is_promoter,
    plan,
    score_range,
)

DUE = datetime(2026, 11, 2, 9, 10, tzinfo=UTC)


def facts(**changes: object) -> SurveyFacts:
    base: dict[str, object] = dict(
        due_at=DUE, asked_faq=True, handed_off=False, agent_replied=False,
        identity_blocked=False, last_survey_due=None,
        last_due_by_kind={SurveyKind.NPS: DUE - timedelta(days=30)},
    )  # fmt: skip
    base.update(changes)
    return SurveyFacts(**base)  # type: ignore[arg-type]


def test_csat_after_an_faq_conversation() -> None:
    assert plan(facts(), SurveyPolicy()).skip is None
    assert plan(facts(), SurveyPolicy()).kind == SurveyKind.CSAT


def test_nps_instead_when_none_in_the_interval() -> None:
    assert plan(facts(last_due_by_kind={}), SurveyPolicy()).kind == SurveyKind.NPS
    old = facts(last_due_by_kind={SurveyKind.NPS: DUE - timedelta(days=90)})
    assert plan(old, SurveyPolicy()).kind == SurveyKind.NPS
    longer = SurveyPolicy(kinds=default_rules(timedelta(days=91)))
    assert plan(old, longer).kind == SurveyKind.CSAT


def test_kind_rules_choose_by_handling_and_interval() -> None:
    rules = parse_kind_rules("nps every 90d, ces bot, csat agent")
    policy = SurveyPolicy(kinds=rules, skip_unanswered_handoff=False)
    recent = {SurveyKind.NPS: DUE - timedelta(days=10)}
    assert plan(facts(last_due_by_kind={}), policy).kind == SurveyKind.NPS
    assert plan(facts(last_due_by_kind=recent), policy) == Plan(SurveyKind.CES)
    handed = facts(last_due_by_kind=recent, handed_off=True)
    assert plan(handed, policy) == Plan(SurveyKind.CSAT)
    # No rule for a handed-off case: skipped, and the row says why.
    only_bot = SurveyPolicy(kinds=parse_kind_rules("ces bot"), skip_unanswered_handoff=False)
    assert plan(handed, only_bot).skip is SkipReason.NO_KIND
    # "self": only when the customer confirmed an FAQ answer solved it.
    confirmed = SurveyPolicy(kinds=parse_kind_rules("ces self, csat"))
    assert plan(facts(self_resolved=True), confirmed).kind == SurveyKind.CES
    assert plan(facts(self_resolved=False), confirmed).kind == SurveyKind.CSAT
    # Any kind may have an interval, counted per kind.
    ces_weekly = SurveyPolicy(kinds=parse_kind_rules("ces every 7d, csat"))
    last_week = {SurveyKind.CES: DUE - timedelta(days=6, hours=23)}
    assert plan(facts(last_due_by_kind=last_week), ces_weekly).kind == SurveyKind.CSAT
    a_week = {SurveyKind.CES: DUE - timedelta(days=7)}
    assert plan(facts(last_due_by_kind=a_week), ces_weekly).kind == SurveyKind.CES


def test_kind_rules_text_round_trips_and_bad_rules_are_named() -> None:
    rules = parse_kind_rules(" NPS every 90d , ces bot every 12h,csat agent ")
    assert ", ".join(map(str, rules)) == "nps every 90d, ces bot every 12h, csat agent"
    for text, problem in [
        ("", "no rule"),
        ("nps, cess", "'cess': unknown survey kind"),
        ("ces robot", "cannot read 'robot'"),
        ("ces bot agent", "cannot read 'agent'"),
        ("nps every 0d", "above zero"),
        ("nps every 3w", "cannot read 'every'"),
    ]:
        with pytest.raises(ValueError, match=problem):
            parse_kind_rules(text)
    assert Settings.from_env({}).survey_kinds is None
    assert Settings.from_env({"HELPDESK_SURVEY_KINDS": "ces"}).survey_kinds == (
        KindRule(SurveyKind.CES),
    )
    with pytest.raises(SettingsError, match="HELPDESK_SURVEY_KINDS: 'x': unknown"):
        Settings.from_env({"HELPDESK_SURVEY_KINDS": "x"})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"identity_blocked": True}, SkipReason.BLOCKED),
        ({"asked_faq": False}, SkipReason.SMALL_TALK),
        ({"handed_off": True}, SkipReason.UNANSWERED_HANDOFF),
        ({"last_survey_due": DUE - timedelta(hours=23)}, SkipReason.THROTTLED),
    ],
)
def test_skip_rules(changes: dict[str, object], reason: SkipReason) -> None:
    assert plan(facts(**changes), SurveyPolicy()).skip is reason


def test_skip_rules_can_be_turned_off() -> None:
    lenient = SurveyPolicy(skip_small_talk=False, skip_unanswered_handoff=False)
    assert plan(facts(asked_faq=False), lenient).skip is None
    assert plan(facts(handed_off=True), lenient).skip is None
    assert plan(facts(last_survey_due=DUE - timedelta(hours=24)), SurveyPolicy()).skip is None


def test_score_bands() -> None:
    assert [s for s in range(11) if is_low_score(SurveyKind.NPS, s)] == list(range(7))
    assert [s for s in range(1, 6) if is_low_score(SurveyKind.CSAT, s)] == [1, 2]
    assert [s for s in range(11) if is_promoter(SurveyKind.NPS, s)] == [9, 10]
    assert not is_promoter(SurveyKind.CSAT, 5)
    assert list(score_range(SurveyKind.CES)) == list(range(1, 8))
    assert [s for s in range(1, 8) if is_low_score(SurveyKind.CES, s)] == [1, 2, 3]


def test_survey_postbacks_round_trip() -> None:
    assert parse_survey_answer(encode_survey_answer(12, 0)) == (12, 0)
    for data in ("survey:12", "survey:x:1", "survey:1:-1", "helpful:yes:a", "survey::3"):
        assert parse_survey_answer(data) is None
    # Digits int() refuses or that no row id can be (found by the fuzz run).
    for data in ("survey:0:²", "survey:²:1", "survey:١:1", "survey:0:1", "survey:2147483648:1",
                 "survey:1:" + "9" * 5000):  # fmt: skip
        assert parse_survey_answer(data) is None


def test_settings_defaults_and_errors() -> None:
    settings = Settings.from_env({})
    assert (settings.survey_delay_minutes, settings.survey_throttle_hours) == (10, 24)
    assert (settings.nps_interval_days, settings.survey_expiry_days) == (90, 7)
    assert settings.survey_skip_small_talk and settings.survey_skip_unanswered_handoff
    assert settings.review_url is None
    custom = Settings.from_env(
        {"HELPDESK_SURVEY_SKIP_SMALL_TALK": "false", "HELPDESK_REVIEW_URL": "https://r.example"}
    )
    assert not custom.survey_skip_small_talk and custom.review_url == "https://r.example"
    for name, value in [
        ("HELPDESK_SURVEY_DELAY_MINUTES", "-1"),
        ("HELPDESK_SURVEY_THROTTLE_HOURS", "soon"),
        ("HELPDESK_NPS_INTERVAL_DAYS", "1.5"),
        ("HELPDESK_SURVEY_EXPIRY_DAYS", "0"),
        ("HELPDESK_SURVEY_SKIP_UNANSWERED_HANDOFF", "maybe"),
        ("HELPDESK_REVIEW_URL", "example.com"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})
