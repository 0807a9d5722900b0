"""Opt-in Japanese word vectors (``ja-ginza`` from PyPI, installed by ``make test``) and the
soft word matching they add to the matcher."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from faq.encoder import EncoderError, Float32Array
from faq.library import FaqLibrary
from faq.matcher import Matcher
from faq.semantic import SemanticConfig, SemanticModels, WordVectorEvidence
from faq.word_vectors import (
    WordVectors,
    check_word_vectors,
    murmurhash64a,
    resolve_vectors_dir,
)
from tests.faq.support import SHIPPING_FAQ, entry, write_visibly

PACKAGE = "ja-ginza"

# spaCy 3.8's spacy.strings.hash_string of each text: the keys of the vector table
SPACY_HASHES = {
    "": 14313749767032693980,
    "a": 11901859001352538922,
    "apple": 8566208034543834098,
    "送料": 7593511184120187368,
    "パスワード": 12175521559452151076,
    "abcdefgh": 17751780907874141760,  # exactly one 8-byte block, no tail
    "abcdefghi": 13885881106499164936,
    "領収書を発行してください": 2034907711895271152,
}


@pytest.fixture(scope="module")
def vectors() -> WordVectors:
    return WordVectors(resolve_vectors_dir(PACKAGE))


ENTRIES = (
    entry("overseas-shipping", "海外への発送はできますか", ("海外配送",),
          "申し訳ございませんが、海外発送は承っておりません。国内の住所のみお届けできます。"),
    entry("receipt", "領収書は発行できますか", ("領収書がほしい",),
          "マイページの注文履歴から領収書をダウンロードできます。"),
    entry("password-reset", "パスワードを忘れました", ("パスワード再設定",),
          "ログイン画面の「パスワードをお忘れの方」から再設定してください。"),
    entry("shipping-fee", "送料はいくらですか", (), "全国一律500円です。"),
)
# no word in common with the overseas-shipping entry; the lexical evidence misses it
ABROAD = "アメリカに住んでる友達に送りたい"


def test_hash_is_spacys() -> None:
    assert {text: murmurhash64a(text.encode()) for text in SPACY_HASHES} == SPACY_HASHES


def test_related_words_are_near(vectors: WordVectors) -> None:
    def vector(word: str) -> Float32Array:
        row = vectors.row(word)
        assert row is not None, word
        vector: Float32Array = vectors.vectors([row])[0]
        return vector

    america, abroad, password = vector("アメリカ"), vector("海外"), vector("パスワード")
    assert america @ abroad > 0.5 > america @ password
    assert vector("レシート") @ vector("領収書") > 0.5
    assert vectors.row("zzqxj") is None


def test_content_words_only(vectors: WordVectors) -> None:
    assert vectors.words("の、が。") == []
    assert vectors.words("") == []
    # width is folded: half-width katakana finds the same word
    assert vectors.words("ﾊﾟｽﾜｰﾄﾞ") == vectors.words("パスワード") != []


def test_soft_matching_finds_what_the_words_miss(vectors: WordVectors) -> None:
    lexical = Matcher.build(ENTRIES)
    soft = lexical.with_models(SemanticModels(word_vectors=vectors))
    assert lexical.search(ABROAD, top_k=1)[0].entry.id != "overseas-shipping"
    assert soft.search(ABROAD, top_k=1)[0].entry.id == "overseas-shipping"
    # what lexical evidence already gets right stays right
    assert soft.search("ぱすわーどわすれた", top_k=1)[0].entry.id == "password-reset"


def test_english_entries_are_not_covered(vectors: WordVectors) -> None:
    entries = (*ENTRIES, entry("hours", "What are your opening hours?", (),
                               "Weekdays 10:00-18:00.", "en"))
    lexical = Matcher.build(entries)
    soft = lexical.with_models(SemanticModels(word_vectors=vectors))
    evidence = soft.semantic[0]
    assert isinstance(evidence, WordVectorEvidence)
    assert evidence.covered.tolist() == [True, True, True, True, False]
    assert evidence.scores("hours")[-1] == 0.0
    for locale in ("en", None):  # the English entry is a candidate: no soft matching
        assert [(m.entry.id, m.score) for m in soft.search(ABROAD, 3, locale)] == [
            (m.entry.id, m.score) for m in lexical.search(ABROAD, 3, locale)
        ]
    assert soft.search(ABROAD, 1, "ja")[0].entry.id == "overseas-shipping"


def test_message_without_known_words_scores_nothing(vectors: WordVectors) -> None:
    evidence = WordVectorEvidence(ENTRIES, vectors)
    assert evidence.scores("の").tolist() == [0.0] * len(ENTRIES)
    assert evidence.scores("zzqxj").tolist() == [0.0] * len(ENTRIES)


def test_rebuild_tokenizes_only_edited_texts(vectors: WordVectors) -> None:
    models = SemanticModels(word_vectors=vectors)
    first = Matcher.build(ENTRIES).with_models(models)
    assert first.semantic[0].encoded == 11  # 4 questions, 3 alternates, 4 answers
    edited = (*ENTRIES[:3], entry("shipping-fee", "送料はいくらですか", (),
                                  "全国一律600円です。"))
    second = Matcher.build(edited).with_models(models, previous=first)
    assert second.semantic[0].encoded == 1
    fresh = Matcher.build(edited).with_models(models)
    assert [(m.entry.id, m.score) for m in second.search(ABROAD)] == [
        (m.entry.id, m.score) for m in fresh.search(ABROAD)
    ]


async def test_library_with_word_vectors(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    faq.write_text(SHIPPING_FAQ, encoding="utf-8")
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq.word_vectors"),
                         semantic=SemanticConfig(word_vectors=PACKAGE))
    await library.load()
    assert library.matcher.search(ABROAD, top_k=1)[0].entry.id == "overseas-shipping"
    write_visibly(faq, SHIPPING_FAQ.replace("500円", "600円"))
    assert await library.reload_if_changed()
    (evidence,) = library.matcher.semantic
    assert isinstance(evidence, WordVectorEvidence) and evidence.encoded == 1


def test_settings() -> None:
    assert Settings.from_env({}).faq_word_vectors is None
    settings = Settings.from_env({"HELPDESK_FAQ_WORD_VECTORS": PACKAGE})
    assert settings.semantic == SemanticConfig(
        word_vectors=PACKAGE, cache_dir=settings.faq_cache_dir
    )
    with pytest.raises(SettingsError, match="HELPDESK_FAQ_WORD_VECTORS"):
        Settings.from_env({"HELPDESK_FAQ_WORD_VECTORS": "no-such-vectors"})


def test_broken_vector_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="key2row missing"):
        (tmp_path / "vectors").write_bytes(b"")
        check_word_vectors(str(tmp_path))
    (tmp_path / "key2row").write_bytes(b"\xc1")  # a byte msgpack never uses
    with pytest.raises(EncoderError, match="faq word vectors"):
        WordVectors(tmp_path)
