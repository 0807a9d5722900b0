"""`faq lint`: confusable entries and misdirected examples are reported with file:line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from faq import cli
from faq.decision import Thresholds
from faq.lint import lint_faq
from faq.loader import load_faq_dir

DISTINCT = """\
locale: ja
entries:
  - id: password-reset
    category: アカウント
    question: パスワードを忘れました
    alternates: [パスワードの再設定方法]
    answer: ログイン画面の「パスワードをお忘れの方」から再設定してください。
    examples: [パスワード忘れた]
  - id: shipping-fee
    category: 配送
    question: 送料はいくらですか
    alternates: [配送料金を知りたい]
    answer: 全国一律500円です。5000円以上で無料になります。
"""

TWINS = """\
  - id: password-forgotten
    category: アカウント
    question: パスワードを忘れました
    alternates: [パスワードの再設定方法]
    answer: サポートにご連絡ください。
"""

MISDIRECTED_EXAMPLE = """\
  - id: delivery-time
    category: 配送
    question: 届くまで何日かかりますか
    alternates: [配達日数]
    answer: 通常2〜3日でお届けします。
    examples: [送料はいくらですか]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "faq.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_distinct_entries_have_no_warnings(tmp_path: Path) -> None:
    entries = load_faq_dir(write(tmp_path, DISTINCT))
    assert lint_faq(entries, Thresholds()) == []


def test_twin_entries_are_reported_once_with_both_places(tmp_path: Path) -> None:
    entries = load_faq_dir(write(tmp_path, DISTINCT + TWINS))
    warnings = lint_faq(entries, Thresholds())
    assert len(warnings) == 1
    text = str(warnings[0])
    assert "password-reset" in text and "password-forgotten" in text
    assert text.startswith(f"{tmp_path / 'faq.yaml'}:")
    assert "too alike" in text


def test_example_landing_on_another_entry_is_reported(tmp_path: Path) -> None:
    entries = load_faq_dir(write(tmp_path, DISTINCT + MISDIRECTED_EXAMPLE))
    (warning,) = lint_faq(entries, Thresholds())
    assert warning.line == 14  # the delivery-time entry
    assert "example '送料はいくらですか' of 'delivery-time' lands on 'shipping-fee'" in str(
        warning
    )


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_lint_command_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strict: bool, code: int
) -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    argv = ["faq", "lint", str(write(tmp_path, DISTINCT + TWINS))]
    args = parser.parse_args(argv + (["--strict"] if strict else []))
    assert args.func(args) == code
    out, err = capsys.readouterr()
    assert "too alike" in out and "1 warning(s) for 3 entries" in err
