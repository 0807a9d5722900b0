"""Helpers shared by the FAQ tests."""

from __future__ import annotations

import os
from pathlib import Path

from faq.model import FaqEntry

# two Japanese entries, as a FAQ file
TWO_ENTRY_FAQ = """\
locale: ja
entries:
  - id: fee
    category: c
    question: 送料はいくら
    answer: 500円です。
  - id: hours
    category: c
    question: 営業時間
    answer: 18時までです。
"""

# a Japanese shipping FAQ in which 海外 stands for every foreign country
SHIPPING_FAQ = """\
locale: ja
entries:
  - id: overseas-shipping
    category: 配送
    question: 海外への発送はできますか
    answer: 海外発送は承っておりません。
  - id: shipping-fee
    category: 配送
    question: 送料はいくらですか
    answer: 全国一律500円です。
"""


def entry(
    entry_id: str, question: str, alternates: tuple[str, ...], answer: str, locale: str = "ja"
) -> FaqEntry:
    """An entry as the loader would make it (category and file do not matter here)."""
    return FaqEntry(entry_id, "c", question, alternates, answer, (), locale, "t.yaml", 1)


def write_visibly(path: Path, text: str) -> None:
    """Write ``text`` and move the file's mtime 2 s on, so that a reload sees the change
    even on filesystems with coarse mtimes."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
