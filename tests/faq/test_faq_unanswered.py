"""Grouping unanswered questions and drafting entries for them."""

from __future__ import annotations

from pathlib import Path

from faq.loader import check_faq_dir
from faq.unanswered import UnansweredItem, draft_yaml, group_questions


def item(text: str, locale: str = "ja", candidate: str = "x") -> UnansweredItem:
    return UnansweredItem(text, locale, (candidate,))


def test_similar_wordings_form_one_group_most_frequent_first() -> None:
    items = [
        item("ギフト包装はできますか", candidate="gift"),
        item("ギフト包装できますか", candidate="gift"),
        item("ギフト包装できますか", candidate="gift"),
        item("ポイントの有効期限", candidate="points"),
        item("gift wrapping?", "en"),
    ]
    groups = group_questions(items)
    assert [g.count for g in groups] == [3, 1, 1]
    top = groups[0]
    assert top.texts == ("ギフト包装できますか", "ギフト包装はできますか")
    assert top.candidates == (("gift", 3),)
    assert {g.locale for g in groups} == {"ja", "en"}


def test_languages_never_share_a_group() -> None:
    groups = group_questions([item("abc def", "ja"), item("abc def", "en")])
    assert len(groups) == 2


def test_half_width_and_full_width_wordings_group_together() -> None:
    groups = group_questions([item("ﾚｼｰﾄがほしい"), item("レシートがほしい")])
    assert len(groups) == 1 and groups[0].count == 2


def test_draft_is_valid_yaml_that_check_rejects_until_answered(tmp_path: Path) -> None:
    groups = group_questions(
        [item('領収書 "PDF" がほしい: 至急'), item("領収書PDFがほしい"), item("hi", "en")]
    )
    draft = tmp_path / "draft.yaml"
    draft.write_text(draft_yaml(groups), encoding="utf-8")
    entries, problems = check_faq_dir(tmp_path)
    assert entries == ()
    assert problems and all("answer" in p.message for p in problems)
    finished = draft.read_text(encoding="utf-8").replace('answer: ""', "answer: 書きました")
    draft.write_text(finished, encoding="utf-8")
    entries, problems = check_faq_dir(tmp_path)
    assert problems == ()
    wordings = {t for e in entries for t in (e.question, *e.alternates)}
    assert wordings == {'領収書 "PDF" がほしい: 至急', "領収書PDFがほしい", "hi"}
    assert {e.locale for e in entries} == {"ja", "en"}
