"""English questions meet a Japanese FAQ through JMdict's glosses (faq.glossary): the table
built from a JMdict database, its file, and what the matcher and the library do with it."""

from __future__ import annotations

import gzip
import logging
import lzma
import sqlite3
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from faq.decision import Decision, Thresholds, decide
from faq.glossary import (
    Glossary,
    GlossaryError,
    build_from_jmdict,
    gloss_key,
    installed_path,
    load_glossary,
    resolve_glossary,
    write_glossary,
)
from faq.library import FaqLibrary
from faq.matcher import Matcher
from tests.faq.support import TWO_ENTRY_FAQ, entry

# The tables of jamdict-data's JMdict database that the glossary reads, as it has them.
SCHEMA = """
CREATE TABLE Entry (idseq INTEGER NOT NULL UNIQUE);
CREATE TABLE Kanji (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT);
CREATE TABLE KJP (kid INTEGER, text TEXT);
CREATE TABLE Kana (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT, nokanji BOOLEAN);
CREATE TABLE KNP (kid INTEGER, text TEXT);
CREATE TABLE Sense (ID INTEGER PRIMARY KEY, idseq INTEGER);
CREATE TABLE SenseGloss (sid INTEGER, lang TEXT, gend TEXT, text TEXT);
"""

# (idseq, kanji with priority tags, kana with priority tags, senses of glosses)
Spellings = list[tuple[str, list[str]]]
WORDS: list[tuple[int, Spellings, Spellings, list[list[str]]]] = [
    (1, [], [("パスワード", ["gai1"])], [["password"]]),
    (2, [("暗号", ["ichi1", "news1"])], [("あんごう", ["ichi1"])],
     [["code", "cipher"], ["password"]]),
    (3, [("符牒", [])], [("ふちょう", [])], [["password"]]),  # not common: left out
    (4, [("忘れる", ["ichi1"])], [("わすれる", ["ichi1"])], [["to forget"]]),
    (5, [("発送", ["news1"])], [("はっそう", ["news1"])], [["sending", "shipping"]]),
    (6, [("船", ["ichi1"])], [("ふね", ["ichi1"])], [["ship", "boat"]]),
    (7, [("出荷", ["nf20"])], [("しゅっか", ["nf20"])], [["shipping (of goods)", "shipment"]]),
    (8, [("受取", [])], [("うけとり", ["ichi1"])], [["receipt"]]),  # common in kana only
    (9, [("領収書", ["news2"])], [("りょうしゅうしょ", ["news2"])],
     [["receipt", "a written acknowledgement that something was received"]]),
]  # fmt: skip


