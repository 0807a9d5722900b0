"""The `faq check|test|search` commands, driven through an argparse parser."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from faq.cli import demo_faq_dir, register

FAQ = """\
locale: ja
entries:
  - id: shipping-fee
    category: 配送
    question: 送料はいくらですか？
    alternates: [配送料金]
    answer: 全国一律500円です。
    examples: [送料 いくら]
  - id: business-hours
    category: サポート
    question: 営業時間を教えてください
    answer: 平日10時から18時までです。
    examples: [{example}]
"""


def run(argv: list[str], **namespace: object) -> int:
    parser = argparse.ArgumentParser(prog="helpdesk")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv, namespace=argparse.Namespace(**namespace))
    code = args.func(args)
    assert isinstance(code, int)
    return code


def write_faq(directory: Path, example: str = "営業時間は？") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "faq.yaml").write_text(FAQ.format(example=example), encoding="utf-8")
    return directory


def test_check_ok_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["faq", "check", str(write_faq(tmp_path))]) == 0
    assert "2 entries in 1 files" in capsys.readouterr().out


def test_check_lists_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("locale: ja\nentries:\n  - id: X\n    question: q\n")
    assert run(["faq", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    path = tmp_path / "a.yaml"
    assert f"{path}:3: id 'X' must be kebab-case: lowercase letters, digits and '-'" in err
    assert f"{path}:3: entry is missing 'answer'" in err


def test_dir_defaults_to_namespace_setting_then_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["faq", "check"], default_faq_dir=write_faq(tmp_path)) == 0
    assert str(tmp_path) in capsys.readouterr().out
    assert run(["faq", "check"]) == 0
    assert str(demo_faq_dir()) in capsys.readouterr().out


def test_test_passes_on_the_demo_faq(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["faq", "test"]) == 0, capsys.readouterr().err
    assert "examples hit their entry" in capsys.readouterr().out


def test_test_reports_a_miss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["faq", "test", str(write_faq(tmp_path, example="送料を知りたい"))]) == 1
    err = capsys.readouterr().err
    assert "business-hours" in err and "送料を知りたい" in err and "shipping-fee" in err


def test_search_writes_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("送料いくら\n\n営業時間\n"))
    assert run(["faq", "search", "--faq", str(write_faq(tmp_path)), "--top", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["送料いくら", "営業時間"]
    assert [r["id"] for r in lines[0]["results"]] == ["shipping-fee", "business-hours"]
    assert lines[1]["results"][0]["id"] == "business-hours"
    assert all(0 <= r["score"] <= 1 and round(r["score"], 4) == r["score"]
               for line in lines for r in line["results"])
