"""Helper processes analyse chunks of a batch; the result is as if one process did it all,
also when helpers die or fail."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from faq import analysis_pool
from faq.analysis_pool import analyze_in_parallel
from faq.analyzer import TextAnalyzer
from faq.feature_batch import FeatureBatch, TextKey, analyze_batch
from faq.index import StringPack
from faq.synonyms import SynonymGroup, SynonymTable

SYNONYMS = SynonymTable([SynonymGroup(("返品", "返却"), 1)])
QUESTIONS = [
    "{}の送料はいくらですか", "{}で返却したい", "{}のポイントが付かない", "{}に電話がつながらない",
    "{} coupon code doesn't work", "{}の営業時間を教えてください",
]  # fmt: skip
PLACES = ["東京", "大阪", "名古屋", "札幌", "福岡", "仙台", "広島", "那覇", "京都", "神戸"]
KEYS: list[TextKey] = [
    (q.format(place) + "?" * i, True, None, False, True)
    for i in range(3)
    for place in PLACES
    for q in QUESTIONS
]  # 180 texts: at least 50 per chunk, so with two processes there are four chunks


def features(batches: Sequence[FeatureBatch]) -> list[tuple[list[str], list[int], str]]:
    """Per text: its feature names, counts and kana key (local numbering undone)."""
    result = []
    for batch in batches:
        names = StringPack.unpack(batch.names)
        ends = np.cumsum(batch.sizes).tolist()
        for start, end, key in zip([0, *ends[:-1]], ends, StringPack.unpack(batch.keys),
                                   strict=True):
            result.append((
                [names[f] for f in batch.features[start:end].tolist()],
                batch.counts[start:end].tolist(),
                key,
            ))  # fmt: skip
    return result


@pytest.fixture(scope="module")
def expected() -> list[tuple[list[str], list[int], str]]:
    return features([analyze_batch(TextAnalyzer(loanwords=True), SYNONYMS, KEYS)])


class PatientAnalyzer(TextAnalyzer):
    """Analyses nothing until every helper has stopped: the helpers then take every chunk
    they can, and what this process analyses is exactly what they gave back."""

    def terms(self, text: str, **options: Any) -> Any:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            t.name == "faq-analysis-feeder" for t in threading.enumerate()
        ):
            time.sleep(0.01)
        return super().terms(text, **options)


@pytest.fixture
def chunk_log(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Which chunks feeder threads delivered and gave back."""
    log: dict[str, list[int]] = {"helpers": [], "given back": []}
    deliver, give_back = analysis_pool._Chunks.deliver, analysis_pool._Chunks.give_back

    def delivering(self: analysis_pool._Chunks, index: int, batch: FeatureBatch) -> None:
        if threading.current_thread().name == "faq-analysis-feeder":
            log["helpers"].append(index)
        deliver(self, index, batch)

    def giving_back(self: analysis_pool._Chunks, index: int) -> None:
        log["given back"].append(index)
        give_back(self, index)

    monkeypatch.setattr(analysis_pool._Chunks, "deliver", delivering)
    monkeypatch.setattr(analysis_pool._Chunks, "give_back", giving_back)
    return log


def test_pieces_come_back_in_order_and_equal_to_one_process(
    expected: list[tuple[list[str], list[int], str]],
) -> None:
    pieces = list(analyze_in_parallel(TextAnalyzer(loanwords=True), SYNONYMS, KEYS, 2))
    assert [k for piece, _ in pieces for k in piece] == KEYS
    assert len(pieces) > 2
    assert features([batch for _, batch in pieces]) == expected


def test_helpers_take_every_chunk_they_can(
    expected: list[tuple[list[str], list[int], str]], chunk_log: dict[str, list[int]]
) -> None:
    pieces = list(analyze_in_parallel(PatientAnalyzer(loanwords=True), SYNONYMS, KEYS, 2))
    # this process took the first chunk before it began to wait
    assert sorted(chunk_log["helpers"]) == list(range(1, len(pieces)))
    assert features([batch for _, batch in pieces]) == expected


@pytest.mark.parametrize(
    ("boot", "delivered", "given_back"),
    [
        pytest.param("import sys; sys.exit(3)", 0, 0, id="dies-at-start"),
        pytest.param(
            "import sys; sys.path.insert(0, sys.argv[2]); from faq import analysis_pool as p\n"
            "calls, analyze = [], p.analyze_batch\n"
            "def failing(*args):\n"
            "    calls.append(1)\n"
            "    if len(calls) > 1: raise RuntimeError('broken')\n"
            "    return analyze(*args)\n"
            "p.analyze_batch = failing; p.serve(int(sys.argv[1]))",
            1,  # its first chunk
            1,  # its second
            id="fails-after-one-chunk",
        ),
        pytest.param(
            "import os, sys; sys.path.insert(0, sys.argv[2]); from faq import analysis_pool as p\n"
            "def dying(*args): os._exit(9)\n"
            "p.analyze_batch = dying; p.serve(int(sys.argv[1]))",
            0,
            1,  # its first chunk
            id="dies-mid-chunk",
        ),
    ],
)
def test_what_helpers_do_not_analyse_this_process_does(
    boot: str,
    delivered: int,
    given_back: int,
    monkeypatch: pytest.MonkeyPatch,
    expected: list[tuple[list[str], list[int], str]],
    chunk_log: dict[str, list[int]],
) -> None:
    monkeypatch.setattr(analysis_pool, "_BOOT", boot)
    pieces = list(analyze_in_parallel(PatientAnalyzer(loanwords=True), SYNONYMS, KEYS, 2))
    assert [k for piece, _ in pieces for k in piece] == KEYS
    assert features([batch for _, batch in pieces]) == expected
    assert (len(chunk_log["helpers"]), len(chunk_log["given back"])) == (delivered, given_back)


def test_without_an_interpreter_to_start_this_process_analyses_alone(
    monkeypatch: pytest.MonkeyPatch, expected: list[tuple[list[str], list[int], str]]
) -> None:
    def no_interpreter(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("no python here")

    monkeypatch.setattr(subprocess, "Popen", no_interpreter)
    pieces = list(analyze_in_parallel(TextAnalyzer(loanwords=True), SYNONYMS, KEYS, 2))
    assert features([batch for _, batch in pieces]) == expected


def test_a_failing_caller_leaves_no_helper_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[analysis_pool._Helper] = []
    original = analysis_pool._Helper.__init__

    def recording(self: analysis_pool._Helper) -> None:
        original(self)
        started.append(self)

    monkeypatch.setattr(analysis_pool._Helper, "__init__", recording)
    pieces = analyze_in_parallel(TextAnalyzer(loanwords=True), SYNONYMS, KEYS, 2)
    next(pieces)
    pieces.close()  # the caller gives up (an exception in the build, say)
    assert started and all(h._process.poll() is not None for h in started)


def test_usable_cores_is_at_least_one() -> None:
    assert analysis_pool.usable_cores() >= 1