def jmdict(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    kanji_id = kana_id = sense_id = 0
    for idseq, kanji, kana, senses in WORDS:
        db.execute("INSERT INTO Entry VALUES (?)", (idseq,))
        for text, tags in kanji:
            kanji_id += 1
            db.execute("INSERT INTO Kanji VALUES (?, ?, ?)", (kanji_id, idseq, text))
            db.executemany("INSERT INTO KJP VALUES (?, ?)", [(kanji_id, t) for t in tags])
        for text, tags in kana:
            kana_id += 1
            db.execute("INSERT INTO Kana VALUES (?, ?, ?, ?)", (kana_id, idseq, text, 0))
            db.executemany("INSERT INTO KNP VALUES (?, ?)", [(kana_id, t) for t in tags])
        for glosses in senses:
            sense_id += 1
            db.execute("INSERT INTO Sense VALUES (?, ?)", (sense_id, idseq))
            db.executemany(
                "INSERT INTO SenseGloss VALUES (?, 'eng', NULL, ?)",
                [(sense_id, g) for g in glosses],
            )
    db.commit()
    db.close()
    return path


def lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


@pytest.mark.parametrize(
    ("gloss", "key"),
    [
        ("to forget", "forget"),
        ("Password", "password"),
        ("shipping (of goods)", "shipping"),
        ("credit card", "credit card"),
        ("a written acknowledgement that something was received", None),
        ("(uk) ditto mark", "ditto mark"),
        ("10%", None),
    ],
)
def test_a_gloss_is_a_translation_or_a_definition(gloss: str, key: str | None) -> None:
    assert gloss_key(gloss) == key


def test_the_table_keeps_common_words_best_first(tmp_path: Path) -> None:
    out = tmp_path / "glossary.tsv.gz"
    assert build_from_jmdict(jmdict(tmp_path / "jamdict.db"), out) == 10
    assert lines(out) == [
        "boat\t船",
        "cipher\t暗号",
        "code\t暗号",
        "forget\t忘れる",
        # the loanword (kana only) first: 暗号 has it as its second sense; 符牒 is rare
        "password\tパスワード,暗号",
        "receipt\tうけとり,領収書",  # 受取 is common only as kana; news2 after ichi1
        "sending\t発送",
        "ship\t船",
        "shipment\t出荷",
        "shipping\t発送,出荷",  # news1 before nf20
    ]


def test_a_packed_database_gives_the_same_bytes(tmp_path: Path) -> None:
    db = jmdict(tmp_path / "jamdict.db")
    packed = tmp_path / "jamdict.db.xz"
    packed.write_bytes(lzma.compress(db.read_bytes()))
    build_from_jmdict(db, tmp_path / "a.tsv.gz")
    build_from_jmdict(packed, tmp_path / "b.tsv.gz")
    assert (tmp_path / "a.tsv.gz").read_bytes() == (tmp_path / "b.tsv.gz").read_bytes()


def test_a_file_that_is_no_jmdict_is_an_error(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    with pytest.raises(GlossaryError, match="not a JMdict database"):
        build_from_jmdict(other, tmp_path / "g.tsv.gz")
    assert not (tmp_path / "g.tsv.gz").exists()


def test_lookups_by_word_stem_and_past_form() -> None:
    glossary = Glossary.of([
        ("forget", ["忘れる"]), ("ship", ["船"]), ("shipping", ["発送", "出荷"]),
        ("email", ["メール"]), ("use", ["使う", "使用", "利用", "効用"]), ("the", ["其の"]),
    ])  # fmt: skip
    assert glossary.japanese_for("forgot") == ("忘れる",)
    assert glossary.japanese_for("emails") == ("メール",)
    assert glossary.japanese_for("shipping") == ("発送", "出荷", "船")
    assert glossary.japanese_for("ship") == ("船", "発送", "出荷")
    assert glossary.japanese_for("use") == ("使う", "使用", "利用")
    assert glossary.japanese_for("the") == ()
    assert glossary.japanese_for("declined") == ()


def test_a_broken_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "g.tsv.gz"
    write_glossary({"ship": ["船"]}, path)
    assert load_glossary(path).japanese_for("ship") == ("船",)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("ship\t船\nno tab here\n")
    with pytest.raises(GlossaryError, match=r"g\.tsv\.gz:2: expected"):
        load_glossary(path)
    path.write_bytes(b"not gzip")
    with pytest.raises(GlossaryError, match="cannot read"):
        load_glossary(path)


PASSWORD_FAQ = [
    entry("password-reset", "パスワードを忘れた", ("パスワード再設定",), "再設定のページから。"),
    entry("shipping-fee", "送料はいくら", ("配送料",), "全国一律500円です。"),
    entry("receipt", "領収書はもらえますか", (), "マイページから発行できます。"),
]
GLOSSARY = Glossary.of([
    ("password", ["パスワード", "暗号"]), ("forget", ["忘れる"]), ("receipt", ["レシート"]),
    ("shipping", ["発送", "出荷"]), ("fee", ["料金"]),
])  # fmt: skip


def test_an_english_question_finds_the_japanese_entry() -> None:
    lexical = Matcher.build(PASSWORD_FAQ)
    bridged = lexical.with_glossary(GLOSSARY)
    assert bridged.glossary is GLOSSARY and lexical.glossary is None
    # レシート meets 領収書 through Sudachi's synonym group, not through the glossary
    for text, expected in (("I forgot my password", "password-reset"),
                           ("can I get a receipt", "receipt")):  # fmt: skip
        without = lexical.search(text, top_k=1)
        found = bridged.search(text, top_k=1)
        assert found[0].entry.id == expected, text
        assert not without or without[0].score < found[0].score, text
    # Japanese questions are read as before
    for text in ("パスワード忘れた", "送料いくら"):
        assert [m.entry.id for m in bridged.search(text)] == [
            m.entry.id for m in lexical.search(text)
        ]
        assert bridged.search(text)[0].score == lexical.search(text)[0].score


def test_english_entries_are_searched_without_translating() -> None:
    english = [entry("fee", "How much is shipping?", (), "Free over $50.", "en"),
               entry("pw", "I forgot my password", (), "Use the reset link.", "en")]  # fmt: skip
    lexical = Matcher.build(english)
    assert lexical.with_glossary(GLOSSARY).search("forgot password") == lexical.search(
        "forgot password"
    )
    # A bilingual FAQ: a search among its English entries reads English as English, one
    # among its Japanese entries (or all of them) translates.
    bilingual = Matcher.build([*english, *PASSWORD_FAQ])
    bridged = bilingual.with_glossary(GLOSSARY)
    for text in ("forgot password", "I forgot it"):
        assert bridged.search(text, locale="en") == bilingual.search(text, locale="en")
        assert bridged.search(text, locale="ja") != bilingual.search(text, locale="ja")
        assert bridged.search(text) != bilingual.search(text)


def test_the_installed_glossary_was_built_from_jmdict() -> None:
    """`make` builds it; the figures in the README were measured with it."""
    glossary = load_glossary(installed_path())
    assert len(glossary) > 30_000
    assert glossary.japanese_for("password")[0] == "パスワード"
    assert glossary.japanese_for("forgot")[0] == "忘れる"
    assert "レシート" in glossary.japanese_for("receipt")
    assert "発送" in glossary.japanese_for("shipping")
    matcher = Matcher.build(PASSWORD_FAQ).with_glossary(glossary)
    best = matcher.search("I forgot my password", top_k=1)
    assert best[0].entry.id == "password-reset"
    assert decide(best, Thresholds()).decision != Decision.HANDOFF


def test_the_setting_picks_the_file(tmp_path: Path) -> None:
    assert Settings.from_env({}).faq_glossary == installed_path()
    assert Settings.from_env({"HELPDESK_FAQ_GLOSSARY": "off"}).faq_glossary is None
    own = tmp_path / "mine.tsv.gz"
    write_glossary({"ship": ["船"]}, own)
    assert Settings.from_env({"HELPDESK_FAQ_GLOSSARY": str(own)}).faq_glossary == own
    assert resolve_glossary("auto") == installed_path()
    with pytest.raises(SettingsError, match=r"HELPDESK_FAQ_GLOSSARY: .*no such glossary file"):
        Settings.from_env({"HELPDESK_FAQ_GLOSSARY": str(tmp_path / "missing.tsv.gz")})


async def test_the_library_reads_english_with_its_glossary(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "faq.yaml").write_text(TWO_ENTRY_FAQ, encoding="utf-8")
    own = tmp_path / "g.tsv.gz"
    # words Sudachi has no loanword for, so only the glossary connects them
    write_glossary({"postage": ["送料"], "business": ["営業"]}, own)
    library = FaqLibrary(tmp_path / "faq", logging.getLogger("test.glossary"), glossary=own)
    plain = FaqLibrary(tmp_path / "faq", logging.getLogger("test.glossary"))
    try:
        await library.load()
        await plain.load()
        assert library.matcher.glossary is not None and plain.matcher.glossary is None
        for text, expected in (("postage?", "fee"), ("business time", "hours")):
            bridged = library.matcher.search(text)
            assert bridged[0].entry.id == expected, text
            assert bridged[0].score > 2 * plain.matcher.search(text)[0].score, text
    finally:
        await library.close()
        await plain.close()


async def test_a_glossary_that_cannot_be_read_leaves_the_faq_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "faq.yaml").write_text(TWO_ENTRY_FAQ, encoding="utf-8")
    broken = tmp_path / "g.tsv.gz"
    broken.write_bytes(b"not gzip")
    library = FaqLibrary(tmp_path / "faq", logging.getLogger("test.glossary"), glossary=broken)
    try:
        with caplog.at_level(logging.WARNING):
            await library.load()
        assert library.matcher.glossary is None
        assert library.matcher.search("送料")[0].entry.id == "fee"
        assert "FAQ glossary not loaded" in caplog.text and "g.tsv.gz" in caplog.text
    finally:
        await library.close()
