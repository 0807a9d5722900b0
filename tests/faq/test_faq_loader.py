"""Validation of FAQ YAML files: every problem is reported with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from faq.cli import demo_faq_dir
from faq.loader import check_faq_dir, faq_fingerprint, load_faq_dir
from faq.model import FaqError, FaqProblem

GOOD = """\
locale: ja
entries:
  - id: password-reset
    category: アカウント
    question: パスワードを忘れました
    alternates: [パスワード再設定]
    answer: ログイン画面から再設定できます。
    examples: [パスワード忘れた]
  - id: opening-hours
    category: サポート
    question: 営業時間は？
    answer: 平日10時から18時です。
    locale: ja
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(directory: Path) -> list[tuple[str, int, str]]:
    _, problems = check_faq_dir(directory)
    return [(Path(p.file).name, p.line, p.message) for p in problems]


def test_good_file_loads_with_lines_and_locale(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    entries = load_faq_dir(tmp_path)
    assert [e.id for e in entries] == ["password-reset", "opening-hours"]
    first = entries[0]
    assert first.line == 3
    assert first.locale == "ja"
    assert first.alternates == ("パスワード再設定",)
    assert first.examples == ("パスワード忘れた",)
    assert first.source == str(tmp_path / "a.yaml")
    assert entries[1].alternates == ()


def test_yaml_syntax_error_reports_parser_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", "locale: ja\nentries:\n  - id: a\n    question: [unclosed\n")
    (problem,) = problems_of(tmp_path)
    assert problem[0] == "broken.yaml"
    assert problem[1] == 5  # the parser notices at end of input, after line 4
    assert "YAML syntax error" in problem[2]


def test_each_kind_of_problem_is_reported_at_its_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "faq.yaml",
        """\
        locale: ja
        colour: blue
        entries:
          - id: Bad_ID
            category: c
            question: q
            answer: a
          - id: no-answer
            category: c
            question: q
          - id: empty-question
            category: c
            question: "  "
            answer: a
          - id: unknown-key
            category: c
            question: q
            answr: a
          - id: bad-alternates
            category: c
            question: q
            answer: a
            alternates: just one string
          - id: bad-locale
            category: c
            question: q
            answer: a
            locale: fr
          - id: numeric-answer
            category: c
            question: q
            answer: 42
        """,
    )
    got = problems_of(tmp_path)
    lines = {line: message for _, line, message in got}
    assert "unknown top-level key 'colour'" in lines[2]
    assert "kebab-case" in lines[4]
    assert "missing 'answer'" in lines[8]
    assert "'question' is empty" in lines[13]
    assert "unknown entry key 'answr'" in lines[18] and "did you mean 'answer'" in lines[18]
    # the unknown key also leaves the entry without an answer
    assert "missing 'answer'" in lines[15]
    assert "'alternates' must be a list" in lines[23]
    assert "unsupported locale 'fr'" in lines[28]
    assert "'answer' must be text" in lines[32]
    assert len(got) == 9
    assert all(name == "faq.yaml" for name, _, _ in got)


def test_duplicate_id_across_files_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(
        tmp_path,
        "b.yml",
        "locale: en\nentries:\n  - id: opening-hours\n    category: c\n    question: q\n"
        "    answer: a\n",
    )
    (problem,) = problems_of(tmp_path)
    assert problem[:2] == ("b.yml", 3)
    assert "duplicate id 'opening-hours'" in problem[2]
    assert f"{tmp_path / 'a.yaml'}:9" in problem[2]


def test_missing_locale_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "entries:\n  - id: x\n    category: c\n    question: q\n"
                              "    answer: a\n")
    assert [(line, "no locale" in msg) for _, line, msg in problems_of(tmp_path)] == [(2, True)]


def test_all_problems_are_raised_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "locale: xx\nentries:\n  - id: A\n    category: c\n"
                              "    question: q\n    answer: a\n")
    with pytest.raises(FaqError) as info:
        load_faq_dir(tmp_path)
    assert len(info.value.problems) == 2
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]
    assert str(info.value.problems[0]).startswith(f"{tmp_path / 'a.yaml'}:1: ")


def test_missing_and_empty_directories_are_problems(tmp_path: Path) -> None:
    assert "does not exist" in problems_of(tmp_path / "nope")[0][2]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not yaml")
    assert "no *.yaml" in problems_of(tmp_path / "empty")[0][2]


def test_problem_formats_as_file_line_message() -> None:
    assert str(FaqProblem("faq/a.yaml", 7, "boom")) == "faq/a.yaml:7: boom"


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", GOOD)
    before = faq_fingerprint(tmp_path)
    path.write_text(GOOD + "\n# edited\n", encoding="utf-8")
    after = faq_fingerprint(tmp_path)
    assert [name for name, _, _ in before] == ["a.yaml"]
    assert before != after


def test_demo_faq_loads_cleanly_in_both_locales() -> None:
    entries = load_faq_dir(demo_faq_dir())
    assert {e.locale for e in entries} == {"ja", "en"}
    assert len(entries) >= 30
    assert all(e.examples and e.alternates for e in entries)
