"""The answer / suggest / hand-off rule."""

from __future__ import annotations

from faq.decision import Decision, Thresholds, decide
from faq.matcher import Match
from faq.model import FaqEntry

T = Thresholds(answer=0.8, suggest=0.3, margin=0.1, max_choices=3)


def match(entry_id: str, score: float) -> Match:
    entry = FaqEntry(entry_id, "c", "q", (), "a", (), "ja", "test.yaml", 1)
    return Match(entry, score)


def test_confident_and_clearly_ahead_answers_with_the_best_only() -> None:
    outcome = decide([match("a", 0.9), match("b", 0.5)], T)
    assert outcome.decision is Decision.ANSWER
    assert [m.entry.id for m in outcome.matches] == ["a"]


def test_confident_but_close_runner_up_suggests_choices() -> None:
    outcome = decide([match("a", 0.9), match("b", 0.85), match("c", 0.4), match("d", 0.35)], T)
    assert outcome.decision is Decision.SUGGEST
    assert [m.entry.id for m in outcome.matches] == ["a", "b", "c"]  # capped at max_choices


def test_plausible_suggests_only_matches_above_the_suggest_threshold() -> None:
    outcome = decide([match("a", 0.6), match("b", 0.2)], T)
    assert outcome.decision is Decision.SUGGEST
    assert [m.entry.id for m in outcome.matches] == ["a"]


def test_weak_or_no_matches_hand_off() -> None:
    assert decide([match("a", 0.29), match("b", 0.1)], T).decision is Decision.HANDOFF
    assert decide([match("a", 0.29)], T).matches == ()
    assert decide([], T).decision is Decision.HANDOFF


def test_single_confident_match_answers() -> None:
    assert decide([match("a", 0.8)], T).decision is Decision.ANSWER


def test_default_thresholds_are_ordered() -> None:
    d = Thresholds()
    assert 0.0 < d.suggest < d.answer <= 1.0
