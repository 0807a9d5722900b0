"""`helpdesk faq lint`: entries the matcher cannot tell apart, and misdirected examples.

Checks use the same matcher and decision rule as the engine, so a warning describes what
a customer would actually get:

* an entry's own question or alternate that is not answered with that entry — another
  entry wins, or the two are so alike that the bot offers choices instead of answering;
* an example that lands on another entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faq.decision import Decision, Thresholds, decide
from faq.matcher import Matcher
from faq.model import FaqEntry


@dataclass(frozen=True)
class LintWarning:
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: warning: {self.message}"


def lint_faq(
    entries: Sequence[FaqEntry], thresholds: Thresholds, matcher: Matcher | None = None
) -> list[LintWarning]:
    """Every warning for the FAQ, in file order."""
    matcher = matcher or Matcher.build(entries)
    warnings: list[LintWarning] = []
    reported_pairs: set[frozenset[str]] = set()
    for entry in entries:
        for text in (entry.question, *entry.alternates):
            rival = _rival(matcher, thresholds, entry, text)
            if rival is None:
                continue
            other, score = rival
            pair = frozenset((entry.id, other.id))
            if pair in reported_pairs:
                continue
            reported_pairs.add(pair)
            warnings.append(
                LintWarning(
                    entry.source,
                    entry.line,
                    f"{entry.id!r} and {other.id!r} ({other.source}:{other.line}) are too alike:"
                    f" {text!r} does not get a clear answer from {entry.id!r}"
                    f" ({other.id!r} scores {score:.2f}); make the questions more distinct"
                    " or merge the entries",
                )
            )
        for example in entry.examples:
            matches = matcher.search(example, top_k=thresholds.max_choices, locale=entry.locale)
            if matches and matches[0].entry.id != entry.id:
                warnings.append(
                    LintWarning(
                        entry.source,
                        entry.line,
                        f"example {example!r} of {entry.id!r} lands on {matches[0].entry.id!r}"
                        f" ({matches[0].score:.2f})",
                    )
                )
    return warnings


def _rival(
    matcher: Matcher, thresholds: Thresholds, entry: FaqEntry, text: str
) -> tuple[FaqEntry, float] | None:
    """The entry that stops `text` from being answered with `entry`, if any."""
    matches = matcher.search(text, top_k=thresholds.max_choices, locale=entry.locale)
    outcome = decide(matches, thresholds)
    if outcome.decision is Decision.ANSWER and outcome.matches[0].entry.id == entry.id:
        return None
    others = [m for m in matches if m.entry.id != entry.id]
    if not others:
        return None
    if matches[0].entry.id != entry.id or others[0].score >= thresholds.suggest:
        return others[0].entry, others[0].score
    return None
