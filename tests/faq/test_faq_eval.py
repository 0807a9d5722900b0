"""``faq eval``: figures computed exactly on a tiny FAQ and query file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from faq.decision import Thresholds
from faq.eval import add_arguments, eval_command, evaluate, load_queries

FAQ = """\
locale: ja
entries:
  - id: shipping-fee
    category: 配送
    question: 送料はいくらですか？
    answer: 全国一律500円です。
  - id: opening-hours
    category: サポート
    question: 営業時間を教えてください
    answer: 平日10時から18時までです。
"""

# 3 answerable rows (the third is labelled with the entry that cannot rank first, so it
# ranks second: reciprocal rank 1/2) and one NONE row.
QUERIES = (
    "query\texpected_id\n"
    "送料はいくら？\tshipping-fee\n"
    "営業時間は何時から\topening-hours\n"
    "送料 高い\topening-hours\n"
    "今日はいい天気\tNONE\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "faq.yaml").write_text(FAQ, encoding="utf-8")
    (tmp_path / "queries.tsv").write_text(QUERIES, encoding="utf-8")
    return tmp_path, tmp_path / "queries.tsv"


def test_ranking_figures(files: tuple[Path, Path]) -> None:
    report = evaluate(*files, Thresholds())
    assert (report.rows, report.answerable) == (4, 3)
    assert report.top1 == pytest.approx(2 / 3)
    assert report.top3 == 1.0
    assert report.mrr10 == pytest.approx((1 + 1 + 0.5) / 3)
    assert report.latency_p50_ms > 0 and report.build_seconds > 0


def test_everything_answered_when_thresholds_are_zero(files: tuple[Path, Path]) -> None:
    report = evaluate(*files, Thresholds(answer=0.0, suggest=0.0, margin=0.0))
    a, z = report.answerable_decisions, report.none_decisions
    assert (a.answered_right, a.answered_wrong, a.suggested, a.handed_off) == (2, 1, 0, 0)
    assert (z.rows, z.answered_wrong, z.suggested, z.handed_off) == (1, 1, 0, 0)
    assert report.wrong_answers == 2
    assert report.wrong_answer_rate == 0.5
    assert report.none_not_answered_rate == 0.0


def test_choices_when_nothing_is_sure_enough(files: tuple[Path, Path]) -> None:
    report = evaluate(*files, Thresholds(answer=1.01, suggest=0.0, margin=0.0))
    a, z = report.answerable_decisions, report.none_decisions
    assert (a.suggested, a.suggested_with_right) == (3, 3)  # both entries are offered
    assert (z.suggested, z.handed_off) == (1, 0)
    assert report.none_not_answered_rate == 1.0
    assert report.wrong_answers == 0


def test_handoff_when_nothing_is_plausible(files: tuple[Path, Path]) -> None:
    report = evaluate(*files, Thresholds(answer=1.01, suggest=1.01, margin=0.0))
    assert report.answerable_decisions.handed_off == 3
    assert report.none_decisions.handed_off == 1


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return eval_command(parser.parse_args(argv))


def test_cli_json_and_text(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    faq_dir, queries = files
    args = ["--faq", str(faq_dir / "faq.yaml"), "--queries", str(queries)]
    assert run_cli([*args, "--json", "--answer", "0", "--suggest", "0", "--margin", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answerable_decisions"]["answered_right"] == 2
    assert data["thresholds"]["answer"] == 0.0
    assert run_cli(["--faq", str(faq_dir), "--queries", str(queries)]) == 0
    assert "top-1  66.7%" in capsys.readouterr().out


def test_cli_reports_a_broken_faq(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "faq.yaml").write_text("locale: ja\nentries: []\n", encoding="utf-8")
    (tmp_path / "q.tsv").write_text("query\texpected_id\n", encoding="utf-8")
    assert run_cli(["--faq", str(tmp_path), "--queries", str(tmp_path / "q.tsv")]) == 1
    assert "faq.yaml:2" in capsys.readouterr().err


def test_load_queries_skips_the_header_and_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "q.tsv"
    path.write_text("query\texpected_id\na\tx\n\n \tNONE\nb\tNONE\n", encoding="utf-8")
    assert load_queries(path) == [("a", "x"), ("b", "NONE")]
