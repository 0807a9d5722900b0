"""However an index is built, searches give exactly what the one-text-at-a-time build gave.

The golden answers (``matcher_golden.json``, see ``matcher_cases.py``) were recorded from
the build as it was before texts were analysed in batches and in helper processes;
rankings, confidences, fused scores and the confidence's inputs must match to the bit,
whether the index is built in this process, shared with a helper process, built
incrementally on a cache from another FAQ, or sent over from the build process.
"""

from __future__ import annotations

import json
import multiprocessing
import threading

import pytest

from faq import chunked_pickle
from faq.build_cache import BuildCache
from faq.matcher import Matcher
from tests.faq.matcher_cases import CASES, GOLDEN, SAKURA, answers

GOLDEN_ANSWERS: dict[str, list[dict[str, object]]] = json.loads(
    GOLDEN.read_text(encoding="utf-8")
)


def case_names() -> list[object]:
    return [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name == "sakura-mart" and not SAKURA.is_dir(),
                reason="the sakura-mart evaluation data is not beside the repository",
            ),
        )
        for name in CASES
    ]


@pytest.mark.parametrize("name", case_names())
def test_a_build_in_this_process_answers_as_recorded(name: str) -> None:
    entries, synonyms, messages = CASES[name]()
    matcher = Matcher.build(entries, synonyms=synonyms)
    assert answers(matcher, messages) == GOLDEN_ANSWERS[name]


@pytest.mark.parametrize("name", case_names())
def test_a_build_shared_with_a_helper_process_answers_as_recorded(name: str) -> None:
    entries, synonyms, messages = CASES[name]()
    cache = BuildCache(processes=2, parallel_min_texts=0)
    matcher = Matcher.build(entries, synonyms=synonyms, cache=cache)
    assert answers(matcher, messages) == GOLDEN_ANSWERS[name]


@pytest.mark.parametrize("name", case_names())
def test_an_incremental_build_answers_as_recorded(name: str) -> None:
    entries, synonyms, messages = CASES[name]()
    cache = BuildCache()
    # a different FAQ before: other feature ids, texts to forget, texts to reuse
    other = CASES["demo" if name == "bilingual" else "bilingual"]()[0]
    Matcher.build([*entries[1::2], *other], synonyms=synonyms, cache=cache)
    matcher = Matcher.build(entries, synonyms=synonyms, cache=cache)
    assert cache.hits > 0 and cache.misses > 0
    assert answers(matcher, messages) == GOLDEN_ANSWERS[name]


@pytest.mark.parametrize("name", case_names())
def test_a_matcher_sent_from_another_process_answers_as_recorded(name: str) -> None:
    entries, synonyms, messages = CASES[name]()
    matcher = Matcher.build(entries, synonyms=synonyms)
    sending, receiving = multiprocessing.Pipe()
    sender = threading.Thread(target=chunked_pickle.send, args=(sending, matcher))
    sender.start()
    received = chunked_pickle.receive(receiving)
    sender.join()
    assert isinstance(received, Matcher) and received is not matcher
    assert answers(received, messages) == GOLDEN_ANSWERS[name]
