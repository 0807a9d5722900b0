"""Business synonyms: validation with file:line, folding at index and query time, reload."""

from __future__ import annotations

import logging
from pathlib import Path

from faq.library import FaqLibrary
from faq.loader import check_faq_dir, faq_files, faq_fingerprint, load_faq
from faq.matcher import Matcher
from faq.model import FaqEntry
from faq.synonyms import SynonymGroup, SynonymTable, parse_synonyms
from tests.faq.support import write_visibly

FAQ = """\
locale: ja
entries:
  - id: login-help
    category: アカウント
    question: サインインできません
    answer: 画面右上のボタンからやり直してください。
  - id: opening-hours
    category: サポート
    question: 営業時間を教えてください
    answer: 平日10時から18時までです。
"""


def problems(text: str) -> list[tuple[int, str]]:
    _, found = parse_synonyms(text, "synonyms.yaml")
    return [(p.line, p.message) for p in found]


def test_a_valid_file_gives_groups_folded_into_the_first_term() -> None:
    table, found = parse_synonyms(
        "locale: ja\nsynonyms:\n  - [ログイン, サインイン]\n  - [送料, 配送料]\n", "s.yaml"
    )
    assert found == ()
    assert table.locale == "ja"
    assert table.groups == (SynonymGroup(("ログイン", "サインイン"), 3),
                            SynonymGroup(("送料", "配送料"), 4))
    assert table.rewrite("サインインと配送料") == "ログインと送料"


def test_every_mistake_is_reported_with_its_line() -> None:
    text = (
        "synonyms:\n"  # 1
        "  - [ログイン, サインイン]\n"  # 2
        "  - [送料]\n"  # 3: fewer than 2 terms
        "  - [解約, '']\n"  # 4: empty term
        "  - [退会, 123]\n"  # 5: not text
        "  - [サインイン, 入室]\n"  # 6: term already in the group at line 2
        "  - just text\n"  # 7: not a list
    )
    found = problems(text)
    assert [line for line, _ in found] == [3, 4, 5, 6, 7]
    assert "at least 2 terms" in found[0][1]
    assert "empty" in found[1][1]
    assert "must be text" in found[2][1]
    assert "already in the group at line 2" in found[3][1]
    assert "must be a list of terms" in found[4][1]


def test_the_top_level_must_hold_a_list_of_groups() -> None:
    assert problems("synonyms: ログイン\n")[0][0] == 1
    assert "list of groups" in problems("synonyms: ログイン\n")[0][1]
    assert "missing 'synonyms:'" in problems("locale: ja\n")[0][1]
    assert problems("- [a, b]\n")[0][0] == 1
    assert "unknown key" in problems("synonym: []\nsynonyms: []\n")[0][1]
    assert "unsupported locale" in problems("locale: fr\nsynonyms: []\n")[0][1]
    assert problems("synonyms: [[a, b]\n")[0][1].startswith("YAML syntax error")


def test_latin_terms_match_whole_words_only() -> None:
    table = SynonymTable([SynonymGroup(("cancel", "unsubscribe"), 1)])
    assert table.rewrite("unsubscribe me") == "cancel me"
    assert table.rewrite("unsubscribed") == "unsubscribed"


def test_a_query_with_one_term_finds_the_entry_written_with_the_other() -> None:
    entry = FaqEntry("refund", "c", "返金してほしい", (), "手続きします。", (), "ja", "f", 1)
    other = FaqEntry("hours", "c", "営業時間", (), "10時からです。", (), "ja", "f", 2)
    table = SynonymTable([SynonymGroup(("返金", "払い戻し"), 1)])
    without = Matcher.build([entry, other])
    with_synonyms = Matcher.build([entry, other], synonyms=table)
    query = "払い戻し"
    assert with_synonyms.search(query)[0].entry.id == "refund"
    assert with_synonyms.search(query)[0].score > without.search(query)[0].score


def test_the_synonyms_file_is_not_a_faq_file_but_is_checked_and_fingerprinted(
    tmp_path: Path,
) -> None:
    write_visibly(tmp_path / "faq.yaml", FAQ)
    before = faq_fingerprint(tmp_path)
    write_visibly(tmp_path / "synonyms.yaml", "synonyms:\n  - [ログイン]\n")
    assert [p.name for p in faq_files(tmp_path)] == ["faq.yaml"]
    assert faq_fingerprint(tmp_path) != before
    entries, found = check_faq_dir(tmp_path)
    assert len(entries) == 2
    assert [(Path(p.file).name, p.line) for p in found] == [("synonyms.yaml", 2)]


async def test_an_edit_of_the_synonyms_file_is_hot_reloaded(tmp_path: Path) -> None:
    write_visibly(tmp_path / "faq.yaml", FAQ)
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq.synonyms"))
    await library.load()
    query = "ゲートに入れない"
    before = {m.entry.id: m.score for m in library.matcher.search(query)}
    write_visibly(tmp_path / "synonyms.yaml", "synonyms:\n  - [サインイン, ゲートに入れ]\n")
    assert await library.reload_if_changed() is True
    assert library.matcher.synonyms.groups[0].terms == ("サインイン", "ゲートに入れ")
    best = library.matcher.search(query)[0]
    assert best.entry.id == "login-help"
    assert best.score > before["login-help"] + 0.2
    entries, synonyms = load_faq(tmp_path)
    assert synonyms.groups and len(entries) == 2
