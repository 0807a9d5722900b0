"""A batch of texts counted together gives each text exactly what analysing it alone gives."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from faq.analyzer import TextAnalyzer
from faq.feature_batch import CHANNELS, FeatureBatch, TextKey, analyze_batch, channel_counts
from faq.index import StringPack
from faq.synonyms import SynonymGroup, SynonymTable

SYNONYMS = SynonymTable(
    [SynonymGroup(("送料", "配送料"), 1), SynonymGroup(("sign in", "login"), 2)]
)

TEXTS = [
    "送料はいくらですか？",
    "配送料を知りたい",  # folded into 送料 when the key asks for synonyms
    "ﾊﾟｽﾜｰﾄﾞ 再設定",  # half-width katakana
    "ぱすわーど わすれた",  # hiragana: guessed words
    "I can't login to the app (error 404)",
    "クーポン coupon の使い方 〜 ポイント",  # Latin words inside Japanese: katakana forms
    "",
    "   ",
    "あ",  # one-character reading run
    "😀👍 絵文字だけ？",
    "𠮷野家の牛丼",  # a character beyond the BMP
    "ー",
    "送料 送料 送料 無料 無料",  # repeated words: counts above one
    "返品" * 2500,  # longer than one Sudachi chunk
]
# every way the build asks for a text: (fold synonyms, limit, chars, readings)
OPTIONS = [
    (False, None, False, True),
    (True, None, False, True),
    (True, None, True, True),
    (True, 120, False, False),
    (False, 5, True, False),
]
KEYS: list[TextKey] = [(text, *options) for options in OPTIONS for text in TEXTS]


def alone(analyzer: TextAnalyzer, key: TextKey) -> tuple[list[tuple[str, int]], str]:
    """The features of one text as a per-text analysis gives them, in posting order."""
    text, rewrite, limit, chars, readings = key
    analysis = analyzer.analyze(
        text,
        rewrite=SYNONYMS.rewrite if rewrite else None,
        limit=limit,
        chars=chars,
        readings=readings,
    )
    postings = [
        (f"{channel}:{feature}", count)
        for channel, counts in channel_counts(analysis).items()
        for feature, count in counts.items()
    ]
    return postings, analysis.key


def unpacked(batch: FeatureBatch) -> list[tuple[list[tuple[str, int]], str]]:
    names = StringPack.unpack(batch.names)
    ends = np.cumsum(batch.sizes).tolist()
    starts = [0, *ends[:-1]]
    keys = StringPack.unpack(batch.keys)
    return [
        (
            [(names[f], c) for f, c in zip(batch.features[s:e].tolist(),
                                             batch.counts[s:e].tolist(), strict=True)],
            key,
        )
        for s, e, key in zip(starts, ends, keys, strict=True)
    ]


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer(loanwords=True)


def test_each_text_gets_the_features_and_order_of_its_own_analysis(
    analyzer: TextAnalyzer,
) -> None:
    batch = analyze_batch(analyzer, SYNONYMS, KEYS)
    assert len(batch) == len(KEYS)
    got = unpacked(batch)
    for key, features in zip(KEYS, got, strict=True):
        assert features == alone(analyzer, key), key[1:]
    # the test covers what it should: counts above one, every channel
    assert any(c > 1 for postings, _ in got for _, c in postings)
    assert {name[0] for postings, _ in got for name, _ in postings} == set(CHANNELS)


def test_names_are_numbered_in_order_of_first_use(analyzer: TextAnalyzer) -> None:
    batch = analyze_batch(analyzer, SYNONYMS, KEYS)
    first_use = list(dict.fromkeys(batch.features.tolist()))
    assert first_use == list(range(len(StringPack.unpack(batch.names))))


def test_a_batch_is_the_same_whatever_batches_came_before(analyzer: TextAnalyzer) -> None:
    fresh = TextAnalyzer(loanwords=True)
    analyze_batch(fresh, SYNONYMS, KEYS[::-1])  # warm its caches in another order
    again = analyze_batch(fresh, SYNONYMS, KEYS[3:9])
    assert unpacked(again) == unpacked(analyze_batch(analyzer, SYNONYMS, KEYS[3:9]))


def test_an_empty_batch(analyzer: TextAnalyzer) -> None:
    batch = analyze_batch(analyzer, SYNONYMS, [])
    assert len(batch) == 0 and StringPack.unpack(batch.names) == []


def test_ngram_counts_match_a_counter_of_the_ngrams(analyzer: TextAnalyzer) -> None:
    # reading n-grams of a long repetitive text: the case where numpy counting matters
    key: TextKey = ("すもももももももものうち " * 3, False, None, True, True)
    (postings, _), = unpacked(analyze_batch(analyzer, SYNONYMS, [key]))
    readings = Counter({n[2:]: c for n, c in postings if n.startswith("r:")})
    assert readings == analyzer.analyze(key[0]).readings
    assert max(readings.values()) > 3
