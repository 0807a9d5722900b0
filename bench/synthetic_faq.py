"""A large synthetic FAQ for benchmarks: realistic-looking Japanese and English entries.

Entries are combinations of a product, a topic and a phrasing, so a 2,000-entry FAQ has
many near neighbours, as a large real FAQ does. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

PRODUCTS_JA = [
    "クモノート", "スマホアプリ", "デスクトップ版", "ブラウザ版", "チームプラン", "プロプラン",
    "無料プラン", "共有ノート", "タグ", "ノートブック", "添付ファイル", "テンプレート",
    "カレンダー連携", "メール転送", "音声メモ", "手書きメモ", "ウィジェット", "API",
    "管理コンソール", "請求書", "ポイント", "クーポン", "ギフトカード", "年額プラン",
    "学割", "法人契約", "ゲストユーザー", "外部連携", "バックアップ", "ゴミ箱",
]  # fmt: skip
TOPICS_JA = [
    ("使い方", "の使い方を教えてください", "の基本的な使い方"),
    ("料金", "の料金はいくらですか", "の値段"),
    ("解約", "を解約するにはどうすればいいですか", "をやめたい"),
    ("同期", "が同期されません", "の同期エラー"),
    ("削除", "を削除したい", "の消し方"),
    ("復元", "を復元できますか", "を元に戻したい"),
    ("上限", "の容量の上限は", "の制限"),
    ("設定", "の設定を変更したい", "の設定方法"),
    ("エラー", "でエラーが出ます", "が動かない"),
    ("共有", "を他の人と共有したい", "の共有方法"),
    ("ログイン", "にログインできません", "に入れない"),
    ("移行", "のデータを移行したい", "の引っ越し"),
]  # fmt: skip
PRODUCTS_EN = [
    "the mobile app", "the desktop app", "the web app", "team plan", "pro plan", "free plan",
    "shared notes", "tags", "notebooks", "attachments", "templates", "calendar sync",
    "email forwarding", "voice memos", "handwriting", "widgets", "the API", "admin console",
    "invoices", "gift cards", "annual billing", "student discount", "guest users",
    "integrations", "backups", "trash",
]  # fmt: skip
TOPICS_EN = [
    ("How do I use {p}?", "getting started with {p}"),
    ("How much does {p} cost?", "price of {p}"),
    ("How do I cancel {p}?", "stop using {p}"),
    ("{p} is not syncing", "sync error in {p}"),
    ("How do I delete {p}?", "remove {p}"),
    ("Can I restore {p}?", "recover {p}"),
    ("What is the limit for {p}?", "{p} quota"),
    ("I can't sign in to {p}", "login problem with {p}"),
    ("How do I share {p}?", "sharing {p} with others"),
    ("{p} shows an error", "{p} not working"),
]


def synthetic_entries(count: int, seed: int = 7) -> list[dict[str, object]]:
    """`count` entries, about half Japanese and half English, ids unique."""
    rng = random.Random(seed)
    combos: list[tuple[str, dict[str, object]]] = []
    for p in PRODUCTS_JA:
        for category, question, alternate in TOPICS_JA:
            combos.append(("ja", {
                "category": category,
                "question": f"{p}{question}",
                "alternates": [f"{p}{alternate}"],
                "answer": f"{p}の{category}は、設定画面の「{category}」から手続きできます。",
            }))  # fmt: skip
    for p in PRODUCTS_EN:
        for question, alternate in TOPICS_EN:
            combos.append(("en", {
                "category": "General",
                "question": question.format(p=p),
                "alternates": [alternate.format(p=p)],
                "answer": f"See Settings for {p}; the help centre explains each step.",
            }))  # fmt: skip
    rng.shuffle(combos)
    entries: list[dict[str, object]] = []
    for i in range(count):
        locale, base = combos[i % len(combos)]
        suffix = "" if i < len(combos) else f" ({i // len(combos)})"
        entry = dict(base)
        entry["id"] = f"entry-{i:05d}"
        entry["question"] = f"{base['question']}{suffix}"
        entry["locale"] = locale
        entries.append(entry)
    return entries


def write_synthetic_faq(directory: Path, count: int, seed: int = 7) -> list[dict[str, object]]:
    """Write `count` synthetic entries as one YAML file per locale; return the entries."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = synthetic_entries(count, seed)
    for locale in ("ja", "en"):
        mine = [
            {k: v for k, v in e.items() if k != "locale"} for e in entries if e["locale"] == locale
        ]
        text = yaml.safe_dump(
            {"locale": locale, "entries": mine}, allow_unicode=True, sort_keys=False
        )
        (directory / f"{locale}.yaml").write_text(text, encoding="utf-8")
    return entries
