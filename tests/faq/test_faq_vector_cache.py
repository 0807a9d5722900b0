"""The encoder's vectors kept on disk by content hash (faq.vector_cache): a restart reads
them instead of encoding again, and a damaged or unwritable cache costs time, not answers."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings, SettingsError
from faq.encoder import SentenceEncoder, load_encoder
from faq.library import FaqLibrary
from faq.matcher import Matcher
from faq.semantic import SemanticConfig, SemanticEvidence, SemanticModels
from faq.vector_cache import VectorCache, text_digest
from tests.faq.support import entry, write_visibly
from tests.faq.test_faq_semantic import ENTRIES, FAQ_YAML, MODEL, PARAPHRASE

LOG = logging.getLogger("test.faq.vector_cache")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder(MODEL)


def evidence(matcher: Matcher) -> SemanticEvidence:
    (source,) = matcher.semantic
    assert isinstance(source, SemanticEvidence)
    return source


def ranked(matcher: Matcher) -> list[tuple[str, float]]:
    return [(m.entry.id, m.score) for m in matcher.search(PARAPHRASE, top_k=4)]


def test_a_restart_reads_the_vectors_instead_of_encoding(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    models = SemanticModels(encoder=encoder, cache=VectorCache(tmp_path / "cache", LOG))
    first = Matcher.build(ENTRIES).with_models(models)
    assert evidence(first).encoded == 8
    (stored,) = (tmp_path / "cache").iterdir()
    assert encoder.fingerprint in stored.name
    # a new process: no previous matcher, only the disk
    again = Matcher.build(ENTRIES).with_models(models)
    assert evidence(again).encoded == 0
    uncached = Matcher.build(ENTRIES).with_models(SemanticModels(encoder=encoder))
    assert ranked(again) == ranked(uncached)
    assert ranked(again)[0][0] == "lost-card"


def test_an_edit_encodes_only_new_texts_and_the_file_follows_the_faq(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    cache = VectorCache(tmp_path, LOG)
    models = SemanticModels(encoder=encoder, cache=cache)
    Matcher.build(ENTRIES).with_models(models)
    edited = (*ENTRIES[:3], entry("lost-card", "I lost my card", ("I can't find my card",),
                                  "Freeze the card in the app right away.", "en"))
    # a restart after the edit: only the new alternate is encoded
    after = Matcher.build(edited).with_models(models)
    assert evidence(after).encoded == 1
    held = cache.load(encoder.fingerprint, encoder.dimensions)
    texts = [t for e in edited for t in (e.question, *e.alternates)]
    assert set(held) == {text_digest(t) for t in texts}  # the removed text is gone
    vectors = encoder.encode(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert np.abs(held[text_digest(text)] - vector).max() < 1e-6


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_file_is_encoded_again_and_rewritten(
    encoder: SentenceEncoder, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = VectorCache(tmp_path, LOG)
    models = SemanticModels(encoder=encoder, cache=cache)
    Matcher.build(ENTRIES).with_models(models)
    (path,) = tmp_path.iterdir()
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[:-100], "garbage": b"x" * len(data), "empty": b""}[damage]
    )
    with caplog.at_level(logging.WARNING):
        rebuilt = Matcher.build(ENTRIES).with_models(models)
    assert evidence(rebuilt).encoded == 8
    assert str(path) in caplog.text
    assert ranked(rebuilt)[0][0] == "lost-card"
    assert evidence(Matcher.build(ENTRIES).with_models(models)).encoded == 0  # rewritten


def test_vectors_of_another_model_are_not_used(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    cache = VectorCache(tmp_path, LOG)
    Matcher.build(ENTRIES).with_models(SemanticModels(encoder=encoder, cache=cache))
    assert cache.load("0" * 32, encoder.dimensions) == {}
    # the same name but other dimensions (a file of another layout) reads as damaged
    assert cache.load(encoder.fingerprint, encoder.dimensions * 2) == {}


def test_a_cache_that_cannot_be_written_costs_nothing_but_time(
    encoder: SentenceEncoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the directory should be", encoding="utf-8")
    models = SemanticModels(encoder=encoder, cache=VectorCache(blocked / "cache", LOG))
    with caplog.at_level(logging.WARNING):
        matcher = Matcher.build(ENTRIES).with_models(models)
    assert "FAQ vector cache not written" in caplog.text
    assert ranked(matcher)[0][0] == "lost-card"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir"]


async def test_a_restarted_library_starts_from_the_cache(tmp_path: Path) -> None:
    faq_dir = tmp_path / "faq"
    faq_dir.mkdir()
    (faq_dir / "faq.yaml").write_text(FAQ_YAML, encoding="utf-8")
    config = SemanticConfig(encoder=MODEL, cache_dir=tmp_path / "cache")
    first = FaqLibrary(faq_dir, LOG, semantic=config)
    try:
        await first.load()
        assert evidence(first.matcher).encoded == 4
    finally:
        await first.close()
    second = FaqLibrary(faq_dir, LOG, semantic=config)
    try:
        await second.load()
        assert evidence(second.matcher).encoded == 0
        assert second.matcher.search(PARAPHRASE, top_k=1, locale="en")[0].entry.id == (
            "lost-card"
        )
        write_visibly(faq_dir / "faq.yaml", FAQ_YAML.replace("change my PIN?", "reset my PIN?"))
        assert await second.reload_if_changed()
        assert evidence(second.matcher).encoded == 1
    finally:
        await second.close()


def test_the_setting_names_the_directory(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert Settings.from_env(home).faq_cache_dir == tmp_path / ".cache" / "helpdesk"
    xdg = {**home, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert Settings.from_env(xdg).faq_cache_dir == tmp_path / "xdg" / "helpdesk"
    own = {"HELPDESK_FAQ_CACHE_DIR": str(tmp_path / "mine")}
    assert Settings.from_env(own).semantic.cache_dir == tmp_path / "mine"
    assert Settings.from_env({"HELPDESK_FAQ_CACHE_DIR": "off"}).faq_cache_dir is None
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(SettingsError, match="HELPDESK_FAQ_CACHE_DIR: not a directory"):
        Settings.from_env({"HELPDESK_FAQ_CACHE_DIR": str(tmp_path / "file")})
    # no encoder, no cache: the word vectors are quick to rebuild
    assert SemanticConfig(cache_dir=tmp_path).load().cache is None
