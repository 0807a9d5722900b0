"""However an index is built, searches give exactly what the one-text-at-a-time build gave.

The golden answers (``matcher_golden.json``, see ``matcher_cases.py``) were recorded from
the build as it was before texts were analysed in batches and in helper processes;
rankings, confidences, fused scores and the confidence's inputs must match to the bit.
"""

from __future__ import annotations

import json

import pytest

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
