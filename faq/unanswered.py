"""Grouping the questions the FAQ did not answer, and drafting entries for them.

The engine records each question that ended in a handoff or a "that didn't help"; this
module turns those rows into groups of similar questions, most frequent first, and
writes a draft YAML entry per group for an admin to finish. Drafts have an empty answer
on purpose: `helpdesk faq check` rejects them until someone writes one, so a draft
copied into the FAQ directory unfinished can never be served.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from faq.normalize import kana_key

# Dice similarity of character bigrams at or above which two questions are one topic.
DEFAULT_SIMILARITY = 0.5
_MAX_ALTERNATES = 5


@dataclass(frozen=True)
class UnansweredItem:
    text: str
    locale: str
    candidates: tuple[str, ...]  # entry ids the matcher almost chose, best first


@dataclass(frozen=True)
class QuestionGroup:
    locale: str
    texts: tuple[str, ...]  # distinct wordings, most frequent first
    count: int  # how many times the topic was asked
    candidates: tuple[tuple[str, int], ...]  # closest entries and how often they came up

    @property
    def representative(self) -> str:
        return self.texts[0]


def _bigrams(text: str) -> Counter[str]:
    key = kana_key(text).replace(" ", "")
    if len(key) < 2:
        return Counter([key]) if key else Counter()
    return Counter(key[i : i + 2] for i in range(len(key) - 1))


def similarity(a: Counter[str], b: Counter[str]) -> float:
    """Dice coefficient of two bigram multisets: 1 for the same text, 0 for nothing shared."""
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


@dataclass
class _Building:
    locale: str
    key: Counter[str]
    wordings: Counter[str]
    candidates: Counter[str]


def group_questions(
    items: Sequence[UnansweredItem], threshold: float = DEFAULT_SIMILARITY
) -> list[QuestionGroup]:
    """Greedy grouping: each wording joins the most similar group of its language (if at
    least `threshold` alike), taking wordings most frequent first so groups are named
    after what customers say most."""
    by_wording: dict[tuple[str, str], list[UnansweredItem]] = {}
    for item in items:
        by_wording.setdefault((item.locale, item.text.strip()), []).append(item)
    ordered = sorted(by_wording.items(), key=lambda kv: (-len(kv[1]), kv[0][1]))
    groups: list[_Building] = []
    for (locale, text), asked in ordered:
        key = _bigrams(text)
        best, best_score = None, threshold
        for group in groups:
            if group.locale != locale:
                continue
            score = similarity(key, group.key)
            if score >= best_score:
                best, best_score = group, score
        if best is None:
            best = _Building(locale, key, Counter(), Counter())
            groups.append(best)
        best.wordings[text] += len(asked)
        for item in asked:
            best.candidates.update(item.candidates[:1])
    result = [
        QuestionGroup(
            locale=g.locale,
            texts=tuple(t for t, _ in g.wordings.most_common()),
            count=sum(g.wordings.values()),
            candidates=tuple(g.candidates.most_common(3)),
        )
        for g in groups
    ]
    return sorted(result, key=lambda g: (-g.count, g.representative))


def draft_yaml(groups: Sequence[QuestionGroup]) -> str:
    """A YAML file with one draft entry per group; answers are left for the admin."""
    lines = [
        "# Draft FAQ entries from unanswered customer questions (helpdesk faq unanswered).",
        "# For each: pick a real id and category, write the answer, then move it into the",
        "# FAQ directory. `helpdesk faq check` rejects a draft whose answer is still empty.",
        "entries:",
    ]
    for number, group in enumerate(groups, start=1):
        closest = ", ".join(f"{entry_id} ({n})" for entry_id, n in group.candidates) or "none"
        lines += [
            f"  # asked {group.count} times; closest existing entries: {closest}",
            f"  - id: draft-{number:03d}",
            f"    locale: {group.locale}",
            f"    category: {_quote('TODO')}",
            f"    question: {_quote(group.representative)}",
        ]
        alternates = group.texts[1 : 1 + _MAX_ALTERNATES]
        if alternates:
            lines.append("    alternates:")
            lines += [f"      - {_quote(t)}" for t in alternates]
        lines.append('    answer: ""')
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar, whatever the text holds.
    return json.dumps(" ".join(text.split()), ensure_ascii=False)
