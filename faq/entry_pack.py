"""FAQ entries packed into arrays for sending between processes, and unpacked in a way that
reuses the entries a previous matcher already holds.

A hot reload sends 10,000 entries from the build process although one changed. Making
10,000 new entry objects (and their tuples) in the server is cheap in itself, but it can
set off a full pass of the garbage collector, which stops every thread, the event loop's
included, for as long as it takes to walk the whole process (100 ms was measured).
Unpacking against the previous entries makes new objects only for entries that changed;
entries are immutable, so two matchers can share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faq.index import IntArray, PackedStrings, StringPack
from faq.model import FaqEntry

# the text fields of an entry in the pack, before its alternates and examples
_FIELDS = 6


@dataclass(frozen=True)
class PackedEntries:
    """Entries as their text fields (id, category, question, answer, locale, source, then
    the alternates and the examples) and per entry the number of alternates and examples
    and the line."""

    text: PackedStrings
    alternates: IntArray
    examples: IntArray
    lines: IntArray


def pack_entries(entries: Sequence[FaqEntry]) -> PackedEntries:
    """``entries``, packed."""
    fields = (
        field
        for e in entries
        for field in (e.id, e.category, e.question, e.answer, e.locale, e.source,
                      *e.alternates, *e.examples)
    )  # fmt: skip
    return PackedEntries(
        StringPack.pack(fields),
        np.fromiter((len(e.alternates) for e in entries), dtype=np.int64, count=len(entries)),
        np.fromiter((len(e.examples) for e in entries), dtype=np.int64, count=len(entries)),
        np.fromiter((e.line for e in entries), dtype=np.int64, count=len(entries)),
    )


def unpack_entries(
    packed: PackedEntries, previous: Sequence[FaqEntry] = ()
) -> tuple[FaqEntry, ...]:
    """The packed entries; an entry equal to one of ``previous`` (same id, every field
    equal) is that very object."""
    known = {e.id: e for e in previous}
    text = StringPack.unpack(packed.text)
    entries: list[FaqEntry] = []
    at = 0
    for alternates, examples, line in zip(
        packed.alternates.tolist(), packed.examples.tolist(), packed.lines.tolist(),
        strict=True,
    ):  # fmt: skip
        entry_id, category, question, answer, locale, source = text[at : at + _FIELDS]
        at += _FIELDS
        alts = text[at : at + alternates]
        at += alternates
        exes = text[at : at + examples]
        at += examples
        old = known.get(entry_id)
        if (
            old is not None
            and old.line == line
            and old.question == question
            and old.answer == answer
            and old.category == category
            and old.locale == locale
            and old.source == source
            and list(old.alternates) == alts
            and list(old.examples) == exes
        ):
            entries.append(old)
        else:
            entries.append(FaqEntry(
                entry_id, category, question, tuple(alts), answer, tuple(exes), locale,
                source, line,
            ))  # fmt: skip
    return tuple(entries)
